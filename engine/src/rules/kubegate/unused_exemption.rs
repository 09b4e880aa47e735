//! KG002: reported by the checker while it applies exemption annotations
//! (`check/exemption.rs`); the rule itself inspects nothing.

use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// An exemption annotation that suppresses no finding on its object.
    UnusedExemption {
        id: "KG002",
        name: "unused-exemption",
        title: "Exemption annotations must suppress a finding",
        severity: Low,
        category: Kubegate,
        scope: Exemptions,
        since: "0.1.0",
        rationale: "An exemption that suppresses nothing is stale: the object was fixed, or the \
annotation sits on the wrong object. Left in place it would silently exempt a future regression.",
        remediation: "Remove the annotation.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    exempt.kubegate.io/KG101: "was privileged during the migration; SEC-1001"
spec:
  containers:
    - name: web
      image: nginx:1.27.2
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27.2
"#,
    }
}

impl Rule for UnusedExemption {
    /// Nothing: the checker finds unused exemptions while it applies them.
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Violation>) {}
}
