use crate::model::position::lookup;
use crate::model::selector::LabelSelector;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Workload selectors that the API server refuses: missing, empty, or not matching the
    /// pod template's labels.
    WorkloadSelector {
        id: "KG011",
        name: "selector-mismatch",
        title: "A workload's selector must be set and match its pod template's labels",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "A controller owns the pods its `spec.selector` selects, so the API server \
refuses a workload whose pod template would create pods it does not select \
(`spec.template.metadata.labels: Invalid value: ...: `selector` does not match template \
`labels``). In `apps/v1` the selector is required and may not be empty for Deployments, \
ReplicaSets, DaemonSets and StatefulSets (a missing one is a schema error, reported by \
KG005); a ReplicationController's selector defaults to the \
template's labels but, when given, must match them; a Job's selector is generated unless \
`manualSelector: true`, and then it must be given and match (a selector written without it is \
refused as not auto-generated). Selector expressions must be \
well formed: `In` and `NotIn` need values, `Exists` and `DoesNotExist` take none. See \
https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#selector.",
        remediation: "Give the pod template every label the selector requires (usually \
`spec.selector.matchLabels` copied into `spec.template.metadata.labels`). The selector of an \
existing Deployment cannot be changed; create a new one to change it.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web-frontend}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.0
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: frontend}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.0
"#,
    }
}

/// How a kind treats its selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selector {
    /// Required and not empty (`apps/v1` workloads; a missing one is the schema's finding,
    /// KG005, since the schema requires it).
    Required,
    /// Optional; must match when given (ReplicationController: a map of labels).
    OptionalMap,
    /// Generated unless `manualSelector: true` (Job).
    Manual,
}

fn selector_kind(api_version: &str, kind: &str) -> Option<Selector> {
    match (api_version, kind) {
        ("apps/v1", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet") => {
            Some(Selector::Required)
        }
        ("v1", "ReplicationController") => Some(Selector::OptionalMap),
        ("batch/v1", "Job") => Some(Selector::Manual),
        _ => None,
    }
}

fn labels_text(labels: Option<&Value>) -> String {
    match labels.and_then(Value::as_object) {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(","),
        _ => "no labels".to_owned(),
    }
}

/// `In`/`NotIn` need values, `Exists`/`DoesNotExist` take none (the parser has checked the
/// rest).
fn expression_values(out: &mut Vec<Violation>, selector: &Value, pointer: &str) {
    let Some(list) = selector.get("matchExpressions").and_then(Value::as_array) else {
        return;
    };
    for (i, e) in list.iter().enumerate() {
        let values = e.get("values").and_then(Value::as_array).map_or(0, Vec::len);
        let at = format!("{pointer}/matchExpressions/{i}");
        let field = crate::model::position::dotted(&format!("{at}/values"));
        match e.get("operator").and_then(Value::as_str) {
            Some("In" | "NotIn") if values == 0 => out.push(Violation {
                pointer: at,
                message: format!(
                    "{field}: Required value: must be specified when `operator` is 'In' or 'NotIn'"
                ),
            }),
            Some("Exists" | "DoesNotExist") if values > 0 => out.push(Violation {
                pointer: format!("{at}/values"),
                message: format!(
                    "{field}: Forbidden: may not be specified when `operator` is 'Exists' or \
'DoesNotExist'"
                ),
            }),
            _ => {}
        }
    }
}

impl Rule for WorkloadSelector {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        let Some(how) = selector_kind(&object.api_version, &object.kind) else {
            return;
        };
        let value = &manifest.value;
        let selector = lookup(value, "/spec/selector").filter(|s| !s.is_null());
        let template_labels = lookup(value, "/spec/template/metadata/labels");
        let labels_pointer = if template_labels.is_some() {
            "/spec/template/metadata/labels"
        } else if lookup(value, "/spec/template/metadata").is_some() {
            "/spec/template/metadata"
        } else {
            "/spec/template"
        };
        let kind = object.kind.to_ascii_lowercase();
        let parsed = match (how, selector) {
            (Selector::Manual, Some(_)) => {
                if lookup(value, "/spec/manualSelector") != Some(&Value::Bool(true)) {
                    out.push(Violation {
                        pointer: "/spec/selector".to_owned(),
                        message: "spec.selector: Invalid value: `selector` not auto-generated \
(the Job controller generates it; set spec.manualSelector: true to give one, or remove it)"
                            .to_owned(),
                    });
                    return;
                }
                selector
            }
            (Selector::Manual, None) => {
                if lookup(value, "/spec/manualSelector") == Some(&Value::Bool(true)) {
                    out.push(Violation {
                        pointer: "/spec/manualSelector".to_owned(),
                        message: "spec.selector: Required value (spec.manualSelector is true)"
                            .to_owned(),
                    });
                }
                return;
            }
            (_, selector) => selector,
        };
        let Some(selector_value) = parsed else {
            return; // an optional selector left out defaults to the template's labels
        };
        // A ReplicationController's selector is a plain map of labels.
        let as_selector = if how == Selector::OptionalMap {
            serde_json::json!({ "matchLabels": selector_value })
        } else {
            expression_values(out, selector_value, "/spec/selector");
            selector_value.clone()
        };
        let selector = match LabelSelector::parse(&as_selector) {
            Ok(s) => s,
            Err(e) => {
                out.push(Violation {
                    pointer: "/spec/selector".to_owned(),
                    message: format!("spec.selector: Invalid value: {e}"),
                });
                return;
            }
        };
        if selector.is_empty() {
            if how == Selector::Required {
                // The API server's ReplicaSet validation reuses the Deployment's words.
                let named = if kind == "replicaset" { "deployment" } else { kind.as_str() };
                out.push(Violation {
                    pointer: "/spec/selector".to_owned(),
                    message: format!(
                        "spec.selector: Invalid value: empty selector is invalid for {named}"
                    ),
                });
            }
            return;
        }
        if !selector.matches(template_labels) {
            out.push(Violation {
                pointer: labels_pointer.to_owned(),
                message: format!(
                    "spec.template.metadata.labels: Invalid value: `selector` does not match \
template `labels` (the template has {}; spec.selector would not select its pods)",
                    labels_text(template_labels)
                ),
            });
        }
    }
}
