//! Evaluation: the one path from loaded objects (a run) or one admission request to a
//! deterministic [`Report`]: rules × objects in parallel, policies, exemptions.

pub mod budget;
pub mod exemption;
mod report;

pub use budget::{Budget, Interrupted};
pub use report::{Finding, Location, Report, Summary};

use crate::load::{LoadError, LoadErrorKind, Loaded};
use crate::model::inventory::Inventory;
use crate::model::manifest::Manifest;
use crate::policy::rego::{PolicySet, PolicyWorker};
use crate::rules::catalog::{Catalog, CatalogError};
use crate::rules::{Context, Rule, Settings};
use crate::schema::builtin::SchemaContext;
use crate::schema::crd::InputCrds;
use crate::vocab::{RuleMeta, Scope, Severity, Violation};
use exemption::{ConfigExemptions, ExemptionIndex};
use rayon::prelude::*;
pub use report::Walk;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// What the checker judges.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// Everything a run loaded. Every rule can judge: the other objects are all there.
    Run(&'a Loaded),
    /// The object of one admission request. `review` is the request as Gatekeeper templates
    /// see it (`input.review`: operation, userInfo, oldObject). Rules that need the whole input
    /// ([`Scope::WholeInput`]) do not run: one request cannot show a namespace's
    /// NetworkPolicies or a Deployment's autoscaler.
    Admission {
        object: &'a Manifest,
        review: &'a Value,
    },
}

/// Runs a set of rules, policies and exemptions over manifests.
#[derive(Clone)]
pub struct Checker {
    rules: Vec<&'static dyn Rule>,
    /// `rules` without the whole-input ones: what one admission request can judge.
    object_rules: Vec<&'static dyn Rule>,
    settings: Settings,
    severities: BTreeMap<&'static str, Severity>,
    policies: Option<Arc<PolicySet>>,
    /// Policy engines ready for reuse by admission requests (one per concurrent request).
    workers: Arc<Mutex<Vec<PolicyWorker>>>,
    schema: Arc<SchemaContext>,
    exemptions: Arc<ConfigExemptions>,
}

/// A violation with the identity of the rule that reported it, built-in or policy.
pub(crate) struct Raw {
    pub(crate) id: Cow<'static, str>,
    pub(crate) name: Cow<'static, str>,
    pub(crate) severity: Severity,
    pub(crate) violation: Violation,
    pub(crate) policy: Option<String>,
    pub(crate) details: serde_json::Map<String, Value>,
    pub(crate) advisory: bool,
}

/// What one evaluation shows a rule besides the object.
struct Surroundings<'a> {
    inventory: &'a Inventory<'a>,
    crds: &'a InputCrds<'a>,
    rules: &'a [&'static dyn Rule],
    /// The admission request, for policies (`None`: a run, whose review is built per object).
    review: Option<&'a Value>,
    /// The objects at an earlier revision (`--diff-base`): each object's earlier version is
    /// its old object, as an UPDATE's `oldObject` is.
    earlier: Option<&'a Earlier>,
}

/// An object's identity across revisions: API group, kind, namespace, name.
type Identity = (String, String, Option<String>, String);

/// The objects of an earlier revision, by identity.
type Earlier = std::collections::HashMap<Identity, Value>;

fn identity(object: &crate::model::manifest::ObjectRef) -> Option<Identity> {
    Some((
        object.group().to_owned(),
        object.kind.clone(),
        object.namespace.clone(),
        object.name.clone()?,
    ))
}

/// What judging one object produced.
#[derive(Default)]
struct Judged {
    findings: Vec<Finding>,
    errors: Vec<LoadError>,
    /// Configuration exemptions that suppressed something here.
    exemptions_used: Vec<ExemptionIndex>,
    /// Findings suppressed by an exemption (annotation or configuration).
    exempted: usize,
    /// Findings dropped by the budget's per-rule cap.
    cut: usize,
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
        let object_rules = rules
            .iter()
            .copied()
            .filter(|r| r.meta().scope != Scope::WholeInput)
            .collect();
        Self {
            rules,
            object_rules,
            settings: Settings::default(),
            severities,
            policies: None,
            workers: Arc::default(),
            schema: Arc::new(SchemaContext::default()),
            exemptions: Arc::default(),
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
        self.workers = Arc::default();
        self
    }

