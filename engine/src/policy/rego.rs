//! User policies in Rego, evaluated by `regorus`, with conftest's conventions.
//!
//! - Rules named `deny`, `violation` and `warn`, or with an `_suffix` (`deny_latest_tag`), in
//!   package `main` by default (`namespaces`, or every package with `all_namespaces`).
//! - A result is a member of the rule's set: a string message, or an object with a string `msg`
//!   (other keys are kept as metadata); what conftest does not count is an advisory finding
//!   ([`conftest_results`]). A `path` key (a JSON pointer string, or a list of keys and indices)
//!   names the offending field, which kubegate resolves to file:line:column like a built-in
//!   finding.
//! - `exception` rules exempt `deny_<name>`/`violation_<name>`/`warn_<name>` rules by name
//!   (`""`: the plain rules), as conftest's engine does.
//! - `rego.metadata.rule()` and `rego.metadata.chain()` read OPA `# METADATA` annotations,
//!   resolved when the policy loads ([`crate::policy::annotations`]).
//! - Metadata: kubegate's rule identity does not come from those annotations; a package may declare
//!   `__rego_metadata__ := {"id": ..., "title": ..., "severity": ..., "description": ...,
//!   "remediation": ...}` for its rules. Without it a rule's id is `<package>.<rule>`, and its
//!   severity is `high` for deny/violation and `low` for warn.
//!
//! Policies are compiled once; each worker thread evaluates with its own clone of the engine
//! (regorus engines are cheap to clone), under a per-evaluation time limit.

use crate::model::manifest::Manifest;
use crate::model::position::{escape_token, Position};
use crate::policy::{gatekeeper, vap};
use crate::vocab::Enforcement;
use crate::vocab::{Severity, Violation};
use serde_json::Value;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// How policies are found and run.
#[derive(Debug, Clone)]
pub struct PolicyOptions {
    /// Packages whose rules run (conftest's `--namespace`); default `main`.
    pub namespaces: Vec<String>,
    /// Run the rules of every package (conftest's `--all-namespaces`).
    pub all_namespaces: bool,
    /// Longest one evaluation (one rule set on one object) may take.
    pub timeout: Duration,
    /// Add the shipped ExpansionTemplates ([`EXPAND_WORKLOADS`]); one the policies define
    /// under the same name wins.
    pub expand_workloads: bool,
    /// Files and directories of data documents only (conftest's `--data`): their `.json`,
    /// `.yaml` and `.yml` files are merged under `data`; Rego there is not loaded.
    pub data: Vec<PathBuf>,
    /// Judge all objects at once (conftest's `--combine`): conftest rules see one `input`, an
    /// array of `{"path": <file>, "contents": <object>}` ([`PolicySet::evaluate_combined`]),
    /// instead of one object at a time. Gatekeeper constraints still judge each object.
    pub combine: bool,
    /// Judge with a ConstraintTemplate's `K8sNativeValidation` (CEL) code block where it has
    /// one, as Gatekeeper and gator do with `--enable-k8s-native-validation` (their default);
    /// `false` judges with its Rego.
    pub k8s_native_validation: bool,
    /// Run ValidatingAdmissionPolicies (and their bindings) found among the policies. The CLI
    /// runs them; the webhook only when `webhook.validatingAdmissionPolicies` says so, since
    /// the API server (1.30+) already enforces them.
    pub validating_admission_policies: bool,
    /// Judge a ValidatingAdmissionPolicy that no binding names as if a Deny binding with no
    /// `matchResources` bound it, as the Kyverno CLI's `test` does (the API server runs no
    /// unbound policy). Only `kubegate test` sets it, for `kyverno-test.yaml` suites.
    pub bind_unbound_vaps: bool,
}

/// The shipped ExpansionTemplates for the usual workload kinds (`--expand-workloads`).
pub const EXPAND_WORKLOADS: &str =
    include_str!("../../../policies/library/expansion/workloads.yaml");

impl Default for PolicyOptions {
    fn default() -> Self {
        Self {
            namespaces: vec!["main".to_owned()],
            all_namespaces: false,
            timeout: Duration::from_secs(2),
            expand_workloads: false,
            data: Vec::new(),
            combine: false,
            k8s_native_validation: true,
            validating_admission_policies: true,
            bind_unbound_vaps: false,
        }
    }
}

/// Adds a Deny binding without `matchResources` for every ValidatingAdmissionPolicy of `docs`
/// that no binding names ([`PolicyOptions::bind_unbound_vaps`]).
fn bind_unbound(docs: &mut Vec<(PathBuf, crate::load::yaml::ParsedDocument)>) {
    let kind = |d: &Value| {
        d.get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let bound: Vec<String> = docs
        .iter()
        .filter(|(_, d)| kind(&d.value) == "ValidatingAdmissionPolicyBinding")
        .filter_map(|(_, d)| d.value.pointer("/spec/policyName").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    let unbound: Vec<(PathBuf, String)> = docs
        .iter()
        .filter(|(_, d)| kind(&d.value) == "ValidatingAdmissionPolicy")
        .filter_map(|(f, d)| {
            let name = d.value.pointer("/metadata/name").and_then(Value::as_str)?;
            (!bound.iter().any(|b| b == name)).then(|| (f.clone(), name.to_owned()))
        })
        .collect();
    for (file, name) in unbound {
        let binding = serde_json::json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Deny"]},
        });
        let text = serde_json::to_string(&binding).unwrap_or_default();
        let stream = crate::load::yaml::parse_stream(&text, &crate::load::yaml::Limits::default());
        docs.extend(stream.documents.into_iter().map(|d| (file.clone(), d)));
    }
}

/// One ValidatingAdmissionPolicy's decision on one object ([`PolicySet::vap_outcomes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VapOutcome {
    Skip,
    Pass,
    Fail(Vec<String>),
    Warn(Vec<String>),
    Undecided(Vec<String>),
}

impl VapOutcome {
    /// The Kyverno CLI's name for the result (`pass`, `fail`, `skip`, `warn`), `undecided`
    /// for what kubegate cannot judge.
    pub(crate) fn word(&self) -> &'static str {
        match self {
            VapOutcome::Skip => "skip",
            VapOutcome::Pass => "pass",
            VapOutcome::Fail(_) => "fail",
            VapOutcome::Warn(_) => "warn",
            VapOutcome::Undecided(_) => "undecided",
        }
    }
}

/// Why policies could not be loaded.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PolicyError {
    #[error("{}: cannot read: {message}", path.display())]
    Io { path: PathBuf, message: String },
    #[error("{}{}: {message}", path.display(), position.map(|p| format!(":{p}")).unwrap_or_default())]
    Compile {
        path: PathBuf,
        position: Option<Position>,
        message: String,
    },
    #[error("{}: invalid data document: {message}", path.display())]
    Data { path: PathBuf, message: String },
    #[error("{}: invalid __rego_metadata__ in package {package}: {message}", path.display())]
    Metadata {
        path: PathBuf,
        package: String,
        message: String,
    },
    /// Rego nested deeper than [`MAX_REGO_NESTING`]: never handed to regorus.
    #[error("{}:{}: {nesting}", path.display(), nesting.position)]
    TooDeep { path: PathBuf, nesting: RegoTooDeep },
    /// A conftest rule written `deny[msg] if { … }`: in Rego v1 that defines an object
    /// (`deny[msg]` is `true` for each `msg`), not the set of messages it meant. conftest
    /// refuses it too ("rule is using 'if' keyword without 'contains' keyword").
    #[error(
        "{}:{position}: `{head} if {{ … }}` defines an object in Rego v1 (`{head}` is true for \
         each key), not a set of messages: write `{name} contains {key} if {{ … }}` (conftest \
         refuses it too: rule is using 'if' keyword without 'contains' keyword)",
        path.display()
    )]
    PartialObjectRule {
        path: PathBuf,
        position: Position,
        /// The head as written, `deny[msg]`.
        head: String,
        /// The rule name, `deny`.
        name: String,
        /// What the set should contain, `msg`.
        key: String,
    },
    #[error("policy rule id {id:?} is used twice (packages {first} and {second})")]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
}

