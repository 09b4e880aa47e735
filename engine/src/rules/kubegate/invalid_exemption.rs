//! KG001: reported by the checker while it applies exemption annotations
//! (`check/exemption.rs`); the rule itself inspects nothing.

use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// An exemption annotation that names no known rule, or gives no reason, exempts nothing.
    InvalidExemption {
        id: "KG001",
        name: "invalid-exemption",
        title: "Exemption annotations must name a known rule and give a reason",
        severity: Medium,
        category: Kubegate,
        scope: Exemptions,
        since: "0.1.0",
        rationale: "An exemption without a reason cannot be reviewed, and one that names an unknown \
rule (a typo, a retired id) exempts nothing while looking as if it did. kubegate does not apply \
such an annotation and reports it instead.",
        remediation: "Write the annotation as `exempt.kubegate.io/<rule id or name>: \"<why this \
object needs it, and who approved it>\"` with a rule listed by `kubegate rules`.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: cni
  annotations:
    exempt.kubegate.io/privileged-container: ""
spec:
  containers:
    - name: cni
      image: example.com/cni:1.4.0
      securityContext:
        privileged: true
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: cni
  annotations:
    exempt.kubegate.io/privileged-container: "CNI plugin must configure host networking; SEC-1423"
spec:
  containers:
    - name: cni
      image: example.com/cni:1.4.0
      securityContext:
        privileged: true
"#,
    }
}

impl Rule for InvalidExemption {
    /// Nothing: the checker finds invalid exemptions while it applies them.
    fn check(&self, _cx: &Context<'_>, _out: &mut Vec<Violation>) {}
}
