use crate::model::manifest::{json_type, preview};
use crate::model::workload::{is_pod_bearing, pod_spec, pod_spec_pointer, CONTAINER_FIELDS};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Fields the security rules read must have the type the API server expects. A value of the
    /// wrong type (`hostPID: "true"`, a mapping where a list belongs) would otherwise slip past
    /// every rule silently.
    WorkloadStructure {
        id: "KG003",
        name: "malformed-workload",
        title: "Pod specs must have the structure and field types Kubernetes expects",
        severity: High,
        category: Kubegate,
        scope: Object,
        since: "0.1.0",
        rationale: "The API server rejects a pod spec whose fields have the wrong type, and a checker \
that silently skips such fields would let the same manifest pass review. kubegate reports them \
so a typo like `hostPID: \"true\"` or `containers:` written as a mapping is fixed before it ships.",
        remediation: "Give each field the type the Kubernetes API defines: booleans unquoted, \
`containers` and `volumes` as lists of mappings, `image` as a string.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  hostPID: "false"
  containers:
    name: app
    image: nginx:1.27.2
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  hostPID: false
  containers:
    - name: app
      image: nginx:1.27.2
"#,
    }
}

/// Reports a field of the wrong type. Scalars are quoted in the message; a whole mapping or list
/// is only named by its type.
fn wrong_type(
    out: &mut Vec<Violation>,
    pointer: String,
    what: &str,
    expected: &str,
    found: &Value,
) {
    out.push(Violation {
        pointer,
        message: format!(
            "{what} must be a {expected}, found {} {}",
            json_type(found),
            preview(found)
        )
        .trim_end()
        .to_owned(),
    });
}

impl Rule for WorkloadStructure {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if !is_pod_bearing(object.group(), &object.kind) {
            return;
        }
        // When KG005 validates this kind against the Kubernetes schema, it reports wrong types
        // and missing required fields, with the API's own field names; this rule then adds only
        // what the schema cannot say (an absent pod spec, an empty container list).
        let schema_covers = cx.is_active(super::kubernetes_schema::META.id)
            && cx.schema.builtin().is_ok_and(|s| {
                s.classify(&object.api_version, &object.kind)
                    == crate::schema::builtin::Lookup::Validated
            });
        let Some(spec) = pod_spec(manifest) else {
            // The pod spec is absent or not a mapping.
            let Some(template_pointer) = pod_spec_pointer(object.group(), &object.kind) else {
                return;
            };
            match crate::model::position::lookup(&manifest.value, template_pointer) {
                Some(v) if !v.is_null() => {
                    if !schema_covers {
                        wrong_type(out, template_pointer.into(), "the pod spec", "mapping", v)
                    }
                }
                _ => out.push(Violation {
                    pointer: template_pointer.into(),
                    message: format!("{} has no pod spec at {template_pointer}", object.kind),
                }),
            }
            return;
        };
        if let Some(Value::Array(items)) = spec.spec.get("containers") {
            if items.is_empty() {
                out.push(Violation {
                    pointer: spec.field_pointer("containers"),
                    message: "pod spec has an empty containers list".into(),
                });
            }
        }
        if schema_covers {
            return;
        }
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            match spec.spec.get(field) {
                None | Some(Value::Null | Value::Bool(_)) => {}
                Some(v) => wrong_type(out, spec.field_pointer(field), field, "boolean", v),
            }
        }
        match spec.spec.get("containers") {
            None | Some(Value::Null) => out.push(Violation {
                pointer: spec.pointer.into(),
                message: "pod spec has no containers".into(),
            }),
            _ => {}
        }
        for field in CONTAINER_FIELDS.into_iter().chain(["volumes"]) {
            match spec.spec.get(field) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        if !item.is_object() {
                            let pointer = format!("{}/{i}", spec.field_pointer(field));
                            wrong_type(out, pointer, &format!("{field}[{i}]"), "mapping", item);
                        }
                    }
                }
                Some(v) => wrong_type(out, spec.field_pointer(field), field, "list", v),
            }
        }
        for c in spec.containers() {
            match c.value.get("image") {
                None | Some(Value::Null | Value::String(_)) => {}
                Some(v) => wrong_type(
                    out,
                    c.pointer("image"),
                    &format!("{} image", c.label()),
                    "string",
                    v,
                ),
            }
            match c.value.get("securityContext") {
                None | Some(Value::Null) => {}
                Some(Value::Object(sc)) => match sc.get("privileged") {
                    None | Some(Value::Null | Value::Bool(_)) => {}
                    Some(v) => wrong_type(
                        out,
                        c.pointer("securityContext/privileged"),
                        &format!("{} securityContext.privileged", c.label()),
                        "boolean",
                        v,
                    ),
                },
                Some(v) => wrong_type(
                    out,
                    c.pointer("securityContext"),
                    &format!("{} securityContext", c.label()),
                    "mapping",
                    v,
                ),
            }
        }
    }
}
