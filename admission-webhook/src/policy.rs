//! The loaded policy set: configuration, built-in rules, Rego policies and the webhook's own
//! settings, built by the same [`Setup`] as `kubegate check` so both give the same verdicts.

use kubegate_engine::Setup;
use kubegate_engine::{Checker, Subject};
use kubegate_engine::{Config, Enforcement, FailureMode};
use kubegate_engine::{Finding, Manifest, Report, Severity};
use serde_json::Value;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use thiserror::Error;

/// Namespaces never evaluated unless the configuration lists its own.
pub const DEFAULT_EXCLUDED_NAMESPACES: [&str; 3] =
    ["kube-system", "kube-public", "kube-node-lease"];

/// Where the policy set comes from.
#[derive(Debug, Clone, Default)]
pub struct PolicySource {
    /// A `.kubegate.yaml` (its `policies.paths` are loaded too).
    pub config: Option<PathBuf>,
    /// Extra policy files or directories (`--policy`).
    pub policy_paths: Vec<PathBuf>,
    /// The webhook's own namespace (excluded from evaluation by default).
    pub own_namespace: Option<String>,
    /// CustomResourceDefinition files or directories (`--crd`, added to `schema.crds`): the
    /// schemas custom resources are validated against. A reload picks up their changes.
    pub crd_paths: Vec<PathBuf>,
}

/// Why a policy set could not be loaded (the previous one stays in force).
#[derive(Debug, Error)]
pub enum PolicyLoadError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Config(Vec<kubegate_engine::ConfigError>),
    #[error(transparent)]
    Setup(#[from] kubegate_engine::SetupError),
}

/// The webhook's section of the configuration, with defaults applied.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub failure_mode: FailureMode,
    pub exclude_namespaces: Vec<String>,
    pub operations: Vec<String>,
    pub enforcement: BTreeMap<String, Enforcement>,
}

/// Everything one request is judged with. Replaced as a whole on reload.
#[derive(Debug)]
pub struct PolicyState {
    pub checker: Checker,
    pub config: Config,
    pub fail_on: Option<Severity>,
    pub webhook: WebhookSettings,
    /// Rules loaded: built-in rules plus Rego rules and Gatekeeper constraints.
    pub rule_count: usize,
    /// Fingerprint of the files this state was built from.
    pub fingerprint: u64,
    /// The cluster's Namespaces, when the webhook keeps a cache of them (set by the server).
    pub namespaces: Option<std::sync::Arc<crate::namespaces::NamespaceCache>>,
}

impl PolicyState {
    /// Reads the configuration and policies and compiles them.
    pub fn load(source: &PolicySource) -> Result<Self, PolicyLoadError> {
        let fingerprint = fingerprint(&source.files());
        let config = match &source.config {
            Some(path) => Config::load(path).map_err(PolicyLoadError::Config)?,
            None => Config::default(),
        };
        let mut setup = Setup::from_config(&config)?;
        setup
            .policy_paths
            .extend(source.policy_paths.iter().cloned());
        setup.crd_paths.extend(source.crd_paths.iter().cloned());
        setup.validating_admission_policies = config.webhook.validating_admission_policies;
        let checker = setup.checker()?;
        warm_schemas(&checker);
        let section = &config.webhook;
        let exclude_namespaces = match &section.exclude_namespaces {
            Some(list) => list.clone(),
            None => DEFAULT_EXCLUDED_NAMESPACES
                .iter()
                .map(|s| (*s).to_owned())
                .chain(source.own_namespace.clone())
                .collect(),
        };
        let webhook = WebhookSettings {
            failure_mode: section.failure_mode.unwrap_or_default(),
            exclude_namespaces,
            operations: section
                .operations
                .clone()
                .unwrap_or_else(|| vec!["CREATE".to_owned(), "UPDATE".to_owned()]),
            enforcement: section.enforcement.clone(),
        };
        // Whole-input rules do not judge one request (the engine leaves them out).
        let rule_count = checker.rule_count(true);
        Ok(PolicyState {
            fail_on: setup.fail_on,
            checker,
            config,
            webhook,
            rule_count,
            fingerprint,
            namespaces: None,
        })
    }

    /// Evaluates one object; `review` is the admission request (Gatekeeper's `input.review`).
    /// Configuration exemptions are applied.
    pub fn evaluate(&self, manifest: &Manifest, review: &Value) -> Report {
        self.checker.evaluate(Subject::Admission {
            object: manifest,
            review,
        })
    }

