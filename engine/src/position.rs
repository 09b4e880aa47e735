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

/// The position of every node of one YAML/JSON document, keyed by JSON pointer.
#[derive(Debug, Clone, Default)]
pub struct PositionIndex {
    /// Sorted by pointer for binary search.
    entries: Vec<(Box<str>, Position)>,
}

impl PositionIndex {
    pub(crate) fn from_unsorted(mut entries: Vec<(Box<str>, Position)>) -> Self {
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Alias-expanded or merged nodes never add entries, so pointers are unique; keep the
        // first of any accidental duplicate to stay deterministic.
        entries.dedup_by(|later, earlier| later.0 == earlier.0);
        Self { entries }
    }

    /// The exact position of `pointer`, if the document has that node.
    pub fn get(&self, pointer: &str) -> Option<Position> {
        self.entries
            .binary_search_by(|(p, _)| (**p).cmp(pointer))
            .ok()
            .map(|i| self.entries[i].1)
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

    /// All `(pointer, position)` pairs, sorted by pointer.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Position)> {
        self.entries.iter().map(|(p, pos)| (&**p, *pos))
    }
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
}
