//! What a run produces: [`Finding`]s with their resolved [`Location`], sorted into a
//! deterministic [`Report`] with its [`Summary`].

use super::Raw;
use crate::load::LoadError;
use crate::model::manifest::{Manifest, ObjectRef};
use crate::source::SourceFile;
use crate::vocab::Severity;
use serde::Serialize;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a finding is: always a file, and a line and column when the object has source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// One rule violation on one object, with its resolved position. (The CLI's printers define the
/// serialized shapes, `docs/output.md`.)
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule_id: Cow<'static, str>,
    pub rule_name: Cow<'static, str>,
    pub severity: Severity,
    pub message: String,
    pub object: ObjectRef,
    /// JSON pointer of the offending field within the object.
    pub pointer: String,
    pub location: Location,
    /// The Helm template that rendered the object, when known.
    pub template: Option<String>,
    /// The policy file of a Rego rule's finding (built-in rules have none).
    pub policy: Option<String>,
    /// Extra keys of a Rego message object (everything but `msg` and `path`).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Reported but never failing a run (a Gatekeeper constraint in `dryrun`).
    pub advisory: bool,
    /// Already present at the `--diff-base` revision (never fails a run).
    pub existing: bool,
    pub source: Arc<SourceFile>,
    pub document_index: usize,
    pub item_index: Option<usize>,
}

impl Finding {
    pub(super) fn new(raw: Raw, manifest: &Manifest) -> Self {
        let place = manifest.place(&raw.violation.pointer);
        let mut details = raw.details;
        if let Some(at) = place.rendered_at {
            details.insert("rendered_at".into(), serde_json::Value::String(at));
        }
        Finding {
            rule_id: raw.id,
            rule_name: raw.name,
            severity: raw.severity,
            message: raw.violation.message,
            object: manifest.object.clone(),
            pointer: raw.violation.pointer,
            location: Location {
                file: place.file.name.clone(),
                line: place.position.map(|p| p.line),
                column: place.position.map(|p| p.column),
            },
            template: manifest.template.clone(),
            policy: raw.policy,
            details,
            advisory: raw.advisory,
            existing: false,
            source: place.file,
            document_index: place.document_index,
            item_index: place.item_index,
        }
    }

    /// The order of the report: file, document, list item, position, rule, pointer, message.
    pub(super) fn order(&self, other: &Self) -> Ordering {
        (
            &self.location.file,
            self.document_index,
            self.item_index,
            self.location.line,
            self.location.column,
        )
            .cmp(&(
                &other.location.file,
                other.document_index,
                other.item_index,
                other.location.line,
                other.location.column,
            ))
            .then_with(|| self.rule_id.cmp(&other.rule_id))
            .then_with(|| self.pointer.cmp(&other.pointer))
            .then_with(|| self.message.cmp(&other.message))
            .then_with(|| self.object.cmp(&other.object))
    }
}

/// Counts for the summary line and the JSON `summary` object.
///
/// Every finding is counted once: `findings` is `critical + high + medium + low + advisory +
/// existing`. The severity counts are the findings that can fail a run; an advisory finding
/// (never failing) counts as `advisory` and an existing one (also at the diff base) as
/// `existing`, whatever their severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub files: usize,
    pub objects: usize,
    pub findings: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub errors: usize,
    /// Findings reported but never failing: Gatekeeper `dryrun` constraints, objects no schema
    /// describes (`KG006` under `--unknown-kinds skip`).
    pub advisory: usize,
    /// Findings also present at the `--diff-base` revision.
    pub existing: usize,
    /// Findings an exemption suppressed (an annotation, or the configuration's namespaces and
    /// objects; files exempted by path are never judged, so they count nothing).
    pub exempted: usize,
}

