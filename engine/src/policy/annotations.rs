//! OPA's `# METADATA` annotations, for `rego.metadata.rule()` and `rego.metadata.chain()`.
//!
//! regorus reads neither the annotations nor these two builtins, and an extension function
//! (`Engine::add_extension`) is not told which rule calls it. So kubegate resolves the calls
//! when a policy loads: each call is replaced by the value OPA would return for the rule
//! definition it is in, a JSON literal on the same line (line numbers do not move). conftest
//! policies use this for message templates (`rego.metadata.rule().custom.message`).
//!
//! As in OPA: a comment block whose first line is `# METADATA` holds YAML; it annotates the
//! first package or rule after it, with scope `rule` (before a rule) or `package` (before the
//! package) unless it says `scope: document` (every definition of the rule) or `subpackages`.
//! `rego.metadata.rule()` is the definition's rule-scope annotations (`{}` without), with
//! `scope`; `rego.metadata.chain()` lists `{"path", "annotations"}` from the rule outwards:
//! the definition (its path alone when not annotated), the document, the package. Authors
//! written `Name <email>` become `{"name", "email"}`, related resources written as a URL
//! `{"ref"}`.
//!
//! Known difference: annotations are read within one file. OPA also applies `package`,
//! `subpackages` and `document` annotations written in another file of the same package.

use crate::model::position::Position;
use crate::policy::rego::PolicyError;
use serde_json::{Map, Value};
use std::path::Path;

/// The keys OPA reads from an annotation block.
const KEYS: [&str; 9] = [
    "scope",
    "title",
    "description",
    "related_resources",
    "authors",
    "organizations",
    "schemas",
    "entrypoint",
    "custom",
];

/// One `# METADATA` block.
#[derive(Debug)]
struct Block {
    /// Line of `# METADATA`.
    line: u32,
    /// The annotations, normalised as OPA returns them, without `scope`.
    annotations: Map<String, Value>,
    /// `scope` as written.
    scope: Option<String>,
}

