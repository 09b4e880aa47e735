//! Property tests for the loader: pointer → position round trips on generated YAML, and no
//! panic (and no silent pass) on arbitrary input.

use kubegate_engine::{parse_stream, Limits};
use kubegate_engine::{Checker, Loaded, Loader, Position};
use proptest::prelude::*;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = "v[a-z0-9]{0,6}".prop_map(Node::Scalar);
    leaf.prop_recursive(5, 64, 5, |inner| {
        prop_oneof![
            // Keys include `/` and `~` so pointer escaping is exercised; the leading `k` keeps
            // them plain strings under YAML 1.1 resolution.
            prop::collection::vec(("k[a-z0-9/~._-]{0,6}", inner.clone()), 0..5).prop_map(
                |entries| {
                    let mut seen = std::collections::HashSet::new();
                    Node::Map(
                        entries
                            .into_iter()
                            .filter(|(k, _)| seen.insert(k.clone()))
                            .collect(),
                    )
                }
            ),
            prop::collection::vec(inner, 0..5).prop_map(Node::Seq),
        ]
    })
}

fn to_json(node: &Node) -> Value {
    match node {
        Node::Scalar(s) => Value::String(s.clone()),
        Node::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect::<Map<_, _>>(),
        ),
        Node::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A block-style emitter that records where it put every node, independently of the loader.
#[derive(Default)]
struct Emitter {
    out: String,
    line: u32,
    expected: Vec<(String, Position)>,
}

impl Emitter {
    fn column(&self) -> u32 {
        let last_line = self.out.rsplit('\n').next().unwrap_or("");
        last_line.chars().count() as u32 + 1
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.line += 1;
    }

    /// Emits a mapping whose first entry starts at the cursor (already indented).
    fn map(&mut self, entries: &[(String, Node)], indent: usize, pointer: &str) {
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                self.out.push_str(&" ".repeat(indent));
            }
            let child = format!("{pointer}/{}", escape(key));
            self.expected
                .push((child.clone(), Position::new(self.line, self.column())));
            self.out.push_str(key);
            self.out.push(':');
            match value {
                Node::Scalar(s) => {
                    self.out.push(' ');
                    self.out.push_str(s);
                    self.newline();
                }
                Node::Map(m) if m.is_empty() => {
                    self.out.push_str(" {}");
                    self.newline();
                }
                Node::Seq(s) if s.is_empty() => {
                    self.out.push_str(" []");
                    self.newline();
                }
                Node::Map(m) => {
                    self.newline();
                    self.out.push_str(&" ".repeat(indent + 2));
                    self.map(m, indent + 2, &child);
                }
                Node::Seq(s) => {
                    self.newline();
                    self.out.push_str(&" ".repeat(indent + 2));
                    self.seq(s, indent + 2, &child);
                }
            }
        }
    }

    /// Emits a sequence whose first `- ` starts at the cursor (already indented).
    fn seq(&mut self, items: &[Node], indent: usize, pointer: &str) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(&" ".repeat(indent));
            }
            self.out.push_str("- ");
            let child = format!("{pointer}/{i}");
            self.expected
                .push((child.clone(), Position::new(self.line, self.column())));
            match item {
                Node::Scalar(s) => {
                    self.out.push_str(s);
                    self.newline();
                }
                Node::Map(m) if m.is_empty() => {
                    self.out.push_str("{}");
                    self.newline();
                }
                Node::Seq(s) if s.is_empty() => {
                    self.out.push_str("[]");
                    self.newline();
                }
                Node::Map(m) => self.map(m, indent + 2, &child),
                Node::Seq(s) => self.seq(s, indent + 2, &child),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_node_maps_back_to_where_it_was_written(
        entries in prop::collection::vec(("k[a-z0-9/~._-]{0,6}", node()), 1..6),
        leading_comment_lines in 0u32..3,
    ) {
        let mut seen = std::collections::HashSet::new();
        let entries: Vec<_> = entries.into_iter().filter(|(k, _)| seen.insert(k.clone())).collect();
        let mut emitter = Emitter { line: 1, ..Emitter::default() };
        for _ in 0..leading_comment_lines {
            emitter.out.push_str("# comment");
            emitter.newline();
        }
        emitter.expected.push((String::new(), Position::new(emitter.line, 1)));
        emitter.map(&entries, 0, "");
        let stream = parse_stream(&emitter.out, &Limits::default());
        prop_assert!(stream.error.is_none(), "{:?}\n{}", stream.error, emitter.out);
        prop_assert_eq!(stream.documents.len(), 1);
        let doc = &stream.documents[0];
        prop_assert_eq!(&doc.value, &to_json(&Node::Map(entries)));
        for (pointer, position) in &emitter.expected {
            prop_assert_eq!(doc.positions.get(pointer), Some(*position), "pointer {:?} in\n{}", pointer, emitter.out);
        }
        prop_assert_eq!(doc.positions.len(), emitter.expected.len());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ \\n\\t:\\-\\[\\]{}&*!|>'\"%@`#,?<a-z0-9.~]{0,300}") {
        run_everything(text);
    }

    #[test]
    fn mutated_manifests_never_panic_and_never_pass_silently(
        cut in 0usize..600,
        insert in "[ \\n\\t:\\-\\[\\]{}&*!|>'\"#a-z0-9]{0,6}",
    ) {
        let base = include_str!("../../../testdata/examples/web-deployment.yaml");
        let cut = cut.min(base.len());
        let cut = (0..=cut).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
        let text = format!("{}{}{}", &base[..cut], insert, &base[cut..]);
        run_everything(text);
    }
}

/// Loads and checks `text`; every document must end as an object, a load error, or nothing
/// (an empty document) — never a panic.
fn run_everything(text: String) {
    let (manifests, errors) = Loader::default().load_text("fuzz.yaml", text.clone());
    for e in &errors {
        let rendered = e.to_string();
        assert!(rendered.starts_with("fuzz.yaml"), "{rendered}");
    }
    let report = Checker::default().check(&Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    });
    for f in &report.findings {
        assert!(f.location.line.is_some(), "finding without a line: {f:?}");
    }
}

#[test]
fn very_long_and_very_wide_inputs_are_bounded() {
    let limits = Limits {
        max_nodes: 10_000,
        ..Limits::default()
    };
    let wide = format!("a: [{}]\n", vec!["1"; 20_000].join(","));
    let stream = parse_stream(&wide, &limits);
    assert!(stream
        .error
        .is_some_and(|e| e.to_string().contains("more than 10000 nodes")));
}
