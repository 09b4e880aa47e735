//! YAML (and JSON) stream → JSON values with a position for every node.
//!
//! Built on `saphyr-parser`'s event stream rather than a DOM so that this module alone decides
//! how scalars resolve (see [`crate::scalar`]), rejects duplicate keys, bounds alias expansion,
//! nesting depth and document size, and records where every node came from.

use crate::load::goyaml_compat::{fixable, Edits, Refusal};
use crate::load::scalar::{key_string, resolve_plain, Resolved};
use crate::model::position::{escape_token, Position, PositionIndex, PositionIndexBuilder};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::fmt::Write;
use thiserror::Error;

/// Bounds on what one document may cost. Every bound is checked while parsing, so a hostile
/// input fails fast instead of exhausting memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file (or stdin) read, in bytes.
    pub max_file_bytes: usize,
    /// Largest single document, in characters of source text.
    pub max_document_chars: usize,
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes one document may produce, counting every node an alias expands to.
    pub max_nodes: usize,
    /// Most bytes of scalars and keys one document's value may hold, counting what every alias
    /// expands to: a 1 MB string aliased a thousand times is a gigabyte of values from a 1 MB
    /// file, within the node limit.
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 * 1024 * 1024,
            max_document_chars: 8 * 1024 * 1024,
            max_depth: 100,
            max_nodes: 500_000,
            // Four bytes per character of the largest document, so only aliases can reach it.
            max_value_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a YAML stream could not be read. Each carries the position where it was noticed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum YamlErrorKind {
    #[error("YAML syntax error: {0}")]
    Syntax(String),
    #[error("duplicate key {key:?} (first defined at line {first_line})")]
    DuplicateKey { key: String, first_line: u32 },
    #[error("alias expansion exceeds {limit} nodes (a 'billion laughs' document?)")]
    AliasExpansion { limit: usize },
    #[error("alias expansion would build more than {limit} bytes of values (a 'billion laughs' document?)")]
    AliasBytes { limit: usize },
    #[error("document has more than {limit} nodes")]
    TooManyNodes { limit: usize },
    #[error("nesting deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("document is larger than {limit} characters")]
    DocumentTooLarge { limit: usize },
    #[error("mapping keys must be scalars; complex keys are not supported by Kubernetes")]
    ComplexKey,
    #[error("a null mapping key is not allowed")]
    NullKey,
    #[error("mapping key {key:?} is a {go_type} to the Kubernetes YAML reader, which refuses it as a key")]
    UnsupportedKey { key: String, go_type: &'static str },
    #[error("a tab where a block scalar's indentation is counted (the Kubernetes YAML reader refuses it; indent with spaces)")]
    BlockScalarTab,
    #[error("!!binary value is not valid base64")]
    BadBinary,
    #[error("unknown escape \\/ in a double-quoted scalar (the Kubernetes YAML reader, go-yaml v2, rejects it; write / alone)")]
    SlashEscape,
    #[error("alias *{0} refers to an unknown anchor")]
    UnknownAnchor(usize),
    #[error("value {0:?} has no JSON representation (NaN and infinities are not allowed)")]
    NonFiniteNumber(String),
    #[error("value {value:?} cannot be read as {tag}")]
    BadTaggedValue { value: String, tag: String },
    #[error("merge key '<<' needs a mapping or a sequence of mappings")]
    BadMerge,
}

#[derive(Debug, Clone, PartialEq, Error)]
#[error("{kind}")]
pub struct YamlError {
    pub position: Position,
    pub kind: YamlErrorKind,
}

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct ParsedDocument {
    pub value: Value,
    pub positions: PositionIndex,
    /// Index of the document in its stream, counting empty documents too.
    pub index: usize,
    /// Position of the document's first node.
    pub start: Position,
    /// Character offsets of the document's content, used to attach Helm `# Source:` comments.
    pub start_char: usize,
    pub end_char: usize,
}

/// What a stream yielded: every complete document before the first error, and that error.
#[derive(Debug, Default)]
pub struct ParsedStream {
    pub documents: Vec<ParsedDocument>,
    pub error: Option<YamlError>,
}

/// Parses a YAML stream (JSON is YAML too) into documents. Empty documents are skipped.
///
/// Where saphyr refuses text that the Kubernetes YAML reader (go-yaml v2) reads, the text is
/// edited so that it reads the same and parsed again, with positions mapped back to the text
/// as written ([`goyaml_compat`]).
pub fn parse_stream(text: &str, limits: &Limits) -> ParsedStream {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut edits = Edits::default();
    let mut edited: Option<String> = None;
    // Each retry answers one refusal; a text needing more than this many is read as refused.
    for _ in 0..MAX_EDITS {
        let source = edited.as_deref().unwrap_or(text);
        let (out, refusal) = parse_once(source, limits, &edits);
        let Some(refusal) = refusal else {
            return out;
        };
        if !edits.answer(text, source, refusal.as_refusal()) {
            return out;
        }
        edited = Some(edits.apply(text));
    }
    let (out, _) = parse_once(edited.as_deref().unwrap_or(text), limits, &edits);
    out
}

/// Refusals answered by editing the text, at most, per stream.
const MAX_EDITS: usize = 256;

/// A syntax error that an edit may answer, in the parsed text's coordinates.
struct Refused {
    info: String,
    index: usize,
    line: usize,
    col: usize,
    in_flow: bool,
}

impl Refused {
    fn as_refusal(&self) -> Refusal<'_> {
        Refusal {
            info: &self.info,
            index: self.index,
            line: self.line,
            col: self.col,
            in_flow: self.in_flow,
        }
    }
}

