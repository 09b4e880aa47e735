use super::{container_sc, minor};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `allowPrivilegeEscalation` (restricted, v1.8; Windows pods allowed from v1.25).
    AllowPrivilegeEscalation {
        id: "KG122",
        name: "privilege-escalation-allowed",
        title: "Containers must set allowPrivilegeEscalation to false",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Unless `allowPrivilegeEscalation` is false, a process can gain more privileges than \
its parent (setuid binaries, file capabilities). The restricted level requires every container to \
set it to false explicitly; unset counts as allowed.",
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container, init \
container and ephemeral container.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
      securityContext:
        allowPrivilegeEscalation: false
"#,
    }
}

impl Rule for AllowPrivilegeEscalation {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if minor(cx) < 8 {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if spec.is_windows() && minor(cx) >= 25 {
            return;
        }
        for c in spec.containers() {
            if container_sc(&c, &["allowPrivilegeEscalation"]) != Some(&Value::Bool(false)) {
                out.push(Violation {
                    pointer: c.pointer("securityContext/allowPrivilegeEscalation"),
                    message: format!(
                        "{} must set securityContext.allowPrivilegeEscalation=false",
                        c.label()
                    ),
                });
            }
        }
    }
}
