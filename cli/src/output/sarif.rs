//! `--format sarif`: SARIF 2.1.0, as GitHub code scanning and other CI tools read it.

use super::RunInfo;
use kubegate_engine::Catalog;
use kubegate_engine::{Finding, Report, Severity};
use serde_json::{json, Value};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning ranks alerts by this number (0.1–10).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// A stable identity for a finding that does not depend on its line (so moved code keeps it).
fn fingerprint(f: &Finding) -> String {
    let text = format!(
        "{}|{}|{}|{}",
        f.rule_id, f.location.file, f.object, f.pointer
    );
    // FNV-1a, 64 bits: stable across runs and platforms.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// A relative path as a URI reference (forward slashes, spaces and `%` escaped).
fn uri(path: &str) -> String {
    path.replace('\\', "/")
        .replace('%', "%25")
        .replace(' ', "%20")
}

pub fn render(report: &Report, run: &RunInfo) -> String {
    let catalog = Catalog::builtin().ok();
    let mut rule_ids: Vec<&str> = report.findings.iter().map(|f| f.rule_id.as_ref()).collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let rules: Vec<Value> = rule_ids
        .iter()
        .map(|id| {
            let finding = report.findings.iter().find(|f| f.rule_id == *id);
            let info = kubegate_engine::registry::find(id).and_then(|m| catalog.map(|c| c.info(m)));
            // The severity this run reports the rule at (after `rules.severity` overrides): all
            // of a rule's findings have it.
            let severity = finding.map(|f| f.severity);
            match (info, finding) {
                (Some(info), _) => json!({
                    "id": info.id,
                    "name": info.name,
                    "shortDescription": {"text": info.title},
                    "fullDescription": {"text": info.rationale},
                    "help": {"text": info.remediation, "markdown": format!("**How to fix**: {}\n\n`kubegate explain {}`", info.remediation, info.id)},
                    "defaultConfiguration": {"level": level(severity.unwrap_or(info.severity))},
                    "properties": {
                        "tags": info.benchmarks,
                        "category": info.category.as_str(),
                        "security-severity": security_severity(severity.unwrap_or(info.severity)),
                    },
                }),
                (None, Some(f)) => json!({
                    "id": id,
                    "name": f.rule_name,
                    "shortDescription": {"text": format!("policy rule {}", f.rule_name)},
                    "defaultConfiguration": {"level": level(f.severity)},
                    "properties": {"security-severity": security_severity(f.severity)},
                }),
                (None, None) => json!({"id": id}),
            }
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut physical = json!({"artifactLocation": {"uri": uri(&f.location.file), "uriBaseId": "%SRCROOT%"}});
            if let (Some(line), Some(column)) = (f.location.line, f.location.column) {
                physical["region"] = json!({"startLine": line, "startColumn": column});
            }
            let o = &f.object;
            // What never fails the run (advisory, existing at the diff base) is a note.
            let never_fails = f.advisory || f.existing;
            let mut result = json!({
                "ruleId": f.rule_id,
                "ruleIndex": rule_ids.iter().position(|id| *id == f.rule_id).unwrap_or(0),
                "level": if never_fails { "note" } else { level(f.severity) },
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": physical,
                    "logicalLocations": [{
                        "name": o.name.clone().unwrap_or_default(),
                        "fullyQualifiedName": format!("{}{}", f.object, f.pointer),
                        "kind": "object",
                    }],
                }],
                "partialFingerprints": {"kubegateFinding/v1": fingerprint(f)},
                "properties": {"severity": f.severity, "pointer": f.pointer, "apiVersion": o.api_version},
            });
            // SARIF's own word for "compared with a baseline": only a --diff-base run has one.
            if run.diff_base {
                result["baselineState"] = json!(if f.existing { "unchanged" } else { "new" });
            }
            result
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut location = json!({"artifactLocation": {"uri": uri(&e.file), "uriBaseId": "%SRCROOT%"}});
            if let Some(p) = e.position {
                location["region"] = json!({"startLine": p.line, "startColumn": p.column});
            }
            json!({"level": "error", "message": {"text": e.kind.to_string()}, "locations": [{"physicalLocation": location}]})
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kubegate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The directory kubegate ran in."}}},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
