use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `hostPorts` (baseline, v1.0): no container may use a host port other than 0.
    HostPorts {
        id: "KG104",
        name: "host-ports",
        title: "Containers must not bind host ports",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "A hostPort binds a port on the node itself: it bypasses NetworkPolicy on many \
CNIs, limits scheduling to nodes where the port is free, and exposes the container on the node's \
address. Pod Security Standards forbid host ports at the baseline level.",
        remediation: "Remove `hostPort` (or set it to 0) and expose the container through a Service.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: proxy
spec:
  containers:
    - name: proxy
      image: envoyproxy/envoy:v1.31.2
      ports:
        - containerPort: 8080
          hostPort: 80
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: proxy
spec:
  containers:
    - name: proxy
      image: envoyproxy/envoy:v1.31.2
      ports:
        - containerPort: 8080
"#,
    }
}

impl Rule for HostPorts {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        for c in spec.containers() {
            let ports = c
                .value
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for (j, port) in ports.enumerate() {
                let Some(host_port) = port.get("hostPort").and_then(Value::as_i64) else {
                    continue;
                };
                if host_port != 0 {
                    out.push(Violation {
                        pointer: c.pointer(&format!("ports/{j}/hostPort")),
                        message: format!("{} uses hostPort {host_port}", c.label()),
                    });
                }
            }
        }
    }
}
