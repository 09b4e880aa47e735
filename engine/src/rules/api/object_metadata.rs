use super::syntax;
use crate::model::position::{child_pointer, lookup};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::{Map, Value};

declare_rule! {
    /// Names, namespaces, labels and annotations the API server refuses.
    ObjectMetadata {
        id: "KG010",
        name: "invalid-metadata",
        title: "Names, labels and annotations must have the syntax the API server accepts",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "The API server checks `metadata` in Go code that no JSON schema expresses, and \
refuses the whole object when it fails, so a manifest that passes schema validation can still \
break a deployment. Checked here with the API server's own limits and wording \
(k8s.io/apimachinery `pkg/api/validation` and `pkg/util/validation`): `metadata.name` (or \
`generateName`, a prefix that may end in `-`) is required; most names must be DNS-1123 \
subdomains (lower-case alphanumerics, `-` and `.`, at most 253 characters), Namespace names \
and StatefulSet names DNS-1123 labels (at most 63, no `.`), Service names DNS-1035 labels \
(starting with a letter), \
CronJob names at most 52 characters (the Job name adds 11), and every other name one segment of \
a URL path (no `/` or `%`, not `.` or `..`: RBAC objects such as `system:controller:x` and \
custom resources); `metadata.namespace` must be a DNS-1123 label; label keys and annotation \
keys are qualified names (`[prefix/]name`: an optional DNS subdomain prefix and a name of at \
most 63 alphanumerics, `-`, `_`, `.`); label values are empty or such a name; all annotations \
together hold at most 256 KiB. Labels and annotations of pod templates are checked the same \
way. See https://kubernetes.io/docs/concepts/overview/working-with-objects/names/ and \
https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set.",
        remediation: "Rename to lower-case alphanumerics and `-` (and `.` where subdomains are \
allowed); move long or free-form values from labels to annotations; keep large data out of \
annotations (a ConfigMap).",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: Web_Frontend
  namespace: shop
  labels:
    app.kubernetes.io/version: "1.4 beta"
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.0
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-frontend
  namespace: shop
  labels:
    app.kubernetes.io/version: "1.4-beta"
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.0
"#,
    }
}

/// How the API server checks the name of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameRule {
    Dns1123Subdomain,
    Dns1123Label,
    Dns1035Label,
    PathSegment,
}

impl NameRule {
    fn of(group: &str, kind: &str) -> NameRule {
        use NameRule::*;
        match (group, kind) {
            ("", "Namespace") => Dns1123Label,
            ("", "Service") => Dns1035Label,
            ("apps", "StatefulSet") => Dns1123Label,
            (
                "",
                "Pod" | "PodTemplate" | "ReplicationController" | "ConfigMap" | "Secret"
                | "ServiceAccount" | "PersistentVolumeClaim" | "PersistentVolume" | "Endpoints"
                | "LimitRange" | "ResourceQuota" | "Node",
            )
            | (
                "apps" | "extensions",
                "Deployment" | "ReplicaSet" | "DaemonSet",
            )
            | ("batch", "Job" | "CronJob")
            | ("networking.k8s.io", "Ingress" | "IngressClass" | "NetworkPolicy")
            | ("autoscaling", "HorizontalPodAutoscaler")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("storage.k8s.io", "StorageClass")
            | ("apiextensions.k8s.io", "CustomResourceDefinition") => Dns1123Subdomain,
            _ => PathSegment,
        }
    }

    fn check(self, name: &str) -> Vec<String> {
        match self {
            NameRule::Dns1123Subdomain => syntax::dns1123_subdomain(name),
            NameRule::Dns1123Label => syntax::dns1123_label(name),
            NameRule::Dns1035Label => syntax::dns1035_label(name),
            NameRule::PathSegment => syntax::path_segment(name),
        }
    }
}

/// The API server's `field: Invalid value: "x": reason` wording.
fn invalid(out: &mut Vec<Violation>, pointer: String, value: &str, reasons: Vec<String>) {
    let field = crate::model::position::dotted(&pointer);
    invalid_in(out, pointer, &field, value, reasons, "");
}

