use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// A privileged container runs with every capability and full access to the host's devices.
    PrivilegedContainer {
        id: "KG101",
        name: "privileged-container",
        title: "Containers must not run privileged",
        severity: Critical,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "A privileged container has all Linux capabilities and sees every host device; \
escaping to the node is trivial. Pod Security Standards forbid it at the baseline level.",
        remediation: "Remove `securityContext.privileged: true` (or set it to false) and grant only the \
specific capabilities the workload needs.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: true
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        privileged: false
"#,
    }
}

impl Rule for PrivilegedContainer {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        for c in spec.containers() {
            if c.get(&["securityContext", "privileged"]) == Some(&Value::Bool(true)) {
                out.push(Violation {
                    pointer: c.pointer("securityContext/privileged"),
                    message: format!("{} must not set securityContext.privileged=true", c.label()),
                });
            }
        }
    }
}
