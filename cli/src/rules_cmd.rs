//! `kubegate rules` and `kubegate explain`.

use crate::args::{ExplainArgs, RulesArgs, RulesFormat};
use kubegate_engine::{rules, RuleMeta};
use std::fmt::Write;

pub fn list(args: &RulesArgs) -> anyhow::Result<String> {
    let metas: Vec<&RuleMeta> = rules::all_metas()
        .into_iter()
        .filter(|m| args.severity.is_none_or(|s| m.severity >= s))
        .filter(|m| {
            args.category
                .as_deref()
                .is_none_or(|c| m.category.as_str() == c)
        })
        .filter(|m| {
            args.benchmark.as_deref().is_none_or(|b| {
                let b = b.to_ascii_lowercase();
                m.benchmarks
                    .iter()
                    .any(|r| r.to_ascii_lowercase().contains(&b))
            })
        })
        .collect();
    Ok(match args.format {
        RulesFormat::Markdown => kubegate_engine::docs::rules_markdown(),
        RulesFormat::Json => {
            let mut text = serde_json::to_string_pretty(&metas)?;
            text.push('\n');
            text
        }
        RulesFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{:<7} {:<9} {:<13} {:<24} TITLE",
                "ID", "SEVERITY", "CATEGORY", "NAME"
            );
            for m in &metas {
                let _ = writeln!(
                    out,
                    "{:<7} {:<9} {:<13} {:<24} {}",
                    m.id,
                    m.severity.as_str(),
                    m.category.as_str(),
                    m.name,
                    m.title
                );
            }
            out
        }
    })
}

pub fn explain(args: &ExplainArgs) -> Result<String, String> {
    let Some(m) = rules::find(&args.rule) else {
        let known: Vec<&str> = rules::all_metas().iter().map(|m| m.id).collect();
        return Err(format!(
            "unknown rule {:?}; known rules: {}",
            args.rule,
            known.join(", ")
        ));
    };
    let mut out = String::new();
    let _ = writeln!(out, "{} {}: {}", m.id, m.name, m.title);
    let _ = writeln!(
        out,
        "severity: {}   category: {}   since: {}",
        m.severity, m.category, m.since
    );
    if !m.benchmarks.is_empty() {
        let _ = writeln!(out, "benchmarks: {}", m.benchmarks.join(", "));
    }
    let _ = write!(
        out,
        "\nWhy\n  {}\n\nHow to fix\n  {}\n\nFails\n{}\nPasses\n{}",
        m.rationale,
        m.remediation,
        indent(m.failing_example),
        indent(m.passing_example)
    );
    Ok(out)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
