use super::minor;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `hostProbesAndHostLifecycle` (baseline, v1.34).
    ProbeHost {
        id: "KG112",
        name: "probe-host",
        title: "Probes and lifecycle hooks must not target another host",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "An HTTP or TCP probe or lifecycle hook with `host` set makes the kubelet connect to \
an address of the pod author's choosing, from the node: a way to reach services the pod itself \
cannot. From policy v1.34 the baseline level forbids any `host` (including localhost).",
        remediation: "Remove `host` from `httpGet` and `tcpSocket` handlers; they then target the pod's \
own IP.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27.2
      livenessProbe:
        httpGet:
          host: metadata.internal
          path: /
          port: 80
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27.2
      livenessProbe:
        httpGet:
          path: /
          port: 80
"#,
    }
}

const HANDLERS: [(&str, &str); 5] = [
    ("livenessProbe", ""),
    ("readinessProbe", ""),
    ("startupProbe", ""),
    ("lifecycle", "postStart"),
    ("lifecycle", "preStop"),
];

impl Rule for ProbeHost {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if minor(cx) < 34 {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        for c in spec.containers() {
            for (field, hook) in HANDLERS {
                let handler = match (c.value.get(field), hook) {
                    (Some(h), "") => h,
                    (Some(h), hook) => match h.get(hook) {
                        Some(h) => h,
                        None => continue,
                    },
                    (None, _) => continue,
                };
                for kind in ["httpGet", "tcpSocket"] {
                    let Some(host) = handler
                        .get(kind)
                        .and_then(|k| k.get("host"))
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    if host.is_empty() {
                        continue;
                    }
                    let path = if hook.is_empty() {
                        format!("{field}/{kind}/host")
                    } else {
                        format!("{field}/{hook}/{kind}/host")
                    };
                    out.push(Violation {
                        pointer: c.pointer(&path),
                        message: format!("{} uses probe or lifecycle host \"{host}\"", c.label()),
                    });
                }
            }
        }
    }
}
