//! `kubegate rules` and `kubegate explain`.

use crate::args::{ExplainArgs, RulesArgs, RulesFormat};
use kubegate_engine::registry as rules;
use kubegate_engine::{Catalog, RuleInfo};
use kubegate_engine::{PolicyOptions, PolicyRule, PolicySet};
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
    let policy_rules: Vec<PolicyRule> = if args.pack.is_none() && args.benchmark.is_none() {
        load_policies(&args.policy)?
            .into_iter()
            .filter(|r| args.severity.is_none_or(|s| r.severity >= s))
            .filter(|_| args.category.as_deref().is_none_or(|c| c == "policy"))
            .collect()
    } else {
        Vec::new()
    };
    Ok(match args.format {
        RulesFormat::Markdown => kubegate_engine::registry::rules_markdown(),
        RulesFormat::Json => {
            let mut all: Vec<serde_json::Value> = infos
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?;
            all.extend(policy_rules.iter().map(policy_json));
            let mut text = serde_json::to_string_pretty(&all)?;
            text.push('\n');
            text
        }
        RulesFormat::Table => {
            let mut out = String::new();
            // The packs column is as wide as its widest entry (a rule may be in several).
            let packs = infos
                .iter()
                .map(|m| m.packs.join(",").len())
                .max()
                .unwrap_or(0)
                .max(15);
            let _ = writeln!(
                out,
                "{:<7} {:<9} {:<13} {:<24} {:<packs$} TITLE",
                "ID", "SEVERITY", "CATEGORY", "NAME", "PACKS"
            );
            for m in &infos {
                let _ = writeln!(
                    out,
                    "{:<7} {:<9} {:<13} {:<24} {:<packs$} {}",
                    m.id,
                    m.severity.as_str(),
                    m.category.as_str(),
                    m.name,
                    m.packs.join(","),
                    m.title
                );
            }
            for r in &policy_rules {
                let _ = writeln!(
                    out,
                    "{:<7} {:<9} {:<13} {:<24} {:<packs$} {}",
                    r.id,
                    r.severity.as_str(),
                    "policy",
                    r.name,
                    "-",
                    r.title
                );
            }
            out
        }
    })
}

pub fn explain(args: &ExplainArgs) -> Result<String, String> {
    let catalog = Catalog::builtin().map_err(|e| e.to_string())?;
    if rules::find(&args.rule).is_none() {
        let policies = load_policies(&args.policy).map_err(|e| e.to_string())?;
        // A ValidatingAdmissionPolicy is one rule per binding: all of them are explained.
        let matching: Vec<String> = policies
            .iter()
            .filter(|r| r.id == args.rule || r.name == args.rule)
            .map(explain_policy)
            .collect();
        if !matching.is_empty() {
            return Ok(matching.join("\n"));
        }
    }
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

/// Every rule of the given policies (all packages), or none when no path is given.
fn load_policies(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<PolicyRule>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let options = PolicyOptions {
        all_namespaces: true,
        ..PolicyOptions::default()
    };
    match PolicySet::load(paths, &options) {
        Ok(set) => Ok(set.rules().to_vec()),
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::bail!("{}", text.join("\n"))
        }
    }
}

fn policy_json(r: &PolicyRule) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "name": r.name,
        "title": r.title,
        "severity": r.severity,
        "category": "policy",
        "packs": [],
        "benchmarks": [],
        "description": r.description,
        "remediation": r.remediation,
        "package": r.package,
        "file": r.file.display().to_string(),
    })
}

fn explain_policy(r: &PolicyRule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}): {}", r.id, r.name, r.title);
    let _ = writeln!(
        out,
        "severity: {}   package: {}   file: {}",
        r.severity,
        r.package,
        r.file.display()
    );
    if let Some(d) = &r.description {
        let _ = writeln!(out, "\nWhy");
        for line in d.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(fix) = &r.remediation {
        let _ = write!(out, "\nHow to fix\n  {fix}\n");
    }
    out
}
