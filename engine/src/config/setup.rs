//! From a configuration to a ready [`Checker`]: the one place both front ends (the command line
//! and the admission webhook) turn settings into rules, so they give the same verdicts.

use crate::check::exemption::ConfigExemptions;
use crate::check::Checker;
use crate::config::{Config, FailOn};
use crate::load::{Input, Loader};
use crate::policy::rego::{PolicyError, PolicyOptions, PolicySet};
use crate::rules::catalog::CatalogError;
use crate::rules::pss::{PssError, PssSettings, PssVersion};
use crate::rules::Settings;
use crate::schema::builtin::{KubeVersion, SchemaContext, SchemaError, UnknownKinds};
use crate::schema::crd::CrdSchemas;
use crate::vocab::Severity;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// The default failure threshold: findings at or above `medium` fail a run (and are denied by
/// the webhook).
pub const DEFAULT_FAIL_ON: Option<Severity> = Some(Severity::Medium);

/// The default time limit for one policy evaluation.
pub const DEFAULT_POLICY_TIMEOUT: Duration = Duration::from_millis(2000);

/// What to run, resolved from a configuration file (front ends then apply their own flags).
#[derive(Debug, Clone)]
pub struct Setup {
    pub packs: Vec<String>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub severity: BTreeMap<String, Severity>,
    pub pss: PssSettings,
    pub policy_paths: Vec<PathBuf>,
    /// Data documents only (`--data`, `policies.data`): merged under `data` for the policies.
    pub data_paths: Vec<PathBuf>,
    /// conftest rules judge all objects at once (`--combine`, `policies.combine`).
    pub combine: bool,
    /// [`PolicyOptions::k8s_native_validation`].
    pub k8s_native_validation: bool,
    /// [`PolicyOptions::validating_admission_policies`].
    pub validating_admission_policies: bool,
    /// Rego packages whose rules run (`main` when empty).
    pub policy_namespaces: Vec<String>,
    pub all_namespaces: bool,
    /// Add the shipped ExpansionTemplates for the usual workload kinds (`--expand-workloads`).
    pub expand_workloads: bool,
    pub policy_timeout: Duration,
    /// Findings at or above this severity fail (`None`: never).
    pub fail_on: Option<Severity>,
    /// The Kubernetes version built-in kinds are validated against (`None`: newest bundled).
    pub kube_version: Option<KubeVersion>,
    /// Unknown fields are schema errors.
    pub schema_strict: bool,
    pub unknown_kinds: UnknownKinds,
    /// CustomResourceDefinition files and directories (`--crd`, `schema.crds`).
    pub crd_paths: Vec<PathBuf>,
    /// The configuration's exemptions, applied by the checker.
    pub exemptions: ConfigExemptions,
    /// The input is complete (`--complete-input`, `completeInput`): see
    /// [`Settings::complete_input`].
    pub complete_input: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            packs: Vec::new(),
            only: Vec::new(),
            skip: Vec::new(),
            severity: BTreeMap::new(),
            pss: PssSettings::default(),
            policy_paths: Vec::new(),
            data_paths: Vec::new(),
            combine: false,
            k8s_native_validation: true,
            validating_admission_policies: true,
            policy_namespaces: Vec::new(),
            all_namespaces: false,
            expand_workloads: false,
            policy_timeout: DEFAULT_POLICY_TIMEOUT,
            fail_on: DEFAULT_FAIL_ON,
            kube_version: None,
            schema_strict: true,
            unknown_kinds: UnknownKinds::Skip,
            crd_paths: Vec::new(),
            exemptions: ConfigExemptions::default(),
            complete_input: false,
        }
    }
}

