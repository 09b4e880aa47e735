use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Containers that run with a UID or GID below 10000, or leave them to the image.
    LowUserId {
        id: "KG224",
        name: "low-user-id",
        title: "Containers should run with a UID and GID of 10000 or more",
        severity: Low,
        category: PodSecurity,
        scope: Object,
        since: "0.2.0",
        rationale: "A container escape lands the process on the node with the UID and GID it ran \
with. Low IDs are those of the node's own users and groups (system accounts, often `1000` for \
the first login user), so an escaped process may own their files; IDs of 10000 and more \
belong to no one on a typical node. kubegate reports each container whose effective \
`runAsUser` or `runAsGroup` (its own `securityContext`, else the pod's) is below 10000, or is \
not set, in which case the image decides. Windows pods are not judged. This is a hardening \
rule with a cost (images must work under an arbitrary high UID), so it is not in the default \
run: it lives in the opt-in `hardening` pack (`--packs hardening`, or `--rules low-user-id`). \
kube-score has it as the optional `container-security-context-user-group-id`.",
        remediation: "Set `securityContext.runAsUser` and `runAsGroup` to 10000 or more (on the \
pod, or per container), and build the image to run as that user.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  securityContext:
    runAsUser: 1000
  containers:
    - name: api
      image: registry.example.com/api:2.1.0
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: api
spec:
  securityContext:
    runAsUser: 10001
    runAsGroup: 10001
  containers:
    - name: api
      image: registry.example.com/api:2.1.0
"#,
    }
}

const MINIMUM: i64 = 10000;

impl Rule for LowUserId {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if spec.is_windows() {
            return;
        }
        for container in spec.containers() {
            for field in ["runAsUser", "runAsGroup"] {
                let own = container
                    .value
                    .get("securityContext")
                    .and_then(|sc| sc.get(field))
                    .filter(|v| !v.is_null());
                let (value, pointer) = match own {
                    Some(v) => (Some(v), container.pointer(&format!("securityContext/{field}"))),
                    None => match spec.security_context_field(&[field]).filter(|v| !v.is_null()) {
                        Some(v) => (Some(v), spec.field_pointer(&format!("securityContext/{field}"))),
                        None => (None, container.pointer("")),
                    },
                };
                let message = match value {
                    None => format!(
                        "{} does not set {field}, so the image decides it; set it to {MINIMUM} or more",
                        container.label()
                    ),
                    Some(Value::Number(n)) => match n.as_i64() {
                        Some(id) if id < MINIMUM => format!(
                            "{} runs with {field} {id}, below {MINIMUM}, an ID the node's own \
                             users and groups may have",
                            container.label()
                        ),
                        _ => continue,
                    },
                    // A wrong type is the schema's.
                    Some(_) => continue,
                };
                out.push(Violation { pointer, message });
            }
        }
    }
}
