use super::{container_sc, minor};
use crate::model::workload::{pod_spec, Container, PodSpec};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PSA `procMount` (baseline, v1.0 and v1.35: pods in a user namespace are relaxed).
    ProcMount {
        id: "KG108",
        name: "proc-mount-unmasked",
        title: "Containers must use the default (masked) /proc mount",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "The default /proc mount masks paths such as /proc/kcore and /proc/sysrq-trigger \
that expose or control the node's kernel. `Unmasked` removes those masks. From policy v1.35 the \
baseline level allows it for pods in their own user namespace (`hostUsers: false`), where the \
masks protect nothing of the node's; the restricted level never does.",
        remediation: "Remove `securityContext.procMount` or set it to `Default`.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: nested
spec:
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0
      securityContext:
        procMount: Unmasked
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: nested
spec:
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0
      securityContext:
        procMount: Default
"#,
    }
}

/// Containers whose `procMount` is set to anything but `Default`, with the value.
pub(crate) fn unmasked<'a>(spec: &PodSpec<'a>) -> Vec<(Container<'a>, &'a str)> {
    spec.containers()
        .filter_map(|c| match container_sc(&c, &["procMount"]) {
            Some(Value::String(v)) if v != "Default" => Some((c, v.as_str())),
            _ => None,
        })
        .collect()
}

pub(crate) fn violation(c: &Container<'_>, value: &str) -> Violation {
    Violation {
        pointer: c.pointer("securityContext/procMount"),
        message: format!(
            "{} must not set securityContext.procMount to \"{value}\"",
            c.label()
        ),
    }
}

impl Rule for ProcMount {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if minor(cx) >= 35 && spec.uses_user_namespace() {
            return;
        }
        out.extend(unmasked(&spec).iter().map(|(c, v)| violation(c, v)));
    }
}