    /// Applies the configuration's exemptions (namespaces, paths, objects) to every finding.
    pub fn with_exemptions(mut self, exemptions: ConfigExemptions) -> Self {
        self.exemptions = Arc::new(exemptions);
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

    /// How many rules judge an object: built-in rules (those one admission request can judge
    /// when `admission`) plus policy rules.
    pub fn rule_count(&self, admission: bool) -> usize {
        let builtin = if admission {
            self.object_rules.len()
        } else {
            self.rules.len()
        };
        builtin + self.policies.as_deref().map_or(0, |p| p.rules().len())
    }

    /// Whether the built-in rule with this id runs.
    pub fn runs(&self, rule_id: &str) -> bool {
        self.rules.iter().any(|r| r.meta().id == rule_id)
    }

    /// Evaluates a subject into a sorted report: every rule that can judge it, every policy,
    /// then exemptions (annotations, then the configuration's). A rule or policy that panics or
    /// fails becomes an error for that object instead of taking the run down. The report is
    /// the same whatever the number of threads.
    pub fn evaluate(&self, subject: Subject<'_>) -> Report {
        // An unbounded budget is never exhausted.
        self.evaluate_within(subject, &Budget::default())
            .unwrap_or_default()
    }

    /// [`Checker::evaluate`] under a budget: the deadline and cancellation are checked before
    /// every rule, before the policies and while findings are built, so an evaluation nobody
    /// waits for any more ends (and frees what it holds) at the next check; findings beyond
    /// the per-rule cap are counted, not kept, and messages are cut to the size limit.
    pub fn evaluate_within(
        &self,
        subject: Subject<'_>,
        budget: &Budget,
    ) -> Result<Report, Interrupted> {
        match subject {
            Subject::Run(loaded) => self.run(loaded, None, budget),
            Subject::Admission { object, review } => {
                self.evaluate_admission_within(object, review, None, budget)
            }
        }
    }

    /// [`Checker::evaluate`] of a run.
    pub fn check(&self, loaded: &Loaded) -> Report {
        self.evaluate(Subject::Run(loaded))
    }

    /// [`Checker::check`] of a change: `loaded` judged as an update of `earlier` (the same
    /// paths at the `--diff-base` revision). An object that was there before (same group,
    /// kind, namespace and name) has its earlier version as its old object, so the rules that
    /// judge updates (KG018's immutable fields, CRD transition rules) judge the change as the
    /// API server would judge applying it.
    pub fn check_since(&self, loaded: &Loaded, earlier: &Loaded) -> Report {
        let mut by_identity = Earlier::new();
        for m in &earlier.manifests {
            let (Some(key), Ok(m)) = (identity(&m.object), m.unparked()) else {
                continue;
            };
            by_identity.insert(key, m.into_owned().value);
        }
        self.run(loaded, Some(&by_identity), &Budget::default())
            .unwrap_or_default()
    }

    fn run(
        &self,
        loaded: &Loaded,
        earlier: Option<&Earlier>,
        budget: &Budget,
    ) -> Result<Report, Interrupted> {
        let objects = &loaded.manifests;
        let inventory = Inventory::new(objects);
        let crds = InputCrds::new(objects, self.schema.strict());
        let around = Surroundings {
            inventory: &inventory,
            crds: &crds,
            rules: &self.rules,
            review: None,
            earlier,
        };
        let inventory_data = self
            .policies
            .as_deref()
            .filter(|p| p.needs_inventory())
            .map(|_| crate::policy::gatekeeper::inventory_data(objects));
        // Context objects (the rest of the repository in a `--staged` run) are seen by
        // whole-input rules through the inventory but not judged themselves.
        let results: Vec<Judged> = objects
            .par_iter()
            .filter(|m| !m.context)
            .map_init(
                || {
                    self.policies
                        .as_deref()
                        .map(|p| p.worker(inventory_data.as_ref()))
                },
                |worker, m| {
                    // A parked object is read back for as long as it is judged.
                    let m = match m.unparked() {
                        Ok(m) => m,
                        Err(e) => {
                            return Ok(Judged {
                                errors: vec![unreadable(m, &e)],
                                ..Judged::default()
                            })
                        }
                    };
                    let judged = self.judge(&m, &around, worker.as_mut(), budget);
                    if let (Some(p), Some(w)) = (self.policies.as_deref(), worker.as_mut()) {
                        if w.is_poisoned() {
                            *w = p.worker(inventory_data.as_ref());
                        }
                    }
                    judged
                },
            )
            .collect::<Result<Vec<Judged>, _>>()?;
        let mut results = results;
        if let Some(p) = self.policies.as_deref().filter(|p| p.combines()) {
            // conftest's combined input is every object at once: parked ones are read back.
            let mut failed = Vec::new();
            let whole: Vec<Cow<'_, Manifest>> = objects
                .iter()
                .filter(|m| !m.context)
                .filter_map(|m| match m.unparked() {
                    Ok(m) => Some(m),
                    Err(e) => {
                        failed.push(unreadable(m, &e));
                        None
                    }
                })
                .collect();
            let judged: Vec<&Manifest> = whole.iter().map(|m| m.as_ref()).collect();
            let mut combined = self.judge_combined(p, &judged, inventory_data.as_ref(), budget)?;
            combined.errors.extend(failed);
            results.push(combined);
        }
        let mut report = self.report(
            results,
            loaded.errors.clone(),
            loaded.files,
            objects,
            &self.rules,
        );
        report.walk = Walk {
            not_manifests: loaded.not_manifests.clone(),
            unrendered_charts: loaded.unrendered_charts.clone(),
            kustomize_roots: loaded.kustomize_roots.clone(),
            kustomize_members: loaded.kustomize_members,
            unused_components: loaded.unused_components.clone(),
            context_objects: objects.iter().filter(|m| m.context).count(),
        };
        Ok(report)
    }

    /// [`Checker::evaluate_within`] of an admission request whose namespace is known from
    /// elsewhere (the webhook's cache of the cluster's Namespaces): `namespace` is in the
    /// inventory beside the object, so constraints with a `namespaceSelector` (and VAPs'
    /// `namespaceObject`) see its labels. It is not judged itself.
    pub fn evaluate_admission_within(
        &self,
        object: &Manifest,
        review: &Value,
        namespace: Option<&Manifest>,
        budget: &Budget,
    ) -> Result<Report, Interrupted> {
        let with_namespace;
        let objects = match namespace {
            // The object first: its index is what the report's bookkeeping refers to.
            Some(ns) => {
                with_namespace = [object.clone(), ns.clone()];
                &with_namespace[..]
            }
            None => std::slice::from_ref(object),
        };
        let inventory = Inventory::new(objects);
        let crds = InputCrds::new(objects, self.schema.strict());
        let around = Surroundings {
            inventory: &inventory,
            crds: &crds,
            rules: &self.object_rules,
            review: Some(review),
            earlier: None,
        };
        let mut worker = self.policies.as_deref().map(|p| {
            self.workers
                .lock()
                .ok()
                .and_then(|mut pool| pool.pop())
                .unwrap_or_else(|| p.worker(None))
        });
        let judged = self.judge(object, &around, worker.as_mut(), budget);
        // A worker whose evaluation panicked is dropped, not reused.
        if let (Some(w), Ok(mut pool)) = (worker.filter(|w| !w.is_poisoned()), self.workers.lock())
        {
            pool.push(w);
        }
        let mut results = vec![judged?];
        if let Some(p) = self.policies.as_deref().filter(|p| p.combines()) {
            results.push(self.judge_combined(p, &[object], None, budget)?);
        }
        // The report is about the judged object alone, not the namespace beside it.
        Ok(self.report(
            results,
            Vec::new(),
            0,
            std::slice::from_ref(object),
            &self.object_rules,
        ))
    }

    /// Judges one object: every rule of `around`, the policies, then exemptions.
    fn judge(
        &self,
        manifest: &Manifest,
        around: &Surroundings<'_>,
        worker: Option<&mut PolicyWorker>,
        budget: &Budget,
    ) -> Result<Judged, Interrupted> {
        let mut errors = Vec::new();
        let mut cut = 0;
        let mut raw: Vec<Raw> = Vec::new();
        let mut violations = Vec::new();
        // Results of conftest rules an `exception` rule suppressed.
        let mut policy_excepted = 0;
        let cx = Context {
            manifest,
            inventory: around.inventory,
            crds: around.crds,
            settings: &self.settings,
            active: around.rules,
            schema: &self.schema,
            old_object: around.review.and_then(old_object).or_else(|| {
                around
                    .earlier
                    .and_then(|e| e.get(&identity(&manifest.object)?))
            }),
        };
        let error = |kind| LoadError {
            file: manifest.source.name.clone(),
            position: manifest.locate(""),
            kind,
        };
        for rule in around.rules {
            budget.check()?;
            violations.clear();
            let outcome = catch_unwind(AssertUnwindSafe(|| rule.check(&cx, &mut violations)));
            let meta = rule.meta();
            match outcome {
                Ok(()) => {
                    cut += budget.cap(&mut violations);
                    let advisory = !violations.is_empty() && rule.advisory(&cx);
                    raw.extend(violations.drain(..).map(|v| {
                        let advisory = advisory || rule.is_note(&v);
                        self.raw_builtin(meta, v, advisory)
                    }));
                }
                Err(_) => errors.push(error(LoadErrorKind::RulePanicked {
                    rule: meta.id,
                    object: manifest.object.to_string(),
                })),
            }
        }
        if let Some(policies) = self.policies.as_deref() {
            budget.check()?;
            match worker {
                Some(worker) => {
                    match self.run_policies(policies, worker, manifest, around, budget, &mut raw) {
                        Ok((n, excepted)) => {
                            cut += n;
                            policy_excepted += excepted;
                        }
                        Err(e) => errors.push(error(e)),
                    }
                }
                // Unreachable through `run` and `admit`, which always bring one; said rather
                // than skipped if that ever changes.
                None => errors.push(error(LoadErrorKind::PolicyFailed(
                    "no policy engine was available; the policies did not run".into(),
                ))),
            }
        }
        let known = |name: &str| -> Option<String> {
            crate::rules::find(name)
                .filter(|m| !m.is_retired())
                .map(|m| m.id.to_owned())
                .or_else(|| self.policies.as_deref()?.find(name).map(|r| r.id.clone()))
        };
        let (mut exemptions, invalid) = exemption::read(manifest, &known);
        let before = raw.len();
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
        let mut exempted = before - raw.len() + policy_excepted;
        raw.extend(
            invalid
                .into_iter()
                .map(|v| self.raw_builtin(&exemption::INVALID, v, false)),
        );
        for e in exemptions {
            // Under --combine conftest rules judge elsewhere (`judge_combined`): whether an
            // exemption for them is used is not known here.
            let active = around.rules.iter().any(|r| r.meta().id == e.rule_id)
                || self.policies.as_deref().is_some_and(|p| {
                    p.find(&e.rule_id)
                        .is_some_and(|r| !(p.combines() && r.is_conftest()))
                });
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
        let mut exemptions_used = Vec::new();
        if !self.exemptions.is_empty() {
            raw.retain(|r| {
                match self
                    .exemptions
                    .find(&manifest.object, &manifest.source.name, &r.id, &r.name)
                {
                    Some(i) => {
                        exemptions_used.push(i);
                        exempted += 1;
                        false
                    }
                    None => true,
                }
            });
        }
        let mut findings = Vec::with_capacity(raw.len());
        for (i, mut r) in raw.into_iter().enumerate() {
            if i % 256 == 255 {
                budget.check()?;
            }
            budget.trim(&mut r.violation.message);
            findings.push(Finding::new(r, manifest));
        }
        Ok(Judged {
            findings,
            errors,
            exemptions_used,
            exempted,
            cut,
        })
    }

    /// The policies' findings on one object. A policy engine that panics is an error for this
    /// object (the worker is marked poisoned, and replaced), as a built-in rule's panic is.
    /// Returns how many findings the budget's per-rule cap dropped, and how many results
    /// `exception` rules suppressed.
    fn run_policies(
        &self,
        policies: &PolicySet,
        worker: &mut PolicyWorker,
        manifest: &Manifest,
        around: &Surroundings<'_>,
        budget: &Budget,
        raw: &mut Vec<Raw>,
    ) -> Result<(usize, usize), LoadErrorKind> {
        let mut found = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            policies.evaluate_reviewed(
                worker,
                manifest,
                around.inventory,
                around.review,
                Some(self.schema.crds()),
                &mut found,
            )
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(LoadErrorKind::PolicyFailed(e.to_string())),
            Err(_) => {
                worker.poison();
                return Err(LoadErrorKind::PolicyPanicked {
                    object: manifest.object.to_string(),
                });
            }
        }
        let before = found.len();
        found.retain(|v| !v.excepted);
        let excepted = before - found.len();
        let mut cut = 0;
        if let Some(max) = budget.max_findings_per_rule {
            let mut kept: BTreeMap<usize, usize> = BTreeMap::new();
            found.retain(|v| {
                let n = kept.entry(v.rule).or_default();
                *n += 1;
                let keep = *n <= max.max(1);
                if !keep {
                    cut += 1;
                }
                keep
            });
        }
        raw.extend(found.into_iter().map(|v| policy_raw(policies, v)));
        Ok((cut, excepted))
    }

    /// conftest's `--combine`: the conftest rules judge `objects` at once
    /// ([`PolicySet::evaluate_combined`]); each result is a finding on the object it is placed
    /// on, exempted by that object's annotations and the configuration as any other. An error
    /// (or a panic) is reported on the first object, for the combined input.
    fn judge_combined(
        &self,
        policies: &PolicySet,
        objects: &[&Manifest],
        inventory_data: Option<&Value>,
        budget: &Budget,
    ) -> Result<Judged, Interrupted> {
        let mut judged = Judged::default();
        let Some(first) = objects.first() else {
            return Ok(judged);
        };
        budget.check()?;
        let mut worker = policies.worker(inventory_data);
        let mut found = Vec::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            policies.evaluate_combined(&mut worker, objects, &mut found)
        }));
        let failed = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(LoadErrorKind::PolicyFailed(e.to_string())),
            Err(_) => Some(LoadErrorKind::PolicyPanicked {
                object: "the combined input".into(),
            }),
        };
        if let Some(kind) = failed {
            judged.errors.push(LoadError {
                file: first.source.name.clone(),
                position: None,
                kind,
            });
            return Ok(judged);
        }
        let known = |name: &str| -> Option<String> {
            crate::rules::find(name)
                .map(|m| m.id.to_owned())
                .or_else(|| policies.find(name).map(|r| r.id.clone()))
        };
        let mut kept: BTreeMap<usize, usize> = BTreeMap::new();
        for (i, combined) in found.into_iter().enumerate() {
            if i % 256 == 255 {
                budget.check()?;
            }
            let Some(manifest) = objects.get(combined.document) else {
                continue;
            };
            if combined.violation.excepted {
                judged.exempted += 1;
                continue;
            }
            if let Some(max) = budget.max_findings_per_rule {
                let n = kept.entry(combined.violation.rule).or_default();
                *n += 1;
                if *n > max.max(1) {
                    judged.cut += 1;
                    continue;
                }
            }
            let mut r = policy_raw(policies, combined.violation);
            // The object's exemption annotations (read again here: its own judging reported
            // the invalid and unused ones) and the configuration's exemptions.
            let (exemptions, _) = exemption::read(manifest, &known);
            if exemptions.iter().any(|e| e.rule_id == r.id) {
                judged.exempted += 1;
                continue;
            }
            if let Some(index) =
                self.exemptions
                    .find(&manifest.object, &manifest.source.name, &r.id, &r.name)
            {
                judged.exemptions_used.push(index);
                judged.exempted += 1;
                continue;
            }
            budget.trim(&mut r.violation.message);
            judged.findings.push(Finding::new(r, manifest));
        }
        Ok(judged)
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

    /// Sorts what the objects produced into a report.
    fn report(
        &self,
        results: Vec<Judged>,
        mut errors: Vec<LoadError>,
        files: usize,
        objects: &[Manifest],
        rules: &[&'static dyn Rule],
    ) -> Report {
        let mut findings = Vec::new();
        let mut used = BTreeSet::new();
        let mut exempted = 0;
        let mut findings_cut = 0;
        for judged in results {
            exempted += judged.exempted;
            findings_cut += judged.cut;
            findings.extend(judged.findings);
            errors.extend(judged.errors);
            used.extend(judged.exemptions_used);
        }
        findings.sort_by(Finding::order);
        // A base reachable from several kustomize roots is judged once per root (each root is
        // a deployable unit), so the same object can yield the same finding at the same source
        // line more than once: reported once.
        findings.dedup_by(|a, b| a.order(b).is_eq());
        errors.sort_by(|a, b| (&a.file, a.position).cmp(&(&b.file, b.position)));
        let objects: Vec<&Manifest> = objects.iter().filter(|m| !m.context).collect();
        let mut summary = Summary {
            files,
            objects: objects.len(),
            errors: errors.len(),
            exempted,
            ..Summary::default()
        };
        summary.count(&findings);
        let mut rules_run: Vec<String> = rules.iter().map(|r| r.meta().id.to_owned()).collect();
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
            objects: objects
                .iter()
                .map(|m| (m.source.name.clone(), m.object.clone()))
                .collect(),
            rules_run,
            unused_exemptions: (0..self.exemptions.len())
                .filter(|i| !used.contains(i) && !self.exemptions.is_path(*i))
                .map(|i| self.exemptions.describe(i))
                .collect(),
            walk: Walk::default(),
            findings_cut,
        }
    }
}