/// Why a configuration cannot be turned into a checker.
#[derive(Debug, Error)]
pub enum SetupError {
    #[error(transparent)]
    Pss(#[from] PssError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Policies(Vec<PolicyError>),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Problems with the `--crd` files: each `file:line:column: cause`.
    #[error("{}", .0.join("\n"))]
    Crds(Vec<String>),
}

impl Setup {
    /// The settings a configuration file gives (defaults where it is silent).
    pub fn from_config(config: &Config) -> Result<Self, SetupError> {
        let level = config.pss.level;
        let version = match (
            config.pss.version.as_deref(),
            config.kubernetes_version.as_deref(),
        ) {
            (Some(v), _) | (None, Some(v)) => v.parse()?,
            (None, None) => PssVersion::LATEST,
        };
        let fail_on = config.fail_on.map_or(DEFAULT_FAIL_ON, FailOn::threshold);
        Ok(Setup {
            packs: config.packs.clone(),
            only: config.rules.only.clone(),
            skip: config.rules.disable.clone(),
            severity: config.rules.severity.clone(),
            pss: PssSettings { level, version },
            policy_paths: config.policy_paths(),
            data_paths: config.data_paths(),
            combine: config.policies.combine,
            k8s_native_validation: config.policies.k8s_native_validation.unwrap_or(true),
            validating_admission_policies: true,
            policy_namespaces: config.policies.namespaces.clone(),
            all_namespaces: config.policies.all_namespaces,
            expand_workloads: config.policies.expand_workloads,
            policy_timeout: config
                .policies
                .timeout_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_POLICY_TIMEOUT),
            fail_on,
            kube_version: config
                .kubernetes_version
                .as_deref()
                .map(str::parse)
                .transpose()?,
            schema_strict: config.schema.strict.unwrap_or(true),
            unknown_kinds: config.schema.unknown_kinds.unwrap_or_default(),
            crd_paths: config.crd_paths(),
            exemptions: config.exemptions(),
            complete_input: config.complete_input,
        })
    }

    /// Builds the checker: the selected built-in rules with their severities, and the policies.
    pub fn checker(&self) -> Result<Checker, SetupError> {
        let settings = Settings {
            pss: self.pss,
            complete_input: self.complete_input,
        };
        let mut checker =
            Checker::builtin_selection(&self.packs, &self.only, &self.skip, settings)?;
        for (rule, severity) in &self.severity {
            checker = checker.with_severity(rule, *severity)?;
        }
        if let (true, Some(data)) = (self.policy_paths.is_empty(), self.data_paths.first()) {
            // Data for no policy would be read for nothing: said, not ignored.
            return Err(SetupError::Policies(vec![PolicyError::Data {
                path: data.clone(),
                message: "data documents (--data, policies.data) need policies to read them \
                          (--policy, policies.paths)"
                    .into(),
            }]));
        }
        if !self.policy_paths.is_empty() {
            let namespaces = if self.policy_namespaces.is_empty() {
                vec!["main".to_owned()]
            } else {
                self.policy_namespaces.clone()
            };
            let options = PolicyOptions {
                namespaces,
                all_namespaces: self.all_namespaces,
                timeout: self.policy_timeout,
                expand_workloads: self.expand_workloads,
                data: self.data_paths.clone(),
                combine: self.combine,
                k8s_native_validation: self.k8s_native_validation,
                validating_admission_policies: self.validating_admission_policies,
                bind_unbound_vaps: false,
            };
            let policies =
                PolicySet::load(&self.policy_paths, &options).map_err(SetupError::Policies)?;
            checker = checker.with_policies(Arc::new(policies));
        }
        // The bundle is read only when KG005 runs (and then once per process).
        let uses_builtin = checker.runs(crate::rules::KUBERNETES_SCHEMA_ID);
        if let (true, Some(version)) = (uses_builtin, self.kube_version) {
            crate::schema::builtin::ensure_bundled(version)?;
        }
        let crds = load_crds(&self.crd_paths, self.schema_strict)?;
        Ok(checker
            .with_schema(Arc::new(SchemaContext::new(
                self.kube_version,
                self.schema_strict,
                self.unknown_kinds,
                crds,
            )))
            .with_exemptions(self.exemptions.clone()))
    }
}

