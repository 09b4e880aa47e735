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
/// Stored in space proportional to the source text, whatever the nesting: each node keeps its
/// parent's index and its own (escaped) token, all tokens in one string arena; a node's full
/// pointer is never stored (a 40-deep path of 1 KB keys above a 40,000-item list would otherwise
/// copy 40 KB per item). A lookup walks the pointer token by token through an order sorted by
/// `(parent, token)`, built on the first lookup only: most documents never have a finding and
/// never pay for it.
#[derive(Debug, Default)]
pub struct PositionIndex {
    tokens: String,
    /// In document order; parents before their children.
    entries: Vec<Entry>,
    /// Indices of `entries` sorted by `(parent, token)`; built lazily.
    sorted: std::sync::OnceLock<Vec<u32>>,
}

/// One node: its parent (`NO_PARENT` for the root), its token in the arena, its position
/// (`None` for a node that does not exist at this pointer, e.g. inside a merge source).
#[derive(Debug, Clone, Copy)]
struct Entry {
    parent: u32,
    start: u32,
    end: u32,
    position: Option<Position>,
}

const NO_PARENT: u32 = u32::MAX;

/// Collects `(pointer, position)` pairs while a document is parsed, in document order (a
/// node's pointer before its children's).
#[derive(Debug, Default)]
pub(crate) struct PositionIndexBuilder {
    tokens: String,
    entries: Vec<Entry>,
    /// The chain of entries from the root to the last one pushed: `(pointer length, index)`.
    path: Vec<(usize, u32)>,
}

impl PositionIndexBuilder {
    /// Records `pointer` (whose parent must have been recorded before it, as the parser does;
    /// a missing ancestor is added without a position).
    pub(crate) fn push(&mut self, pointer: &str, position: Position) {
        let index = self.node(pointer);
        if let Some(entry) = self.entries.get_mut(index as usize) {
            entry.position = Some(position);
        }
    }

    /// The entry for `pointer`, created (without a position) when it is not on the current
    /// path: a fresh entry each time, as each push is a new node.
    fn node(&mut self, pointer: &str) -> u32 {
        if pointer.is_empty() {
            self.path.clear();
            return self.add(NO_PARENT, "", 0);
        }
        let split = pointer.rfind('/').unwrap_or(0);
        while self.path.last().is_some_and(|(len, _)| *len > split) {
            self.path.pop();
        }
        let parent = match self.path.last() {
            Some((len, i)) if *len == split => *i,
            _ => self.node(&pointer[..split]),
        };
        let token = pointer.get(split + 1..).unwrap_or_default();
        self.add(parent, token, pointer.len())
    }

    fn add(&mut self, parent: u32, token: &str, pointer_len: usize) -> u32 {
        let start = self.tokens.len() as u32;
        self.tokens.push_str(token);
        let index = self.entries.len() as u32;
        self.entries.push(Entry {
            parent,
            start,
            end: self.tokens.len() as u32,
            position: None,
        });
        self.path.push((pointer_len, index));
        index
    }

    fn token(&self, i: u32) -> &str {
        let e = &self.entries[i as usize];
        &self.tokens[e.start as usize..e.end as usize]
    }

    /// The entry of `pointer` on the current path (an ancestor of the last node pushed, or
    /// that node itself).
    fn on_path(&self, pointer: &str) -> Option<u32> {
        self.path
            .iter()
            .rev()
            .find(|(len, _)| *len == pointer.len())
            .map(|(_, i)| *i)
    }

    /// Forgets the positions of every node under `parent` (the pointer of a node on the current
    /// path): nodes that did not end up where they were recorded, such as the contents of a
    /// merge-key value.
    pub(crate) fn remove_under(&mut self, parent: &str) {
        let Some(root) = self.on_path(parent) else {
            return;
        };
        let mut under = vec![false; self.entries.len()];
        for i in (root as usize + 1)..self.entries.len() {
            let p = self.entries[i].parent;
            if p == root || (p != NO_PARENT && under[p as usize]) {
                under[i] = true;
                self.entries[i].position = None;
            }
        }
    }

    /// The most recent position recorded for `pointer`, a child of a node on the current path.
    pub(crate) fn last(&self, pointer: &str) -> Option<Position> {
        let split = pointer.rfind('/')?;
        let parent = self.on_path(&pointer[..split])?;
        let token = &pointer[split + 1..];
        (0..self.entries.len() as u32)
            .rev()
            .find(|&i| self.entries[i as usize].parent == parent && self.token(i) == token)
            .and_then(|i| self.entries[i as usize].position)
    }

