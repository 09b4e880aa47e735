use super::{container_sc, join_quote, minor};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `seLinuxOptions` (baseline, v1.0 and v1.31).
    SeLinuxOptions {
        id: "KG107",
        name: "selinux-options",
        title: "SELinux options must not change the container's user, role or type",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "A custom SELinux user or role, or a type other than the container types, can lift \
the SELinux confinement that separates containers from the node. Pod Security Standards allow \
only the container types and forbid setting user and role.",
        remediation: "Remove `seLinuxOptions.user` and `.role`, and use `container_t`, \
`container_init_t`, `container_kvm_t` (or, from policy v1.31, `container_engine_t`) as `type`.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: labelled
spec:
  securityContext:
    seLinuxOptions:
      type: spc_t
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: labelled
spec:
  securityContext:
    seLinuxOptions:
      type: container_t
      level: "s0:c123,c456"
  containers:
    - name: app
      image: registry.example.com/app:2.0.1
"#,
    }
}

/// What is wrong with one `seLinuxOptions` object, as `(field, description)` parts.
fn problems(options: &Value, allow_engine_type: bool) -> Vec<(&'static str, String)> {
    let mut parts = Vec::new();
    let field = |name: &str| options.get(name).and_then(Value::as_str).unwrap_or("");
    let kind = field("type");
    let allowed = matches!(
        kind,
        "" | "container_t" | "container_init_t" | "container_kvm_t"
    ) || (allow_engine_type && kind == "container_engine_t");
    if !allowed {
        parts.push(("type", format!("type {}", join_quote([kind]))));
    }
    if !field("user").is_empty() {
        parts.push(("user", "user may not be set".to_owned()));
    }
    if !field("role").is_empty() {
        parts.push(("role", "role may not be set".to_owned()));
    }
    parts
}

impl Rule for SeLinuxOptions {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        let engine_type = minor(cx) >= 31;
        let mut report = |who: String, options: Option<&Value>, base: String| {
            let Some(options) = options.filter(|o| o.is_object()) else {
                return;
            };
            let parts = problems(options, engine_type);
            let Some((first, _)) = parts.first() else {
                return;
            };
            let text: Vec<&str> = parts.iter().map(|(_, t)| t.as_str()).collect();
            out.push(Violation {
                pointer: format!("{base}/{first}"),
                message: format!(
                    "{who} set forbidden securityContext.seLinuxOptions: {}",
                    text.join("; ")
                ),
            });
        };
        report(
            "pod".into(),
            spec.security_context_field(&["seLinuxOptions"]),
            spec.field_pointer("securityContext/seLinuxOptions"),
        );
        for c in spec.containers() {
            report(
                c.label(),
                container_sc(&c, &["seLinuxOptions"]),
                c.pointer("securityContext/seLinuxOptions"),
            );
        }
    }
}
