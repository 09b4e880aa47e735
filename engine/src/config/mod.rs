//! `.kubegate.yaml`: the configuration shared by the CLI and the admission webhook.
//!
//! The file is validated against `policies/schema/kubegate-config.schema.json` (embedded; editors
//! can use the same file), and every mistake is reported with its line and column.

pub mod setup;

use crate::check::exemption::{absolute, path_exemption, ConfigExemptions};
use crate::model::position::Position;
use crate::vocab::Severity;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

const SCHEMA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/schema/kubegate-config.schema.json"
));

/// File names looked for when walking up from the working directory.
pub const FILE_NAMES: [&str; 2] = [".kubegate.yaml", ".kubegate.yml"];

#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}{}: {message}", file.display(), position.map(|p| format!(":{p}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: PathBuf,
    pub position: Option<Position>,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub packs: Vec<String>,
    #[serde(default)]
    pub rules: RuleConfig,
    pub fail_on: Option<FailOn>,
    #[serde(default)]
    pub pss: PssConfig,
    #[serde(default)]
    pub exemptions: Exemptions,
    #[serde(default)]
    pub policies: PolicyConfig,
    pub kubernetes_version: Option<String>,
    /// Where namespaced objects without `metadata.namespace` are placed, as `kubectl apply -n`
    /// would (`--default-namespace`). Unset: they stay without one (Gatekeeper constraints
    /// then match them whatever their `namespaces`, as Gatekeeper does).
    pub default_namespace: Option<String>,
    /// Files of Namespace objects defined elsewhere (`--namespace-labels`): context for
    /// namespace lookups, never judged.
    #[serde(default)]
    pub namespace_labels: Vec<PathBuf>,
    /// The input holds every object its namespaces need (`--complete-input`): references to
    /// objects it does not define (KG220) are findings, not advisory notes.
    #[serde(default)]
    pub complete_input: bool,
    #[serde(default)]
    pub schema: SchemaConfig,
    #[serde(default)]
    pub output: OutputConfig,
    #[serde(default)]
    pub render: RenderConfig,
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// The directory of the file; relative paths in it are relative to this.
    #[serde(skip)]
    pub base: PathBuf,
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleConfig {
    #[serde(default)]
    pub only: Vec<String>,
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PssConfig {
    pub level: Option<crate::rules::pss::PssLevel>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyConfig {
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub all_namespaces: bool,
    pub timeout_ms: Option<u64>,
    /// Judge workloads as the pods they create, as the shipped ExpansionTemplates
    /// (`policies/library/expansion/workloads.yaml`) do, without listing them (`--expand-workloads`).
    #[serde(default)]
    pub expand_workloads: bool,
    /// Data documents only, merged under `data` (conftest's `--data`; `--data`).
    #[serde(default)]
    pub data: Vec<PathBuf>,
    /// conftest rules judge all objects at once (conftest's `--combine`; `--combine`).
    #[serde(default)]
    pub combine: bool,
    /// Judge ConstraintTemplates that carry a `K8sNativeValidation` (CEL) code block with it,
    /// as Gatekeeper and gator do by default (`--enable-k8s-native-validation`); `false` judges
    /// them with their Rego.
    pub k8s_native_validation: Option<bool>,
}

/// Schema validation (`schema:`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaConfig {
    pub strict: Option<bool>,
    pub unknown_kinds: Option<crate::schema::builtin::UnknownKinds>,
    #[serde(default)]
    pub crds: Vec<PathBuf>,
}

/// How reports are written (`output:`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutputConfig {
    pub format: Option<OutputFormat>,
    pub excerpt: Option<bool>,
    /// Findings below this severity are left out of the report (`--min-severity`); they still
    /// count for `failOn`.
    pub min_severity: Option<Severity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderConfig {
    pub kustomize: Option<bool>,
    #[serde(default)]
    pub helm: HelmConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmConfig {
    pub enabled: Option<bool>,
    /// A chart met in a walk that cannot be rendered (helm missing) fails the run (exit 2)
    /// instead of being listed as not rendered.
    pub required: Option<bool>,
    #[serde(default)]
    pub values_files: Vec<PathBuf>,
    #[serde(default)]
    pub set: Vec<String>,
}

/// The admission webhook's section (`webhook:`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookConfig {
    pub failure_mode: Option<FailureMode>,
    pub exclude_namespaces: Option<Vec<String>>,
    pub operations: Option<Vec<String>>,
    #[serde(default)]
    pub enforcement: BTreeMap<String, Enforcement>,
    /// Seconds the webhook keeps serving after SIGTERM (`--shutdown-delay` overrides). Read at
    /// start only.
    pub shutdown_delay_seconds: Option<u64>,
    /// Run the ValidatingAdmissionPolicies among the policies in the webhook too (default
    /// `false`: the API server enforces them on 1.30+). The CLI always runs them.
    #[serde(default)]
    pub validating_admission_policies: bool,
}

/// What the webhook answers when evaluation fails or times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Deny, with a message saying why (fail closed).
    #[default]
    Deny,
    /// Allow, with a warning (fail open).
    Allow,
}

