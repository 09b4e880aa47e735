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
//! - **`sprintf` with fewer arguments than verbs** (`sprintf("%v %v", [a])`): OPA formats as
//!   Go does, writing `%!v(MISSING)` for each missing one; regorus fails, so the rule's message
//!   is undefined and its violation silently disappears (`horizontalpodautoscaler`). Where the
//!   format is a string literal and the arguments an array literal, the missing arguments are
//!   added as the very strings Go would print.
//! - **Arguments of a negated call are evaluated outside the `not`.** OPA's compiler rewrites
//!   `not f(params.ranges)` into `__local0__ = params.ranges; not f(__local0__)` (OPA issues
//!   #1877, #4743, #8387), so an undefined argument makes the body fail; regorus evaluates
//!   `not f(undefined)` as `not undefined`, true, and reports a violation OPA does not
//!   (gatekeeper-library `users`: `not accept_value(rule, v, params.ranges)` without `ranges`).
//!   On a body line `not name(args)`, each argument that is a reference (`a.b`, `a["k"]`,
//!   `a[0]`) is assigned to a fresh variable first, on the same line, as OPA does.
//!
//! The scanner knows strings (`"…"` with escapes, raw `` `…` ``) and comments (`#` to the end of
//! the line), so neither is ever rewritten.

/// What was rewritten, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rewrite {
    NewlineEndsExpression,
    RuleBodies,
    SprintfMissingArguments,
    NegatedCallArguments,
}

/// Character classes the scanner needs: what a token of an expression can end with.
fn ends_expression(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | ']' | ')' | '}' | '"' | '`')
}

/// The rewritten text and what was rewritten, or `None` when nothing needed it.
pub(crate) fn rewrite(text: &str) -> Option<(String, Vec<Rewrite>)> {
    let mut done = Vec::new();
    let mut current = match rewrite_structure(text) {
        Some((t, structural)) => {
            done.extend(structural);
            Some(t)
        }
        None => None,
    };
    if let Some(t) = sprintf_missing(current.as_deref().unwrap_or(text)) {
        done.push(Rewrite::SprintfMissingArguments);
        current = Some(t);
    }
    if let Some(t) = hoist_negated_call_arguments(current.as_deref().unwrap_or(text)) {
        done.push(Rewrite::NegatedCallArguments);
        current = Some(t);
    }
    current.map(|t| (t, done))
}

/// `not f(a.b, c)` → `__kg_neg_L_0 := a.b; not f(__kg_neg_L_0, c)` on body lines that are one
/// negated call (L is the line number, so names never collide).
fn hoist_negated_call_arguments(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        match hoist_line(line, number + 1) {
            Some(rewritten) => {
                out.push_str(&rewritten);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    changed.then_some(out)
}

fn hoist_line(line: &str, number: usize) -> Option<String> {
    let indent_len = line.len() - line.trim_start().len();
    let (indent, body) = line.split_at(indent_len);
    let call = body.strip_prefix("not ")?.trim_start();
    let name_len = call
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '_' | '.')))
        .map_or(call.len(), |(i, _)| i);
    let (name, rest) = call.split_at(name_len);
    if name.is_empty() || !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return None;
    }
    let args_text = rest.strip_prefix('(')?;
    let chars: Vec<char> = args_text.chars().collect();
    // The argument list up to the matching `)`, split at top-level commas.
    let mut depth = 0usize;
    let mut args = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut close = None;
    while i < chars.len() {
        match chars[i] {
            '"' | '`' => {
                i = skip_string(&chars, i);
                continue;
            }
            '#' => return None,
            '(' | '[' | '{' => depth += 1,
            ')' if depth == 0 => {
                args.push(chars[start..i].iter().collect::<String>());
                close = Some(i);
                break;
            }
            ')' | ']' | '}' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                args.push(chars[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let close = close?;
    let tail: String = chars[close + 1..].iter().collect();
    // Only a whole line: the call, then nothing but a comment.
    let tail_code = tail.trim_start();
    if !(tail_code.is_empty() || tail_code.starts_with('#')) {
        return None;
    }
    let mut hoisted = String::new();
    let mut new_args = Vec::with_capacity(args.len());
    for (n, arg) in args.iter().enumerate() {
        let trimmed = arg.trim();
        if is_reference(trimmed) {
            let var = format!("__kg_neg_{number}_{n}");
            hoisted.push_str(&format!("{var} := {trimmed}; "));
            new_args.push(var);
        } else {
            new_args.push(trimmed.to_owned());
        }
    }
    if hoisted.is_empty() {
        return None;
    }
    Some(format!(
        "{indent}{hoisted}not {name}({}){tail}",
        new_args.join(", ")
    ))
}

/// A reference with at least one step: `a.b`, `a["k"]`, `input.x[0].y`; no iteration (`[_]`,
/// `[i]`), calls or composite literals, which stay inside the `not`.
fn is_reference(arg: &str) -> bool {
    let mut chars = arg.chars().peekable();
    let ident = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let mut any = false;
        while chars
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            chars.next();
            any = true;
        }
        any
    };
    if !arg.starts_with(|c: char| c.is_alphabetic() || c == '_') || !ident(&mut chars) {
        return false;
    }
    let mut steps = 0;
    while let Some(c) = chars.next() {
        match c {
            '.' if ident(&mut chars) => steps += 1,
            '[' => {
                let inner: String = chars.by_ref().take_while(|c| *c != ']').collect();
                let literal = (inner.len() >= 2
                    && inner.starts_with('"')
                    && inner.ends_with('"')
                    && !inner[1..inner.len() - 1].contains(['"', '\\']))
                    || (!inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit()));
                if !literal {
                    return false;
                }
                steps += 1;
            }
            _ => return false,
        }
    }
    steps > 0
}

