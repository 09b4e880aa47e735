use super::{container_sc, minor, SECCOMP_RESTRICTED};
use crate::model::position::child_pointer;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `seccompProfile_baseline` (baseline, v1.0: alpha annotations; v1.19: fields).
    SeccompBaseline {
        id: "KG109",
        name: "seccomp-unconfined",
        title: "Seccomp must not be disabled",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Seccomp filters the system calls a container may make; `Unconfined` exposes the \
whole kernel syscall surface, the usual path for container escapes. Pod Security Standards forbid \
an explicitly unconfined profile at the baseline level (up to policy v1.18 through the alpha \
annotations, from v1.19 through `securityContext.seccompProfile`).",
        remediation: "Set `securityContext.seccompProfile.type` to `RuntimeDefault` (or `Localhost` \
with a reviewed profile), or remove the setting.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: strace
spec:
  securityContext:
    seccompProfile:
      type: Unconfined
  containers:
    - name: strace
      image: example.com/strace:6.10
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: strace
spec:
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: strace
      image: example.com/strace:6.10
"#,
    }
}

/// The type of a set `seccompProfile` (`""` when its `type` is missing), or `None` if unset.
pub(crate) fn profile_type(profile: Option<&Value>) -> Option<&str> {
    let profile = profile?.as_object()?;
    Some(profile.get("type").and_then(Value::as_str).unwrap_or(""))
}

pub(crate) fn is_allowed_type(kind: &str) -> bool {
    matches!(kind, "RuntimeDefault" | "Localhost")
}

fn allowed_annotation(value: &str) -> bool {
    matches!(value, "runtime/default" | "docker/default") || value.starts_with("localhost/")
}

impl Rule for SeccompBaseline {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if minor(cx) < 19 {
            // Policy v1.0–v1.18 read the alpha annotations only.
            let Some(annotations) = spec.annotations(cx.manifest) else {
                return;
            };
            let base = format!("{}/annotations", spec.metadata_pointer());
            let mut keys = vec!["seccomp.security.alpha.kubernetes.io/pod".to_owned()];
            keys.extend(spec.containers().map(|c| {
                format!(
                    "container.seccomp.security.alpha.kubernetes.io/{}",
                    c.name()
                )
            }));
            for key in keys {
                let Some(value) = annotations.get(&key) else {
                    continue;
                };
                let value = value.as_str().unwrap_or_default();
                if !allowed_annotation(value) {
                    out.push(Violation {
                        pointer: child_pointer(&base, &key),
                        message: format!("forbidden annotation {key}=\"{value}\""),
                    });
                }
            }
            return;
        }
        // The restricted variant, which overrides this one, allows Windows pods from v1.25.
        if spec.is_windows() && minor(cx) >= 25 && cx.is_active(SECCOMP_RESTRICTED) {
            return;
        }
        let message = |who: &str, kind: &str| {
            format!("{who} must not set securityContext.seccompProfile.type to \"{kind}\"")
        };
        if let Some(kind) = profile_type(spec.security_context_field(&["seccompProfile"])) {
            if !is_allowed_type(kind) {
                out.push(Violation {
                    pointer: spec.field_pointer("securityContext/seccompProfile/type"),
                    message: message("pod", kind),
                });
            }
        }
        for c in spec.containers() {
            if let Some(kind) = profile_type(container_sc(&c, &["seccompProfile"])) {
                if !is_allowed_type(kind) {
                    out.push(Violation {
                        pointer: c.pointer("securityContext/seccompProfile/type"),
                        message: message(&c.label(), kind),
                    });
                }
            }
        }
    }
}