/// The calls `text` makes to `rego.metadata.rule()` and `rego.metadata.chain()`, replaced by
/// the values OPA gives them; `None` when it makes none. A `# METADATA` block that is not a
/// YAML mapping is an error, whether or not anything reads it (OPA refuses it too).
pub(crate) fn resolve(file: &Path, text: &str) -> Result<Option<String>, PolicyError> {
    if !text.contains("# METADATA") && !text.contains("rego.metadata.") {
        return Ok(None);
    }
    let blocks = blocks(file, text)?;
    let calls = calls(text);
    if calls.is_empty() {
        return Ok(None);
    }
    // The rules and their spans come from regorus's own parse, v1 first as `add_policy` reads
    // it. A text that parses neither way is left for `add_policy` to report.
    let mut scratch = regorus::Engine::new();
    scratch.set_rego_v0(false);
    if scratch
        .add_policy(file.display().to_string(), text.to_owned())
        .is_err()
    {
        scratch.set_rego_v0(true);
        if scratch
            .add_policy(file.display().to_string(), text.to_owned())
            .is_err()
        {
            return Ok(None);
        }
    }
    let Some(module) = scratch.get_modules().last().cloned() else {
        return Ok(None);
    };
    let package: Vec<Value> = module
        .package
        .refr
        .span()
        .text()
        .split('.')
        .map(|s| Value::String(s.trim().to_owned()))
        .collect();
    let rules = rules(&module);
    // Each block annotates the first statement after it: the package, an import or a rule.
    let package_line = module.package.span.line;
    let mut package_blocks = Vec::new();
    let mut rule_blocks: Vec<Vec<&Block>> = rules.iter().map(|_| Vec::new()).collect();
    for block in &blocks {
        let next_rule = rules.iter().position(|r| r.line > block.line);
        let next_import = module
            .imports
            .iter()
            .map(|i| i.span.line)
            .find(|l| *l > block.line);
        let rule_line = next_rule.map(|i| rules[i].line);
        if package_line > block.line && rule_line.is_none_or(|l| package_line < l) {
            package_blocks.push(block);
        } else if let (Some(i), true) = (
            next_rule,
            next_import.is_none_or(|l| rule_line.is_some_and(|r| r < l)),
        ) {
            rule_blocks[i].push(block);
        } else {
            tracing::warn!(
                "{}:{}: a # METADATA block annotates a package or a rule; this one is \
                 followed by neither and is not read",
                file.display(),
                block.line
            );
        }
    }
    let annotated = |block: &Block, default: &str| -> Value {
        let mut map = block.annotations.clone();
        let scope = block.scope.clone().unwrap_or_else(|| default.to_owned());
        map.insert("scope".into(), Value::String(scope));
        Value::Object(map)
    };
    let scoped = |blocks: &[&Block], scope: &str, default: &str| -> Option<Value> {
        blocks
            .iter()
            .find(|b| b.scope.as_deref().unwrap_or(default) == scope)
            .map(|b| annotated(b, default))
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for call in &calls {
        let Some(index) = rules
            .iter()
            .position(|r| r.start <= call.start && call.end <= r.end)
        else {
            continue;
        };
        let rule = &rules[index];
        let own = scoped(&rule_blocks[index], "rule", "rule");
        let value = match call.builtin {
            Builtin::Rule => own.unwrap_or_else(|| Value::Object(Map::new())),
            Builtin::Chain => {
                let mut path = package.clone();
                path.push(Value::String(rule.name.clone()));
                let entry = |annotations: Option<Value>, path: &[Value]| {
                    let mut e = Map::new();
                    e.insert("path".into(), Value::Array(path.to_vec()));
                    if let Some(a) = annotations {
                        e.insert("annotations".into(), a);
                    }
                    Value::Object(e)
                };
                let mut chain = vec![entry(own, &path)];
                // A document annotation may sit before any definition of the rule.
                let document = rules
                    .iter()
                    .zip(&rule_blocks)
                    .filter(|(r, _)| r.name == rule.name)
                    .find_map(|(_, b)| scoped(b, "document", "rule"));
                if let Some(d) = document {
                    chain.push(entry(Some(d), &path));
                }
                for scope in ["package", "subpackages"] {
                    if let Some(p) = scoped(&package_blocks, scope, "package") {
                        chain.push(entry(Some(p), &package));
                    }
                }
                Value::Array(chain)
            }
        };
        out.push_str(&text[copied..call.start]);
        out.push_str(&value.to_string());
        copied = call.end;
    }
    out.push_str(&text[copied..]);
    tracing::debug!(file = %file.display(), calls = calls.len(), "resolved rego.metadata calls");
    Ok(Some(out))
}

/// A rule definition: its name (the root of its reference) and where it is.
#[derive(Debug)]
struct RuleSpan {
    name: String,
    line: u32,
    start: usize,
    end: usize,
}

fn rules(module: &regorus::unstable::Module) -> Vec<RuleSpan> {
    use regorus::unstable::{Expr, Rule, RuleHead};
    module
        .policy
        .iter()
        .filter_map(|rule| {
            let refr = match rule.as_ref() {
                Rule::Spec { head, .. } => match head {
                    RuleHead::Compr { refr, .. }
                    | RuleHead::Set { refr, .. }
                    | RuleHead::Func { refr, .. } => refr,
                },
                Rule::Default { refr, .. } => refr,
            };
            let mut root = refr;
            while let Expr::RefDot { refr, .. } | Expr::RefBrack { refr, .. } = root.as_ref() {
                root = refr;
            }
            let span = rule.span();
            Some(RuleSpan {
                name: root.span().text().to_owned(),
                line: span.line,
                start: usize::try_from(span.start).ok()?,
                end: usize::try_from(span.end).ok()?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Builtin {
    Rule,
    Chain,
}

/// A call `rego.metadata.rule()` or `rego.metadata.chain()`: its byte range.
#[derive(Debug)]
struct Call {
    builtin: Builtin,
    start: usize,
    end: usize,
}

/// The calls in `text`, outside strings and comments.
fn calls(text: &str) -> Vec<Call> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let (mut quote, mut escaped, mut comment) = (None::<u8>, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            comment = false;
            escaped = false;
            if quote == Some(b'"') {
                quote = None;
            }
        } else if comment {
        } else if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == b'"' && c == b'\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c == b'#' {
            comment = true;
        } else if c == b'"' || c == b'`' {
            quote = Some(c);
        } else if let Some(call) = call_at(text, i) {
            i = call.end;
            found.push(call);
            continue;
        }
        i += 1;
    }
    found
}

/// The call starting at byte `i`, if one does (`rego.metadata.rule ( )`, not part of a longer
/// name).
fn call_at(text: &str, i: usize) -> Option<Call> {
    let before = text[..i].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
        return None;
    }
    let rest = text.get(i..)?;
    let (builtin, name) = [
        (Builtin::Rule, "rego.metadata.rule"),
        (Builtin::Chain, "rego.metadata.chain"),
    ]
    .into_iter()
    .find(|(_, n)| rest.starts_with(n))?;
    let after = &rest[name.len()..];
    let open = after.trim_start_matches([' ', '\t']);
    let args = open.strip_prefix('(')?.trim_start_matches([' ', '\t']);
    let close = args.strip_prefix(')')?;
    Some(Call {
        builtin,
        start: i,
        end: i + (rest.len() - close.len()),
    })
}

/// Every `# METADATA` block of `text`, its YAML read and normalised.
fn blocks(file: &Path, text: &str) -> Result<Vec<Block>, PolicyError> {
    let mut found = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        if line.trim_end() != "# METADATA" {
            continue;
        }
        let first = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let mut yaml = Vec::new();
        while let Some((_, next)) = lines.peek() {
            let Some(content) = next.strip_prefix('#') else {
                break;
            };
            yaml.push(content);
            lines.next();
        }
        let indent = yaml
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start().len())
            .min()
            .unwrap_or(0);
        let content: String = yaml
            .iter()
            .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
            .collect();
        let bad = |position: Position, message: String| PolicyError::Compile {
            path: file.to_path_buf(),
            position: Some(position),
            message: format!("invalid # METADATA block: {message}"),
        };
        let stream =
            crate::load::yaml::parse_stream(&content, &crate::load::yaml::Limits::default());
        if let Some(e) = stream.error {
            let position = Position::new(first + e.position.line, e.position.column);
            return Err(bad(position, e.kind.to_string()));
        }
        let value = stream
            .documents
            .into_iter()
            .next()
            .map(|d| d.value)
            .unwrap_or(Value::Object(Map::new()));
        let Value::Object(map) = value else {
            return Err(bad(
                Position::new(first, 1),
                "must be a YAML mapping".into(),
            ));
        };
        let mut annotations = Map::new();
        let mut scope = None;
        for (key, value) in map {
            match key.as_str() {
                "scope" => match value {
                    Value::String(s)
                        if ["rule", "document", "package", "subpackages"].contains(&s.as_str()) =>
                    {
                        scope = Some(s)
                    }
                    other => {
                        return Err(bad(
                            Position::new(first, 1),
                            format!("scope {other} is not rule, document, package or subpackages"),
                        ))
                    }
                },
                "authors" => {
                    annotations.insert(key, list(value, author));
                }
                "related_resources" => {
                    annotations.insert(key, list(value, resource));
                }
                k if KEYS.contains(&k) => {
                    annotations.insert(key, value);
                }
                _ => tracing::warn!(
                    "{}:{first}: # METADATA key `{key}` is not one OPA reads (put your own \
                     keys under `custom`); it is left out",
                    file.display()
                ),
            }
        }
        found.push(Block {
            line: first,
            annotations,
            scope,
        });
    }
    Ok(found)
}