/// Skips a string literal starting at `i` (a `"` or `` ` ``): the index after it, at most the
/// end of the text (an unterminated literal runs to it).
fn skip_string(chars: &[char], mut i: usize) -> usize {
    let quote = chars[i];
    i += 1;
    while i < chars.len() {
        if quote == '"' && chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] == quote {
            return i + 1;
        }
        i += 1;
    }
    i.min(chars.len())
}

/// The verbs of a Go format string (`%v`, `%5.2f`, …; `%%` is none), by letter.
fn verbs(format: &str) -> Vec<char> {
    let chars: Vec<char> = format.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '%' {
            i += 1;
            continue;
        }
        i += 1;
        while i < chars.len() && matches!(chars[i], '+' | '-' | '#' | ' ' | '0'..='9' | '.') {
            i += 1;
        }
        match chars.get(i) {
            Some('%') | None => {}
            Some(&c) => out.push(c),
        }
        i += 1;
    }
    out
}

/// Adds the arguments a literal `sprintf` call lacks, as the strings Go prints for them.
fn sprintf_missing(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    // (char index of the array's `]`, what to insert before it)
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '"' | '`' => i = skip_string(&chars, i),
            's' if chars[i..].starts_with(&['s', 'p', 'r', 'i', 'n', 't', 'f', '('])
                && (i == 0
                    || !(chars[i - 1].is_alphanumeric()
                        || chars[i - 1] == '_'
                        || chars[i - 1] == '.')) =>
            {
                i += "sprintf(".len();
                let skip_ws = |mut j: usize| {
                    while j < chars.len() && chars[j].is_whitespace() {
                        j += 1;
                    }
                    j
                };
                let start = skip_ws(i);
                if chars.get(start) != Some(&'"') {
                    continue;
                }
                let end = skip_string(&chars, start);
                // An unterminated literal (the text ends inside it): nothing to rewrite.
                if end < start + 2 || chars.get(end - 1) != Some(&'"') {
                    i = end;
                    continue;
                }
                let format: String = chars[start + 1..end - 1].iter().collect();
                let comma = skip_ws(end);
                if chars.get(comma) != Some(&',') {
                    i = end;
                    continue;
                }
                let open = skip_ws(comma + 1);
                if chars.get(open) != Some(&'[') {
                    i = end;
                    continue;
                }
                // Count the array's top-level elements up to its `]`.
                let (mut j, mut depth, mut commas, mut any) = (open + 1, 0usize, 0usize, false);
                let mut trailing_comma = false;
                while j < chars.len() {
                    match chars[j] {
                        '"' | '`' => {
                            j = skip_string(&chars, j);
                            any = true;
                            trailing_comma = false;
                            continue;
                        }
                        '[' | '(' | '{' => depth += 1,
                        ']' if depth == 0 => break,
                        ']' | ')' | '}' => depth = depth.saturating_sub(1),
                        ',' if depth == 0 => {
                            commas += 1;
                            trailing_comma = true;
                            j += 1;
                            continue;
                        }
                        c if c.is_whitespace() => {
                            j += 1;
                            continue;
                        }
                        _ => {}
                    }
                    any = true;
                    trailing_comma = false;
                    j += 1;
                }
                if j >= chars.len() {
                    break;
                }
                let args = if !any {
                    0
                } else {
                    commas + 1 - usize::from(trailing_comma)
                };
                let wanted = verbs(&format);
                if args < wanted.len() {
                    let missing: Vec<String> = wanted[args..]
                        .iter()
                        .map(|v| format!("\"%!{v}(MISSING)\""))
                        .collect();
                    let lead = if args == 0 || trailing_comma {
                        ""
                    } else {
                        ", "
                    };
                    inserts.push((j, format!("{lead}{}", missing.join(", "))));
                }
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    if inserts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut next = 0;
    for (at, insert) in inserts {
        out.extend(&chars[next..at]);
        out.push_str(&insert);
        next = at;
    }
    out.extend(&chars[next..]);
    Some(out)
}

/// The newline and rule-body rewrites (one scan).
fn rewrite_structure(text: &str) -> Option<(String, Vec<Rewrite>)> {
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
                let end = skip_string(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
                last_significant = Some(c);
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
    fn sprintf_gets_the_arguments_go_would_print_as_missing() {
        let text = "package p\n\nm := sprintf(\"%v <%v> %d, allowed: %v\", [a, f(b, c)])\n";
        let (out, done) = rewrite(text).expect("rewritten");
        assert_eq!(done, [Rewrite::SprintfMissingArguments]);
        assert_eq!(
            out,
            "package p\n\nm := sprintf(\"%v <%v> %d, allowed: %v\", [a, f(b, c), \"%!d(MISSING)\", \"%!v(MISSING)\"])\n"
        );
        for fine in [
            "package p\n\nm := sprintf(\"%v and 100%% %v\", [a, b])\n",
            "package p\n\nm := sprintf(fmt, [a])\n",
            "package p\n\nm := sprintf(\"%v\", args)\n",
            "package p\n\n# sprintf(\"%v %v\", [a])\nm := 1\n",
            "package p\n\nm := \"sprintf(\\\"%v %v\\\", [a])\"\n",
        ] {
            assert!(rewrite(fine).is_none(), "{fine}");
        }
        let empty = rewrite("package p\n\nm := sprintf(\"%s\", [])\n")
            .expect("rewritten")
            .0;
        assert_eq!(
            empty,
            "package p\n\nm := sprintf(\"%s\", [\"%!s(MISSING)\"])\n"
        );
    }

    proptest::proptest! {
        /// Any text, however broken (unterminated strings, unbalanced brackets, a lone
        /// `sprintf(`), is rewritten or left alone, never a panic: policy files are user input.
        #[test]
        fn never_panics(text in "[a-z_ (){}\\[\\]\"`#%,;:=\n\\\\]{0,80}") {
            let _ = rewrite(&text);
            let _ = rewrite(&format!("package p\nm := sprintf({text}"));
        }
    }

    #[test]
    fn unterminated_literals_are_left_alone() {
        for text in [
            "sprintf(\"",
            "sprintf(\"%v",
            "sprintf(\"%v\", [a",
            "f(x) {\n  x\n  (",
            "\"",
            "`",
        ] {
            let _ = rewrite(text);
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

    #[test]
    fn references_in_a_negated_call_are_evaluated_before_the_not_as_in_opa() {
        let text = "package p\nv[m] {\n  rule := input.r\n  not accept(rule, params.ranges, input[\"k\"], 3) # c\n  not ok(x)\n  not ok(x[_].y)\n  m := 1\n}\n";
        let (out, done) = rewrite(text).expect("rewritten");
        assert_eq!(done, [Rewrite::NegatedCallArguments]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[3],
            "  __kg_neg_4_1 := params.ranges; __kg_neg_4_2 := input[\"k\"]; not accept(rule, __kg_neg_4_1, __kg_neg_4_2, 3) # c"
        );
        // Plain variables and iteration stay as written; line numbers are unchanged.
        assert_eq!(lines[4], "  not ok(x)");
        assert_eq!(lines[5], "  not ok(x[_].y)");
        assert_eq!(out.lines().count(), text.lines().count());
        // A string holding what looks like a call is never touched.
        assert!(rewrite("package p\nx := \"not f(a.b)\"\n").is_none());
    }

    /// The divergence itself, evaluated: regorus alone reports `v`, OPA (and so gator) does
    /// not, because the undefined `params.ranges` fails the body before the `not`.
    #[test]
    fn an_undefined_argument_fails_the_body_as_in_opa() {
        let policy = "package p\nimport rego.v1\nf(_, _) := true\nv contains 1 if {\n  params := {\"rule\": \"x\"}\n  not f(params.rule, params.ranges)\n}\n";
        let count = |text: &str| {
            let mut engine = regorus::Engine::new();
            engine
                .add_policy("p.rego".into(), text.to_owned())
                .expect("policy");
            let value = engine.eval_rule("data.p.v".into()).expect("eval");
            value.as_set().map(|s| s.len()).unwrap_or(0)
        };
        assert_eq!(count(policy), 1, "regorus alone");
        let (rewritten, _) = rewrite(policy).expect("rewritten");
        assert_eq!(count(&rewritten), 0, "as OPA: {rewritten}");
    }
}
