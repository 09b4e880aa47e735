use super::capabilities_baseline::BASELINE_CAPABILITIES;
use super::{container_sc, minor, strings, CAPABILITIES_BASELINE};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// PSA `capabilities_restricted` (restricted, v1.22; Windows pods allowed from v1.25;
    /// overrides `capabilities_baseline`).
    CapabilitiesRestricted {
        id: "KG126",
        name: "capabilities-not-dropped",
        title: "Containers must drop all capabilities and add back at most NET_BIND_SERVICE",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Even the runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, …) are more \
than most applications need. The restricted level requires `drop: [ALL]` on every container and \
allows adding back only NET_BIND_SERVICE.",
        remediation: "Set `securityContext.capabilities.drop: [\"ALL\"]` on every container and remove \
added capabilities other than NET_BIND_SERVICE.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
      securityContext:
        capabilities:
          add: [CHOWN]
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
      securityContext:
        capabilities:
          drop: [ALL]
          add: [NET_BIND_SERVICE]
"#,
    }
}

impl Rule for CapabilitiesRestricted {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if minor(cx) < 22 {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if spec.is_windows() && minor(cx) >= 25 {
            return;
        }
        // Capabilities outside the baseline set are reported by the baseline rule when it runs.
        let baseline_active = cx.is_active(CAPABILITIES_BASELINE);
        for c in spec.containers() {
            let drop = container_sc(&c, &["capabilities", "drop"]);
            if !strings(drop).any(|(_, cap)| cap == "ALL") {
                out.push(Violation {
                    pointer: c.pointer("securityContext/capabilities/drop"),
                    message: format!(
                        "{} must set securityContext.capabilities.drop=[\"ALL\"]",
                        c.label()
                    ),
                });
            }
            let add = container_sc(&c, &["capabilities", "add"]);
            let bad: Vec<(usize, &str)> = strings(add)
                .filter(|(_, cap)| *cap != "NET_BIND_SERVICE")
                .filter(|(_, cap)| !baseline_active || BASELINE_CAPABILITIES.contains(cap))
                .collect();
            out.extend(super::added_capabilities(&c, &bad));
        }
    }
}