pub use crate::vocab::Enforcement;

pub use crate::check::exemption::Exemptions;

/// Which findings fail a run (`failOn`, `--fail-on`): a severity and above, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
    /// Findings never fail (load errors still do).
    Never,
}

impl FailOn {
    /// Every value, as written.
    pub const NAMES: [&'static str; 5] = ["low", "medium", "high", "critical", "never"];

    /// The lowest severity that fails, `None` for `never`.
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Critical => Some(Severity::Critical),
            FailOn::Never => None,
        }
    }
}

impl std::str::FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(FailOn::Low),
            "medium" => Ok(FailOn::Medium),
            "high" => Ok(FailOn::High),
            "critical" => Ok(FailOn::Critical),
            "never" => Ok(FailOn::Never),
            _ => Err(format!(
                "unknown value {s:?} (expected low, medium, high, critical or never)"
            )),
        }
    }
}

/// The report's format (`output.format`, `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    #[default]
    Human,
    /// One line per finding (`file:line:column: severity[rule] message`), then the summary.
    Compact,
    Json,
    Sarif,
    Junit,
    Github,
}

impl OutputFormat {
    /// Every value, as written, with what it is for.
    pub const NAMES: [(&'static str, &'static str); 6] = [
        ("human", "text with source excerpts, for people"),
        ("compact", "one line per finding, file:line:column first"),
        ("json", "the versioned JSON report (docs/output.md)"),
        (
            "sarif",
            "SARIF 2.1.0 (GitHub code scanning and other CI tools)",
        ),
        (
            "junit",
            "JUnit XML: a testsuite per file, a testcase per object and rule",
        ),
        ("github", "GitHub Actions workflow commands (annotations)"),
    ];
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "human" => Ok(OutputFormat::Human),
            "compact" => Ok(OutputFormat::Compact),
            "json" => Ok(OutputFormat::Json),
            "sarif" => Ok(OutputFormat::Sarif),
            "junit" => Ok(OutputFormat::Junit),
            "github" => Ok(OutputFormat::Github),
            _ => Err(format!(
                "unknown format {s:?} (expected human, compact, json, sarif, junit or github)"
            )),
        }
    }
}

