//! Generates `docs/rules.md` from the rule metadata. A test fails when the file is stale.

use crate::rules::catalog::RuleInfo;
use std::fmt::Write;

/// The rules reference in Markdown.
pub fn rules_markdown() -> String {
    let metas = match crate::rules::catalog::Catalog::builtin() {
        Ok(catalog) => catalog.infos(),
        Err(e) => return format!("# Rules reference\n\nThe built-in catalogue is invalid: {e}\n"),
    };
    let mut out = String::new();
    out.push_str("# Rules reference\n\n");
    out.push_str(
        "Generated from the rule metadata by `kubegate rules --format markdown`; do not edit by \
hand. A test fails when this file is out of date.\n\n",
    );
    out.push_str("| ID | Name | Severity | Category | Benchmarks |\n|---|---|---|---|---|\n");
    for m in &metas {
        let _ = writeln!(
            out,
            "| [{id}](#{anchor}) | `{name}` | {sev} | {cat} | {bench} |",
            id = m.id,
            anchor = anchor(m),
            name = m.name,
            sev = m.severity,
            cat = m.category,
            bench = if m.benchmarks.is_empty() {
                "—".to_owned()
            } else {
                m.benchmarks.join(", ")
            },
        );
    }
    for m in &metas {
        let _ = write!(
            out,
            "\n## {id} {name}\n\n**{title}**\n\n- Severity: {sev}\n- Category: {cat}\n- Benchmarks: {bench}\n- Since: {since}\n{controls}\n### Why\n\n{why}\n\n### How to fix\n\n{fix}\n\n### Failing example\n\n```yaml\n{bad}```\n\n### Passing example\n\n```yaml\n{good}```\n",
            id = m.id,
            name = m.name,
            title = m.title,
            sev = m.severity,
            cat = m.category,
            bench = if m.benchmarks.is_empty() { "none".to_owned() } else { m.benchmarks.join(", ") },
            since = m.since,
            controls = m
                .controls
                .iter()
                .map(|c| format!("- {}\n", c.describe()))
                .collect::<String>(),
            why = m.rationale,
            fix = m.remediation,
            bad = m.failing_example,
            good = m.passing_example,
        );
    }
    out
}

fn anchor(m: &RuleInfo) -> String {
    format!("{}-{}", m.id.to_ascii_lowercase(), m.name)
}
