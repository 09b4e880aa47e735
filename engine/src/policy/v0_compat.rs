//! Rego v0 constructs OPA accepts that regorus reads differently, rewritten into the
//! equivalent Rego before regorus sees them (issue #14; the table is in docs/policies.md).
//!
//! - **A newline ends an expression.** In OPA, a body line that is a bare reference followed by
//!   a line starting with `(` is two expressions (`input.parameters.x` then `(a - b) >= c`);
//!   regorus reads one call, `input.parameters.x((a - b)) >= c`, and fails at evaluation
//!   ("could not find function"). A `;` (Rego's own expression separator) is inserted at the end
//!   of the first line. Line numbers do not change.
//! - **Several bodies for one rule** (`f(x) = y { … } { … }`): OPA reads each further body as
//!   another definition of the same rule; regorus rejects it ("else cannot be used with set
//!   rules") or reads it differently. Each further body gets the rule's head repeated on a line
//!   of its own, as the definitions one would write by hand.
//!
//! The scanner knows strings (`"…"` with escapes, raw `` `…` ``) and comments (`#` to the end of
//! the line), so neither is ever rewritten.

/// What was rewritten, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rewrite {
    NewlineEndsExpression,
    RuleBodies,
}

/// Character classes the scanner needs: what a token of an expression can end with.
fn ends_expression(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ']' | ')' | '}' | '"' | '`')
}

