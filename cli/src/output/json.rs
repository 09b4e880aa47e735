//! `--format json`: the stable, documented report document (see docs/output.md).

use super::RunInfo;
use kubegate_engine::Report;
use serde::Serialize;

/// Bumped on any incompatible change to the document's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: Vec<FindingOut<'a>>,
    errors: Vec<ErrorOut<'a>>,
    summary: SummaryOut<'a>,
    /// What the walk passed over or rendered; left out when there is nothing to say.
    #[serde(skip_serializing_if = "WalkOut::is_empty")]
    walk: WalkOut<'a>,
}

/// The engine's counts, and what this run left out of `findings`.
#[derive(Serialize)]
struct SummaryOut<'a> {
    #[serde(flatten)]
    counts: &'a kubegate_engine::Summary,
    /// Below `--min-severity`.
    hidden: usize,
    /// Also at the `--diff-base` revision, without `--show-existing`.
    existing_hidden: usize,
}

#[derive(Serialize)]
struct WalkOut<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    not_manifests: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unrendered_charts: Vec<UnrenderedOut<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    kustomize_roots: &'a [String],
    #[serde(skip_serializing_if = "is_zero")]
    kustomize_members: usize,
    /// Kustomize Components no kustomization of the input lists: not rendered, not checked.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    unused_components: &'a [String],
    #[serde(skip_serializing_if = "is_zero")]
    context_objects: usize,
}

#[derive(Serialize)]
struct UnrenderedOut<'a> {
    path: &'a str,
    reason: &'a str,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl WalkOut<'_> {
    fn is_empty(&self) -> bool {
        self.not_manifests.is_empty()
            && self.unrendered_charts.is_empty()
            && self.kustomize_roots.is_empty()
            && self.kustomize_members == 0
            && self.unused_components.is_empty()
            && self.context_objects == 0
    }
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    severity: kubegate_engine::Severity,
    message: &'a str,
    object: &'a kubegate_engine::ObjectRef,
    pointer: &'a str,
    location: &'a kubegate_engine::Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a str>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    details: &'a serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    advisory: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    existing: bool,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    file: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    message: String,
}

/// The report as the JSON document (borrowing from it).
fn document<'a>(report: &'a Report, info: &RunInfo) -> Document<'a> {
    Document {
        version: SCHEMA_VERSION,
        findings: report
            .findings
            .iter()
            .map(|f| FindingOut {
                rule_id: &f.rule_id,
                rule_name: &f.rule_name,
                severity: f.severity,
                message: &f.message,
                object: &f.object,
                pointer: &f.pointer,
                location: &f.location,
                template: f.template.as_deref(),
                policy: f.policy.as_deref(),
                details: &f.details,
                advisory: f.advisory,
                existing: f.existing,
            })
            .collect(),
        errors: report
            .errors
            .iter()
            .map(|e| ErrorOut {
                file: &e.file,
                line: e.position.map(|p| p.line),
                column: e.position.map(|p| p.column),
                message: e.kind.to_string(),
            })
            .collect(),
        summary: SummaryOut {
            counts: &report.summary,
            hidden: info.hidden,
            existing_hidden: info.existing_hidden,
        },
        walk: WalkOut {
            not_manifests: &report.walk.not_manifests,
            unrendered_charts: report
                .walk
                .unrendered_charts
                .iter()
                .map(|(path, reason)| UnrenderedOut { path, reason })
                .collect(),
            kustomize_roots: &report.walk.kustomize_roots,
            kustomize_members: report.walk.kustomize_members,
            unused_components: &report.walk.unused_components,
            context_objects: report.walk.context_objects,
        },
    }
}

/// The document as text, for `--output` files.
pub fn render(report: &Report, info: &RunInfo) -> String {
    let mut text = serde_json::to_string_pretty(&document(report, info))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// [`render`]'s document written to `out` as it is serialized, without building it as one
/// string first (on a large report that string, grown by doubling, was the largest single
/// allocation of the run). The bytes are the same.
pub fn write(
    report: &Report,
    info: &RunInfo,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(report, info))?;
    out.write_all(b"\n")
}

/// [`write`] to stdout; like `write_stdout`, a closed pipe ends the run cleanly and any other
/// write error is reported and exits 2.
pub fn write_stdout(report: &Report, info: &RunInfo) -> Option<u8> {
    use std::io::Write;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    match write(report, info, &mut out).and_then(|()| out.flush()) {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Some(crate::EXIT_CLEAN),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write output: {e}");
            Some(crate::EXIT_ERROR)
        }
    }
}