    /// The ids of the rules an admission request is judged by (built-in rules that can judge
    /// one object, then policy rules): the findings counter's series.
    pub fn rule_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .checker
            .rules()
            .iter()
            .map(|r| r.meta())
            .filter(|m| m.scope != kubegate_engine::Scope::WholeInput)
            .map(|m| m.id.to_owned())
            .collect();
        if let Some(p) = self.checker.policies() {
            ids.extend(p.rules().iter().map(|r| r.id.clone()));
        }
        ids
    }

    /// [`PolicyState::evaluate`] within a budget (deadline, cancellation, caps).
    pub fn evaluate_within(
        &self,
        manifest: &Manifest,
        review: &Value,
        namespace: Option<&Manifest>,
        budget: &kubegate_engine::Budget,
    ) -> Result<Report, kubegate_engine::Interrupted> {
        self.checker
            .evaluate_admission_within(manifest, review, namespace, budget)
    }

    /// What the webhook does with a finding: the configured enforcement for its rule id (or the
    /// longest `*` pattern matching it), else
    /// dry-run for advisory findings (Gatekeeper `dryrun` constraints), deny at or above
    /// `failOn`, warn below.
    pub fn enforcement(&self, finding: &Finding) -> Enforcement {
        let id = finding.rule_id.as_ref();
        if let Some(e) = self.webhook.enforcement.get(id) {
            return *e;
        }
        // Then patterns (`K8sRequiredLabels.*` for every constraint of a template, `KG2*`),
        // the longest matching pattern first.
        if let Some((_, e)) = self
            .webhook
            .enforcement
            .iter()
            .filter(|(p, _)| p.contains('*') && kubegate_engine::name_matches(p, id))
            .max_by_key(|(p, _)| p.len())
        {
            return *e;
        }
        if finding.advisory {
            return Enforcement::DryRun;
        }
        match self.fail_on {
            Some(t) if finding.severity >= t => Enforcement::Deny,
            _ => Enforcement::Warn,
        }
    }
}

/// Compiles the schemas of the kinds most requests carry before the first request (reloads
/// reuse them); other kinds compile when first admitted (2–4 ms once per kind and process).
/// Compiling all 196 kinds of a version up front held about 40 MB for kinds most clusters
/// never send (docs/performance.md).
fn warm_schemas(checker: &Checker) {
    if !checker.runs(kubegate_engine::registry::KUBERNETES_SCHEMA_ID) {
        return;
    }
    let started = std::time::Instant::now();
    match checker
        .schema()
        .builtin()
        .map(|b| (b.version(), b.compile_common()))
    {
        Ok((version, Ok(kinds))) => tracing::info!(
            %version,
            kinds,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Kubernetes schemas compiled"
        ),
        Ok((version, Err(failed))) => {
            tracing::error!(%version, ?failed, "bundled Kubernetes schemas do not compile")
        }
        Err(e) => tracing::error!("bundled Kubernetes schemas unavailable: {e}"),
    }
}

impl PolicySource {
    /// Every file the policy set is built from (directories walked, symlinks followed).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self.config.iter().cloned().collect();
        roots.extend(self.policy_paths.iter().cloned());
        roots.extend(self.crd_paths.iter().cloned());
        // A configuration's own policy and CRD paths change only when the configuration does,
        // but their files can change alone: watch them too.
        if let Some(config) = self.config.as_ref().and_then(|c| Config::load(c).ok()) {
            roots.extend(config.policy_paths());
            roots.extend(config.crd_paths());
        }
        // The engine's walker, so the fingerprint covers exactly the files a load reads (a
        // directory that cannot be read counts as a file: its error changes the hash).
        let mut files = Vec::new();
        for root in roots {
            let (found, errors) = kubegate_engine::files_under(&root);
            files.extend(found);
            if !errors.is_empty() {
                files.push(root);
            }
        }
        files.sort();
        files.dedup();
        files
    }
}

/// A hash of the files' names and contents (a missing or unreadable file counts as a change
/// too). Content, not modification times: a ConfigMap update swaps a symlink and keeps times.
pub fn fingerprint(files: &[PathBuf]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for file in files {
        file.hash(&mut hasher);
        match std::fs::read(file) {
            Ok(bytes) => bytes.hash(&mut hasher),
            Err(e) => e.kind().to_string().hash(&mut hasher),
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(state: &PolicyState, rule: &'static str, severity: Severity) -> Finding {
        let manifest = Manifest::from_value(
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
            kubegate_engine::Source::Named("test".into()),
        )
        .expect("manifest");
        let mut f = state
            .evaluate(&manifest, &serde_json::Value::Null)
            .findings
            .pop()
            .expect("a Pod without anything has findings");
        f.rule_id = rule.into();
        f.severity = severity;
        f.advisory = false;
        f
    }

    #[test]
    fn enforcement_by_id_then_longest_pattern_then_severity() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("kubegate.yaml");
        std::fs::write(
            &config,
            "failOn: high\nwebhook:\n  enforcement:\n    KG2*: warn\n    KG20*: dryrun\n    KG201: deny\n    K8sRequiredLabels.*: warn\n",
        )
        .expect("write");
        let state = PolicyState::load(&PolicySource {
            config: Some(config),
            ..PolicySource::default()
        })
        .expect("loads");
        let e = |rule, severity| state.enforcement(&finding(&state, rule, severity));
        assert_eq!(e("KG201", Severity::Low), Enforcement::Deny);
        assert_eq!(e("KG203", Severity::Critical), Enforcement::DryRun);
        assert_eq!(e("KG211", Severity::Critical), Enforcement::Warn);
        assert_eq!(
            e("K8sRequiredLabels.must-have-owner", Severity::High),
            Enforcement::Warn
        );
        assert_eq!(e("KG101", Severity::High), Enforcement::Deny);
        assert_eq!(e("KG122", Severity::Medium), Enforcement::Warn);
        assert_eq!(state.webhook.failure_mode, FailureMode::Deny);
        assert_eq!(
            state.webhook.exclude_namespaces,
            vec!["kube-system", "kube-public", "kube-node-lease"]
        );
    }
}
