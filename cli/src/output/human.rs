//! Human output: one block per finding with a source excerpt, then a summary line.

use kubegate_engine::{Finding, LoadError, Report, Severity};
use std::fmt::Write;

pub struct Options {
    pub excerpt: bool,
}

pub fn render(report: &Report, options: &Options) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        render_finding(&mut out, finding, options);
        out.push('\n');
    }
    render_summary(&mut out, report);
    out
}

/// Load errors, one line each, for standard error.
pub fn render_errors(errors: &[LoadError]) -> String {
    let mut out = String::new();
    for e in errors {
        let _ = writeln!(out, "error: {e}");
    }
    out
}

fn render_finding(out: &mut String, f: &Finding, options: &Options) {
    let advisory = match (f.advisory, f.existing) {
        (true, _) => " (dry run: never fails)",
        (false, true) => " (existing: also at the diff base)",
        (false, false) => "",
    };
    let _ = writeln!(out, "{}[{}] {}{advisory}", f.severity, f.rule_id, f.message);
    let location = match (f.location.line, f.location.column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", f.location.file),
        _ => format!("{} ({})", f.location.file, f.pointer),
    };
    let _ = writeln!(
        out,
        "  --> {location}  {} ({})",
        f.object, f.object.api_version
    );
    if let Some(template) = &f.template {
        let _ = writeln!(out, "  rendered from template {template}");
    }
    if !options.excerpt {
        return;
    }
    let (Some(line), Some(column)) = (f.location.line, f.location.column) else {
        return;
    };
    let Some(text) = f.source.line(line) else {
        return;
    };
    let gutter = line.to_string().len();
    let pad = " ".repeat(gutter);
    let col = column.saturating_sub(1) as usize;
    let shown: String = text
        .chars()
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let width = shown
        .chars()
        .skip(col)
        .take_while(|c| !matches!(c, ':' | ' ' | ',' | '}' | ']'))
        .count()
        .max(1);
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{line} | {}", shown.trim_end());
    let _ = writeln!(out, "{pad} | {}{}", " ".repeat(col), "^".repeat(width));
}

fn render_summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if s.findings == 0 {
        let _ = write!(out, "No findings");
    } else {
        let counts: Vec<String> = Severity::ALL
            .iter()
            .map(|sev| (sev, count(report, *sev)))
            .filter(|(_, n)| *n > 0)
            .map(|(sev, n)| format!("{n} {sev}"))
            .collect();
        let _ = write!(
            out,
            "{} ({})",
            plural(s.findings, "finding"),
            counts.join(", ")
        );
    }
    let _ = write!(
        out,
        " in {} from {}",
        plural(s.objects, "object"),
        plural(s.files, "file")
    );
    if s.errors > 0 {
        let _ = write!(out, "; {}", plural(s.errors, "error"));
    }
    out.push_str(".\n");
}

fn count(report: &Report, severity: Severity) -> usize {
    let s = &report.summary;
    match severity {
        Severity::Critical => s.critical,
        Severity::High => s.high,
        Severity::Medium => s.medium,
        Severity::Low => s.low,
    }
}

/// Notes on what the walk passed over, for standard error in every format: charts not
/// rendered (their objects were not judged), files that are not Kubernetes manifests (named
/// with `verbose`), kustomize roots rendered.
pub fn render_walk(walk: &kubegate_engine::Walk, verbose: bool) -> String {
    let mut out = String::new();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    for (chart, reason) in &walk.unrendered_charts {
        let _ = writeln!(
            out,
            "note: Helm chart {chart} was not rendered ({reason}): its objects were not checked"
        );
    }
    if !walk.kustomize_roots.is_empty() {
        let _ = writeln!(
            out,
            "note: {} rendered and checked as a whole ({} judged through {})",
            plural(
                walk.kustomize_roots.len(),
                "kustomization",
                "kustomizations"
            ),
            plural(walk.kustomize_members, "member file", "member files"),
            if walk.kustomize_roots.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
        if verbose {
            for root in &walk.kustomize_roots {
                let _ = writeln!(out, "  {root}");
            }
        }
    }
    if !walk.not_manifests.is_empty() {
        let n = walk.not_manifests.len();
        let _ = writeln!(
            out,
            "note: {} not Kubernetes manifests, passed over{}",
            plural(n, "file is", "files are"),
            if verbose { ":" } else { " (-v names them)" }
        );
        if verbose {
            for name in &walk.not_manifests {
                let _ = writeln!(out, "  {name}");
            }
        }
    }
    if walk.context_objects > 0 {
        let _ = writeln!(
            out,
            "note: {} of the rest of the repository seen as context, not judged",
            plural(walk.context_objects, "object", "objects")
        );
    }
    out
}
