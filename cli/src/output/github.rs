//! `--format github`: GitHub Actions workflow commands, shown as annotations on the diff.

use super::style::Palette;
use super::{summary, RunInfo};
use kubegate_engine::{Report, Severity};
use std::fmt::Write;

/// Workflow-command escaping for the message.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow-command escaping for property values.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report, info: &RunInfo) -> String {
    let mut out = String::new();
    for f in &report.findings {
        // Findings that never fail are notices, whatever their severity.
        let command = match f.severity {
            _ if f.advisory || f.existing => "notice",
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low => "notice",
        };
        let mut props = format!("file={}", property(&f.location.file));
        if let (Some(line), Some(column)) = (f.location.line, f.location.column) {
            let _ = write!(props, ",line={line},col={column}");
        }
        let why = match (f.advisory, f.existing) {
            (true, _) => ", advisory",
            (false, true) => ", existing",
            (false, false) => "",
        };
        let _ = write!(
            props,
            ",title={}",
            property(&format!(
                "{} {} ({}{why})",
                f.rule_id, f.rule_name, f.severity
            ))
        );
        let _ = writeln!(
            out,
            "::{command} {props}::{}",
            data(&format!("{}: {}", f.object, f.message))
        );
    }
    for e in &report.errors {
        let mut props = format!("file={}", property(&e.file));
        if let Some(p) = e.position {
            let _ = write!(props, ",line={},col={}", p.line, p.column);
        }
        let _ = writeln!(
            out,
            "::error {props},title=kubegate load error::{}",
            data(&e.kind.to_string())
        );
    }
    for line in summary::lines(report, info, Palette::plain()) {
        let _ = writeln!(out, "kubegate: {line}");
    }
    out
}
