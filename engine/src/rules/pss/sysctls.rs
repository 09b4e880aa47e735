use super::minor;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

/// `(policy minor version that allows it, sysctl)`.
const SAFE_SYSCTLS: [(u32, &str); 14] = [
    (0, "kernel.shm_rmid_forced"),
    (0, "net.ipv4.ip_local_port_range"),
    (0, "net.ipv4.tcp_syncookies"),
    (0, "net.ipv4.ping_group_range"),
    (0, "net.ipv4.ip_unprivileged_port_start"),
    (27, "net.ipv4.ip_local_reserved_ports"),
    (29, "net.ipv4.tcp_keepalive_time"),
    (29, "net.ipv4.tcp_fin_timeout"),
    (29, "net.ipv4.tcp_keepalive_intvl"),
    (29, "net.ipv4.tcp_keepalive_probes"),
    (32, "net.ipv4.tcp_rmem"),
    (32, "net.ipv4.tcp_wmem"),
    (37, "net.ipv4.tcp_slow_start_after_idle"),
    (37, "net.ipv4.tcp_notsent_lowat"),
];

declare_rule! {
    /// PSA `sysctls` (baseline, v1.0, v1.27, v1.29, v1.32, v1.37): only namespaced, safe sysctls.
    Sysctls {
        id: "KG110",
        name: "unsafe-sysctls",
        title: "Pods may set only the sysctls that are safe and namespaced",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Sysctls outside the safe set either act on the whole node or can starve other \
pods of kernel resources. Pod Security Standards allow a fixed list that grows with policy \
versions (v1.27, v1.29, v1.32 and v1.37 added names).",
        remediation: "Remove the sysctl from `spec.securityContext.sysctls`, or tune it on the node.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: tuned
spec:
  securityContext:
    sysctls:
      - name: net.core.somaxconn
        value: "4096"
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: tuned
spec:
  securityContext:
    sysctls:
      - name: net.ipv4.ip_local_port_range
        value: "1024 65000"
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
    }
}

fn allowed(name: &str, minor: u32) -> bool {
    SAFE_SYSCTLS
        .iter()
        .any(|(since, safe)| *safe == name && minor >= *since)
}

impl Rule for Sysctls {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        let version = minor(cx);
        let sysctls = spec
            .security_context_field(&["sysctls"])
            .and_then(Value::as_array);
        for (i, sysctl) in sysctls.into_iter().flatten().enumerate() {
            let Some(name) = sysctl.get("name").and_then(Value::as_str) else {
                continue;
            };
            if !allowed(name, version) {
                out.push(Violation {
                    pointer: spec.field_pointer(&format!("securityContext/sysctls/{i}/name")),
                    message: format!("forbidden sysctl {name}"),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_grows_with_versions() {
        assert!(allowed("kernel.shm_rmid_forced", 0));
        assert!(!allowed("net.ipv4.ip_local_reserved_ports", 26));
        assert!(allowed("net.ipv4.ip_local_reserved_ports", 27));
        assert!(!allowed("net.ipv4.tcp_rmem", 31));
        assert!(allowed("net.ipv4.tcp_rmem", 32));
        assert!(!allowed("net.ipv4.tcp_notsent_lowat", 36));
        assert!(allowed("net.ipv4.tcp_notsent_lowat", 37));
        assert!(!allowed("", 37));
        assert!(!allowed("net.core.somaxconn", 37));
    }
}
