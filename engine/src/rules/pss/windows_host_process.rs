use super::container_sc;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `windowsHostProcess` (baseline, v1.0).
    WindowsHostProcess {
        id: "KG111",
        name: "windows-host-process",
        title: "Windows containers must not run as HostProcess",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "A Windows HostProcess container runs directly on the node with the node's network \
and file system: the Windows equivalent of a privileged container. Pod Security Standards forbid \
it at the baseline level.",
        remediation: "Remove `securityContext.windowsOptions.hostProcess: true` from the pod and its \
containers.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: win-agent
spec:
  securityContext:
    windowsOptions:
      hostProcess: true
      runAsUserName: "NT AUTHORITY\\SYSTEM"
  hostNetwork: true
  nodeSelector:
    kubernetes.io/os: windows
  containers:
    - name: agent
      image: example.com/win-agent:1.2.0
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: win-agent
spec:
  nodeSelector:
    kubernetes.io/os: windows
  containers:
    - name: agent
      image: example.com/win-agent:1.2.0
"#,
    }
}

impl Rule for WindowsHostProcess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        let message = |who: &str| {
            format!("{who} must not set securityContext.windowsOptions.hostProcess=true")
        };
        if spec.security_context_field(&["windowsOptions", "hostProcess"])
            == Some(&Value::Bool(true))
        {
            out.push(Violation {
                pointer: spec.field_pointer("securityContext/windowsOptions/hostProcess"),
                message: message("pod"),
            });
        }
        for c in spec.containers() {
            if container_sc(&c, &["windowsOptions", "hostProcess"]) == Some(&Value::Bool(true)) {
                out.push(Violation {
                    pointer: c.pointer("securityContext/windowsOptions/hostProcess"),
                    message: message(&c.label()),
                });
            }
        }
    }
}
