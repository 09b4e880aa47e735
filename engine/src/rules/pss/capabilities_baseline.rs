use super::{minor, strings, CAPABILITIES_RESTRICTED};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

/// The capabilities container runtimes grant by default; adding them back is allowed.
pub(crate) const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

declare_rule! {
    /// PSA `capabilities_baseline` (baseline, v1.0): `capabilities.add` only from the runtime's
    /// default set.
    CapabilitiesBaseline {
        id: "KG105",
        name: "non-default-capabilities",
        title: "Containers must not add capabilities beyond the runtime's default set",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Capabilities such as SYS_ADMIN, NET_ADMIN, NET_RAW or SYS_PTRACE hand a container \
large parts of root's power over the node's kernel. Pod Security Standards allow adding back only \
the capabilities container runtimes grant by default.",
        remediation: "Remove the extra entries from `securityContext.capabilities.add`; if the workload \
really needs one, give it a dedicated, reviewed exemption.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: sniffer
spec:
  containers:
    - name: tcpdump
      image: example.com/tcpdump:4.99.4
      securityContext:
        capabilities:
          add: [NET_RAW, NET_ADMIN]
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27.2
      securityContext:
        capabilities:
          add: [NET_BIND_SERVICE]
"#,
    }
}

impl Rule for CapabilitiesBaseline {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        // From v1.25 the restricted variant, which overrides this check, allows Windows pods.
        if spec.is_windows() && minor(cx) >= 25 && cx.is_active(CAPABILITIES_RESTRICTED) {
            return;
        }
        for c in spec.containers() {
            let add = super::container_sc(&c, &["capabilities", "add"]);
            let bad: Vec<(usize, &str)> = strings(add)
                .filter(|(_, cap)| !BASELINE_CAPABILITIES.contains(cap))
                .collect();
            out.extend(super::added_capabilities(&c, &bad));
        }
    }
}
