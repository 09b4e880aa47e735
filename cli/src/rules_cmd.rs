//! `kubegate rules` and `kubegate explain`.

use crate::args::{ExplainArgs, RulesArgs, RulesFormat};
use kubegate_engine::catalog::{Catalog, RuleInfo};
use kubegate_engine::rules;
use std::fmt::Write;

pub fn list(args: &RulesArgs) -> anyhow::Result<String> {
    let catalog = Catalog::builtin()?;
    if let Some(pack) = &args.pack {
        catalog.has_pack(pack)?;
    }
    let infos: Vec<RuleInfo> = catalog
        .infos()
        .into_iter()
        .filter(|m| args.pack.as_ref().is_none_or(|p| m.packs.contains(p)))
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
            let mut text = serde_json::to_string_pretty(&infos)?;
            text.push('\n');
            text
        }
        RulesFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{:<7} {:<9} {:<13} {:<24} {:<15} TITLE",
                "ID", "SEVERITY", "CATEGORY", "NAME", "PACKS"
            );
            for m in &infos {
                let _ = writeln!(
                    out,
                    "{:<7} {:<9} {:<13} {:<24} {:<15} {}",
                    m.id,
                    m.severity.as_str(),
                    m.category.as_str(),
                    m.name,
                    m.packs.join(","),
                    m.title
                );
            }
            out
        }
    })
}

pub fn explain(args: &ExplainArgs) -> Result<String, String> {
    let catalog = Catalog::builtin().map_err(|e| e.to_string())?;
    let Some(meta) = rules::find(&args.rule) else {
        let known: Vec<&str> = rules::all_metas().iter().map(|m| m.id).collect();
        return Err(format!(
            "unknown rule {:?}; known rules: {}",
            args.rule,
            known.join(", ")
        ));
    };
    let m = catalog.info(meta);
    let mut out = String::new();
    let _ = writeln!(out, "{} {}: {}", m.id, m.name, m.title);
    let _ = writeln!(
        out,
        "severity: {}   category: {}   packs: {}   since: {}",
        m.severity,
        m.category,
        m.packs.join(", "),
        m.since
    );
    if !m.benchmarks.is_empty() {
        let _ = writeln!(out, "benchmarks: {}", m.benchmarks.join(", "));
    }
    for control in &m.controls {
        let _ = writeln!(out, "  {}", control.describe());
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
