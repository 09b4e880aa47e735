//! Human output: one block per place with findings (their headers, the location and a source
//! excerpt), then the summary.

use super::style::Palette;
use super::{never_fails, summary, RunInfo};
use kubegate_engine::{Finding, LoadError, Report};
use std::fmt::Write;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub excerpt: bool,
    pub palette: Palette,
}

pub fn render(report: &Report, info: &RunInfo, options: &Options) -> String {
    let mut out = String::new();
    // Findings at one line and column (several rules on one field) share one excerpt. The
    // report's order puts them next to each other.
    let same_place = |a: &Finding, b: &Finding| {
        a.location.line.is_some() && a.location == b.location && a.object == b.object
    };
    for group in report.findings.chunk_by(same_place) {
        render_group(&mut out, group, options);
        out.push('\n');
    }
    for line in summary::lines(report, info, options.palette) {
        let _ = writeln!(out, "{line}");
    }
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

/// `severity[rule] message (label)`, coloured as the palette says.
pub fn header(f: &Finding, palette: Palette) -> String {
    let mut text = format!(
        "{}[{}] {}",
        palette.paint(palette.severity(f.severity), f.severity),
        palette.paint(palette.rule(), &f.rule_id),
        f.message
    );
    if let Some(label) = never_fails(f) {
        let _ = write!(
            text,
            " {}",
            palette.paint(palette.note(), format!("({label})"))
        );
    }
    text
}

/// The findings of one place: each header, then the place once.
fn render_group(out: &mut String, group: &[Finding], options: &Options) {
    let palette = options.palette;
    let Some(f) = group.first() else {
        return;
    };
    for finding in group {
        let _ = writeln!(out, "{}", header(finding, palette));
    }
    let location = match (f.location.line, f.location.column) {
        (Some(line), Some(column)) => format!("{}:{line}:{column}", f.location.file),
        _ => format!("{} ({})", f.location.file, f.pointer),
    };
    let _ = writeln!(
        out,
        "  {} {location}  {} ({})",
        palette.paint(palette.gutter(), "-->"),
        f.object,
        f.object.api_version
    );
    if let Some(template) = &f.template {
        // A kustomize root's objects name its kustomization; Helm's, the chart template.
        let is_kustomization = std::path::Path::new(template)
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| kubegate_engine::KUSTOMIZATION_FILES.contains(&n));
        if is_kustomization {
            let _ = writeln!(out, "  as rendered by {template}");
        } else {
            let _ = writeln!(out, "  rendered from template {template}");
        }
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
    let bar = palette.paint(palette.gutter(), "|");
    let number = palette.paint(palette.gutter(), line);
    // The carets take the colour of the worst finding here.
    let worst = group.iter().map(|f| f.severity).max().unwrap_or(f.severity);
    let carets = palette.paint(palette.severity(worst), "^".repeat(width));
    let _ = writeln!(out, "{pad} {bar}");
    let _ = writeln!(out, "{number} {bar} {}", shown.trim_end());
    let _ = writeln!(out, "{pad} {bar} {}{carets}", " ".repeat(col));
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
    match walk.unused_components.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(
                out,
                "note: kustomize Component {one} is listed by no kustomization in the input, so it \
                 was not rendered: its objects and patches were not checked (check a kustomization \
                 that lists it under `components`)"
            );
        }
        many => {
            let _ = writeln!(
                out,
                "note: {} kustomize Components are listed by no kustomization in the input, so they \
                 were not rendered: their objects and patches were not checked (check a \
                 kustomization that lists them under `components`){}",
                many.len(),
                if verbose { ":" } else { "; -v names them" }
            );
            if verbose {
                for name in many {
                    let _ = writeln!(out, "  {name}");
                }
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
            "note: {} seen as context only, not judged",
            plural(walk.context_objects, "object", "objects")
        );
    }
    out
}