/// The CustomResourceDefinitions in `paths` (files or directories), compiled. Files that do
/// not load, CRDs whose schemas do not compile and paths with no CRD at all are errors: a
/// `--crd` that silently contributes nothing would let custom resources pass unvalidated.
fn load_crds(paths: &[PathBuf], strict: bool) -> Result<CrdSchemas, SetupError> {
    if paths.is_empty() {
        return Ok(CrdSchemas::default());
    }
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::Path).collect();
    let loaded = Loader::default().load(&inputs);
    let mut problems: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
    let crds: Vec<_> = loaded
        .manifests
        .into_iter()
        .filter(|m| {
            m.object.api_version == "apiextensions.k8s.io/v1"
                && m.object.kind == "CustomResourceDefinition"
        })
        .collect();
    let set = CrdSchemas::from_manifests(&crds, strict);
    for m in &crds {
        let mut found = Vec::new();
        set.validate(m, None, &mut found);
        problems.extend(found.into_iter().map(|v| {
            let at = m
                .locate(&v.pointer)
                .map(|p| format!(":{p}"))
                .unwrap_or_default();
            format!("{}{at}: {}", m.source.name, v.message)
        }));
    }
    if crds.is_empty() && problems.is_empty() {
        let named: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        problems.push(format!(
            "{}: no apiextensions.k8s.io/v1 CustomResourceDefinition found",
            named.join(", ")
        ));
    }
    if problems.is_empty() {
        tracing::debug!(
            crds = crds.len(),
            "CustomResourceDefinitions loaded for --crd"
        );
        Ok(set)
    } else {
        Err(SetupError::Crds(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::pss::PssLevel;

    #[test]
    fn configuration_values_reach_the_setup() {
        let config = Config::parse(
            "packs: [pss]\nfailOn: high\npss:\n  level: baseline\n  version: v1.29\nrules:\n  disable: [KG201]\n",
        )
        .expect("valid configuration");
        let setup = Setup::from_config(&config).expect("valid setup");
        assert_eq!(setup.packs, vec!["pss".to_owned()]);
        assert_eq!(setup.fail_on, Some(Severity::High));
        assert_eq!(setup.pss.level, Some(PssLevel::Baseline));
        assert_eq!(setup.skip, vec!["KG201".to_owned()]);
        let checker = setup.checker().expect("checker");
        assert!(checker.rules().iter().all(|r| r.meta().id != "KG201"));
    }

    #[test]
    fn schema_settings_reach_the_setup() {
        let mut config = Config::parse(
            "kubernetesVersion: \"1.34\"\nschema:\n  strict: false\n  unknownKinds: fail\n  crds: [crds]\n",
        )
        .expect("valid configuration");
        config.base = PathBuf::from("/repo");
        let setup = Setup::from_config(&config).expect("valid setup");
        assert_eq!(setup.kube_version, Some(KubeVersion { minor: 34 }));
        assert_eq!(setup.pss.version, "v1.34".parse().expect("pss version"));
        assert!(!setup.schema_strict);
        assert_eq!(setup.unknown_kinds, UnknownKinds::Fail);
        assert_eq!(setup.crd_paths, vec![PathBuf::from("/repo/crds")]);
        // Defaults: strict, unknown kinds skipped, the newest bundled version.
        let setup = Setup::from_config(&Config::default()).expect("defaults");
        assert!(setup.schema_strict);
        assert_eq!(setup.unknown_kinds, UnknownKinds::Skip);
        let checker = setup.checker().expect("checker");
        assert_eq!(checker.schema().version(), None);
        assert_eq!(
            checker.schema().builtin().expect("bundled").version(),
            crate::schema::builtin::newest().expect("bundle")
        );
        // A configuration the schema rejects.
        assert!(Config::parse("schema:\n  unknownKinds: maybe\n").is_err());
    }

    #[test]
    fn never_and_bad_fail_on_values() {
        let parse_fail_on = |s: &str| s.parse::<FailOn>().map(FailOn::threshold);
        assert_eq!(parse_fail_on("never"), Ok(None));
        assert_eq!(parse_fail_on("Critical"), Ok(Some(Severity::Critical)));
        assert!(parse_fail_on("sometimes").is_err());
    }
}