fn parse_once(text: &str, limits: &Limits, edits: &Edits) -> (ParsedStream, Option<Refused>) {
    let mut builder = Builder::new(limits);
    let mut out = ParsedStream::default();
    let mut cursor = CharCursor::new(text);
    // Where each open collection starts; only on a refusal is the text looked at, to tell
    // flow collections (`[`, `{`) from block ones, so reading stays one pass over the text.
    let mut open: Vec<usize> = Vec::new();
    let slash_escapes = text.contains("\\/");
    let map = |m: Marker| {
        if edits.is_empty() {
            m
        } else {
            Marker::new(
                edits.index(m.index()),
                m.line(),
                edits.col(m.line(), m.col()),
            )
        }
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(e) => e,
            Err(err) => {
                let m = err.marker();
                let refused = fixable(err.info()).then(|| Refused {
                    info: err.info().to_owned(),
                    index: m.index(),
                    line: m.line(),
                    col: m.col(),
                    in_flow: open
                        .iter()
                        .any(|&at| matches!(cursor.char_at(at), Some('[' | '{'))),
                });
                let m = map(*m);
                out.error = Some(YamlError {
                    position: Position::new(m.line() as u32, m.col() as u32 + 1),
                    kind: YamlErrorKind::Syntax(err.info().to_owned()),
                });
                return (out, refused);
            }
        };
        match &event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                open.push(span.start.index());
            }
            Event::SequenceEnd | Event::MappingEnd => {
                open.pop();
            }
            Event::Scalar(_, ScalarStyle::DoubleQuoted, ..)
                if slash_escapes
                    && has_slash_escape(cursor.slice(span.start.index(), span.end.index())) =>
            {
                out.error = Some(YamlError {
                    position: pos_of(&Span::new(map(span.start), map(span.end))),
                    kind: YamlErrorKind::SlashEscape,
                });
                return (out, None);
            }
            Event::Scalar(ref value, ScalarStyle::Literal | ScalarStyle::Folded, ..)
                if value.starts_with('\t') =>
            {
                let at = cursor.seek(span.start.index());
                if tab_sets_block_indentation(text, at) {
                    out.error = Some(YamlError {
                        position: pos_of(&Span::new(map(span.start), map(span.end))),
                        kind: YamlErrorKind::BlockScalarTab,
                    });
                    return (out, None);
                }
            }
            _ => {}
        }
        let span = Span::new(map(span.start), map(span.end));
        match builder.on_event(event, span) {
            Ok(Some(doc)) => out.documents.push(doc),
            Ok(None) => {}
            Err(err) => {
                out.error = Some(err);
                break;
            }
        }
    }
    (out, None)
}

/// Whether a double-quoted scalar's source (quotes included) has the escape `\/`, which YAML
/// 1.2 added and go-yaml v2 rejects.
fn has_slash_escape(source: &str) -> bool {
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next() == Some('/') {
            return true;
        }
    }
    false
}

/// go-yaml v2 finds a block scalar's indentation by counting the spaces of its first content
/// line; a tab right after them is an error there ("found a tab character where an
/// indentation space is expected"). `at` is the byte offset where saphyr starts the scalar's
/// content (after those spaces); with an explicit indentation indicator (`|2`) in the header
/// the rule does not apply.
fn tab_sets_block_indentation(text: &str, at: usize) -> bool {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    if !before[line_start..].bytes().all(|b| b == b' ') || !text[at..].starts_with('\t') {
        return false;
    }
    // The header: the nearest line above that is not blank.
    let header = before[..line_start]
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let indicator = header
        .rfind(['|', '>'])
        .map(|i| &header[i + 1..])
        .unwrap_or_default();
    !indicator
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '#')
        .any(|c| c.is_ascii_digit())
}

/// Char offsets (saphyr's) to text, moving forward through the text as events do.
struct CharCursor<'t> {
    text: &'t str,
    char_index: usize,
    byte_index: usize,
}

impl<'t> CharCursor<'t> {
    fn new(text: &'t str) -> Self {
        Self {
            text,
            char_index: 0,
            byte_index: 0,
        }
    }

