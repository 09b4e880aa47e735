//! Where saphyr (a YAML 1.2 reader) refuses text that go-yaml v2, and so `sigs.k8s.io/yaml`
//! and the API server, reads, kubegate edits the text so saphyr reads it with the same value,
//! and maps every position back to the text as written. Found by the differential test
//! (`engine/tests/integration/yaml_reference.rs`); each edit leaves the document's value
//! unchanged because the whitespace it touches is not part of any value:
//!
//! - **Continuation lines of a quoted scalar** may sit at any indentation in go-yaml (it checks
//!   none), even at column 0: `description: "When set to true, defaults` / `to false."` at the
//!   key's indentation (gatekeeper-library's `httpsonly`). saphyr wants them indented past the
//!   block. Leading white space of a continuation line is folded away, so kubegate indents the
//!   lines of that scalar past its opening quote.
//! - **Lines inside a flow collection** (`[a,` / `b]`) likewise: go-yaml does not check the
//!   indentation of flow content; separation white space is not content.
//! - **A tab after a mapping's `:`** (`a:<TAB>b`): go-yaml takes it as the separating white
//!   space; kubegate writes a space in its place (one character for one, so no column moves).
//!
//! Lines keep their numbers; columns on an indented line and character offsets after an edit
//! are mapped back by [`Edits`].

/// What kind of refusal an edit can answer, from saphyr's message.
pub(crate) fn fixable(info: &str) -> bool {
    matches!(
        info,
        QUOTED_INDENT | TAB_INDENT | FLOW_INDENT | BLOCK_INDENT | COLON_TAB
    )
}

const QUOTED_INDENT: &str = "invalid indentation in quoted scalar";
const TAB_INDENT: &str = "tab cannot be used as indentation";
const FLOW_INDENT: &str = "invalid indentation in flow construct";
const BLOCK_INDENT: &str = "invalid indentation";
const COLON_TAB: &str = "':' must be followed by a valid YAML whitespace";

/// The edits made so far, in the original text's coordinates.
#[derive(Debug, Default)]
pub(crate) struct Edits {
    /// (original char offset of a line's start, its 1-based line number, spaces inserted there).
    inserts: Vec<(usize, usize, usize)>,
    /// Original char offsets of tabs written as spaces.
    tabs: Vec<usize>,
}

/// A refusal as saphyr reported it, in the edited text's coordinates.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refusal<'a> {
    pub info: &'a str,
    /// Char offset, 1-based line, 0-based column.
    pub index: usize,
    pub line: usize,
    pub col: usize,
    /// Whether the parser was inside a flow collection when it refused.
    pub in_flow: bool,
}