impl Config {
    /// The nearest `.kubegate.yaml` in `start` or a parent directory.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        start
            .ancestors()
            .find_map(|dir| FILE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file()))
    }

    /// Reads and validates a configuration file.
    pub fn load(file: &Path) -> Result<Self, Vec<ConfigError>> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            vec![ConfigError {
                file: file.to_path_buf(),
                position: None,
                message: e.to_string(),
            }]
        })?;
        let mut config = Self::parse(&text).map_err(|errors| {
            errors
                .into_iter()
                .map(|(position, message)| ConfigError {
                    file: file.to_path_buf(),
                    position,
                    message,
                })
                .collect::<Vec<_>>()
        })?;
        config.base = absolute(file.parent().unwrap_or(Path::new(".")));
        config.file = Some(file.to_path_buf());
        Ok(config)
    }

    /// Parses configuration text: YAML → schema validation → typed configuration.
    pub fn parse(text: &str) -> Result<Self, Vec<(Option<Position>, String)>> {
        let stream = crate::load::yaml::parse_stream(text, &crate::load::yaml::Limits::default());
        if let Some(e) = stream.error {
            return Err(vec![(Some(e.position), e.kind.to_string())]);
        }
        let Some(doc) = stream.documents.into_iter().next() else {
            return Ok(Self::default());
        };
        let schema: serde_json::Value = serde_json::from_str(SCHEMA)
            .map_err(|e| vec![(None, format!("embedded schema: {e}"))])?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .build(&schema)
            .map_err(|e| vec![(None, format!("embedded schema: {e}"))])?;
        let errors: Vec<(Option<Position>, String)> = validator
            .iter_errors(&doc.value)
            .map(|e| {
                let pointer = e.instance_path().as_str().to_owned();
                let position = doc.positions.resolve(&pointer).map(|(p, _)| p);
                let field = if pointer.is_empty() {
                    "configuration".to_owned()
                } else {
                    pointer.trim_start_matches('/').replace('/', ".")
                };
                (position, format!("{field}: {e}"))
            })
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        serde_json::from_value(doc.value).map_err(|e| vec![(None, e.to_string())])
    }

    /// The exemptions section with the directory its paths are relative to, for the checker.
    pub fn exemptions(&self) -> ConfigExemptions {
        ConfigExemptions {
            exemptions: self.exemptions.clone(),
            base: self.base.clone(),
        }
    }

    /// Whether a file is exempted by `exemptions.paths` (its objects are not judged, and it is
    /// not even loaded: it may not be a manifest at all).
    pub fn exempts_file(&self, file: &str) -> bool {
        path_exemption(&self.exemptions.paths, &self.base, file).is_some()
    }

    /// `schema.crds`, resolved against the configuration file's directory.
    pub fn crd_paths(&self) -> Vec<PathBuf> {
        self.schema.crds.iter().map(|p| self.base.join(p)).collect()
    }

    /// `policies.paths`, resolved against the configuration file's directory.
    pub fn policy_paths(&self) -> Vec<PathBuf> {
        self.policies
            .paths
            .iter()
            .map(|p| self.base.join(p))
            .collect()
    }

    /// `policies.data`, resolved against the configuration file's directory.
    pub fn data_paths(&self) -> Vec<PathBuf> {
        self.policies
            .data
            .iter()
            .map(|p| self.base.join(p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::exemption::path_glob;

    #[test]
    fn valid_configuration_parses() {
        let c = Config::parse(
            "apiVersion: kubegate.io/v1alpha1\nkind: Config\npacks: [pss, cis]\nrules:\n  disable: [KG402]\n  severity: {KG201: high}\nfailOn: high\npss: {level: baseline, version: v1.29}\noutput: {format: compact, minSeverity: high}\nexemptions:\n  namespaces: [kube-*]\n  paths: [\"vendor/**\"]\n  objects:\n    - {kind: DaemonSet, name: node-exporter, rules: [KG102], reason: needs host network}\n",
        )
        .expect("valid");
        assert_eq!(c.packs, vec!["pss", "cis"]);
        assert_eq!(c.rules.severity.get("KG201"), Some(&Severity::High));
        assert_eq!(c.pss.version.as_deref(), Some("v1.29"));
        assert_eq!(c.output.format, Some(OutputFormat::Compact));
        assert_eq!(c.output.min_severity, Some(Severity::High));
        assert!(path_glob("vendor/**", "vendor/chart/a.yaml"));
        assert!(!path_glob("vendor/*", "vendor/chart/a.yaml"));
    }

    /// Every `policies` key docs/usage.md lists is accepted by the schema (`expandWorkloads`
    /// was documented but refused as an additional property).
    #[test]
    fn every_documented_policies_key_parses() {
        let c = Config::parse(
            "policies:\n  paths: [policy]\n  namespaces: [main]\n  allNamespaces: true\n  timeoutMs: 500\n  expandWorkloads: true\n  data: [data]\n  combine: true\n  k8sNativeValidation: false\n",
        )
        .expect("valid");
        assert!(c.policies.expand_workloads && c.policies.all_namespaces && c.policies.combine);
        assert_eq!(c.policies.k8s_native_validation, Some(false));
        assert_eq!(c.policies.timeout_ms, Some(500));
        assert_eq!(c.data_paths(), [c.base.join("data")]);
    }

    /// Every `webhook` key docs/webhook.md lists is accepted by the schema
    /// (`shutdownDelaySeconds` was read by the server but refused by the schema).
    #[test]
    fn every_documented_webhook_key_parses() {
        let c = Config::parse(
            "webhook:\n  failureMode: allow\n  excludeNamespaces: [kube-*]\n  operations: [CREATE]\n  enforcement: {KG101: warn}\n  shutdownDelaySeconds: 3\n  validatingAdmissionPolicies: true\n",
        )
        .expect("valid");
        assert_eq!(c.webhook.shutdown_delay_seconds, Some(3));
        assert!(c.webhook.validating_admission_policies);
        assert_eq!(c.webhook.failure_mode, Some(FailureMode::Allow));
    }

    #[test]
    fn mistakes_are_reported_with_positions() {
        let errors =
            Config::parse("packs: [pss, psa]\nfailOn: sometimes\nrules:\n  disabled: [KG101]\n")
                .expect_err("invalid");
        let text: Vec<String> = errors
            .iter()
            .map(|(p, m)| format!("{}: {m}", p.map(|p| p.to_string()).unwrap_or_default()))
            .collect();
        assert_eq!(errors.len(), 3, "{text:#?}");
        assert!(
            text.iter().any(|t| t.starts_with("1:14: packs.1:")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|t| t.starts_with("2:1: failOn:")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("3:1: rules:") && t.contains("disabled")),
            "{text:#?}"
        );
        let errors = Config::parse("exemptions:\n  objects:\n    - {kind: Pod}\n")
            .expect_err("reason required");
        assert!(errors[0].1.contains("reason"), "{errors:?}");
    }
}
