use super::{container_sc, minor};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `runAsNonRoot` (restricted, v1.0; pods in a user namespace allowed from v1.35).
    RunAsNonRoot {
        id: "KG123",
        name: "run-as-non-root",
        title: "Containers must be required to run as a non-root user",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Root in a container is root on the node's kernel as far as the kernel is \
concerned; a runtime or kernel bug then becomes a node compromise. The restricted level requires \
`runAsNonRoot: true` on the pod or on every container, which makes the kubelet refuse to start an \
image that would run as UID 0. From policy v1.35 pods with `hostUsers: false` are exempt: their \
root is unprivileged on the node.",
        remediation: "Set `spec.securityContext.runAsNonRoot: true` and build images that run as a \
non-zero UID (`USER 10001`).",
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
  securityContext:
    runAsNonRoot: true
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
    }
}

impl Rule for RunAsNonRoot {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if minor(cx) >= 35 && spec.uses_user_namespace() {
            return;
        }
        let pod = spec.security_context_field(&["runAsNonRoot"]);
        let mut explicit = Vec::new();
        if pod == Some(&Value::Bool(false)) {
            explicit.push(Violation {
                pointer: spec.field_pointer("securityContext/runAsNonRoot"),
                message: "pod must not set securityContext.runAsNonRoot=false".into(),
            });
        }
        let pod_true = pod == Some(&Value::Bool(true));
        let mut implicit = Vec::new();
        for c in spec.containers() {
            match container_sc(&c, &["runAsNonRoot"]) {
                Some(Value::Bool(false)) => explicit.push(Violation {
                    pointer: c.pointer("securityContext/runAsNonRoot"),
                    message: format!(
                        "{} must not set securityContext.runAsNonRoot=false",
                        c.label()
                    ),
                }),
                Some(Value::Bool(true)) => {}
                _ if pod_true => {}
                _ => implicit.push(Violation {
                    pointer: c.pointer("securityContext/runAsNonRoot"),
                    message: format!(
                        "pod or {} must set securityContext.runAsNonRoot=true",
                        c.label()
                    ),
                }),
            }
        }
        // As upstream: an explicit `false` is reported instead of missing settings.
        out.extend(if explicit.is_empty() {
            implicit
        } else {
            explicit
        });
    }
}
