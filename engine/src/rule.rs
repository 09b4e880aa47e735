//! Rule metadata and the [`Rule`] trait. Every rule declares its metadata once, as a
//! `static RuleMeta`; `kubegate rules`, `kubegate explain`, `docs/rules.md` and the JSON
//! output all read that one declaration.

use crate::manifest::Manifest;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?} (expected low, medium, high or critical)"
            )),
        }
    }
}

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Problems with kubegate's own inputs: malformed objects, exemption annotations.
    Kubegate,
    PodSecurity,
    Images,
    Resources,
    /// Roles, bindings and service accounts: who may do what in the cluster.
    Rbac,
    /// Network isolation between workloads.
    Network,
    /// How workloads receive Secrets.
    Secrets,
    /// Where objects are placed: namespaces as administrative boundaries.
    Namespaces,
    /// Whether workloads stay available: probes, replicas, disruption budgets.
    Reliability,
    /// What a workload makes reachable from outside the cluster.
    Exposure,
    /// Whether the API server still serves an object's `apiVersion`.
    ApiVersions,
    /// Labels that tools and people use to find and group objects.
    Labels,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Kubegate => "kubegate",
            Category::PodSecurity => "pod-security",
            Category::Images => "images",
            Category::Resources => "resources",
            Category::Rbac => "rbac",
            Category::Network => "network",
            Category::Secrets => "secrets",
            Category::Namespaces => "namespaces",
            Category::Reliability => "reliability",
            Category::Exposure => "exposure",
            Category::ApiVersions => "api-versions",
            Category::Labels => "labels",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule is and why, declared once next to its code. Its default severity, packs and
/// benchmark references are data under `policies/` (see [`crate::catalog`]).
#[derive(Debug, Serialize)]
pub struct RuleMeta {
    /// Stable identifier, never reused (`KG101`).
    pub id: &'static str,
    /// Short kebab-case name (`privileged-container`); also accepted wherever an id is.
    pub name: &'static str,
    pub title: &'static str,
    pub category: Category,
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// A manifest the rule must flag. The test suite runs it.
    pub failing_example: &'static str,
    /// A manifest the rule must accept. The test suite runs it.
    pub passing_example: &'static str,
    /// kubegate version that introduced the rule.
    pub since: &'static str,
}

/// One problem a rule found, before the engine attaches identity and position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer (relative to the object) of the offending field, or of the nearest node
    /// that should contain a missing one.
    pub pointer: String,
    pub message: String,
}

/// Settings that change what rules decide (not which rules run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    pub pss: crate::pss::PssSettings,
}

/// What a rule sees: one object, every object of the run, and the run's settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub manifest: &'a Manifest,
    pub inventory: &'a crate::inventory::Inventory<'a>,
    pub settings: &'a Settings,
    /// The rules of this run, so a rule can defer to another that covers part of its ground.
    pub active: &'a [&'static dyn Rule],
    /// The run's schema settings and schemas (target Kubernetes version, strictness, `--crd`).
    pub schema: &'a crate::kube_schema::SchemaContext,
}

impl Context<'_> {
    /// Whether the rule with this id runs in this run.
    pub fn is_active(&self, rule_id: &str) -> bool {
        self.active.iter().any(|r| r.meta().id == rule_id)
    }
}

/// A built-in check. Rules get the parsed object once and report by JSON pointer; they never
/// re-parse and never compute positions.
pub trait Rule: Send + Sync + 'static {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>);

    /// Whether the verdict on an object depends on *other* objects of the input (through
    /// [`Context::inventory`]), so that judging the object alone gives a wrong answer: a
    /// Namespace without its NetworkPolicies, a Deployment without its autoscaler. Front ends
    /// that see one object at a time (the admission webhook) do not run these rules.
    ///
    /// Rules that only *add* schemas from the input (CRDs, KG004/KG006) are not such rules:
    /// they get the same schemas from `--crd`.
    fn needs_whole_input(&self) -> bool {
        false
    }

    /// Whether this run reports the rule's findings as advisory notes (shown, never failing
    /// the run, dry-run in the webhook) rather than at their severity. Asked only when the
    /// rule found something.
    fn advisory(&self, _cx: &Context<'_>) -> bool {
        false
    }
}

impl fmt::Debug for dyn Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.meta().id)
    }
}
