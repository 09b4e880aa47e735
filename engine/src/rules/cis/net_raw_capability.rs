use crate::model::workload::pod_spec;
use crate::rules::pss::capabilities_baseline::BASELINE_CAPABILITIES;
use crate::rules::pss::{
    container_sc, minor, strings, CAPABILITIES_BASELINE, CAPABILITIES_RESTRICTED,
};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// CIS 5.2.8: containers must not keep NET_RAW.
    NetRawCapability {
        id: "KG131",
        name: "net-raw-capability",
        title: "Containers must drop the NET_RAW capability",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "NET_RAW lets a process craft raw packets: ARP and DNS spoofing of its neighbours \
on the node's network. Container runtimes grant it by default, so a container keeps it unless it \
drops NET_RAW (or ALL). CIS 5.2.8 asks to minimize containers with NET_RAW. Where the Pod \
Security rules run they already cover this (KG126 requires dropping ALL, KG105 forbids adding \
NET_RAW); this rule reports only what they do not.",
        remediation: "Add `NET_RAW` (or better `ALL`) to `securityContext.capabilities.drop`, and do \
not add it back.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27.2
      securityContext:
        capabilities:
          drop: [MKNOD]
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
          drop: [NET_RAW]
"#,
    }
}

impl Rule for NetRawCapability {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if spec.is_windows() {
            return;
        }
        let restricted_applies = cx.is_active(CAPABILITIES_RESTRICTED) && minor(cx) >= 22;
        let baseline_active = cx.is_active(CAPABILITIES_BASELINE);
        debug_assert!(!BASELINE_CAPABILITIES.contains(&"NET_RAW"));
        for c in spec.containers() {
            let drop = container_sc(&c, &["capabilities", "drop"]);
            let drops_all = strings(drop).any(|(_, cap)| cap == "ALL");
            let drops_net_raw = drops_all || strings(drop).any(|(_, cap)| cap == "NET_RAW");
            let add = container_sc(&c, &["capabilities", "add"]);
            let added = strings(add).find(|(_, cap)| *cap == "NET_RAW" || *cap == "ALL");
            if let Some((i, cap)) = added {
                // KG105 reports any capability outside the baseline set, NET_RAW and ALL included.
                if !baseline_active {
                    out.push(Violation {
                        pointer: c.pointer(&format!("securityContext/capabilities/add/{i}")),
                        message: format!("{} adds {cap}, which grants NET_RAW", c.label()),
                    });
                }
            } else if !drops_net_raw && !restricted_applies {
                // Capability names are matched exactly, as Pod Security Admission matches
                // them; a drop that differs only in case is named, since the container runtime
                // (containerd) upper-cases it and does drop the capability at run time.
                let near = strings(drop)
                    .find(|(_, cap)| {
                        cap.eq_ignore_ascii_case("ALL") || cap.eq_ignore_ascii_case("NET_RAW")
                    })
                    .map(|(_, cap)| cap);
                let message = match near {
                    Some(cap) => format!(
                        "{} keeps NET_RAW as Kubernetes reads it: it drops {cap:?}, and capability \
names are matched exactly (write {:?}; containerd upper-cases the name and drops it at run time, \
but Pod Security Admission and other runtimes do not)",
                        c.label(),
                        cap.to_ascii_uppercase()
                    ),
                    None => format!(
                        "{} keeps NET_RAW; add NET_RAW or ALL to securityContext.capabilities.drop",
                        c.label()
                    ),
                };
                out.push(Violation {
                    pointer: c.pointer("securityContext/capabilities/drop"),
                    message,
                });
            }
        }
    }
}
