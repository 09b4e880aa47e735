use super::{container_sc, minor};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `runAsUser` (restricted, v1.23; pods in a user namespace allowed from v1.35).
    RunAsUser {
        id: "KG124",
        name: "run-as-user-root",
        title: "Containers must not set runAsUser to 0",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "`runAsUser: 0` runs the container as root regardless of the image. The restricted \
level forbids it on the pod and on every container (from policy v1.23; from v1.35 pods with \
`hostUsers: false` are exempt).",
        remediation: "Remove `runAsUser: 0` or set a non-zero UID.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  securityContext:
    runAsUser: 0
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  securityContext:
    runAsUser: 10001
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
    }
}

fn is_root(value: Option<&Value>) -> bool {
    value.and_then(Value::as_i64) == Some(0)
}

impl Rule for RunAsUser {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if minor(cx) < 23 {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if minor(cx) >= 35 && spec.uses_user_namespace() {
            return;
        }
        if is_root(spec.security_context_field(&["runAsUser"])) {
            out.push(Violation {
                pointer: spec.field_pointer("securityContext/runAsUser"),
                message: "pod must not set runAsUser=0".into(),
            });
        }
        for c in spec.containers() {
            if is_root(container_sc(&c, &["runAsUser"])) {
                out.push(Violation {
                    pointer: c.pointer("securityContext/runAsUser"),
                    message: format!("{} must not set runAsUser=0", c.label()),
                });
            }
        }
    }
}