/// A parked object that could not be read back: an error on the object, never a silent pass.
/// The stored object of an UPDATE admission request (`request.oldObject`), when it has one.
fn old_object(review: &Value) -> Option<&Value> {
    (review.get("operation").and_then(Value::as_str) == Some("UPDATE"))
        .then(|| review.get("oldObject"))
        .flatten()
        .filter(|o| o.is_object())
}

fn unreadable(m: &Manifest, e: &crate::model::manifest::UnparkError) -> LoadError {
    LoadError {
        file: m.source.name.clone(),
        position: m.locate(""),
        kind: LoadErrorKind::PolicyFailed(format!("{}: {e}", m.object)),
    }
}

/// A policy's violation as a finding's raw parts.
fn policy_raw(policies: &PolicySet, v: crate::policy::rego::PolicyViolation) -> Raw {
    let rule = &policies.rules()[v.rule];
    // An ExpansionTemplate's enforcementAction replaces the constraint's, graded as
    // constraints are: deny high, warn low, dryrun advisory.
    let (severity, advisory) = match v.action {
        None => (rule.severity, rule.advisory),
        Some(crate::vocab::Enforcement::Deny) => (crate::vocab::Severity::High, false),
        Some(crate::vocab::Enforcement::Warn) => (crate::vocab::Severity::Low, false),
        Some(crate::vocab::Enforcement::DryRun) => (crate::vocab::Severity::Low, true),
    };
    let mut details = v.details;
    if v.undecided {
        // An undecided finding is advisory; what it would weigh once decided tells the webhook
        // whether its failure mode answers (a deny constraint) or a warning does.
        details.insert(
            "advisoryIfDecided".to_owned(),
            serde_json::Value::Bool(advisory),
        );
    }
    Raw {
        id: Cow::Owned(rule.id.clone()),
        name: Cow::Owned(rule.name.clone()),
        severity,
        violation: v.violation,
        policy: Some(rule.file.display().to_string()),
        details,
        advisory: advisory || v.undecided,
    }
}