impl PolicyError {
    /// The file the error is about.
    pub fn path(&self) -> Option<&Path> {
        match self {
            PolicyError::Io { path, .. }
            | PolicyError::Compile { path, .. }
            | PolicyError::Data { path, .. }
            | PolicyError::Metadata { path, .. }
            | PolicyError::TooDeep { path, .. }
            | PolicyError::PartialObjectRule { path, .. } => Some(path),
            PolicyError::DuplicateId { .. } => None,
        }
    }
}

/// `deny`, `violation` or `warn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    Deny,
    Violation,
    Warn,
}

/// One conftest-style rule of a loaded policy.
#[derive(Debug, Clone)]
pub struct PolicyRule {
    pub id: String,
    /// The Rego rule name, `deny_latest_tag`.
    pub name: String,
    pub package: String,
    pub kind: RuleKind,
    pub title: String,
    pub severity: Severity,
    pub description: Option<String>,
    pub remediation: Option<String>,
    /// The file that declares the rule (for a Gatekeeper constraint, the constraint's file).
    pub file: PathBuf,
    /// Reported but never failing a run (Gatekeeper `enforcementAction: dryrun`).
    pub advisory: bool,
    /// `data.<package>.<name>`.
    query: String,
    /// Index into the Gatekeeper constraints, for rules that are constraints.
    constraint: Option<usize>,
    /// Index into the ValidatingAdmissionPolicyBindings, for rules that are bindings.
    binding: Option<usize>,
}

/// The `package` of ValidatingAdmissionPolicy rules.
const VAP_PACKAGE: &str = "ValidatingAdmissionPolicy";

impl PolicyRule {
    /// A conftest-style rule (deny/violation/warn), not a Gatekeeper constraint.
    pub fn is_conftest(&self) -> bool {
        self.constraint.is_none() && self.binding.is_none()
    }

    /// The suffix an `exception` names (`latest_tag` for `deny_latest_tag`, `warn_latest_tag`
    /// and `violation_latest_tag`; `""` for the plain rules). conftest's documentation names
    /// deny and violation rules only, but its engine queries the exception for warn rules as
    /// well, and kubegate does what the engine does.
    fn exception_name(&self) -> Option<&str> {
        let prefix = match self.kind {
            RuleKind::Deny => "deny",
            RuleKind::Violation => "violation",
            RuleKind::Warn => "warn",
        };
        let rest = self.name.strip_prefix(prefix)?;
        Some(rest.strip_prefix('_').unwrap_or(rest))
    }
}

/// What a policy rule reported on one object.
#[derive(Debug, Clone)]
pub struct PolicyViolation {
    /// Index into [`PolicySet::rules`].
    pub rule: usize,
    pub violation: Violation,
    /// Keys of a message object other than `msg` and `path`.
    pub details: serde_json::Map<String, Value>,
    /// Not a verdict: the policy could not be applied offline (a namespaceSelector whose
    /// namespace is not in the input), or a conftest rule gave a value conftest does not count
    /// (a bare `deny if { … }` that is true, a set member that is a number). Reported as an
    /// advisory finding, never failing.
    pub undecided: bool,
    /// A result an `exception` rule suppressed: counted as exempted, never reported.
    pub excepted: bool,
    /// The enforcement action that replaces the rule's own: an ExpansionTemplate's
    /// `enforcementAction`, for what the generated resource violates.
    pub action: Option<crate::vocab::Enforcement>,
}

/// An evaluation that failed (a runtime error, or the time limit).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("policy {rule} failed on {object}: {message}")]
pub struct EvalError {
    pub rule: String,
    pub object: String,
    pub message: String,
}

/// Compiled policies, ready to evaluate.
#[derive(Debug, Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    templates: Vec<gatekeeper::Template>,
    constraints: Vec<gatekeeper::Constraint>,
    /// ExpansionTemplates: workloads also judged as the resource they generate.
    expansions: Vec<gatekeeper::Expansion>,
    /// Each constraint's `spec.parameters`, converted for regorus once.
    parameters: Vec<regorus::Value>,
    /// ValidatingAdmissionPolicies and their bindings.
    vaps: Arc<vap::Vaps>,
    rules: Vec<PolicyRule>,
    /// Packages that declare `exception`, with their `data.<pkg>.exception` query.
    exceptions: Vec<(String, String)>,
    files: Vec<PathBuf>,
    /// [`PolicyOptions::combine`].
    combine: bool,
}

/// The kind of a conftest rule by its name, as conftest matches it: `deny`, `violation` or
/// `warn`, then any number of `_` + letters and digits (`^(deny|violation)(_[a-zA-Z0-9]+)*$`,
/// `^warn(_[a-zA-Z0-9]+)*$`): `deny_latest_tag` is one, `deny_` and `denylist` are not.
pub(crate) fn rule_kind(name: &str) -> Option<RuleKind> {
    [
        ("deny", RuleKind::Deny),
        ("violation", RuleKind::Violation),
        ("warn", RuleKind::Warn),
    ]
    .into_iter()
    .find_map(|(prefix, kind)| {
        let rest = name.strip_prefix(prefix)?;
        let words_ok = rest.is_empty()
            || rest.strip_prefix('_').is_some_and(|words| {
                words
                    .split('_')
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphanumeric()))
            });
        words_ok.then_some(kind)
    })
}