    fn seek(&mut self, index: usize) -> usize {
        if index < self.char_index {
            self.char_index = 0;
            self.byte_index = 0;
        }
        let rest = &self.text[self.byte_index..];
        let skip = index - self.char_index;
        let offset = rest.char_indices().nth(skip).map_or(rest.len(), |(b, _)| b);
        self.char_index = index;
        self.byte_index += offset;
        self.byte_index
    }

    fn char_at(&mut self, index: usize) -> Option<char> {
        let at = self.seek(index);
        self.text[at..].chars().next()
    }

    fn slice(&mut self, start: usize, end: usize) -> &'t str {
        let from = self.seek(start);
        let to = self.seek(end.max(start));
        &self.text[from..to]
    }
}

fn pos_of(span: &Span) -> Position {
    Position::new(span.start.line() as u32, span.start.col() as u32 + 1)
}

enum FrameKind {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        /// The key whose value comes next; `None` when a key comes next.
        pending_key: Option<PendingKey>,
        /// Mappings merged in through `<<`, in order of precedence.
        merges: Vec<Map<String, Value>>,
    },
}

enum PendingKey {
    Key(String),
    Merge,
}

struct Frame {
    kind: FrameKind,
    anchor: usize,
    /// Length of this node's own pointer inside `Builder::pointer`.
    pointer_len: usize,
    /// Node count when this node started, to size anchored subtrees.
    nodes_at_start: usize,
    /// Value bytes when this node started, likewise.
    bytes_at_start: usize,
}

struct Builder<'l> {
    limits: &'l Limits,
    stack: Vec<Frame>,
    pointer: String,
    positions: PositionIndexBuilder,
    /// Anchored values with their node count and value bytes.
    anchors: HashMap<usize, (Value, usize, usize)>,
    nodes: usize,
    /// Bytes of scalars and keys in the document so far, alias expansions included.
    bytes: usize,
    doc_index: usize,
    doc_start_char: usize,
    doc_start: Option<Position>,
    root: Option<Value>,
    last_char: usize,
}