/// The rewritten text and what was rewritten, or `None` when nothing needed it.
pub(crate) fn rewrite(text: &str) -> Option<(String, Vec<Rewrite>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut done = Vec::new();
    // Brackets of all kinds, so a rule head's `violation[{"msg": msg}]` is not a body.
    let mut depth = 0usize;
    // Depth at which the current body's top level sits (1: `{` at depth 0 opened it).
    let mut in_body = false;
    // Where the current rule's head starts in `out`, and where its first body starts.
    let mut head_start: Option<usize> = None;
    let mut head: Option<String> = None;
    // The last significant (non-space, non-comment) character written, and whether a newline
    // came after it.
    let mut last_significant: Option<char> = None;
    let mut newline_since = false;
    // Just closed a body at depth 0: a `{` next (after whitespace) is a further body.
    let mut after_body = false;
    // After `else`: its bodies belong to the else chain, never repeated as a head.
    let mut in_else = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    out.push(chars[i]);
                    i += 1;
                }
                continue;
            }
            '"' | '`' => {
                let quote = c;
                out.push(c);
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if quote == '"' && d == '\\' {
                        if let Some(&e) = chars.get(i) {
                            out.push(e);
                            i += 1;
                        }
                        continue;
                    }
                    if d == quote {
                        break;
                    }
                }
                last_significant = Some(quote);
                newline_since = false;
                after_body = false;
                continue;
            }
            '\n' => {
                newline_since = true;
                if depth == 0 && !after_body {
                    head_start = None;
                }
                out.push(c);
                i += 1;
                continue;
            }
            c if c.is_whitespace() => {
                out.push(c);
                i += 1;
                continue;
            }
            _ => {}
        }
        if depth == 0 && head_start.is_none() && !after_body && c != '{' && c != '}' {
            head_start = Some(out.len());
        }
        match c {
            '{' if depth == 0 && after_body => {
                // A further body of the same rule: repeat the head on its own line.
                if let Some(h) = &head {
                    out.push('\n');
                    out.push_str(h);
                    out.push(' ');
                    done.push(Rewrite::RuleBodies);
                }
                depth = 1;
                in_body = true;
                after_body = false;
            }
            // A value in the head (`f(x) = {"a": 1} { … }`, `x := {…}`): not a body.
            '{' if depth == 0 && matches!(last_significant, Some('=' | ',' | ':' | '[' | '(')) => {
                depth += 1;
            }
            '{' if depth == 0 => {
                head = if in_else {
                    None
                } else {
                    head_start.map(|s| out[s..].trim_end().to_owned())
                };
                depth = 1;
                in_body = true;
            }
            '(' if in_body
                && depth == 1
                && newline_since
                && last_significant.is_some_and(ends_expression) =>
            {
                // OPA ends the previous expression at the newline: say so with `;`.
                if let Some(end) = out.rfind(|ch: char| !ch.is_whitespace()) {
                    let at = end + out[end..].chars().next().map_or(1, char::len_utf8);
                    // Only if that last character is not inside a comment on its line.
                    let line_start = out[..at].rfind('\n').map_or(0, |p| p + 1);
                    if !out[line_start..at].contains('#') {
                        out.insert(at, ';');
                        done.push(Rewrite::NewlineEndsExpression);
                    }
                }
                depth += 1;
            }
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 && c == '}' && in_body {
                    in_body = false;
                    after_body = true;
                }
            }
            _ => {
                if depth == 0 && after_body {
                    // Something other than a further body: the rule ended, a new one starts
                    // (or `else`, which keeps the head).
                    after_body = false;
                    head_start = Some(out.len());
                    let word: String = chars[i..]
                        .iter()
                        .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
                        .collect();
                    in_else = word == "else";
                    if in_else {
                        head = None;
                    }
                }
            }
        }
        out.push(c);
        last_significant = Some(c);
        newline_since = false;
        i += 1;
    }
    if done.is_empty() {
        None
    } else {
        done.dedup();
        Some((out, done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(text: &str) -> String {
        rewrite(text)
            .map(|(t, _)| t)
            .unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn a_newline_ends_a_bare_reference_before_a_parenthesis() {
        let text = "package p\n\nspread(hpa) {\n    input.parameters.minimumReplicaSpread\n    (hpa.max - hpa.min) >= input.parameters.minimumReplicaSpread\n}\n";
        let (out, done) = rewrite(text).expect("rewritten");
        assert_eq!(done, [Rewrite::NewlineEndsExpression]);
        assert_eq!(
            out,
            "package p\n\nspread(hpa) {\n    input.parameters.minimumReplicaSpread;\n    (hpa.max - hpa.min) >= input.parameters.minimumReplicaSpread\n}\n"
        );
        assert_eq!(out.lines().count(), text.lines().count());
    }

    #[test]
    fn calls_continued_lines_strings_and_comments_are_left_alone() {
        for text in [
            "package p\n\nf(x) {\n    count(x) > 0\n}\n",
            "package p\n\nf(x) {\n    y := sum([\n      (x + 1),\n      2\n    ])\n    y > 1\n}\n",
            "package p\n\nf(x) {\n    y := x +\n    (1)\n}\n",
            "package p\n\nf(x) {\n    msg := \"a\n(b)\"\n}\n",
            "package p\n\n# a comment\n# (with a parenthesis)\nf(x) { x }\n",
            "package p\n\nviolation[{\"msg\": msg}] {\n    msg := \"m\"\n}\n",
            "package p\n\nf(x) = 1 { x } else = 2 { true }\n",
            "package p\n\np(c) = {\"a\": a} {\n  a := c.x\n}\n\np(c) = {\"a\": a} {\n  a := c.y\n}\n",
        ] {
            assert!(rewrite(text).is_none(), "{text}");
        }
    }

    #[test]
    fn further_bodies_become_definitions_of_the_same_rule() {
        let text = "package p\n\nsa(obj) = spec {\n  obj.kind == \"Pod\"\n  spec := obj.spec.sa\n} {\n  obj.kind == \"Job\"\n  spec := obj.spec.template.spec.sa\n}\n\nviolation[{\"msg\": msg}] {\n  msg := sa(input)\n}\n";
        let (out, done) = rewrite(text).expect("rewritten");
        assert_eq!(done, [Rewrite::RuleBodies]);
        assert_eq!(
            out,
            "package p\n\nsa(obj) = spec {\n  obj.kind == \"Pod\"\n  spec := obj.spec.sa\n} \nsa(obj) = spec {\n  obj.kind == \"Job\"\n  spec := obj.spec.template.spec.sa\n}\n\nviolation[{\"msg\": msg}] {\n  msg := sa(input)\n}\n"
        );
        assert_eq!(rewritten(&out), out, "a second pass changes nothing");
    }
}
