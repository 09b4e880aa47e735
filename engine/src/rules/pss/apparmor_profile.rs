use super::container_sc;
use crate::model::position::child_pointer;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

declare_rule! {
    /// PSA `appArmorProfile` (baseline, v1.0; fields since the library of v1.30, at every version).
    AppArmorProfile {
        id: "KG106",
        name: "apparmor-unconfined",
        title: "AppArmor must not be disabled or overridden with an unknown profile",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "AppArmor confines what a container process may do on the node. Setting the \
profile to Unconfined (or an unknown value) removes that layer. Pod Security Standards allow only \
the runtime's default profile or a profile loaded on the node.",
        remediation: "Remove the AppArmor setting, or set `securityContext.appArmorProfile.type` to \
`RuntimeDefault` or `Localhost` (annotations: `runtime/default` or `localhost/<profile>`).",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        appArmorProfile:
          type: Unconfined
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: shell
      image: busybox:1.36
      securityContext:
        appArmorProfile:
          type: RuntimeDefault
"#,
    }
}

/// The type of a set `appArmorProfile`, if it is not allowed (an unset `type` is `""`).
fn bad_type(profile: Option<&Value>) -> Option<&str> {
    let profile = profile?.as_object()?;
    let kind = profile.get("type").and_then(Value::as_str).unwrap_or("");
    (!matches!(kind, "RuntimeDefault" | "Localhost")).then_some(kind)
}

impl Rule for AppArmorProfile {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        let message = |who: &str, kind: &str| {
            format!("{who} must not set AppArmor profile type to \"{kind}\"")
        };
        if let Some(kind) = bad_type(spec.security_context_field(&["appArmorProfile"])) {
            out.push(Violation {
                pointer: spec.field_pointer("securityContext/appArmorProfile/type"),
                message: message("pod", kind),
            });
        }
        for c in spec.containers() {
            if let Some(kind) = bad_type(container_sc(&c, &["appArmorProfile"])) {
                out.push(Violation {
                    pointer: c.pointer("securityContext/appArmorProfile/type"),
                    message: message(&c.label(), kind),
                });
            }
        }
        let Some(annotations) = spec.annotations(cx.manifest) else {
            return;
        };
        for (key, value) in annotations {
            if !key.starts_with(ANNOTATION_PREFIX) {
                continue;
            }
            let value = value.as_str().unwrap_or_default();
            if value.is_empty() || value == "runtime/default" || value.starts_with("localhost/") {
                continue;
            }
            out.push(Violation {
                pointer: child_pointer(&format!("{}/annotations", spec.metadata_pointer()), key),
                message: format!(
                    "annotation must not set AppArmor profile type to {key}=\"{value}\""
                ),
            });
        }
    }
}