impl Edits {
    pub(crate) fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.tabs.is_empty()
    }

    /// Spaces inserted at the start of a line.
    fn inserted(&self, line: usize) -> usize {
        self.inserts
            .iter()
            .filter(|(_, l, _)| *l == line)
            .map(|(_, _, n)| n)
            .sum()
    }

    /// An edited text's char offset in the original text.
    pub(crate) fn index(&self, edited: usize) -> usize {
        let mut shift = 0;
        for &(start, _, width) in &self.inserts {
            let at = start + shift;
            if edited >= at + width {
                shift += width;
            } else if edited >= at {
                return start;
            } else {
                break;
            }
        }
        edited - shift
    }

    /// An edited text's 0-based column on a line in the original text.
    pub(crate) fn col(&self, line: usize, edited: usize) -> usize {
        edited.saturating_sub(self.inserted(line))
    }

    /// The original text with every edit made.
    pub(crate) fn apply(&self, original: &str) -> String {
        let mut out = String::with_capacity(original.len() + 64);
        let mut inserts = self.inserts.iter().peekable();
        for (i, c) in original.chars().enumerate() {
            while let Some(&&(start, _, width)) = inserts.peek() {
                if start != i {
                    break;
                }
                out.extend(std::iter::repeat_n(' ', width));
                inserts.next();
            }
            if c == '\t' && self.tabs.binary_search(&i).is_ok() {
                out.push(' ');
            } else {
                out.push(c);
            }
        }
        out
    }

    /// Adds the edit that answers this refusal of the edited text `edited` (whose original is
    /// `original`). `false` when there is none: the refusal stands.
    pub(crate) fn answer(&mut self, original: &str, edited: &str, refusal: Refusal<'_>) -> bool {
        let lines = LineTable::new(original);
        match refusal.info {
            QUOTED_INDENT => {
                // The marker is the opening quote: indent the scalar's further lines past it.
                let quote_col = refusal.col;
                let Some(last) = closing_line(edited, refusal.index) else {
                    return false;
                };
                let mut changed = false;
                for line in refusal.line + 1..=last {
                    let have = lines.indent(original, line) + self.inserted(line);
                    if have <= quote_col {
                        self.insert(&lines, line, quote_col + 1 - have);
                        changed = true;
                    }
                }
                changed
            }
            TAB_INDENT | FLOW_INDENT | BLOCK_INDENT => {
                // A tab in a quoted scalar's indentation, or a line inside a flow collection:
                // indent the line past the line above it. Block-context indentation errors
                // are real errors (go-yaml refuses them too).
                if refusal.info == BLOCK_INDENT && !refusal.in_flow {
                    return false;
                }
                let line = refusal.line;
                let Some(above) = (1..line).rev().find(|l| !lines.is_blank(original, *l)) else {
                    return false;
                };
                let want = lines.indent(original, above) + self.inserted(above) + 1;
                let have = self.inserted(line) + lines.leading_spaces(original, line);
                if want <= have {
                    return false;
                }
                self.insert(&lines, line, want - have);
                true
            }
            COLON_TAB => {
                // The marker is after the white space that follows the `:`.
                let original_index = self.index(refusal.index);
                let chars: Vec<(usize, char)> = original
                    .chars()
                    .enumerate()
                    .skip(original_index.saturating_sub(64))
                    .take(original_index.min(64))
                    .collect();
                let mut tabs = Vec::new();
                for &(i, c) in chars.iter().rev() {
                    match c {
                        '\t' => tabs.push(i),
                        ' ' => {}
                        ':' if !tabs.is_empty() => {
                            self.tabs.extend(tabs);
                            self.tabs.sort_unstable();
                            self.tabs.dedup();
                            return true;
                        }
                        _ => return false,
                    }
                }
                false
            }
            _ => false,
        }
    }

    fn insert(&mut self, lines: &LineTable, line: usize, width: usize) {
        let Some(start) = lines.start(line) else {
            return;
        };
        self.inserts.push((start, line, width));
        self.inserts.sort_unstable();
    }
}

/// The 1-based line of the quote closing the quoted scalar whose opening quote is at char
/// offset `open` of `text`.
fn closing_line(text: &str, open: usize) -> Option<usize> {
    let mut chars = text.chars().enumerate().skip(open);
    let (_, quote) = chars.next()?;
    let mut line = 1 + text.chars().take(open).filter(|c| *c == '\n').count();
    let mut chars = chars.map(|(_, c)| c).peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '\\' if quote == '"' && chars.next() == Some('\n') => line += 1,
            '\'' if quote == '\'' => {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                } else {
                    return Some(line);
                }
            }
            '"' if quote == '"' => return Some(line),
            _ => {}
        }
    }
    None
}

/// Line starts of the original text, in chars.
struct LineTable {
    /// Char offset of each line's start; index 0 is line 1.
    starts: Vec<usize>,
}

impl LineTable {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, c) in text.chars().enumerate() {
            if c == '\n' {
                starts.push(i + 1);
            }
        }
        Self { starts }
    }

    fn start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }

    fn chars<'t>(&self, text: &'t str, line: usize) -> impl Iterator<Item = char> + 't {
        let start = self.start(line).unwrap_or(usize::MAX);
        text.chars().skip(start).take_while(|c| *c != '\n')
    }

    /// Leading blanks (spaces and tabs, a column each as saphyr counts them).
    fn indent(&self, text: &str, line: usize) -> usize {
        self.chars(text, line)
            .take_while(|c| *c == ' ' || *c == '\t')
            .count()
    }

    fn leading_spaces(&self, text: &str, line: usize) -> usize {
        self.chars(text, line).take_while(|c| *c == ' ').count()
    }

    fn is_blank(&self, text: &str, line: usize) -> bool {
        self.chars(text, line).all(|c| c.is_whitespace())
    }
}
