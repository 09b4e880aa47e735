//! `kubegate rules` and `kubegate explain`.

use crate::args::{ExplainArgs, RulesArgs, RulesFormat};
use kubegate_engine::{packs, rules, RuleMeta};
use std::fmt::Write;

pub fn list(args: &RulesArgs) -> anyhow::Result<String> {
    if let Some(pack) = &args.pack {
        if !packs::builtin()?.iter().any(|p| &p.name == pack) {
            anyhow::bail!(
                "{}",
                packs::PackError::UnknownPack {
                    name: pack.clone(),
                    known: packs::builtin()?
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            );
        }
    }
    let metas: Vec<&RuleMeta> = rules::all_metas()
        .into_iter()
        .filter(|m| {
            args.pack
                .as_deref()
                .is_none_or(|p| packs::packs_of(m.id).contains(&p))
        })
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
                "{:<7} {:<9} {:<13} {:<24} {:<15} TITLE",
                "ID", "SEVERITY", "CATEGORY", "NAME", "PACKS"
            );
            for m in &metas {
                let _ = writeln!(
                    out,
                    "{:<7} {:<9} {:<13} {:<24} {:<15} {}",
                    m.id,
                    m.severity.as_str(),
                    m.category.as_str(),
                    m.name,
                    packs::packs_of(m.id).join(","),
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
