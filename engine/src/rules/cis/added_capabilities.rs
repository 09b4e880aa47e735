use crate::model::workload::pod_spec;
use crate::rules::pss::capabilities_baseline::BASELINE_CAPABILITIES;
use crate::rules::pss::{
    container_sc, join_quote, minor, strings, CAPABILITIES_BASELINE, CAPABILITIES_RESTRICTED,
};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// CIS 5.2.9: containers should not add capabilities at all.
    AddedCapabilities {
        id: "KG132",
        name: "added-capabilities",
        title: "Containers should not add Linux capabilities",
        severity: Low,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Every added capability widens what a compromised container can do to the node. \
CIS 5.2.9 asks to minimize containers with added capabilities, and audits any non-empty \
`capabilities.add`. Where the Pod Security rules run, they report the capabilities they forbid \
(KG105, KG126); this rule reports the ones left over, such as NET_BIND_SERVICE, which the \
restricted level tolerates but CIS still counts.",
        remediation: "Remove `securityContext.capabilities.add`; bind to ports above 1024 instead of \
adding NET_BIND_SERVICE.",
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
          drop: [ALL]
          add: [NET_BIND_SERVICE]
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
          drop: [ALL]
"#,
    }
}

impl Rule for AddedCapabilities {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        let version = minor(cx);
        let windows_exempt = spec.is_windows() && version >= 25;
        let restricted = cx.is_active(CAPABILITIES_RESTRICTED) && version >= 22 && !windows_exempt;
        let baseline = cx.is_active(CAPABILITIES_BASELINE)
            && !(windows_exempt && cx.is_active(CAPABILITIES_RESTRICTED));
        // Whether a Pod Security rule already reports this added capability.
        let covered = |cap: &str| {
            (baseline && !BASELINE_CAPABILITIES.contains(&cap))
                || (restricted && cap != "NET_BIND_SERVICE")
        };
        for c in spec.containers() {
            let add = container_sc(&c, &["capabilities", "add"]);
            let left: Vec<(usize, &str)> = strings(add).filter(|(_, cap)| !covered(cap)).collect();
            let Some(&(first, _)) = left.first() else {
                continue;
            };
            out.push(Violation {
                pointer: c.pointer(&format!("securityContext/capabilities/add/{first}")),
                message: format!(
                    "{} adds capabilities {}",
                    c.label(),
                    join_quote(left.iter().map(|(_, cap)| *cap))
                ),
            });
        }
    }
}