/// Each item of a list (or a lone item) through `f`.
fn list(value: Value, f: fn(Value) -> Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(f).collect()),
        one => Value::Array(vec![f(one)]),
    }
}

/// `Jane Doe <jane@example.com>` as `{"name": "Jane Doe", "email": "jane@example.com"}`, as
/// OPA reads an author; an object is kept.
fn author(value: Value) -> Value {
    let Value::String(text) = value else {
        return value;
    };
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let mut author = Map::new();
    if let Some(email) = words
        .last()
        .and_then(|w| w.strip_prefix('<'))
        .and_then(|w| w.strip_suffix('>'))
    {
        author.insert("email".into(), Value::String(email.to_owned()));
        words.pop();
    }
    if !words.is_empty() {
        author.insert("name".into(), Value::String(words.join(" ")));
    }
    Value::Object(author)
}

/// A related resource written as a URL, as `{"ref": URL}`; an object is kept.
fn resource(value: Value) -> Value {
    match value {
        Value::String(url) => serde_json::json!({ "ref": url }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(text: &str) -> String {
        resolve(Path::new("p.rego"), text)
            .expect("valid")
            .expect("calls resolved")
    }

    #[test]
    fn calls_in_strings_and_comments_are_left_alone() {
        let text = "x := \"rego.metadata.rule()\" # rego.metadata.rule()\ny := rego.metadata.rule( )\nz := my_rego.metadata.rule()\n";
        let found = calls(text);
        assert_eq!(found.len(), 1);
        assert_eq!(&text[found[0].start..found[0].end], "rego.metadata.rule( )");
    }

    #[test]
    fn authors_and_resources_are_read_as_opa_reads_them() {
        assert_eq!(
            author(Value::String("Jane  Doe <jane@example.com>".into())),
            serde_json::json!({"name": "Jane Doe", "email": "jane@example.com"})
        );
        assert_eq!(
            author(Value::String("The OPA contributors".into())),
            serde_json::json!({"name": "The OPA contributors"})
        );
        assert_eq!(
            resource(Value::String("https://example.com".into())),
            serde_json::json!({"ref": "https://example.com"})
        );
    }

    /// OPA's own cases (test/cases/testdata/v1/regometadatarule and regometadatachain):
    /// rule scope only for `rule()`; the chain from the definition outwards.
    #[test]
    fn rule_and_chain_give_what_opa_gives() {
        let text = "# METADATA\n# description: The Rego test suite\npackage testing\n\n# METADATA\n# scope: document\n# title: Testing annotations\n# authors:\n# - The OPA contributors\np := \"foo\" if {\n\tfalse\n}\n\n# METADATA\n# title: Another annotation\np := x if {\n\tx := [rego.metadata.rule(), rego.metadata.chain()]\n}\n";
        let text = resolved(text);
        let mut engine = regorus::Engine::new();
        engine.add_policy("p.rego".into(), text).expect("compiles");
        let value = engine
            .eval_rule("data.testing.p".into())
            .expect("evaluates");
        let value = serde_json::to_value(&value).expect("json");
        assert_eq!(
            value,
            serde_json::json!([
                {"scope": "rule", "title": "Another annotation"},
                [
                    {"path": ["testing", "p"], "annotations": {"scope": "rule", "title": "Another annotation"}},
                    {"path": ["testing", "p"], "annotations": {"scope": "document", "title": "Testing annotations", "authors": [{"name": "The OPA contributors"}]}},
                    {"path": ["testing"], "annotations": {"scope": "package", "description": "The Rego test suite"}},
                ]
            ])
        );
    }

    #[test]
    fn without_annotations_rule_is_empty_and_chain_is_the_path() {
        let text = resolved("package a.b\n\nq := [rego.metadata.rule(), rego.metadata.chain()]\n");
        assert!(
            text.contains("q := [{}, [{\"path\":[\"a\",\"b\",\"q\"]}]]"),
            "{text}"
        );
    }

    #[test]
    fn a_block_that_is_not_a_mapping_is_an_error_with_its_line() {
        let error = resolve(
            Path::new("p.rego"),
            "package main\n\n# METADATA\n# - just a list\ndeny contains \"x\" if { true }\n",
        )
        .expect_err("refused");
        assert_eq!(
            error.to_string(),
            "p.rego:3:1: invalid # METADATA block: must be a YAML mapping"
        );
    }
}