impl<'l> Builder<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            limits,
            stack: Vec::new(),
            pointer: String::new(),
            positions: PositionIndexBuilder::default(),
            anchors: HashMap::new(),
            nodes: 0,
            bytes: 0,
            doc_index: 0,
            doc_start_char: 0,
            doc_start: None,
            root: None,
            last_char: 0,
        }
    }

    fn on_event(
        &mut self,
        event: Event<'_>,
        span: Span,
    ) -> Result<Option<ParsedDocument>, YamlError> {
        let err = |kind| YamlError {
            position: pos_of(&span),
            kind,
        };
        if self.doc_start.is_some()
            && span.start.index().saturating_sub(self.doc_start_char)
                > self.limits.max_document_chars
        {
            return Err(err(YamlErrorKind::DocumentTooLarge {
                limit: self.limits.max_document_chars,
            }));
        }
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(None),
            Event::DocumentStart(_) => {
                self.reset_document();
                Ok(None)
            }
            Event::DocumentEnd => {
                let doc = self.finish_document();
                self.doc_index += 1;
                Ok(doc)
            }
            Event::Alias(id) => {
                let (value, size, bytes) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| err(YamlErrorKind::UnknownAnchor(id)))?;
                if self.expecting_key() {
                    // `*a: value`: an alias of a scalar is a key like the scalar itself.
                    let key = match value {
                        Value::String(s) => s,
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        Value::Null => return Err(err(YamlErrorKind::NullKey)),
                        Value::Array(_) | Value::Object(_) => {
                            return Err(err(YamlErrorKind::ComplexKey))
                        }
                    };
                    self.add_bytes(key.len(), &span)?;
                    return self.push_key(key, &span);
                }
                self.add_bytes(bytes, &span)?;
                self.nodes += size;
                if self.nodes > self.limits.max_nodes {
                    return Err(err(YamlErrorKind::AliasExpansion {
                        limit: self.limits.max_nodes,
                    }));
                }
                self.begin_node(&span)?;
                self.complete(value, &span)
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.add_bytes(text.len(), &span)?;
                if self.expecting_key() {
                    if anchor != 0 {
                        let value = scalar_value(&text, style, tag.as_deref()).map_err(err)?;
                        self.anchors.insert(anchor, (value, 1, text.len()));
                    }
                    return self.on_key(&text, style, &span);
                }
                self.count_node(&span)?;
                self.begin_node(&span)?;
                let value = scalar_value(&text, style, tag.as_deref()).map_err(err)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, (value.clone(), 1, text.len()));
                }
                self.complete(value, &span)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.expecting_key() {
                    return Err(err(YamlErrorKind::ComplexKey));
                }
                self.count_node(&span)?;
                if self.stack.len() >= self.limits.max_depth {
                    return Err(err(YamlErrorKind::TooDeep {
                        limit: self.limits.max_depth,
                    }));
                }
                self.begin_node(&span)?;
                let kind = if matches!(event, Event::SequenceStart(..)) {
                    FrameKind::Seq(Vec::new())
                } else {
                    FrameKind::Map {
                        map: Map::new(),
                        pending_key: None,
                        merges: Vec::new(),
                    }
                };
                self.stack.push(Frame {
                    kind,
                    anchor,
                    pointer_len: self.pointer.len(),
                    nodes_at_start: self.nodes,
                    bytes_at_start: self.bytes,
                });
                Ok(None)
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(None);
                };
                let value = match frame.kind {
                    FrameKind::Seq(items) => Value::Array(items),
                    FrameKind::Map {
                        mut map, merges, ..
                    } => {
                        for merged in merges {
                            for (k, v) in merged {
                                map.entry(k).or_insert(v);
                            }
                        }
                        Value::Object(map)
                    }
                };
                if frame.anchor != 0 {
                    let size = self.nodes - frame.nodes_at_start + 1;
                    let bytes = self.bytes - frame.bytes_at_start;
                    self.anchors
                        .insert(frame.anchor, (value.clone(), size, bytes));
                }
                self.complete(value, &span)
            }
        }
    }

    fn reset_document(&mut self) {
        self.stack.clear();
        self.pointer.clear();
        self.positions = PositionIndexBuilder::default();
        self.anchors.clear();
        self.nodes = 0;
        self.bytes = 0;
        self.doc_start = None;
        self.root = None;
    }

    fn finish_document(&mut self) -> Option<ParsedDocument> {
        let value = self.root.take()?;
        let start = self.doc_start.take()?;
        if value.is_null() {
            return None;
        }
        Some(ParsedDocument {
            value,
            positions: std::mem::take(&mut self.positions).build(),
            index: self.doc_index,
            start,
            start_char: self.doc_start_char,
            end_char: self.last_char,
        })
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map {
                    pending_key: None,
                    ..
                },
                ..
            })
        )
    }

    fn add_bytes(&mut self, bytes: usize, span: &Span) -> Result<(), YamlError> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.limits.max_value_bytes {
            return Err(YamlError {
                position: pos_of(span),
                kind: YamlErrorKind::AliasBytes {
                    limit: self.limits.max_value_bytes,
                },
            });
        }
        Ok(())
    }

    fn count_node(&mut self, span: &Span) -> Result<(), YamlError> {
        self.nodes += 1;
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError {
                position: pos_of(span),
                kind: YamlErrorKind::TooManyNodes {
                    limit: self.limits.max_nodes,
                },
            });
        }
        Ok(())
    }

    /// Records where a node starts. The pointer already names it: the parent pushed the key
    /// or index before the node's first event.
    fn begin_node(&mut self, span: &Span) -> Result<(), YamlError> {
        if self.doc_start.is_none() {
            self.doc_start = Some(pos_of(span));
            self.doc_start_char = span.start.index();
        }
        match self.stack.last() {
            Some(Frame {
                kind: FrameKind::Seq(items),
                pointer_len,
                ..
            }) => {
                self.pointer.truncate(*pointer_len);
                let _ = write!(self.pointer, "/{}", items.len());
                self.positions.push(&self.pointer, pos_of(span));
            }
            Some(Frame {
                kind: FrameKind::Map { .. },
                ..
            }) => {
                // Position was recorded at the key.
            }
            None => self.positions.push("", pos_of(span)),
        }
        Ok(())
    }

    fn on_key(
        &mut self,
        text: &str,
        style: ScalarStyle,
        span: &Span,
    ) -> Result<Option<ParsedDocument>, YamlError> {
        let err = |kind| YamlError {
            position: pos_of(span),
            kind,
        };
        let key = if style == ScalarStyle::Plain {
            let resolved = resolve_plain(text);
            if resolved == Resolved::Merge {
                if let Some(Frame {
                    kind: FrameKind::Map { pending_key, .. },
                    ..
                }) = self.stack.last_mut()
                {
                    *pending_key = Some(PendingKey::Merge);
                }
                return Ok(None);
            }
            key_string(text, &resolved)
                .ok_or_else(|| err(YamlErrorKind::NullKey))?
                .map_err(|go_type| {
                    err(YamlErrorKind::UnsupportedKey {
                        key: text.to_owned(),
                        go_type,
                    })
                })?
        } else {
            text.to_owned()
        };
        self.push_key(key, span)
    }

    /// Records a mapping key: its pointer, its position, and the duplicate check.
    fn push_key(&mut self, key: String, span: &Span) -> Result<Option<ParsedDocument>, YamlError> {
        let err = |kind| YamlError {
            position: pos_of(span),
            kind,
        };
        let Some(Frame {
            kind: FrameKind::Map {
                map, pending_key, ..
            },
            pointer_len,
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(None);
        };
        self.pointer.truncate(*pointer_len);
        self.pointer.push('/');
        self.pointer.push_str(&escape_token(&key));
        if map.contains_key(&key) {
            let first_line = self.positions.last(&self.pointer).map_or(0, |p| p.line);
            return Err(err(YamlErrorKind::DuplicateKey { key, first_line }));
        }
        self.positions.push(&self.pointer, pos_of(span));
        *pending_key = Some(PendingKey::Key(key));
        Ok(None)
    }

    /// A node is complete: hand it to its parent, or make it the document root.
    fn complete(&mut self, value: Value, span: &Span) -> Result<Option<ParsedDocument>, YamlError> {
        self.last_char = span.end.index();
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(None);
        };
        self.pointer.truncate(parent.pointer_len);
        match &mut parent.kind {
            FrameKind::Seq(items) => items.push(value),
            FrameKind::Map {
                map,
                pending_key,
                merges,
                ..
            } => match pending_key.take() {
                Some(PendingKey::Key(key)) => {
                    map.insert(key, value);
                }
                Some(PendingKey::Merge) => {
                    // Drop the positions recorded inside the merge source: its nodes do not
                    // exist at the pointers they were recorded under.
                    self.positions.remove_under(&self.pointer);
                    match value {
                        Value::Object(m) => merges.push(m),
                        Value::Array(items) => {
                            for item in items {
                                match item {
                                    Value::Object(m) => merges.push(m),
                                    _ => {
                                        return Err(YamlError {
                                            position: pos_of(span),
                                            kind: YamlErrorKind::BadMerge,
                                        })
                                    }
                                }
                            }
                        }
                        _ => {
                            return Err(YamlError {
                                position: pos_of(span),
                                kind: YamlErrorKind::BadMerge,
                            })
                        }
                    }
                }
                None => {}
            },
        }
        Ok(None)
    }
}

