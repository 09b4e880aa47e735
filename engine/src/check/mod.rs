//! Evaluation: rules × manifests in parallel, exemptions, and the deterministic [`Report`].

pub mod exemption;

use crate::load::{LoadError, LoadErrorKind, Loaded};
use crate::model::inventory::Inventory;
use crate::model::manifest::{Manifest, ObjectRef, SourceFile};
use crate::policy::rego::{PolicySet, PolicyWorker};
use crate::rules::catalog::{Catalog, CatalogError};
use crate::rules::{Context, Rule, Settings};
use crate::schema::builtin::SchemaContext;
use crate::vocab::{RuleMeta, Severity, Violation};
use rayon::prelude::*;
use serde::Serialize;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Where a finding is: always a file, and a line and column when the object has source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

/// One rule violation on one object, with its resolved position.
#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The policy file of a Rego rule's finding (built-in rules have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Extra keys of a Rego message object (everything but `msg` and `path`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
    /// Reported but never failing a run (a Gatekeeper constraint in `dryrun`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub advisory: bool,
    /// Already present at the `--diff-base` revision (never fails a run).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
    #[serde(skip)]
    pub source: Arc<SourceFile>,
    #[serde(skip)]
    pub document_index: usize,
    #[serde(skip)]
    pub item_index: Option<usize>,
}

impl Finding {
    fn new(raw: Raw, manifest: &Manifest) -> Self {
        let position = manifest.locate(&raw.violation.pointer);
        Finding {
            rule_id: raw.id,
            rule_name: raw.name,
            severity: raw.severity,
            message: raw.violation.message,
            object: manifest.object.clone(),
            pointer: raw.violation.pointer,
            location: Location {
                file: manifest.source.name.clone(),
                line: position.map(|p| p.line),
                column: position.map(|p| p.column),
            },
            template: manifest.template.clone(),
            policy: raw.policy,
            details: raw.details,
            advisory: raw.advisory,
            existing: false,
            source: manifest.source.clone(),
            document_index: manifest.document_index,
            item_index: manifest.item_index,
        }
    }

    /// The order of the report: file, document, list item, position, rule, pointer, message.
    fn order(&self, other: &Self) -> Ordering {
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
    }
}

/// Counts for the summary line and the JSON `summary` object.
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
}

/// The result of a run: sorted findings, load and evaluation errors, counts.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub errors: Vec<LoadError>,
    pub summary: Summary,
    /// Every object checked, as `(file, object)`, in input order (also those without findings).
    #[serde(skip)]
    pub objects: Vec<(String, ObjectRef)>,
    /// Ids of the rules that ran (built-in rules, then policy rules).
    #[serde(skip)]
    pub rules_run: Vec<String>,
}

impl Report {
    /// Marks the findings that `base` (the same paths at an earlier revision) already had. A
    /// finding matches by rule, object (kind, namespace, name) and field, never by line, so
    /// moved code is not new; each base finding matches at most one current finding.
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
    }

    /// Keeps only the findings `keep` accepts, and recounts the summary.
    pub fn retain_findings(&mut self, keep: impl FnMut(&Finding) -> bool) {
        self.findings.retain(keep);
        let s = &mut self.summary;
        s.findings = self.findings.len();
        (s.critical, s.high, s.medium, s.low) = (0, 0, 0, 0);
        for f in &self.findings {
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
            }
        }
    }

    /// Whether any finding is at or above `threshold`.
    pub fn has_findings_at_or_above(&self, threshold: Severity) -> bool {
        self.findings
            .iter()
            .any(|f| !f.advisory && !f.existing && f.severity >= threshold)
    }
}

/// Runs a set of rules over manifests.
#[derive(Clone)]
pub struct Checker {
    rules: Vec<&'static dyn Rule>,
    settings: Settings,
    severities: BTreeMap<&'static str, Severity>,
    policies: Option<Arc<PolicySet>>,
    schema: Arc<SchemaContext>,
}

/// A violation with the identity of the rule that reported it, built-in or policy.
struct Raw {
    id: Cow<'static, str>,
    name: Cow<'static, str>,
    severity: Severity,
    violation: Violation,
    policy: Option<String>,
    details: serde_json::Map<String, serde_json::Value>,
    advisory: bool,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| r.meta().id))
            .finish()
    }
}

impl Default for Checker {
    /// Every built-in rule with default settings.
    fn default() -> Self {
        Self::with_rules(crate::rules::builtin().to_vec())
    }
}