impl Summary {
    /// Sets the finding counts (total, per severity, advisory and existing) from `findings`.
    /// The other counts are left as they are.
    pub fn count(&mut self, findings: &[Finding]) {
        self.findings = findings.len();
        (self.critical, self.high, self.medium, self.low) = (0, 0, 0, 0);
        (self.advisory, self.existing) = (0, 0);
        for f in findings {
            match f.severity {
                _ if f.advisory => self.advisory += 1,
                _ if f.existing => self.existing += 1,
                Severity::Critical => self.critical += 1,
                Severity::High => self.high += 1,
                Severity::Medium => self.medium += 1,
                Severity::Low => self.low += 1,
            }
        }
    }
}

/// The result of a run: sorted findings, load and evaluation errors, counts.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub errors: Vec<LoadError>,
    pub summary: Summary,
    /// Every object checked, as `(file, object)`, in input order (also those without findings).
    pub objects: Vec<(String, ObjectRef)>,
    /// Ids of the rules that ran (built-in rules, then policy rules).
    pub rules_run: Vec<String>,
    /// Configuration exemptions (namespaces and objects) that suppressed no finding in this
    /// evaluation, described (`exemptions.objects[0] (kind: Deployment, name: legacy)`).
    pub unused_exemptions: Vec<String>,
    /// What the input's walk passed over or rendered (empty for an admission request).
    pub walk: Walk,
    /// Findings not kept because of a [`Budget`](super::Budget)'s per-rule cap (always 0
    /// without one).
    pub findings_cut: usize,
}

/// What a run's walk met besides the objects it judged, for the summary: nothing here may pass
/// silently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// Files holding no Kubernetes object (compose files, Helm values, `package.json`, …).
    pub not_manifests: Vec<String>,
    /// Helm charts not rendered, each with why: their objects were not judged.
    pub unrendered_charts: Vec<(String, String)>,
    /// Kustomize roots rendered and judged as a whole.
    pub kustomize_roots: Vec<String>,
    /// Files kustomizations read (resources, patches, generator sources), judged through the
    /// roots rather than on their own.
    pub kustomize_members: usize,
    /// Kustomize Components no kustomization of the input lists: not rendered, not judged.
    pub unused_components: Vec<String>,
    /// Objects seen only as context (`--staged`: the rest of the repository), not judged.
    pub context_objects: usize,
}

impl Report {
    /// Marks the findings that `base` (the same paths at an earlier revision) already had, and
    /// recounts the summary. A finding matches by rule, object (kind, namespace, name) and
    /// field, never by line, so moved code is not new; each base finding matches at most one
    /// current finding.
    pub fn mark_existing(&mut self, base: &Report) {
        fn key(f: &Finding) -> (String, String, Option<String>, Option<String>, String) {
            (
                f.rule_id.to_string(),
                f.object.kind.clone(),
                f.object.namespace.clone(),
                f.object.name.clone(),
                f.pointer.clone(),
            )
        }
        let mut remaining: BTreeMap<_, usize> = BTreeMap::new();
        for f in &base.findings {
            *remaining.entry(key(f)).or_default() += 1;
        }
        for f in &mut self.findings {
            if let Some(n) = remaining.get_mut(&key(f)).filter(|n| **n > 0) {
                *n -= 1;
                f.existing = true;
            }
        }
        self.summary.count(&self.findings);
    }

    /// Keeps only the findings `keep` accepts, and recounts the summary.
    pub fn retain_findings(&mut self, keep: impl FnMut(&Finding) -> bool) {
        self.findings.retain(keep);
        self.summary.count(&self.findings);
    }

    /// Whether any finding is at or above `threshold`.
    pub fn has_findings_at_or_above(&self, threshold: Severity) -> bool {
        self.findings
            .iter()
            .any(|f| !f.advisory && !f.existing && f.severity >= threshold)
    }

    /// Whether a Rego or Gatekeeper policy reported a finding that can fail a run, at any
    /// severity (`--fail-on-warn`: conftest's warnings fail too).
    pub fn has_policy_findings(&self) -> bool {
        self.findings
            .iter()
            .any(|f| !f.advisory && !f.existing && f.policy.is_some())
    }
}