    pub(crate) fn build(mut self) -> PositionIndex {
        self.tokens.shrink_to_fit();
        self.entries.shrink_to_fit();
        PositionIndex {
            tokens: self.tokens,
            entries: self.entries,
            sorted: std::sync::OnceLock::new(),
        }
    }
}

impl Clone for PositionIndex {
    fn clone(&self) -> Self {
        Self {
            tokens: self.tokens.clone(),
            entries: self.entries.clone(),
            sorted: std::sync::OnceLock::new(),
        }
    }
}

impl PositionIndex {
    #[cfg(test)]
    pub(crate) fn from_unsorted(mut entries: Vec<(Box<str>, Position)>) -> Self {
        entries.sort();
        let mut builder = PositionIndexBuilder::default();
        for (pointer, position) in entries {
            builder.push(&pointer, position);
        }
        builder.build()
    }

    fn token(&self, i: u32) -> &str {
        let e = &self.entries[i as usize];
        &self.tokens[e.start as usize..e.end as usize]
    }

    fn sorted(&self) -> &[u32] {
        self.sorted.get_or_init(|| {
            let mut order: Vec<u32> = (0..self.entries.len() as u32).collect();
            // Stable: of two entries for one pointer, the first recorded wins.
            order.sort_by(|a, b| {
                (self.entries[*a as usize].parent, self.token(*a))
                    .cmp(&(self.entries[*b as usize].parent, self.token(*b)))
            });
            order
        })
    }

    /// The first entry that is `parent`'s child `token`.
    fn child(&self, parent: u32, token: &str) -> Option<u32> {
        let sorted = self.sorted();
        let i = sorted.partition_point(|&i| {
            (self.entries[i as usize].parent, self.token(i)) < (parent, token)
        });
        let &found = sorted.get(i)?;
        (self.entries[found as usize].parent == parent && self.token(found) == token)
            .then_some(found)
    }

    /// Walks `pointer` down the tree: the deepest node with a position, and the length of the
    /// pointer prefix that names it; whether the whole pointer was found.
    fn walk(&self, pointer: &str) -> Option<(Position, usize, bool)> {
        let mut node = self.child(NO_PARENT, "")?;
        let mut best = self.entries[node as usize].position.map(|p| (p, 0));
        let mut exact = true;
        let mut consumed = 0;
        if !pointer.is_empty() {
            let Some(rest) = pointer.strip_prefix('/') else {
                return best.map(|(p, len)| (p, len, false));
            };
            for token in rest.split('/') {
                match self.child(node, token) {
                    Some(next) => {
                        node = next;
                        consumed += 1 + token.len();
                        if let Some(p) = self.entries[node as usize].position {
                            best = Some((p, consumed));
                            exact = true;
                        } else {
                            exact = false;
                        }
                    }
                    None => {
                        exact = false;
                        break;
                    }
                }
            }
        }
        let (position, len) = best?;
        Some((position, len, exact && len == pointer.len()))
    }

    /// The exact position of `pointer`, if the document has that node.
    pub fn get(&self, pointer: &str) -> Option<Position> {
        match self.walk(pointer)? {
            (position, _, true) => Some(position),
            _ => None,
        }
    }

    /// The position of `pointer` or, when that node does not exist in the source (a missing
    /// field, or one that came from an alias or merge key), of its nearest existing ancestor.
    /// Returns the pointer that was found as well.
    pub fn resolve<'p>(&self, pointer: &'p str) -> Option<(Position, &'p str)> {
        let (position, len, _) = self.walk(pointer)?;
        Some((position, &pointer[..len]))
    }

    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.position.is_some()).count()
    }

    /// Bytes the index holds on the heap (its arena and entries; the lookup order when built).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.tokens.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.sorted.get().map_or(0, |s| s.capacity() * 4)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All `(pointer, position)` pairs, in document order (pointers materialised here).
    pub fn iter(&self) -> impl Iterator<Item = (String, Position)> + '_ {
        let mut pointers: Vec<String> = Vec::with_capacity(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            let pointer = match e.parent {
                NO_PARENT => String::new(),
                p => format!("{}/{}", pointers[p as usize], self.token(i as u32)),
            };
            pointers.push(pointer);
        }
        pointers
            .into_iter()
            .zip(self.entries.iter())
            .filter_map(|(pointer, e)| e.position.map(|p| (pointer, p)))
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
