//! The summary at the end of the human, compact and GitHub formats: what was found (each
//! finding counted once), what was left out, and what the run was judged by.

use super::style::Palette;
use super::{plural, RunInfo};
use kubegate_engine::{Report, Severity};

/// Two lines without their newlines: the counts, then the configuration and threshold.
pub fn lines(report: &Report, info: &RunInfo, palette: Palette) -> [String; 2] {
    let s = &report.summary;
    let mut counts = if s.findings == 0 {
        palette.paint(palette.clean(), "No findings")
    } else {
        let mut parts: Vec<String> = Severity::ALL
            .iter()
            .map(|sev| (*sev, count(report, *sev)))
            .filter(|(_, n)| *n > 0)
            .map(|(sev, n)| palette.paint(palette.severity(sev), format!("{n} {sev}")))
            .collect();
        for (n, what) in [(s.advisory, "advisory"), (s.existing, "existing")] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        format!(
            "{} ({})",
            palette.paint(palette.total(), plural(s.findings, "finding")),
            parts.join(", ")
        )
    };
    counts.push_str(&format!(
        " in {} from {}",
        plural(s.objects, "object"),
        plural(s.files, "file")
    ));
    if s.exempted > 0 {
        counts.push_str(&format!("; {} exempted", s.exempted));
    }
    if let (Some(min), true) = (info.min_severity, info.hidden > 0) {
        counts.push_str(&format!("; {} below {min} not shown", info.hidden));
    }
    if info.existing_hidden > 0 {
        counts.push_str(&format!(
            "; {} also at the diff base not shown",
            info.existing_hidden
        ));
    }
    if s.errors > 0 {
        let errors = palette.paint(palette.error(), plural(s.errors, "error"));
        counts.push_str(&format!("; {errors}"));
    }
    counts.push('.');
    let config = info.config.as_deref().unwrap_or("built-in defaults");
    let mut threshold = match info.fail_on {
        Some(Severity::Critical) => "failing at critical".to_owned(),
        Some(sev) => format!("failing at {sev} and above"),
        None if info.fail_on_warn => "failing on policy findings only".to_owned(),
        None => "no finding fails (--fail-on never)".to_owned(),
    };
    if info.fail_on_warn && info.fail_on.is_some() {
        threshold.push_str(", and on every policy finding (--fail-on-warn)");
    }
    [counts, format!("Using {config}; {threshold}.")]
}

/// The findings at `severity` that can fail the run.
fn count(report: &Report, severity: Severity) -> usize {
    let s = &report.summary;
    match severity {
        Severity::Critical => s.critical,
        Severity::High => s.high,
        Severity::Medium => s.medium,
        Severity::Low => s.low,
    }
}