impl PolicySet {
    /// Loads `.rego` files and data documents (`.json`, `.yaml`, `.yml`, merged under `data`)
    /// from files and directories (recursively). All problems are returned, not only the first.
    pub fn load(paths: &[PathBuf], options: &PolicyOptions) -> Result<Self, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut files = Vec::new();
        for path in paths {
            collect(path, &mut files, &mut errors);
        }
        files.sort();
        files.dedup();
        let mut engine = regorus::Engine::new();
        engine.set_strict_builtin_errors(false);
        let mut sources = Vec::new();
        let mut gatekeeper_docs = Vec::new();
        let mut vap_docs = Vec::new();
        let mut policy_objects = Vec::new();
        for file in &files {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(PolicyError::Io {
                        path: file.clone(),
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            match file.extension().and_then(|e| e.to_str()) {
                Some("rego") => match add_policy(&mut engine, file, &text) {
                    Ok(added) => sources.push((file.clone(), added.package, added.rules)),
                    Err(e) => errors.push(e),
                },
                _ => match add_data(&mut engine, file, &text) {
                    Ok(found) => {
                        for d in found.policies {
                            if vap::is_vap(&d.value) {
                                vap_docs.push((file.clone(), d));
                            } else {
                                gatekeeper_docs.push((file.clone(), d));
                            }
                        }
                        policy_objects.extend(found.objects);
                    }
                    Err(e) => errors.push(e),
                },
            }
        }
        let mut data_files = Vec::new();
        for path in &options.data {
            collect(path, &mut data_files, &mut errors);
        }
        data_files.retain(|f| f.extension().is_some_and(|e| e != "rego") && !files.contains(f));
        data_files.sort();
        data_files.dedup();
        for file in &data_files {
            let added = std::fs::read_to_string(file)
                .map_err(|e| PolicyError::Io {
                    path: file.clone(),
                    message: e.to_string(),
                })
                .and_then(|text| add_data(&mut engine, file, &text));
            match added {
                Ok(found) if !found.policies.is_empty() => tracing::warn!(
                    file = %file.display(),
                    "Gatekeeper documents and ValidatingAdmissionPolicies given as data are not \
                     loaded; give them with --policy"
                ),
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        files.extend(data_files);
        files.sort();
        let mut rules = Vec::new();
        let mut exceptions = Vec::new();
        for (file, package, declared) in &sources {
            let selected =
                options.all_namespaces || options.namespaces.iter().any(|n| n == package);
            if !selected {
                continue;
            }
            let has_metadata = declared.iter().any(|(_, n)| n == "__rego_metadata__");
            let metadata = match metadata(&mut engine, file, package, has_metadata) {
                Ok(m) => m,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for name in declared.iter().map(|(_, n)| n.as_str()) {
                let Some(kind) = rule_kind(name) else {
                    if name == "exception" && !exceptions.iter().any(|(p, _)| p == package) {
                        exceptions.push((package.clone(), format!("data.{package}.exception")));
                    }
                    continue;
                };
                if rules
                    .iter()
                    .any(|r: &PolicyRule| r.package == *package && r.name == name)
                {
                    continue;
                }
                // A package's metadata id names the whole policy: all its rules share it (the
                // Rego rule name still tells them apart). warn rules never fail a run in
                // conftest, so they stay `low` whatever the metadata says.
                let severity = match kind {
                    RuleKind::Warn => Severity::Low,
                    _ => metadata.severity.unwrap_or(Severity::High),
                };
                let id = metadata
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{package}.{name}"));
                rules.push(PolicyRule {
                    id,
                    query: format!("data.{package}.{name}"),
                    name: name.to_owned(),
                    package: package.clone(),
                    kind,
                    title: metadata
                        .title
                        .clone()
                        .unwrap_or_else(|| format!("{package}.{name}")),
                    severity,
                    description: metadata.description.clone(),
                    remediation: metadata.remediation.clone(),
                    file: file.clone(),
                    advisory: false,
                    constraint: None,
                    binding: None,
                });
            }
        }
        if options.expand_workloads {
            let shipped = PathBuf::from("(built in: policies/library/expansion/workloads.yaml)");
            let stream = crate::load::yaml::parse_stream(
                EXPAND_WORKLOADS,
                &crate::load::yaml::Limits::default(),
            );
            for doc in stream.documents {
                let name = doc.value.pointer("/metadata/name").cloned();
                let defined = gatekeeper_docs.iter().any(|(_, d)| {
                    gatekeeper::is_expansion(&d.value)
                        && d.value.pointer("/metadata/name").cloned() == name
                });
                if !defined {
                    gatekeeper_docs.push((shipped.clone(), doc));
                }
            }
        }
        let (templates, constraints, expansions) =
            load_gatekeeper(&gatekeeper_docs, options.k8s_native_validation, &mut errors);
        for (index, c) in constraints.iter().enumerate() {
            let (severity, advisory) = match c.action {
                Enforcement::Deny => (Severity::High, false),
                Enforcement::Warn => (Severity::Low, false),
                Enforcement::DryRun => (Severity::Low, true),
            };
            let template = &templates[c.template];
            rules.push(PolicyRule {
                id: format!("{}.{}", c.kind, c.name),
                name: c.name.clone(),
                package: template
                    .query
                    .trim_start_matches("data.")
                    .trim_end_matches(".violation")
                    .to_owned(),
                kind: RuleKind::Violation,
                title: format!(
                    "{} constraint {} (template {})",
                    c.kind, c.name, template.name
                ),
                severity,
                description: None,
                remediation: None,
                file: c.file.clone(),
                advisory,
                query: template.query.clone(),
                constraint: Some(index),
                binding: None,
            });
        }
        if !options.validating_admission_policies && !vap_docs.is_empty() {
            tracing::warn!(
                documents = vap_docs.len(),
                "ValidatingAdmissionPolicies and bindings among the policies are not run here \
                 (the API server enforces them); set webhook.validatingAdmissionPolicies: true \
                 to run them"
            );
            vap_docs.clear();
        }
        if options.bind_unbound_vaps {
            bind_unbound(&mut vap_docs);
        }
        let mut vap_errors = Vec::new();
        let vaps = vap::Vaps::load(&vap_docs, policy_objects, &mut vap_errors);
        errors.extend(vap_errors.into_iter().map(|e| PolicyError::Compile {
            path: e.file,
            position: e.position,
            message: e.message,
        }));
        for (index, b) in vaps.bindings.iter().enumerate() {
            let policy = &vaps.policies[b.policy];
            // Deny fails a run; Warn does not (low); Audit alone only annotates: advisory.
            let (severity, advisory) = if b.actions.deny {
                (Severity::High, false)
            } else if b.actions.warn {
                (Severity::Low, false)
            } else {
                (Severity::Low, true)
            };
            rules.push(PolicyRule {
                id: policy.name.clone(),
                name: b.name.clone(),
                package: VAP_PACKAGE.to_owned(),
                kind: RuleKind::Violation,
                title: format!(
                    "ValidatingAdmissionPolicy {} (binding {})",
                    policy.name, b.name
                ),
                severity,
                description: Some(policy.describe(b)),
                remediation: None,
                file: b.file.clone(),
                advisory,
                query: String::new(),
                constraint: None,
                binding: Some(index),
            });
        }
        for (i, rule) in rules.iter().enumerate() {
            if let Some(other) = rules[..i]
                .iter()
                .find(|r| r.id == rule.id && r.package != rule.package)
            {
                errors.push(PolicyError::DuplicateId {
                    id: rule.id.clone(),
                    first: other.package.clone(),
                    second: rule.package.clone(),
                });
            }
            if crate::rules::find(&rule.id).is_some() {
                errors.push(PolicyError::DuplicateId {
                    id: rule.id.clone(),
                    first: "kubegate built-in rules".into(),
                    second: rule.package.clone(),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: options.timeout,
            check_interval: NonZeroU32::MIN,
        });
        tracing::debug!(files = files.len(), rules = rules.len(), "policies loaded");
        let parameters = constraints
            .iter()
            .map(|c| regorus::Value::from(c.parameters.clone()))
            .collect();
        Ok(Self {
            engine,
            templates,
            constraints,
            expansions,
            parameters,
            vaps: Arc::new(vaps),
            rules,
            exceptions,
            files,
            combine: options.combine,
        })
    }

    /// Whether conftest rules judge all objects at once ([`PolicyOptions::combine`]): then
    /// [`PolicySet::evaluate`] runs only the Gatekeeper constraints, and
    /// [`PolicySet::evaluate_combined`] the conftest rules.
    pub fn combines(&self) -> bool {
        self.combine && self.rules.iter().any(PolicyRule::is_conftest)
    }

    pub fn rules(&self) -> &[PolicyRule] {
        &self.rules
    }

    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether any template reads `data.inventory` (then [`PolicySet::worker`] needs it).
    pub fn needs_inventory(&self) -> bool {
        self.templates.iter().any(|t| t.uses_inventory)
    }

    /// Fresh evaluation engines for one worker thread. `inventory` is the run's
    /// [`gatekeeper::inventory_data`], for templates that read `data.inventory`.
    pub fn worker(&self, inventory: Option<&Value>) -> PolicyWorker {
        let templates = self
            .templates
            .iter()
            .map(|t| {
                let mut engine = t.engine.clone();
                if let (true, Some(data)) = (t.uses_inventory, inventory) {
                    if let Err(e) = engine.add_data(regorus::Value::from(data.clone())) {
                        tracing::error!(template = %t.name, "cannot add the inventory: {e}");
                    }
                }
                engine
            })
            .collect();
        PolicyWorker {
            engine: self.engine.clone(),
            templates,
            poisoned: false,
        }
    }

    /// The rule with this id, if any.
    pub fn find(&self, id: &str) -> Option<&PolicyRule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Evaluates every rule and constraint on one object with `worker` (from
    /// [`PolicySet::worker`]); `inventory` answers Gatekeeper `namespaceSelector`s.
    pub fn evaluate(
        &self,
        worker: &mut PolicyWorker,
        manifest: &Manifest,
        inventory: &crate::model::inventory::Inventory<'_>,
        out: &mut Vec<PolicyViolation>,
    ) -> Result<(), EvalError> {
        self.evaluate_reviewed(worker, manifest, inventory, None, None, out)
    }

    /// [`PolicySet::evaluate`] with the `input.review` Gatekeeper templates see given by the
    /// caller (the admission webhook passes the real request: operation, userInfo,
    /// oldObject); `None` builds the audit-style review of the object. `crds` are the
    /// CustomResourceDefinitions given apart from the input (`--crd`), whose plurals
    /// ValidatingAdmissionPolicies match.
    pub fn evaluate_reviewed(
        &self,
        worker: &mut PolicyWorker,
        manifest: &Manifest,
        inventory: &crate::model::inventory::Inventory<'_>,
        review: Option<&Value>,
        crds: Option<&crate::schema::crd::CrdSchemas>,
        out: &mut Vec<PolicyViolation>,
    ) -> Result<(), EvalError> {
        if self.rules.is_empty() {
            return Ok(());
        }
        self.evaluate_constraints(worker, manifest, inventory, review, out)?;
        self.evaluate_vaps(manifest, inventory, review, crds, out);
        if self.combine || !self.rules.iter().any(PolicyRule::is_conftest) {
            return Ok(());
        }
        let object = manifest.object.to_string();
        self.conftest_pass(
            &mut worker.engine,
            regorus::Value::from(manifest.value.clone()),
            &object,
            out,
        )
    }

    /// Every conftest rule (and `exception`) on one input: an object, or the combined input.
    fn conftest_pass(
        &self,
        engine: &mut regorus::Engine,
        input: regorus::Value,
        object: &str,
        out: &mut Vec<PolicyViolation>,
    ) -> Result<(), EvalError> {
        engine.set_input(input);
        let fail = |rule: &str, e: &dyn std::fmt::Display| EvalError {
            rule: rule.to_owned(),
            object: object.to_owned(),
            message: e.to_string(),
        };
        let mut excepted: Vec<(String, String)> = Vec::new();
        for (package, query) in &self.exceptions {
            let value = engine
                .eval_rule(query.clone())
                .map_err(|e| fail(query, &e))?;
            if value == regorus::Value::Undefined {
                continue;
            }
            for names in members(&json(&value)) {
                for name in names
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    excepted.push((package.clone(), name.to_owned()));
                }
            }
        }
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.is_conftest() {
                continue;
            }
            let is_excepted = rule.exception_name().is_some_and(|name| {
                excepted
                    .iter()
                    .any(|(p, n)| *p == rule.package && n == name)
            });
            let value = engine
                .eval_rule(rule.query.clone())
                .map_err(|e| fail(&rule.id, &e))?;
            if value == regorus::Value::Undefined {
                continue;
            }
            let start = out.len();
            conftest_results(index, rule, &json(&value), out).map_err(|m| fail(&rule.id, &m))?;
            if is_excepted {
                // conftest drops an excepted rule's results and counts the exception; kubegate
                // counts what it suppressed (advisories included: nothing is hidden silently).
                tracing::debug!(rule = %rule.id, object, "excepted by an exception rule");
                for v in &mut out[start..] {
                    v.excepted = true;
                }
            }
        }
        Ok(())
    }

    /// conftest's `--combine`: every conftest rule evaluated once, `input` being an array of
    /// `{"path": <file>, "contents": <object>}` for `documents`, sorted by path (documents of
    /// one file in file order), as conftest builds it. Each result is reported on the document
    /// [`CombinedViolation::document`] (an index into `documents`):
    ///
    /// 1. the one its `path` starts with, an index into `input` (`[2, "contents", "spec",
    ///    "replicas"]`, `"/2/contents/spec/replicas"` or `"2.contents.spec.replicas"`), at
    ///    the field the rest of it names;
    /// 2. else the one conftest's result location `_loc: {"file", "line"}` names (the document
    ///    of that file holding the line; the file's first without one);
    /// 3. else, when the message names exactly one file of the input, that file's first
    ///    document;
    /// 4. else the first document of the input.
    ///
    /// `details.combined` is `true` on every result, and says which of these placed it
    /// (`"path"`, `"_loc"`, `"message"`, `"first"`).
    pub fn evaluate_combined(
        &self,
        worker: &mut PolicyWorker,
        documents: &[&Manifest],
        out: &mut Vec<CombinedViolation>,
    ) -> Result<(), EvalError> {
        if documents.is_empty() || !self.combines() {
            return Ok(());
        }
        let names: Vec<String> = documents.iter().map(|m| m.origin_name()).collect();
        let mut order: Vec<usize> = (0..documents.len()).collect();
        order.sort_by(|a, b| names[*a].cmp(&names[*b]));
        let input: Vec<Value> = order
            .iter()
            .map(|i| serde_json::json!({"path": names[*i], "contents": documents[*i].value}))
            .collect();
        let mut found = Vec::new();
        self.conftest_pass(
            &mut worker.engine,
            regorus::Value::from(Value::Array(input)),
            "the combined input",
            &mut found,
        )?;
        for mut violation in found {
            let (document, pointer, how) = place_combined(&violation, &order, &names, documents);
            violation.violation.pointer = pointer;
            violation
                .details
                .insert("combined".into(), Value::String(how.to_owned()));
            out.push(CombinedViolation {
                document,
                violation,
            });
        }
        Ok(())
    }
}

impl PolicySet {
    /// Every ValidatingAdmissionPolicyBinding on one object (`review`: the webhook's request).
    /// The names of the ValidatingAdmissionPolicies loaded.
    pub(crate) fn vap_names(&self) -> impl Iterator<Item = &str> {
        self.vaps.policies.iter().map(|p| p.name.as_str())
    }

    /// What each ValidatingAdmissionPolicy decides about one object, by policy name, for test
    /// suites: skipped (no binding matched, or a matchCondition was false), passed, failed
    /// (a Deny or Audit binding's validation failed), warned (only Warn bindings failed), or
    /// undecided (kubegate cannot judge it offline).
    pub(crate) fn vap_outcomes(
        &self,
        manifest: &Manifest,
        inventory: &crate::model::inventory::Inventory<'_>,
        review: Option<&Value>,
    ) -> Vec<(String, VapOutcome)> {
        let mut found = Vec::new();
        let mut reached = Vec::new();
        self.vaps
            .evaluate(manifest, inventory, None, review, &mut found, &mut reached);
        self.vaps
            .policies
            .iter()
            .enumerate()
            .map(|(p, policy)| {
                let bindings: Vec<usize> = (0..self.vaps.bindings.len())
                    .filter(|b| self.vaps.bindings[*b].policy == p)
                    .collect();
                let mine: Vec<&vap::VapFinding> = found
                    .iter()
                    .filter(|f| bindings.contains(&f.binding))
                    .collect();
                let messages = |keep: &dyn Fn(&vap::VapFinding) -> bool| -> Vec<String> {
                    mine.iter()
                        .filter(|f| keep(f))
                        .map(|f| f.message.clone())
                        .collect()
                };
                let undecided = messages(&|f| f.undecided);
                let outcome = if !undecided.is_empty() {
                    VapOutcome::Undecided(undecided)
                } else if mine.iter().any(|f| {
                    let a = &self.vaps.bindings[f.binding].actions;
                    a.deny || a.audit
                }) {
                    VapOutcome::Fail(messages(&|_| true))
                } else if !mine.is_empty() {
                    VapOutcome::Warn(messages(&|_| true))
                } else if bindings.iter().any(|b| reached.contains(b)) {
                    VapOutcome::Pass
                } else {
                    VapOutcome::Skip
                };
                (policy.name.clone(), outcome)
            })
            .collect()
    }

    fn evaluate_vaps(
        &self,
        manifest: &Manifest,
        inventory: &crate::model::inventory::Inventory<'_>,
        review: Option<&Value>,
        crds: Option<&crate::schema::crd::CrdSchemas>,
        out: &mut Vec<PolicyViolation>,
    ) {
        if self.vaps.is_empty() {
            return;
        }
        let mut found = Vec::new();
        self.vaps.evaluate(
            manifest,
            inventory,
            crds,
            review,
            &mut found,
            &mut Vec::new(),
        );
        for f in found {
            let Some(index) = self.rules.iter().position(|r| r.binding == Some(f.binding)) else {
                continue;
            };
            let binding = &self.vaps.bindings[f.binding];
            let policy = &self.vaps.policies[binding.policy].name;
            let mut details = serde_json::Map::new();
            details.insert("binding".into(), Value::String(binding.name.clone()));
            if let Some(i) = f.validation {
                details.insert("validation".into(), Value::from(i));
            }
            if let Some(r) = &f.reason {
                details.insert("reason".into(), Value::String(r.clone()));
            }
            if f.undecided {
                details.insert("undecided".into(), Value::Bool(true));
            }
            // The API server's wording: a denial for Deny, a warning for Warn and Audit.
            let message = if f.undecided {
                f.message
            } else if binding.actions.deny {
                format!(
                    "ValidatingAdmissionPolicy '{policy}' with binding '{}' denied request: {}",
                    binding.name, f.message
                )
            } else {
                format!(
                    "Validation failed for ValidatingAdmissionPolicy '{policy}' with binding \
                     '{}': {}",
                    binding.name, f.message
                )
            };
            out.push(PolicyViolation {
                rule: index,
                violation: Violation {
                    pointer: f.pointer,
                    message,
                },
                details,
                undecided: f.undecided,
                excepted: false,
                action: None,
            });
        }
    }
}

/// A result of a conftest rule on the combined input ([`PolicySet::evaluate_combined`]).
#[derive(Debug, Clone)]
pub struct CombinedViolation {
    /// The document it is reported on: an index into the documents evaluated.
    pub document: usize,
    /// Its pointer is relative to that document's object.
    pub violation: PolicyViolation,
}

/// Where a combined result is reported (see [`PolicySet::evaluate_combined`]): the document,
/// the pointer inside it, and which rule placed it. `order[k]` is the document at `input[k]`.
fn place_combined(
    v: &PolicyViolation,
    order: &[usize],
    names: &[String],
    documents: &[&Manifest],
) -> (usize, String, &'static str) {
    let first = order.first().copied().unwrap_or(0);
    // 1. A path into the combined input: `/<index>[/contents[/...]]`.
    let pointer = &v.violation.pointer;
    if let Some(rest) = pointer.strip_prefix('/') {
        let (head, tail) = rest.split_once('/').map_or((rest, ""), |(h, t)| (h, t));
        if let Some(&document) = head.parse::<usize>().ok().and_then(|k| order.get(k)) {
            let inside = match tail.strip_prefix("contents") {
                Some(t) if t.is_empty() || t.starts_with('/') => t.to_owned(),
                _ => String::new(),
            };
            return (document, inside, "path");
        }
    }
    // 2. conftest's result location.
    if let Some(file) = v
        .details
        .get("_loc")
        .and_then(|l| l.get("file"))
        .and_then(Value::as_str)
    {
        let line = v
            .details
            .get("_loc")
            .and_then(|l| l.get("line"))
            .and_then(|l| l.as_u64().or_else(|| l.as_str()?.parse().ok()));
        let in_file = order.iter().copied().filter(|i| names[*i] == file);
        let at_line = line.and_then(|line| {
            in_file.clone().rfind(|i| {
                documents[*i]
                    .locate("")
                    .is_some_and(|p| u64::from(p.line) <= line)
            })
        });
        if let Some(document) = at_line.or_else(|| in_file.clone().next()) {
            return (document, String::new(), "_loc");
        }
    }
    // 3. The message names one file of the input.
    let mut named: Vec<&String> = order
        .iter()
        .map(|i| &names[*i])
        .filter(|n| v.violation.message.contains(n.as_str()))
        .collect();
    named.dedup();
    if let [name] = named.as_slice() {
        if let Some(document) = order.iter().copied().find(|i| names[*i] == **name) {
            return (document, String::new(), "message");
        }
    }
    (first, String::new(), "first")
}

impl PolicySet {
    /// Gatekeeper constraints: each matching constraint's template is evaluated with
    /// `input.review` and `input.parameters`; then, for each ExpansionTemplate that applies,
    /// on the resource the object generates (its pod), with what that violates reported on
    /// the object as Gatekeeper reports it: `[Implied by NAME]` before the message, the
    /// pointer inside the object's template.
    fn evaluate_constraints(
        &self,
        worker: &mut PolicyWorker,
        manifest: &Manifest,
        inventory: &crate::model::inventory::Inventory<'_>,
        given: Option<&Value>,
        out: &mut Vec<PolicyViolation>,
    ) -> Result<(), EvalError> {
        self.constraint_pass(worker, manifest, inventory, given, out)?;
        for expansion in &self.expansions {
            let Some(generated) = expansion.expand(manifest) else {
                continue;
            };
            // The webhook's real request, with the generated object in it (as Gatekeeper
            // builds the mock's review); else the audit-style review of the generated object.
            let review = given.map(|r| {
                let mut r = r.clone();
                if let Some(map) = r.as_object_mut() {
                    map.insert("object".into(), generated.value.clone());
                    let (group, version) = generated
                        .object
                        .api_version
                        .rsplit_once('/')
                        .unwrap_or(("", generated.object.api_version.as_str()));
                    map.insert(
                        "kind".into(),
                        serde_json::json!({"group": group, "version": version, "kind": generated.object.kind}),
                    );
                    map.remove("oldObject");
                }
                r
            });
            let mut found = Vec::new();
            self.constraint_pass(worker, &generated, inventory, review.as_ref(), &mut found)?;
            for mut v in found {
                v.violation.pointer = format!("{}{}", expansion.source, v.violation.pointer);
                v.violation.message =
                    format!("[Implied by {}] {}", expansion.name, v.violation.message);
                v.details.insert(
                    "expansion".into(),
                    serde_json::json!({"template": expansion.name, "generated": expansion.generated_kind}),
                );
                if expansion.action.is_some() {
                    v.action = expansion.action;
                }
                out.push(v);
            }
        }
        Ok(())
    }

    /// One pass of every constraint over one object.
    fn constraint_pass(
        &self,
        worker: &mut PolicyWorker,
        manifest: &Manifest,
        inventory: &crate::model::inventory::Inventory<'_>,
        given: Option<&Value>,
        out: &mut Vec<PolicyViolation>,
    ) -> Result<(), EvalError> {
        // The review is converted once per object and shared (regorus values are
        // reference-counted); each constraint's parameters were converted once at load.
        let mut review: Option<regorus::Value> = None;
        // The same for the CEL templates: the review as JSON, then as CEL values.
        let review_json = std::cell::OnceCell::new();
        let cel_values = std::cell::OnceCell::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let Some(c) = rule.constraint.map(|i| &self.constraints[i]) else {
                continue;
            };
            match c.matcher.decide(manifest, inventory) {
                gatekeeper::Decision::Match => {}
                gatekeeper::Decision::NoMatch => continue,
                gatekeeper::Decision::Undecided(why) => {
                    out.push(PolicyViolation {
                        rule: index,
                        violation: Violation {
                            pointer: "/metadata/namespace".to_owned(),
                            message: format!("cannot be judged: {why}"),
                        },
                        details: serde_json::Map::from_iter([(
                            "undecided".to_owned(),
                            Value::Bool(true),
                        )]),
                        undecided: true,
                        excepted: false,
                        action: None,
                    });
                    continue;
                }
            }
            let template = &self.templates[c.template];
            if let Some(code) = &template.cel {
                let json = review_json.get_or_init(|| match given {
                    Some(r) => r.clone(),
                    None => gatekeeper::review(manifest),
                });
                let values = cel_values.get_or_init(|| gatekeeper::native_values(json));
                for f in gatekeeper::judge_native(code, values, &c.document, &c.parameters) {
                    let mut details = serde_json::Map::new();
                    if f.undecided {
                        details.insert("undecided".to_owned(), Value::Bool(true));
                    }
                    out.push(PolicyViolation {
                        rule: index,
                        violation: Violation {
                            pointer: f.pointer,
                            message: if f.undecided {
                                format!("cannot be judged (failurePolicy: Ignore): {}", f.message)
                            } else {
                                f.message
                            },
                        },
                        details,
                        undecided: f.undecided,
                        excepted: false,
                        action: None,
                    });
                }
                continue;
            }
            let review = review
                .get_or_insert_with(|| match given {
                    Some(r) => regorus::Value::from(r.clone()),
                    None => regorus::Value::from(gatekeeper::review(manifest)),
                })
                .clone();
            let mut input = std::collections::BTreeMap::new();
            input.insert(regorus::Value::from("review"), review);
            input.insert(
                regorus::Value::from("parameters"),
                self.parameters[rule.constraint.unwrap_or_default()].clone(),
            );
            let engine = &mut worker.templates[c.template];
            engine.set_input(regorus::Value::from(input));
            let value = engine
                .eval_rule(rule.query.clone())
                .map_err(|e| EvalError {
                    rule: rule.id.clone(),
                    object: manifest.object.to_string(),
                    message: e.to_string(),
                })?;
            if value == regorus::Value::Undefined {
                continue;
            }
            for result in members(&json(&value)) {
                out.push(to_violation(index, result));
            }
        }
        Ok(())
    }
}

/// One worker thread's engines (see [`PolicySet::worker`]).
#[derive(Debug, Clone)]
pub struct PolicyWorker {
    engine: regorus::Engine,
    templates: Vec<regorus::Engine>,
    /// An evaluation panicked: the engines may hold half-done state, so the worker is not
    /// used again.
    poisoned: bool,
}

impl PolicyWorker {
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

/// Compiles templates, then constraints (which need their template).
fn load_gatekeeper(
    docs: &[(PathBuf, crate::load::yaml::ParsedDocument)],
    k8s_native: bool,
    errors: &mut Vec<PolicyError>,
) -> (
    Vec<gatekeeper::Template>,
    Vec<gatekeeper::Constraint>,
    Vec<gatekeeper::Expansion>,
) {
    let is_template = |d: &crate::load::yaml::ParsedDocument| {
        d.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("templates."))
    };
    let compile_error = |file: &PathBuf, e: gatekeeper::GatekeeperError| PolicyError::Compile {
        path: file.clone(),
        position: e.position,
        message: e.message,
    };
    let mut templates: Vec<gatekeeper::Template> = Vec::new();
    for (file, doc) in docs.iter().filter(|(_, d)| is_template(d)) {
        match gatekeeper::template(doc, file, k8s_native) {
            Ok(t) if templates.iter().any(|o| o.kind == t.kind) => {
                errors.push(PolicyError::Compile {
                    path: file.clone(),
                    position: Some(doc.start),
                    message: format!("a second ConstraintTemplate defines kind {}", t.kind),
                })
            }
            Ok(t) => templates.push(t),
            Err(e) => errors.push(compile_error(file, e)),
        }
    }
    let mut expansions: Vec<gatekeeper::Expansion> = Vec::new();
    for (file, doc) in docs
        .iter()
        .filter(|(_, d)| gatekeeper::is_expansion(&d.value))
    {
        match gatekeeper::expansion(doc) {
            Ok(x) if expansions.iter().any(|o| o.name == x.name) => {
                errors.push(PolicyError::Compile {
                    path: file.clone(),
                    position: Some(doc.start),
                    message: format!("a second ExpansionTemplate is named {:?}", x.name),
                })
            }
            Ok(x) => expansions.push(x),
            Err(e) => errors.push(compile_error(file, e)),
        }
    }
    let mut constraints = Vec::new();
    for (file, doc) in docs
        .iter()
        .filter(|(_, d)| !is_template(d) && !gatekeeper::is_expansion(&d.value))
    {
        match gatekeeper::constraint(doc, file, &templates) {
            Ok(c) => constraints.push(c),
            Err(e) => errors.push(compile_error(file, e)),
        }
    }
    (templates, constraints, expansions)
}

fn json(value: &regorus::Value) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The members of a set/array result (an undefined rule has none; a boolean `true`, a
/// complete rule that fired, counts as one).
fn members(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null | Value::Bool(false) => Vec::new(),
        Value::Object(m) if m.is_empty() => Vec::new(),
        other => vec![other],
    }
}

/// What conftest counts in the value of a deny/violation/warn rule, as violations of rule
/// `index`. conftest counts the members of a set (or array): a string is a message, an object
/// must have a string `msg` (else conftest stops with an error, and so does this, returning the
/// reason). It ignores members of any other type, and counts a rule whose value is not a
/// collection (`deny if { … }`, `deny := 5`) as passing whatever the value. kubegate never
/// passes silently: each of those is an advisory finding ([`PolicyViolation::undecided`]),
/// saying what conftest makes of it, except `false`, which passes in every reading.
fn conftest_results(
    index: usize,
    rule: &PolicyRule,
    value: &Value,
    out: &mut Vec<PolicyViolation>,
) -> Result<(), String> {
    let not_counted = |message: String| {
        let mut v = to_violation(index, &Value::String(message));
        v.undecided = true;
        v.details.insert(
            "conftest".to_owned(),
            Value::String("not counted".to_owned()),
        );
        v
    };
    let Value::Array(members) = value else {
        if *value != Value::Bool(false) {
            out.push(not_counted(format!(
                "`{}` is {}, not a set of messages: conftest counts this as a pass, so nothing \
                 fails; write `{} contains msg if {{ … }}`",
                rule.name,
                short(value),
                rule.name
            )));
        }
        return Ok(());
    };
    for member in members {
        match member {
            Value::String(_) => out.push(to_violation(index, member)),
            Value::Object(map) if matches!(map.get("msg"), Some(Value::String(_))) => {
                out.push(to_violation(index, member))
            }
            Value::Object(_) => {
                return Err(format!(
                    "a result of {} is an object without a string `msg`: {} (conftest stops \
                     too: \"msg\" field must be present and a string)",
                    rule.name,
                    short(member)
                ))
            }
            other => out.push(not_counted(format!(
                "a result of `{}` is {}, neither a string nor an object with `msg`: conftest \
                 ignores it",
                rule.name,
                short(other)
            ))),
        }
    }
    Ok(())
}

/// A value as JSON for a message, cut to 200 bytes.
fn short(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > 200 {
        let mut end = 200;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// A message (string or object) as a violation.
fn to_violation(rule: usize, result: &Value) -> PolicyViolation {
    let (message, pointer, details) = match result {
        Value::String(s) => (s.clone(), String::new(), serde_json::Map::new()),
        Value::Object(map) => {
            let message = match map.get("msg") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => Value::Object(map.clone()).to_string(),
            };
            let pointer = map.get("path").map(path_pointer).unwrap_or_default();
            let details = map
                .iter()
                .filter(|(k, _)| *k != "msg" && *k != "path")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (message, pointer, details)
        }
        Value::Bool(true) => (
            "policy rule is true".to_owned(),
            String::new(),
            serde_json::Map::new(),
        ),
        other => (other.to_string(), String::new(), serde_json::Map::new()),
    };
    PolicyViolation {
        rule,
        violation: Violation { pointer, message },
        details,
        undecided: false,
        excepted: false,
        action: None,
    }
}

/// A `path` value as a JSON pointer: a pointer string as is, `spec.replicas` dotted, or a list
/// of keys and indices.
fn path_pointer(path: &Value) -> String {
    match path {
        Value::String(s) if s.starts_with('/') || s.is_empty() => s.clone(),
        Value::String(s) => s
            .split('.')
            .map(|t| format!("/{}", escape_token(t)))
            .collect(),
        Value::Array(items) => items
            .iter()
            .map(|t| match t {
                Value::String(s) => format!("/{}", escape_token(s)),
                other => format!("/{other}"),
            })
            .collect(),
        _ => String::new(),
    }
}

/// Policy files under `path` (a file is taken as it is), sorted. Links are followed: a mounted
/// ConfigMap's files are symlinks through `..data`.
fn collect(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<PolicyError>) {
    fn is_policy_file(p: &Path) -> bool {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("rego" | "json" | "yaml" | "yml")
        ) && !p.to_string_lossy().ends_with("_test.rego")
    }
    if !path.exists() {
        errors.push(PolicyError::Io {
            path: path.to_path_buf(),
            message: "no such file or directory".into(),
        });
        return;
    }
    let walked = crate::source::walk::walk(
        path,
        &crate::source::walk::WalkRules {
            follow_links: true,
            skip: |_, _| false,
            accept: &is_policy_file,
        },
    );
    files.extend(walked.files);
    errors.extend(walked.errors.into_iter().map(|message| PolicyError::Io {
        path: path.to_path_buf(),
        message,
    }));
}

/// Adds one Rego file: as Rego v1 first, then as v0 (older policies and most Gatekeeper
/// library code). Returns its package path (`main`, `kubernetes.admission`).
/// `text` with the Rego constructs OPA accepts and regorus reads differently rewritten
/// (`policy::v0_compat`), logged when anything was.
pub(crate) fn compatible(name: &str, text: String) -> String {
    match crate::policy::v0_compat::rewrite(&text) {
        Some((rewritten, done)) => {
            tracing::info!(policy = %name, rewrites = ?done, "rewrote Rego that regorus would read differently from OPA");
            rewritten
        }
        None => text,
    }
}

/// Deepest nesting of `[` and `{` a Rego text may have. At every `[` and `{` regorus's parser
/// first tries a comprehension, parsing the first term, and parses it again as a collection
/// when no `|` follows: its time doubles with each level. A 6 KB file of `x := [[…]]`
/// expressions 12 deep takes about 1 s to parse, 14 deep 3 s, and one expression 500 deep
/// never ends (the policy fuzz target; docs/reliability.md). The policies of this repository
/// nest at most 6 deep.
pub const MAX_REGO_NESTING: usize = 12;

/// Rego nested deeper than [`MAX_REGO_NESTING`]: where the nesting crossed the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("`[` and `{{` nested deeper than {limit} levels (the Rego parser's time doubles with each level)")]
pub struct RegoTooDeep {
    /// The bracket that opens level `limit + 1`, counted in the Rego text.
    pub position: Position,
    pub limit: usize,
}

/// Checks that `text` nests `[` and `{` at most [`MAX_REGO_NESTING`] deep, outside strings
/// (`"…"` with escapes, raw `` `…` ``) and comments (`#` to the end of the line).
pub(crate) fn check_nesting(text: &str) -> Result<(), RegoTooDeep> {
    let (mut line, mut column) = (1u32, 0u32);
    let mut depth = 0usize;
    // The quote of the string being read, whether the previous character escaped this one,
    // and whether a comment is being read.
    let (mut quote, mut escaped, mut comment) = (None::<char>, false, false);
    for c in text.chars() {
        if c == '\n' {
            (line, column) = (line + 1, 0);
            comment = false;
            escaped = false;
            continue;
        }
        column += 1;
        if comment {
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' | '`' => quote = Some(c),
            '[' | '{' => {
                depth += 1;
                if depth > MAX_REGO_NESTING {
                    return Err(RegoTooDeep {
                        position: Position::new(line, column),
                        limit: MAX_REGO_NESTING,
                    });
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn add_policy(
    engine: &mut regorus::Engine,
    file: &Path,
    text: &str,
) -> Result<Added, PolicyError> {
    check_nesting(text).map_err(|nesting| PolicyError::TooDeep {
        path: file.to_path_buf(),
        nesting,
    })?;
    let name = file.display().to_string();
    let mut text = compatible(&name, text.to_owned());
    // regorus has neither `# METADATA` nor rego.metadata.rule()/chain(): the calls are replaced
    // by what OPA returns for them (`policy::annotations`).
    if let Some(resolved) = crate::policy::annotations::resolve(file, &text)? {
        // The values put in nest too (deep `custom` annotations): bounded as written Rego is.
        check_nesting(&resolved).map_err(|nesting| PolicyError::TooDeep {
            path: file.to_path_buf(),
            nesting,
        })?;
        text = resolved;
    }
    let text = &text;
    engine.set_rego_v0(false);
    let v1 = engine.add_policy(name.clone(), text.to_owned());
    let result = match v1 {
        Ok(package) => Ok(package),
        Err(v1_error) => {
            engine.set_rego_v0(true);
            let v0 = engine.add_policy(name, text.to_owned());
            engine.set_rego_v0(false);
            match v0 {
                Ok(package) => {
                    tracing::info!(file = %file.display(), "read as Rego v0 (it does not parse as Rego v1)");
                    Ok(package)
                }
                Err(v0_error) => {
                    let mut error = compile_error(file, &v1_error.to_string());
                    if let (PolicyError::Compile { message, .. }, Some(line)) =
                        (&mut error, one_line_error(&v0_error.to_string()))
                    {
                        if *message != line {
                            message.push_str(&format!(" (as Rego v1; as Rego v0: {line})"));
                        }
                    }
                    Err(error)
                }
            }
        }
    };
    let package = result?;
    // regorus pushes the module it just parsed last.
    let module = engine.get_modules().last().cloned();
    if let Some(error) = module.as_ref().and_then(|m| partial_object_rule(m, file)) {
        return Err(error);
    }
    for (line, name) in module
        .as_ref()
        .map(|m| single_value_rules(m))
        .unwrap_or_default()
    {
        tracing::warn!(
            "{}:{line}: `{name}` is a single value, not a set of messages: conftest counts it \
             as a pass whatever it holds, kubegate reports it as an advisory finding when it is \
             not false; write `{name} contains msg if {{ … }}`",
            file.display()
        );
    }
    Ok(Added {
        package: package.strip_prefix("data.").unwrap_or(&package).to_owned(),
        rules: module
            .as_ref()
            .map(|m| declared_rules(m))
            .unwrap_or_default(),
    })
}

/// `(line, name)` of the conftest rules of `module` defined as one value, `deny if { … }` or
/// `deny := true`: a boolean, number or string literal (or no value, which is `true`). A
/// complete rule assigned anything else may still be a collection, which conftest counts.
fn single_value_rules(module: &regorus::unstable::Module) -> Vec<(u32, String)> {
    use regorus::unstable::{Expr, Rule, RuleHead};
    module
        .policy
        .iter()
        .filter_map(|rule| {
            let Rule::Spec {
                head: RuleHead::Compr { refr, assign, .. },
                ..
            } = rule.as_ref()
            else {
                return None;
            };
            let Expr::Var { span, .. } = refr.as_ref() else {
                return None;
            };
            let scalar = assign.as_ref().is_none_or(|a| {
                matches!(
                    a.value.as_ref(),
                    Expr::Bool { .. }
                        | Expr::Number { .. }
                        | Expr::String { .. }
                        | Expr::RawString { .. }
                )
            });
            (scalar && rule_kind(span.text()).is_some())
                .then(|| (span.line, span.text().to_owned()))
        })
        .collect()
}

/// The first conftest rule of `module` written `deny[msg] if { … }` (or `deny[msg] := true`,
/// `deny.key if`): a head with a key but no value. Rego v1 reads it as an object whose keys are
/// the messages (regorus does in v0 too), so the messages would not be counted as conftest
/// counts them; conftest refuses such a rule, and so does kubegate, saying what to write.
fn partial_object_rule(module: &regorus::unstable::Module, file: &Path) -> Option<PolicyError> {
    use regorus::unstable::{Expr, Rule, RuleHead};
    module.policy.iter().find_map(|rule| {
        let Rule::Spec {
            head: RuleHead::Compr { refr, assign, .. },
            ..
        } = rule.as_ref()
        else {
            return None;
        };
        let valueless = match assign {
            None => true,
            Some(a) => matches!(a.value.as_ref(), Expr::Bool { value, .. } if *value == regorus::Value::Bool(true)),
        };
        let (root, key, head) = match refr.as_ref() {
            Expr::RefBrack { refr, index, .. } => {
                let key = index.span().text().to_owned();
                (refr, key.clone(), format!("{}[{key}]", refr.span().text()))
            }
            Expr::RefDot { refr, field, .. } => {
                let key = field.0.text().to_owned();
                (refr, format!("{key:?}"), format!("{}.{key}", refr.span().text()))
            }
            _ => return None,
        };
        let Expr::Var { span, .. } = root.as_ref() else {
            return None;
        };
        let name = span.text();
        (valueless && rule_kind(name).is_some()).then(|| PolicyError::PartialObjectRule {
            path: file.to_path_buf(),
            position: Position::new(span.line, span.col),
            head,
            name: name.to_owned(),
            key,
        })
    })
}

/// A Rego file added to an engine: its package path (`main`, `kubernetes.admission`) and the
/// rules it declares.
#[derive(Debug)]
pub(crate) struct Added {
    pub(crate) package: String,
    /// `(line, name)` of each rule definition, in file order (a rule defined by several
    /// definitions appears once per definition).
    pub(crate) rules: Vec<(u32, String)>,
}

/// `(line, name)` of every rule of a parsed module, from regorus's own syntax tree: an
/// indented rule is found, and a rule-like line inside a string is not. The name is the root of
/// the rule's reference (`deny` for `deny[msg]` and `deny contains msg`, `a` for `a.b := 1`).
fn declared_rules(module: &regorus::unstable::Module) -> Vec<(u32, String)> {
    use regorus::unstable::{Expr, Rule, RuleHead};
    fn root(mut e: &Expr) -> Option<&Expr> {
        loop {
            match e {
                Expr::Var { .. } => return Some(e),
                Expr::RefDot { refr, .. } | Expr::RefBrack { refr, .. } => e = refr,
                _ => return None,
            }
        }
    }
    module
        .policy
        .iter()
        .filter_map(|rule| {
            let refr = match rule.as_ref() {
                Rule::Spec { head, .. } => match head {
                    RuleHead::Compr { refr, .. }
                    | RuleHead::Set { refr, .. }
                    | RuleHead::Func { refr, .. } => refr,
                },
                Rule::Default { refr, .. } => refr,
            };
            let var = root(refr)?;
            let span = var.span();
            Some((span.line, span.text().to_owned()))
        })
        .collect()
}

/// The two parts of a regorus error message kubegate shows: the location regorus writes as
/// `--> <file>:<line>:<col>`, and the last `error: <what>` line. The message's source excerpt is
/// left out.
pub(crate) fn regorus_error_parts(message: &str) -> (Option<&str>, Option<&str>) {
    let location = message
        .lines()
        .find_map(|l| l.trim().strip_prefix("-->"))
        .map(str::trim);
    let what = message
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error:"))
        .map(str::trim);
    (location, what)
}

/// The `error: ...` line of a regorus message.
fn one_line_error(message: &str) -> Option<String> {
    regorus_error_parts(message).1.map(str::to_owned)
}

/// A regorus error message as a [`PolicyError::Compile`]: regorus writes
/// `--> <file>:<line>:<col>`, a source excerpt and `error: <what>`.
fn compile_error(file: &Path, message: &str) -> PolicyError {
    let (location, what) = regorus_error_parts(message);
    let position = location.and_then(|location| {
        let mut parts = location.rsplitn(3, ':');
        let column = parts.next()?.trim().parse().ok()?;
        let line = parts.next()?.trim().parse().ok()?;
        Some(Position::new(line, column))
    });
    let what = what.unwrap_or(message.trim()).to_owned();
    PolicyError::Compile {
        path: file.to_path_buf(),
        position,
        message: what,
    }
}

/// Adds a file's data documents to `data`; returns its Gatekeeper documents instead.
pub(crate) fn add_data(
    engine: &mut regorus::Engine,
    file: &Path,
    text: &str,
) -> Result<NotData, PolicyError> {
    let bad = |message: String| PolicyError::Data {
        path: file.to_path_buf(),
        message,
    };
    let stream = crate::load::yaml::parse_stream(text, &crate::load::yaml::Limits::default());
    if let Some(e) = stream.error {
        return Err(bad(format!("{}: {e}", e.position)));
    }
    let mut found = NotData::default();
    for doc in stream.documents {
        if gatekeeper::is_gatekeeper(&doc.value) || vap::is_vap(&doc.value) {
            found.policies.push(doc);
            continue;
        }
        // Kubernetes objects (test samples, gator suites, VAP params) sit beside policies but
        // are not data.
        if doc.value.get("apiVersion").is_some() && doc.value.get("kind").is_some() {
            tracing::debug!(file = %file.display(), "not data: a Kubernetes object");
            found.objects.push(doc.value);
            continue;
        }
        if !doc.value.is_object() {
            return Err(bad("a data document must be a mapping".into()));
        }
        engine
            .add_data(regorus::Value::from(doc.value))
            .map_err(|e| bad(e.to_string()))?;
    }
    Ok(found)
}

/// What a data file held besides data.
#[derive(Debug, Default)]
pub(crate) struct NotData {
    /// Gatekeeper documents, ValidatingAdmissionPolicies and their bindings.
    pub policies: Vec<crate::load::yaml::ParsedDocument>,
    /// Other Kubernetes objects (VAP params may be among them).
    pub objects: Vec<Value>,
}

#[derive(Debug, Default)]
struct Metadata {
    id: Option<String>,
    title: Option<String>,
    severity: Option<Severity>,
    description: Option<String>,
    remediation: Option<String>,
}

fn metadata(
    engine: &mut regorus::Engine,
    file: &Path,
    package: &str,
    declared: bool,
) -> Result<Metadata, PolicyError> {
    if !declared {
        return Ok(Metadata::default());
    }
    let bad = |message: String| PolicyError::Metadata {
        path: file.to_path_buf(),
        package: package.to_owned(),
        message,
    };
    engine.set_input(regorus::Value::from(serde_json::json!({})));
    let value = engine
        .eval_rule(format!("data.{package}.__rego_metadata__"))
        .map_err(|e| bad(e.to_string()))?;
    let Value::Object(map) = json(&value) else {
        return Err(bad(
            "must be an object with id, title, severity, description, remediation".into(),
        ));
    };
    let text_field = |key: &str| -> Result<Option<String>, PolicyError> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("`{key}` must be a string"))),
        }
    };
    for key in map.keys() {
        if !["id", "title", "severity", "description", "remediation"].contains(&key.as_str()) {
            return Err(bad(format!("unknown key `{key}`")));
        }
    }
    let severity = match text_field("severity")? {
        None => None,
        Some(s) => Some(s.parse::<Severity>().map_err(bad)?),
    };
    Ok(Metadata {
        id: text_field("id")?,
        title: text_field("title")?,
        severity,
        description: text_field("description")?,
        remediation: text_field("remediation")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the policy fuzz target's campaign (docs/reliability.md): `x := [[…]]` 500 deep
    /// never finished parsing (regorus's time doubles per level). Refused at once, at the
    /// bracket opening level 13.
    #[test]
    fn rego_nested_deeper_than_the_limit_is_refused_before_regorus_parses_it() {
        let text = format!(
            "package main\nx := {}{}\n",
            "[".repeat(500),
            "]".repeat(500)
        );
        let mut engine = regorus::Engine::new();
        let started = std::time::Instant::now();
        let error = add_policy(&mut engine, Path::new("p.rego"), &text).expect_err("refused");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(
            error,
            PolicyError::TooDeep {
                path: PathBuf::from("p.rego"),
                nesting: RegoTooDeep {
                    position: Position::new(2, 6 + MAX_REGO_NESTING as u32),
                    limit: MAX_REGO_NESTING,
                },
            }
        );
        assert!(
            error
                .to_string()
                .starts_with("p.rego:2:18: `[` and `{` nested deeper than 12 levels"),
            "{error}"
        );
    }

    /// The limit itself is accepted (and parses), mixing both brackets; brackets in strings,
    /// raw strings and comments do not count.
    #[test]
    fn rego_nesting_counts_code_brackets_only() {
        let half = MAX_REGO_NESTING / 2;
        let at_limit = format!(
            "package main\nx := {}1{}\n",
            "[{".repeat(half),
            "}]".repeat(half)
        );
        let mut engine = regorus::Engine::new();
        add_policy(&mut engine, Path::new("p.rego"), &at_limit).expect("12 deep parses");
        let deep = "[".repeat(40);
        let quoted = format!(
            "package main\n# {deep}\na := \"\\\"{deep}\"\nb := `{deep}\n{deep}`\nc := [1] # {deep}\n"
        );
        assert_eq!(check_nesting(&quoted), Ok(()));
        let mut engine = regorus::Engine::new();
        add_policy(&mut engine, Path::new("q.rego"), &quoted).expect("parses");
        let limit = format!("x := {}", "[".repeat(MAX_REGO_NESTING));
        assert_eq!(check_nesting(&limit), Ok(()));
        assert!(check_nesting(&format!("{limit}[")).is_err());
    }

    fn declared(text: &str) -> Vec<(u32, String)> {
        let mut engine = regorus::Engine::new();
        add_policy(&mut engine, Path::new("p.rego"), text)
            .expect("parses")
            .rules
    }

    /// Rules come from regorus's parse: indented rules count, rule-like text in a string does
    /// not (the line scanner this replaces got both wrong).
    #[test]
    fn declared_rules_in_both_rego_versions() {
        let v1 = "package main\nimport rego.v1\n\ndeny contains msg if {\n  msg := \"deny_in_string[x] { true }\"\n}\n  deny_indented contains \"x\" if { false }\nwarn_x := true\nviolation_y contains {\"msg\": m} if { m := \"y\" }\nhelper(x) := y if { y := x }\n__rego_metadata__ := {}\nexception contains rules if { rules := [\"x\"] }\na.b.c := 1\n";
        assert_eq!(
            declared(v1),
            [
                (4, "deny"),
                (7, "deny_indented"),
                (8, "warn_x"),
                (9, "violation_y"),
                (10, "helper"),
                (11, "__rego_metadata__"),
                (12, "exception"),
                (13, "a"),
            ]
            .map(|(l, n)| (l, n.to_owned()))
        );
        let v0 = "package main\n\ndeny_latest[msg] {\n  msg := \"x\"\n}\n\ndefault allow = false\n";
        assert_eq!(
            declared(v0),
            [(3, "deny_latest".to_owned()), (7, "allow".to_owned())]
        );
    }

    #[test]
    fn paths_become_pointers() {
        assert_eq!(
            path_pointer(&serde_json::json!("/spec/replicas")),
            "/spec/replicas"
        );
        assert_eq!(
            path_pointer(&serde_json::json!("spec.replicas")),
            "/spec/replicas"
        );
        assert_eq!(
            path_pointer(&serde_json::json!(["spec", "containers", 0, "a/b"])),
            "/spec/containers/0/a~1b"
        );
    }
}
