//! The vocabulary every layer shares: how bad a finding is ([`Severity`]), what a rule is about
//! ([`Category`]), what a rule declares about itself ([`RuleMeta`]) and what it reports
//! ([`Violation`]). A leaf: it depends on no other module of the crate.

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
    /// What the API server's own validation refuses, beyond the schema.
    ApiServer,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: [Category; 13] = [
        Category::Kubegate,
        Category::PodSecurity,
        Category::Images,
        Category::Resources,
        Category::Rbac,
        Category::Network,
        Category::Secrets,
        Category::Namespaces,
        Category::Reliability,
        Category::Exposure,
        Category::ApiVersions,
        Category::Labels,
        Category::ApiServer,
    ];

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
            Category::ApiServer => "api-server",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a finding where policy is enforced: the webhook's per-rule `enforcement`,
/// and a Gatekeeper constraint's `enforcementAction` (`deny`, `warn`, `dryrun`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    Deny,
    Warn,
    #[serde(rename = "dryrun")]
    DryRun,
}

/// What a rule needs to see to decide: this sets where it can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The object alone: runs everywhere, the admission webhook included.
    Object,
    /// Other objects of the input too (a namespace's NetworkPolicies, a Deployment's
    /// autoscaler): judging one object alone would give a wrong answer, so one admission request
    /// does not run it. Rules that only take schemas from the input (CRDs, KG004/KG006) are not
    /// such rules: they get the same schemas from `--crd`.
    WholeInput,
    /// The object's other findings: the engine reports these while it applies exemption
    /// annotations (KG001, KG002); the rule itself inspects nothing.
    Exemptions,
}

/// Whether a rule id is in use. Ids are never reused: a retired rule keeps its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// No longer checked since kubegate `since`; `note` says why, or what replaces it.
    Retired {
        since: &'static str,
        note: &'static str,
    },
}

/// What a rule is and why, declared once next to its code (`declare_rule!` in `rules/`).
/// Its packs and benchmark references are data under `policies/`.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable identifier, never reused (`KG101`).
    pub id: &'static str,
    /// Short kebab-case name (`privileged-container`); also accepted wherever an id is.
    pub name: &'static str,
    pub title: &'static str,
    /// Severity of its findings unless a configuration overrides it.
    pub severity: Severity,
    pub category: Category,
    pub scope: Scope,
    pub status: Status,
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

#[cfg(test)]
mod tests {
    use super::Category;

    /// `Category::ALL` lists every variant once: the match below stops compiling when a
    /// category is added, until it is given its place here and in `ALL`.
    #[test]
    fn every_category_is_listed_once() {
        let index = |c: Category| match c {
            Category::Kubegate => 0,
            Category::PodSecurity => 1,
            Category::Images => 2,
            Category::Resources => 3,
            Category::Rbac => 4,
            Category::Network => 5,
            Category::Secrets => 6,
            Category::Namespaces => 7,
            Category::Reliability => 8,
            Category::Exposure => 9,
            Category::ApiVersions => 10,
            Category::Labels => 11,
            Category::ApiServer => 12,
        };
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(index(*c), i, "{c}");
        }
    }
}
