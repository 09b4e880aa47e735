use super::seccomp_baseline::{is_allowed_type, profile_type};
use super::{container_sc, minor, SECCOMP_BASELINE};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// PSA `seccompProfile_restricted` (restricted, v1.19; Windows pods allowed from v1.25).
    SeccompRestricted {
        id: "KG125",
        name: "seccomp-profile-missing",
        title: "Pods must run with a seccomp profile",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Without a seccomp profile most runtimes run containers unconfined. The restricted \
level requires `RuntimeDefault` or `Localhost`, set on the pod or on every container.",
        remediation: "Set `spec.securityContext.seccompProfile.type: RuntimeDefault` on the pod (or on \
each container).",
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
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
    }
}

impl Rule for SeccompRestricted {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if minor(cx) < 19 {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if spec.is_windows() && minor(cx) >= 25 {
            return;
        }
        let pod = profile_type(spec.security_context_field(&["seccompProfile"]));
        let pod_ok = pod.is_some_and(is_allowed_type);
        let mut explicit = Vec::new();
        if let Some(kind) = pod.filter(|k| !is_allowed_type(k)) {
            explicit.push((
                spec.field_pointer("securityContext/seccompProfile/type"),
                "pod".to_owned(),
                kind,
            ));
        }
        let mut implicit = Vec::new();
        for c in spec.containers() {
            match profile_type(container_sc(&c, &["seccompProfile"])) {
                Some(kind) if !is_allowed_type(kind) => {
                    explicit.push((
                        c.pointer("securityContext/seccompProfile/type"),
                        c.label(),
                        kind,
                    ));
                }
                Some(_) => {}
                None if !pod_ok => implicit.push(c),
                None => {}
            }
        }
        // As upstream: explicit bad values are reported instead of missing ones. The baseline
        // rule reports explicit bad values itself when it runs.
        if !explicit.is_empty() {
            if !cx.is_active(SECCOMP_BASELINE) {
                out.extend(explicit.into_iter().map(|(pointer, who, kind)| Violation {
                    pointer,
                    message: format!(
                        "{who} must not set securityContext.seccompProfile.type to \"{kind}\""
                    ),
                }));
            }
            return;
        }
        out.extend(implicit.into_iter().map(|c| Violation {
            pointer: c.pointer("securityContext/seccompProfile"),
            message: format!(
                "pod or {} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                c.label()
            ),
        }));
    }
}