impl Checker {
    /// The built-in rules of the named packs (all packs when empty) under `settings`, with
    /// the catalogue's default severities.
    pub fn builtin(packs: &[String], settings: Settings) -> Result<Self, CatalogError> {
        Self::builtin_selection(packs, &[], &[], settings)
    }

    /// Like [`Checker::builtin`], with `--rules` and `--skip-rules` on top
    /// (see [`Catalog::select_rules`]).
    pub fn builtin_selection(
        packs: &[String],
        rules: &[String],
        skip: &[String],
        settings: Settings,
    ) -> Result<Self, CatalogError> {
        let rules = Catalog::builtin()?.select_rules(packs, rules, skip, &settings.pss)?;
        Ok(Self::with_rules(rules).with_settings(settings))
    }

    /// A checker running only the given rules.
    pub fn with_rules(rules: Vec<&'static dyn Rule>) -> Self {
        let severities = crate::rules::all_metas()
            .iter()
            .map(|m| (m.id, m.severity))
            .collect();
        Self {
            rules,
            settings: Settings::default(),
            severities,
            policies: None,
            schema: Arc::new(SchemaContext::default()),
        }
    }

    /// Reports `rule_id` (an id or name) at `severity` instead of its default.
    pub fn with_severity(
        mut self,
        rule_id: &str,
        severity: Severity,
    ) -> Result<Self, CatalogError> {
        let meta = crate::rules::find(rule_id)
            .ok_or_else(|| CatalogError::UnknownRule(rule_id.to_owned()))?;
        self.severities.insert(meta.id, severity);
        Ok(self)
    }

    /// Runs these Rego policies too.
    pub fn with_policies(mut self, policies: Arc<PolicySet>) -> Self {
        self.policies = Some(policies);
        self
    }

    /// Validates schemas with these settings (target version, strictness, extra CRDs).
    pub fn with_schema(mut self, schema: Arc<SchemaContext>) -> Self {
        self.schema = schema;
        self
    }

    pub fn schema(&self) -> &SchemaContext {
        &self.schema
    }

    pub fn policies(&self) -> Option<&PolicySet> {
        self.policies.as_deref()
    }

