use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

/// The restricted Pod Security rule that requires a security context on every container.
const PRIVILEGE_ESCALATION: &str = crate::rules::pss::allow_privilege_escalation::META.id;

declare_rule! {
    /// CIS 5.7.3: pods and containers should have a security context.
    SecurityContextMissing {
        id: "KG133",
        name: "security-context-missing",
        title: "Pods and containers should set a security context",
        severity: Low,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Without a security context a container runs with the image's user (often root), \
the runtime's default capabilities and privilege escalation allowed. CIS 5.7.3 asks to apply \
security contexts to pods and containers. Where the Pod Security restricted rules run they \
demand specific settings on every container; this rule then stays silent.",
        remediation: "Set `spec.securityContext` (runAsNonRoot, seccompProfile) and each container's \
`securityContext` (allowPrivilegeEscalation: false, capabilities.drop: [ALL], \
readOnlyRootFilesystem).",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  securityContext:
    runAsNonRoot: true
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
      securityContext:
        allowPrivilegeEscalation: false
"#,
    }
}

fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(_) => false,
    }
}

impl Rule for SecurityContextMissing {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if cx.is_active(PRIVILEGE_ESCALATION) {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if !is_empty(spec.spec.get("securityContext")) {
            return;
        }
        for c in spec.containers() {
            if is_empty(c.value.get("securityContext")) {
                out.push(Violation {
                    pointer: c.pointer("securityContext"),
                    message: format!("neither the pod nor {} sets a securityContext", c.label()),
                });
            }
        }
    }
}