/// [`invalid`] naming `field` (the API server names the labels mapping, not the key), with a
/// note after the reasons.
fn invalid_in(
    out: &mut Vec<Violation>,
    pointer: String,
    field: &str,
    value: &str,
    reasons: Vec<String>,
    note: &str,
) {
    if reasons.is_empty() {
        return;
    }
    out.push(Violation {
        pointer,
        message: format!(
            "{field}: Invalid value: {:?}: {}{note}",
            crate::rules::api::shorten(value),
            reasons.join(", ")
        ),
    });
}

/// Labels and annotations of one metadata mapping at `pointer`.
fn labels_and_annotations(out: &mut Vec<Violation>, metadata: &Map<String, Value>, pointer: &str) {
    if let Some(labels) = metadata.get("labels").and_then(Value::as_object) {
        let labels_pointer = child_pointer(pointer, "labels");
        let field = crate::model::position::dotted(&labels_pointer);
        for (key, value) in labels {
            let key_pointer = child_pointer(&labels_pointer, key);
            let note = format!(" (the value of label {:?})", crate::rules::api::shorten(key));
            invalid_in(out, key_pointer.clone(), &field, key, syntax::qualified_name(key), "");
            if let Some(value) = value.as_str() {
                invalid_in(out, key_pointer, &field, value, syntax::label_value(value), &note);
            }
        }
    }
    if let Some(annotations) = metadata.get("annotations").and_then(Value::as_object) {
        let annotations_pointer = child_pointer(pointer, "annotations");
        let field = crate::model::position::dotted(&annotations_pointer);
        let mut total = 0usize;
        for (key, value) in annotations {
            // The API server checks annotation keys lower-cased: upper case is allowed.
            invalid_in(
                out,
                child_pointer(&annotations_pointer, key),
                &field,
                key,
                syntax::qualified_name(&key.to_ascii_lowercase()),
                "",
            );
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > syntax::TOTAL_ANNOTATION_SIZE_MAX {
            out.push(Violation {
                message: format!(
                    "{}: Too long: may not be more than {} bytes (the annotations hold {total})",
                    crate::model::position::dotted(&annotations_pointer),
                    syntax::TOTAL_ANNOTATION_SIZE_MAX
                ),
                pointer: annotations_pointer,
            });
        }
    }
}

impl Rule for ObjectMetadata {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        let Some(metadata) = manifest.value.get("metadata").and_then(Value::as_object) else {
            return; // KG005 reports a missing or mistyped metadata.
        };
        let rule = NameRule::of(object.group(), &object.kind);
        let name = metadata.get("name").and_then(Value::as_str).unwrap_or("");
        let generate_name = metadata
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !name.is_empty() {
            let mut reasons = rule.check(name);
            if object.group() == "batch" && object.kind == "CronJob" && name.len() > 52 {
                reasons.push("must be no more than 52 characters".to_owned());
            }
            invalid(out, "/metadata/name".to_owned(), name, reasons);
        } else if !generate_name.is_empty() {
            invalid(
                out,
                "/metadata/generateName".to_owned(),
                generate_name,
                rule.check(&syntax::mask_trailing_dash(generate_name)),
            );
        } else {
            out.push(Violation {
                pointer: "/metadata".to_owned(),
                message: "metadata.name: Required value: name or generateName is required"
                    .to_owned(),
            });
        }
        if let Some(namespace) = metadata.get("namespace").and_then(Value::as_str) {
            if !namespace.is_empty() {
                invalid(
                    out,
                    "/metadata/namespace".to_owned(),
                    namespace,
                    syntax::dns1123_label(namespace),
                );
            }
        }
        labels_and_annotations(out, metadata, "/metadata");
        if let Some(spec) = pod_spec(manifest) {
            let template = spec.metadata_pointer();
            if template != "/metadata" {
                if let Some(m) = lookup(&manifest.value, &template).and_then(Value::as_object) {
                    labels_and_annotations(out, m, &template);
                }
            }
        }
    }
}