    /// The same rules, judged with these settings.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn severity(&self, meta: &RuleMeta) -> Severity {
        self.severities
            .get(meta.id)
            .copied()
            .unwrap_or(Severity::Medium)
    }

    pub fn rules(&self) -> &[&'static dyn Rule] {
        &self.rules
    }

    /// Whether the built-in rule with this id runs.
    pub fn runs(&self, rule_id: &str) -> bool {
        self.rules.iter().any(|r| r.meta().id == rule_id)
    }

    /// Evaluates one manifest: every rule and policy, then exemptions. A rule that panics or a
    /// policy that fails becomes an error for that object instead of taking the run down.
    /// `worker` is this thread's policy engines (see [`PolicySet::worker`]).
    pub fn check_manifest(
        &self,
        manifest: &Manifest,
        inventory: &Inventory<'_>,
        worker: Option<&mut PolicyWorker>,
    ) -> (Vec<Finding>, Vec<LoadError>) {
        self.check_manifest_reviewed(manifest, inventory, worker, None)
    }

    /// [`Checker::check_manifest`] for an admission request: `review` is the `input.review`
    /// Gatekeeper templates see (see [`PolicySet::evaluate_reviewed`]).
    pub fn check_manifest_reviewed(
        &self,
        manifest: &Manifest,
        inventory: &Inventory<'_>,
        worker: Option<&mut PolicyWorker>,
        review: Option<&serde_json::Value>,
    ) -> (Vec<Finding>, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut raw: Vec<Raw> = Vec::new();
        let mut violations = Vec::new();
        let cx = Context {
            manifest,
            inventory,
            settings: &self.settings,
            active: &self.rules,
            schema: &self.schema,
        };
        for rule in &self.rules {
            violations.clear();
            let outcome = catch_unwind(AssertUnwindSafe(|| rule.check(&cx, &mut violations)));
            let meta = rule.meta();
            match outcome {
                Ok(()) => {
                    let advisory = !violations.is_empty() && rule.advisory(&cx);
                    raw.extend(
                        violations
                            .drain(..)
                            .map(|v| self.raw_builtin(meta, v, advisory)),
                    );
                }
                Err(_) => errors.push(LoadError {
                    file: manifest.source.name.clone(),
                    position: manifest.locate(""),
                    kind: LoadErrorKind::RulePanicked {
                        rule: meta.id,
                        object: manifest.object.to_string(),
                    },
                }),
            }
        }
        if let (Some(policies), Some(worker)) = (self.policies.as_deref(), worker) {
            let mut found = Vec::new();
            match policies.evaluate_reviewed(worker, manifest, inventory, review, &mut found) {
                Ok(()) => raw.extend(found.into_iter().map(|v| {
                    let rule = &policies.rules()[v.rule];
                    Raw {
                        id: Cow::Owned(rule.id.clone()),
                        name: Cow::Owned(rule.name.clone()),
                        severity: rule.severity,
                        violation: v.violation,
                        policy: Some(rule.file.display().to_string()),
                        details: v.details,
                        advisory: rule.advisory,
                    }
                })),
                Err(e) => errors.push(LoadError {
                    file: manifest.source.name.clone(),
                    position: manifest.locate(""),
                    kind: LoadErrorKind::PolicyFailed(e.to_string()),
                }),
            }
        }
        let known = |name: &str| -> Option<String> {
            crate::rules::find(name)
                .filter(|m| !m.is_retired())
                .map(|m| m.id.to_owned())
                .or_else(|| self.policies.as_deref()?.find(name).map(|r| r.id.clone()))
        };
        let (mut exemptions, invalid) = exemption::read(manifest, &known);
        if !exemptions.is_empty() {
            raw.retain(
                |r| match exemptions.iter_mut().find(|e| e.rule_id == r.id) {
                    Some(e) => {
                        e.used = true;
                        false
                    }
                    None => true,
                },
            );
        }
        raw.extend(
            invalid
                .into_iter()
                .map(|v| self.raw_builtin(&exemption::INVALID, v, false)),
        );
        for e in exemptions {
            let active = self.runs(&e.rule_id)
                || self
                    .policies
                    .as_deref()
                    .is_some_and(|p| p.find(&e.rule_id).is_some());
            if !e.used && active {
                let message = format!(
                    "exemption for {} suppresses no finding on this object",
                    e.rule_id
                );
                raw.push(self.raw_builtin(
                    &exemption::UNUSED,
                    Violation {
                        pointer: e.pointer,
                        message,
                    },
                    false,
                ));
            }
        }
        let findings = raw.into_iter().map(|r| Finding::new(r, manifest)).collect();
        (findings, errors)
    }

    fn raw_builtin(&self, meta: &'static RuleMeta, violation: Violation, advisory: bool) -> Raw {
        Raw {
            id: Cow::Borrowed(meta.id),
            name: Cow::Borrowed(meta.name),
            severity: self.severity(meta),
            violation,
            policy: None,
            details: serde_json::Map::new(),
            advisory,
        }
    }

    /// Evaluates everything that was loaded, in parallel, into a sorted report. The report is
    /// the same whatever the number of threads.
    pub fn check(&self, loaded: &Loaded) -> Report {
        let inventory = Inventory::new(&loaded.manifests);
        let inventory_data = self
            .policies
            .as_deref()
            .filter(|p| p.needs_inventory())
            .map(|_| crate::policy::gatekeeper::inventory_data(&loaded.manifests));
        let results: Vec<_> = loaded
            .manifests
            .par_iter()
            .map_init(
                || {
                    self.policies
                        .as_deref()
                        .map(|p| p.worker(inventory_data.as_ref()))
                },
                |worker, m| self.check_manifest(m, &inventory, worker.as_mut()),
            )
            .collect();
        let mut findings = Vec::new();
        let mut errors = loaded.errors.clone();
        for (f, e) in results {
            findings.extend(f);
            errors.extend(e);
        }
        findings.sort_by(Finding::order);
        errors.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        let mut summary = Summary {
            files: loaded.files,
            objects: loaded.manifests.len(),
            findings: findings.len(),
            errors: errors.len(),
            ..Summary::default()
        };
        for f in &findings {
            match f.severity {
                Severity::Critical => summary.critical += 1,
                Severity::High => summary.high += 1,
                Severity::Medium => summary.medium += 1,
                Severity::Low => summary.low += 1,
            }
        }
        let objects = loaded
            .manifests
            .iter()
            .map(|m| (m.source.name.clone(), m.object.clone()))
            .collect();
        let mut rules_run: Vec<String> =
            self.rules.iter().map(|r| r.meta().id.to_owned()).collect();
        if let Some(p) = self.policies.as_deref() {
            for r in p.rules() {
                if !rules_run.contains(&r.id) {
                    rules_run.push(r.id.clone());
                }
            }
        }
        Report {
            findings,
            errors,
            summary,
            objects,
            rules_run,
        }
    }
}
