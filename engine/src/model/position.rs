//! Source positions and the JSON-pointer → position index built by the loader.
//!
//! Every node the loader reads gets an entry keyed by its RFC 6901 JSON pointer. For a
//! mapping value the entry is the position of its *key* (that is what a person looks for:
//! the field name); for a sequence item it is the item's first character.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// A 1-based line and column in a source text. Columns count characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Escapes one reference token for a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_token(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Undoes [`escape_token`].
pub fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Builds a JSON pointer from its parent and one more token.
pub fn child_pointer(parent: &str, token: &str) -> String {
    let token = escape_token(token);
    let mut out = String::with_capacity(parent.len() + 1 + token.len());
    out.push_str(parent);
    out.push('/');
    out.push_str(&token);
    out
}

/// Builds a JSON pointer from its parent and an array index.
pub fn index_pointer(parent: &str, index: usize) -> String {
    format!("{parent}/{index}")
}

/// The node at a JSON pointer, like `serde_json::Value::pointer`, without allocating for
/// tokens that need no unescaping (the usual case: rules look paths up for every object).
pub fn lookup<'a>(value: &'a serde_json::Value, pointer: &str) -> Option<&'a serde_json::Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    let mut current = value;
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescape_token(token);
        current = match current {
            serde_json::Value::Object(map) => map.get(token.as_ref())?,
            serde_json::Value::Array(items) => {
                if token.len() > 1 && token.starts_with('0') {
                    return None;
                }
                items.get(token.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    Some(current)
}

/// The position of every node of one YAML/JSON document, keyed by JSON pointer.
///
/// All pointers live in one string arena, so a document costs two allocations however many
/// nodes it has. The lookup order is built on the first lookup only: most documents never
/// have a finding and never pay for it.
#[derive(Debug, Default)]
pub struct PositionIndex {
    arena: String,
    /// `(start, end)` of each pointer in `arena`, and the node's position; in document order.
    entries: Vec<(u32, u32, Position)>,
    /// Indices of `entries` sorted by pointer; built lazily.
    sorted: std::sync::OnceLock<Vec<u32>>,
}

/// Collects `(pointer, position)` pairs while a document is parsed.
#[derive(Debug, Default)]
pub(crate) struct PositionIndexBuilder {
    arena: String,
    entries: Vec<(u32, u32, Position)>,
}

impl PositionIndexBuilder {
    pub(crate) fn push(&mut self, pointer: &str, position: Position) {
        let start = self.arena.len() as u32;
        self.arena.push_str(pointer);
        self.entries
            .push((start, self.arena.len() as u32, position));
    }

    /// Forgets every entry whose pointer starts with `prefix` (nodes that did not end up at
    /// the pointer they were recorded under, such as the contents of a merge-key value).
    pub(crate) fn remove_under(&mut self, prefix: &str) {
        let arena = &self.arena;
        self.entries
            .retain(|(s, e, _)| !arena[*s as usize..*e as usize].starts_with(prefix));
    }

    /// The most recent position recorded for exactly `pointer`.
    pub(crate) fn last(&self, pointer: &str) -> Option<Position> {
        self.entries
            .iter()
            .rev()
            .find(|(s, e, _)| &self.arena[*s as usize..*e as usize] == pointer)
            .map(|x| x.2)
    }

    pub(crate) fn build(self) -> PositionIndex {
        PositionIndex {
            arena: self.arena,
            entries: self.entries,
            sorted: std::sync::OnceLock::new(),
        }
    }
}

impl Clone for PositionIndex {
    fn clone(&self) -> Self {
        Self {
            arena: self.arena.clone(),
            entries: self.entries.clone(),
            sorted: std::sync::OnceLock::new(),
        }
    }
}

impl PositionIndex {
    #[cfg(test)]
    pub(crate) fn from_unsorted(entries: Vec<(Box<str>, Position)>) -> Self {
        let mut builder = PositionIndexBuilder::default();
        for (pointer, position) in entries {
            builder.push(&pointer, position);
        }
        builder.build()
    }

    fn pointer_at(&self, i: u32) -> &str {
        let (s, e, _) = self.entries[i as usize];
        &self.arena[s as usize..e as usize]
    }

    fn sorted(&self) -> &[u32] {
        self.sorted.get_or_init(|| {
            let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
            // Stable: of two entries for one pointer, the first recorded wins.
            order.sort_by(|a, b| self.pointer_at(*a).cmp(self.pointer_at(*b)));
            order
        })
    }

    /// The exact position of `pointer`, if the document has that node.
    pub fn get(&self, pointer: &str) -> Option<Position> {
        let sorted = self.sorted();
        let i = sorted.partition_point(|&i| self.pointer_at(i) < pointer);
        let &found = sorted.get(i)?;
        (self.pointer_at(found) == pointer).then(|| self.entries[found as usize].2)
    }

    /// The position of `pointer` or, when that node does not exist in the source (a missing
    /// field, or one that came from an alias or merge key), of its nearest existing ancestor.
    /// Returns the pointer that was found as well.
    pub fn resolve<'p>(&self, pointer: &'p str) -> Option<(Position, &'p str)> {
        let mut current = pointer;
        loop {
            if let Some(pos) = self.get(current) {
                return Some((pos, current));
            }
            if current.is_empty() {
                return None;
            }
            current = match current.rfind('/') {
                Some(i) => &current[..i],
                None => "",
            };
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All `(pointer, position)` pairs, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Position)> {
        (0..self.entries.len() as u32).map(|i| (self.pointer_at(i), self.entries[i as usize].2))
    }
}

/// `/spec/containers/0/image` → `spec.containers[0].image`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        if !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&token);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
        assert_eq!(unescape_token("a~1b~0c"), "a/b~c");
        assert_eq!(unescape_token("~01"), "~1");
        assert_eq!(
            child_pointer("/metadata/annotations", "exempt.kubegate.io/KG101"),
            "/metadata/annotations/exempt.kubegate.io~1KG101"
        );
    }

    #[test]
    fn lookup_matches_serde_json_pointer() {
        let v = serde_json::json!({"a": {"b/c": [1, {"d~e": 2}]}, "": 3});
        for p in [
            "",
            "/a",
            "/a/b~1c",
            "/a/b~1c/1/d~0e",
            "/a/b~1c/01",
            "/a/x",
            "/a/b~1c/9",
            "/",
            "a",
        ] {
            assert_eq!(lookup(&v, p), v.pointer(p), "{p}");
        }
    }

    #[test]
    fn resolve_falls_back_to_nearest_parent() {
        let index = PositionIndex::from_unsorted(vec![
            ("".into(), Position::new(1, 1)),
            ("/spec".into(), Position::new(5, 1)),
            ("/spec/containers/0".into(), Position::new(7, 5)),
        ]);
        assert_eq!(index.get("/spec"), Some(Position::new(5, 1)));
        assert_eq!(
            index.resolve("/spec/containers/0/resources/limits"),
            Some((Position::new(7, 5), "/spec/containers/0"))
        );
        assert_eq!(index.resolve("/status"), Some((Position::new(1, 1), "")));
    }

    #[test]
    fn pointers_read_like_kubectl_fields() {
        assert_eq!(
            super::dotted("/spec/template/spec/containers/0/securityContext/privileged"),
            "spec.template.spec.containers[0].securityContext.privileged"
        );
        assert_eq!(
            super::dotted("/metadata/labels/app.kubernetes.io~1name"),
            "metadata.labels.app.kubernetes.io/name"
        );
        assert_eq!(super::dotted(""), "");
    }
}
