use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Sharing the host's network, PID or IPC namespace.
    HostNamespaces {
        id: "KG102",
        name: "host-namespaces",
        title: "Pods must not share the host's network, PID or IPC namespace",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "With hostPID a pod sees and can signal every process on the node; with hostIPC it \
can read other processes' shared memory; with hostNetwork it can sniff node traffic and reach \
services bound to localhost. Pod Security Standards forbid all three at the baseline level.",
        remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` from the pod spec (or set them to \
false). Expose ports through a Service instead of the host network.",
        failing_example: r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      hostPID: true
      containers:
        - name: agent
          image: example.com/agent:2.1.0
"#,
        passing_example: r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
spec:
  selector:
    matchLabels: {app: node-agent}
  template:
    metadata:
      labels: {app: node-agent}
    spec:
      hostPID: false
      containers:
        - name: agent
          image: example.com/agent:2.1.0
"#,
    }
}

impl Rule for HostNamespaces {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if spec.spec.get(field) == Some(&Value::Bool(true)) {
                out.push(Violation {
                    pointer: spec.field_pointer(field),
                    message: format!("pod must not set {field}=true"),
                });
            }
        }
    }
}