fn is_core_tag(tag: &Tag, suffix: &str) -> bool {
    (tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!") && tag.suffix == suffix
}

fn scalar_value(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, YamlErrorKind> {
    let bad = |tag: &str| YamlErrorKind::BadTaggedValue {
        value: text.to_owned(),
        tag: tag.to_owned(),
    };
    if let Some(tag) = tag {
        for core in ["bool", "int", "float", "null"] {
            if is_core_tag(tag, core) {
                let resolved = resolve_plain(text);
                let ok = matches!(
                    (core, &resolved),
                    ("bool", Resolved::Bool(_))
                        | ("int", Resolved::Int(_) | Resolved::UInt(_))
                        | (
                            "float",
                            Resolved::Float(_) | Resolved::Int(_) | Resolved::UInt(_)
                        )
                        | ("null", Resolved::Null)
                );
                if !ok {
                    return Err(bad(&format!("!!{core}")));
                }
                return resolved_to_json(text, resolved);
            }
        }
        // go-yaml v2 decodes `!!binary` into the bytes' string; JSON then carries them as
        // text (invalid UTF-8 replaced, as Go's encoding/json does).
        if is_core_tag(tag, "binary") {
            let bytes = decode_base64(text).ok_or(YamlErrorKind::BadBinary)?;
            return Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        }
        // `!!str` and application tags: go-yaml v2 keeps the text.
        return Ok(Value::String(text.to_owned()));
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    resolved_to_json(text, resolve_plain(text))
}

/// Go's `base64.StdEncoding.DecodeString`: the standard alphabet with `=` padding required;
/// `\r` and `\n` are skipped, anything else outside the alphabet is an error.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text
        .bytes()
        .filter(|b| *b != b'\n' && *b != b'\r')
        .collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let value = |b: u8| -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    let chunks = symbols.len() / 4;
    for (i, chunk) in symbols.chunks(4).enumerate() {
        let pad = chunk.iter().rev().take_while(|b| **b == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != chunks) {
            return None;
        }
        let mut n = 0u32;
        for &b in &chunk[..4 - pad] {
            n = (n << 6) | value(b)?;
        }
        n <<= 6 * pad as u32;
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

fn resolved_to_json(text: &str, resolved: Resolved) -> Result<Value, YamlErrorKind> {
    Ok(match resolved {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(i) => Value::Number(i.into()),
        Resolved::UInt(u) => Value::Number(u.into()),
        Resolved::Float(f) => {
            float_to_json(f).ok_or_else(|| YamlErrorKind::NonFiniteNumber(text.to_owned()))?
        }
        Resolved::Str | Resolved::Merge => Value::String(text.to_owned()),
    })
}

/// Go's `encoding/json` writes an integral float64 without a fraction (`8`, not `8.0`), so the
/// API server decodes it as an integer. Mirror that so `runAsUser: 0.0` is seen as root.
fn float_to_json(f: f64) -> Option<Value> {
    if !f.is_finite() {
        return None;
    }
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        return Some(Value::Number((f as i64).into()));
    }
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> ParsedStream {
        parse_stream(text, &Limits::default())
    }

    fn one(text: &str) -> ParsedDocument {
        let stream = parse(text);
        assert!(
            stream.error.is_none(),
            "unexpected error: {:?}",
            stream.error
        );
        assert_eq!(stream.documents.len(), 1);
        stream.documents.into_iter().next().expect("one document")
    }

    fn error(text: &str) -> YamlError {
        parse(text).error.expect("an error")
    }

    #[test]
    fn kubernetes_scalar_resolution() {
        let doc = one(
            "a: yes\nb: 'yes'\nc: On\nd: 0755\ne: ~\nf:\ng: \"0755\"\nh: 1_000\ni: 1.0\nj: 0x1F\nk: N\nl: 3Mi\nm: !!str true\nz: |\n  yes\nn: key\n",
        );
        assert_eq!(
            doc.value,
            json!({"a": true, "b": "yes", "c": true, "d": 493, "e": null, "f": null,
                   "g": "0755", "h": 1000, "i": 1, "j": 31, "k": false, "l": "3Mi",
                   "m": "true", "z": "yes\n", "false": "key"})
        );
    }

    #[test]
    fn positions_point_at_keys_and_items() {
        let doc = one("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n      image: x\n    - name: b\n");
        assert_eq!(doc.positions.get(""), Some(Position::new(1, 1)));
        assert_eq!(doc.positions.get("/kind"), Some(Position::new(2, 1)));
        assert_eq!(
            doc.positions.get("/spec/containers"),
            Some(Position::new(4, 3))
        );
        assert_eq!(
            doc.positions.get("/spec/containers/0"),
            Some(Position::new(5, 7))
        );
        assert_eq!(
            doc.positions.get("/spec/containers/0/image"),
            Some(Position::new(6, 7))
        );
        assert_eq!(
            doc.positions.get("/spec/containers/1/name"),
            Some(Position::new(7, 7))
        );
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_escaped() {
        let doc = one("metadata:\n  annotations:\n    a/b~c: x\n");
        assert_eq!(
            doc.positions.get("/metadata/annotations/a~1b~0c"),
            Some(Position::new(3, 5))
        );
    }

    #[test]
    fn multi_document_streams_skip_empty_documents() {
        let stream = parse("---\n---\na: 1\n---\n# only a comment\n---\nb: 2\n...\n");
        assert!(stream.error.is_none());
        let values: Vec<_> = stream.documents.iter().map(|d| d.value.clone()).collect();
        assert_eq!(values, vec![json!({"a": 1}), json!({"b": 2})]);
        assert_eq!(stream.documents[1].start, Position::new(7, 1));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = error("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!(
            e.kind,
            YamlErrorKind::DuplicateKey {
                key: "c".into(),
                first_line: 3
            }
        );
        assert_eq!(e.position, Position::new(4, 3));
        // `yes` and `true` are the same key once resolved.
        let e = error("yes: 1\ntrue: 2\n");
        assert!(matches!(e.kind, YamlErrorKind::DuplicateKey { .. }));
    }

    /// go-yaml reads quoted scalars continued at any indentation and flow collections whose
    /// lines sit left of the block; kubegate edits the text so saphyr reads them too, and
    /// every position still names the text as written.
    #[test]
    fn what_go_yaml_reads_is_read_with_positions_in_the_text_as_written() {
        let text = "spec:\n  description: \"When set to true, defaults\n  to false.\"\n  next: 1\n  list: [a,\nbb, c]\n  after: \"x\ny\" # c\n";
        let stream = parse_stream(text, &Limits::default());
        assert!(stream.error.is_none(), "{:?}", stream.error);
        let doc = &stream.documents[0];
        assert_eq!(
            doc.value,
            serde_json::json!({"spec": {
                "description": "When set to true, defaults to false.",
                "next": 1, "list": ["a", "bb", "c"], "after": "x y"}})
        );
        let at = |p: &str| doc.positions.get(p).map(|p| (p.line, p.column));
        assert_eq!(at("/spec/description"), Some((2, 3)));
        assert_eq!(at("/spec/next"), Some((4, 3)));
        // On a line kubegate indented, columns are those of the text as written.
        assert_eq!(at("/spec/list/1"), Some((6, 1)));
        assert_eq!(at("/spec/list/2"), Some((6, 5)));
        assert_eq!(at("/spec/after"), Some((7, 3)));
        // Offsets are those of the text as written too (the edits added 27 characters).
        assert!(doc.end_char <= text.len(), "{}", doc.end_char);
        assert!(doc.end_char > text.find("after").unwrap_or(usize::MAX));

        // An error after an edited line still points into the text as written.
        let broken = "a:\n  d: \"x\ny\"\n  e: [1,\n2\n  f: }\n";
        let e = parse_stream(broken, &Limits::default())
            .error
            .expect("an error");
        assert_eq!(e.position.line, 6, "{e:?}");
        // Block indentation go-yaml refuses too stays an error.
        let bad = "a:\n    b: 1\n  c: 2\n";
        assert!(parse_stream(bad, &Limits::default()).error.is_some());
    }

    #[test]
    fn a_tab_after_a_colon_separates_as_in_go_yaml() {
        let stream = parse_stream("a:\tb\nc:\t\t[1]\n", &Limits::default());
        assert!(stream.error.is_none(), "{:?}", stream.error);
        let doc = &stream.documents[0];
        assert_eq!(doc.value, serde_json::json!({"a": "b", "c": [1]}));
        assert_eq!(doc.positions.get("/c/0").map(|p| p.column), Some(6));
        // A tab right after the spaces that set a block scalar's indentation is refused, as
        // go-yaml refuses it; with an indentation indicator it is content.
        let e = parse_stream("a: |\n  \tx\n", &Limits::default())
            .error
            .expect("a tab in the indentation");
        assert_eq!(e.kind, YamlErrorKind::BlockScalarTab);
        assert_eq!((e.position.line, e.position.column), (2, 3));
        let fine = parse_stream("a: |2\n  \tx\nb: |\n  x\n  \ty\n", &Limits::default());
        assert!(fine.error.is_none(), "{:?}", fine.error);
        assert_eq!(
            fine.documents[0].value,
            serde_json::json!({"a": "\tx\n", "b": "x\n\ty\n"})
        );
    }

    #[test]
    fn escapes_and_tags_as_go_yaml_v2_reads_them() {
        let e = parse_stream("a: \"x\\/y\"\n", &Limits::default())
            .error
            .expect("go-yaml v2 has no \\/ escape");
        assert_eq!(e.kind, YamlErrorKind::SlashEscape);
        assert_eq!((e.position.line, e.position.column), (1, 4));
        // Not an escape: `\\` then `/`, and `\/` outside double quotes.
        for fine in ["a: \"x\\\\/y\"\n", "a: 'x\\/y'\n", "a: x\\/y\n"] {
            assert!(
                parse_stream(fine, &Limits::default()).error.is_none(),
                "{fine}"
            );
        }
        let binary = parse_stream(
            "a: !!binary aGVsbG8=\nb: !!binary |\n  aGVs\n  bG8=\n",
            &Limits::default(),
        );
        assert_eq!(
            binary.documents[0].value,
            serde_json::json!({"a": "hello", "b": "hello"})
        );
        let e = parse_stream("a: !!binary aGVsbG8\n", &Limits::default())
            .error
            .expect("unpadded base64");
        assert_eq!(e.kind, YamlErrorKind::BadBinary);
        let e = parse_stream("9223372036854775808: v\n", &Limits::default())
            .error
            .expect("a uint64 key");
        assert!(
            matches!(e.kind, YamlErrorKind::UnsupportedKey { .. }),
            "{e:?}"
        );
    }

    /// A 1 MB string aliased again and again: 5,000 aliases are 5 GB of values from a 1 MB
    /// file, inside the node limit. Bounded by bytes, it is a clear error at the alias that
    /// crosses the limit (here the 65th of 100).
    #[test]
    fn aliases_of_large_values_are_bounded_by_bytes() {
        let big = "x".repeat(1_000_000);
        let items = vec!["*a"; 100].join(", ");
        let text = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a: &a \"{big}\"\nlist: [{items}]\n"
        );
        let stream = parse_stream(&text, &Limits::default());
        let e = stream.error.expect("an error");
        assert_eq!(
            e.kind,
            YamlErrorKind::AliasBytes {
                limit: 64 * 1024 * 1024
            }
        );
        assert_eq!(e.position.line, 7);
        assert!(stream.documents.is_empty());
        // A few aliases of a modest anchor stay fine.
        let fine = "a: &a {x: 1, y: [1, 2, 3]}\nb: *a\nc: *a\n";
        let stream = parse_stream(fine, &Limits::default());
        assert!(stream.error.is_none(), "{:?}", stream.error);
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = error(&text);
        assert!(
            matches!(e.kind, YamlErrorKind::AliasExpansion { .. }),
            "{e:?}"
        );
    }

    #[test]
    fn aliases_and_merge_keys_expand() {
        let doc = one("base: &b\n  p: 1\n  q: 2\nobj:\n  <<: *b\n  q: 3\nlist: [*b]\n");
        assert_eq!(doc.value["obj"], json!({"p": 1, "q": 3}));
        assert_eq!(doc.value["list"], json!([{"p": 1, "q": 2}]));
        // Alias-expanded nodes resolve to the alias itself.
        assert_eq!(
            doc.positions.resolve("/list/0/p").map(|r| r.0),
            Some(Position::new(7, 8))
        );
    }

    #[test]
    fn anchored_and_aliased_keys() {
        let doc = one("a: &k name\nb:\n  *k : web\n  &y yes: 1\nc: *y\n");
        assert_eq!(doc.value["b"], json!({"name": "web", "true": 1}));
        assert_eq!(doc.value["c"], json!(true));
        assert_eq!(doc.positions.get("/b/name"), Some(Position::new(3, 3)));
        let e = error("a: &m {x: 1}\nb:\n  *m : 1\n");
        assert!(matches!(e.kind, YamlErrorKind::ComplexKey), "{e:?}");
        let e = error("a: &k name\nb:\n  name: 1\n  *k : 2\n");
        assert!(
            matches!(e.kind, YamlErrorKind::DuplicateKey { first_line: 3, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        // Block nesting hits kubegate's own limit.
        let mut text = String::new();
        for depth in 0..150 {
            text.push_str(&" ".repeat(depth));
            text.push_str("k:\n");
        }
        let e = error(&text);
        assert!(
            matches!(e.kind, YamlErrorKind::TooDeep { limit: 100 }),
            "{e:?}"
        );
        assert_eq!(e.position.line, 101);
        // Flow nesting is stopped by the parser's recursion guard first; either way it is an
        // error with a position, not a stack overflow.
        let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = error(&text);
        assert!(
            matches!(&e.kind, YamlErrorKind::TooDeep { .. })
                || matches!(&e.kind, YamlErrorKind::Syntax(m) if m.contains("recursion")),
            "{e:?}"
        );
    }

    #[test]
    fn document_size_is_bounded() {
        let limits = Limits {
            max_document_chars: 100,
            ..Limits::default()
        };
        let text = format!("a: [{}]\n", vec!["1"; 200].join(", "));
        let e = parse_stream(&text, &limits).error.expect("error");
        assert!(
            matches!(e.kind, YamlErrorKind::DocumentTooLarge { limit: 100 }),
            "{e:?}"
        );
    }

    #[test]
    fn syntax_errors_carry_positions() {
        let e = error("a:\n  b: 1\n c: 2\n");
        assert!(matches!(e.kind, YamlErrorKind::Syntax(_)), "{e:?}");
        assert_eq!(e.position.line, 3);
        let e = error("a:\n\tb: 1\n");
        assert!(matches!(e.kind, YamlErrorKind::Syntax(_)), "{e:?}");
    }

    #[test]
    fn json_documents_parse_with_positions() {
        let doc = one("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"spec\": {\"hostPID\":true, \"n\": 1.5}\n}\n");
        assert_eq!(doc.value["spec"], json!({"hostPID": true, "n": 1.5}));
        assert_eq!(
            doc.positions.get("/spec/hostPID"),
            Some(Position::new(4, 12))
        );
    }

    #[test]
    fn non_finite_numbers_and_null_keys_are_errors() {
        assert!(matches!(
            error("a: .inf\n").kind,
            YamlErrorKind::NonFiniteNumber(_)
        ));
        assert!(matches!(error("~: 1\n").kind, YamlErrorKind::NullKey));
        assert!(matches!(
            error("? [a]\n: 1\n").kind,
            YamlErrorKind::ComplexKey
        ));
        assert!(matches!(
            error("a: !!int abc\n").kind,
            YamlErrorKind::BadTaggedValue { .. }
        ));
    }

    #[test]
    fn earlier_documents_survive_a_later_error() {
        let stream = parse("a: 1\n---\nb: [\n");
        assert_eq!(stream.documents.len(), 1);
        assert!(stream.error.is_some());
    }

    /// A deep path of long keys above a long list: every item's pointer repeats the 40 KB path,
    /// so an index storing full pointers held about 1.6 GB for this 122 KB text (issue #13).
    /// Stored as parent + own token, it stays proportional to the text.
    #[test]
    fn the_position_index_is_proportional_to_the_text_not_to_pointer_lengths() {
        let mut text = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
        let depth = 40;
        for level in 0..depth {
            text.push_str(&"  ".repeat(level + 1));
            text.push_str(&format!("k{level:02}{}:\n", "x".repeat(1000)));
        }
        text.push_str(&"  ".repeat(depth + 1));
        text.push('[');
        text.push_str(&vec!["1"; 40_000].join(","));
        text.push_str("]\n");
        let stream = parse_stream(&text, &Limits::default());
        assert!(stream.error.is_none(), "{:?}", stream.error);
        let doc = &stream.documents[0];
        let mut pointer = String::from("/data");
        for level in 0..depth {
            pointer.push_str(&format!("/k{level:02}{}", "x".repeat(1000)));
        }
        let last = format!("{pointer}/39999");
        let last_line = depth as u32 + 4;
        let column = (2 * (depth + 1) + 1 + 2 * 39_999 + 1) as u32;
        assert_eq!(
            doc.positions.get(&last),
            Some(Position::new(last_line, column))
        );
        assert_eq!(doc.positions.len(), 1 + 3 + depth + 40_000);
        let bytes = doc.positions.heap_bytes();
        assert!(
            bytes < 16 * text.len(),
            "index of {bytes} bytes for {} bytes of text",
            text.len()
        );
    }
}
