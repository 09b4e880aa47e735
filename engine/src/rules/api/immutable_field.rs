use crate::model::position::{dotted, lookup};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::{Map, Value};

declare_rule! {
    /// Fields the API server refuses to change on an update, judged against the stored object.
    ImmutableField {
        id: "KG018",
        name: "immutable-field",
        title: "An update must not change fields that are immutable",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "Some fields cannot change once an object exists, and the API server refuses \
an update that changes them (`kubectl apply` fails with `field is immutable`, and a GitOps sync \
stays broken until someone deletes and recreates the object). kubegate judges them where the \
old object is known: in `kubegate check --diff-base REV`, each object against its version at \
that revision (same group, kind, namespace and name), which is the update applying the change \
makes; and on an UPDATE admission request in the webhook (`request.oldObject`). \
From the API reference and the apps, batch, core, RBAC and storage validation: the \
`spec.selector` of a Deployment, ReplicaSet and DaemonSet (`apps/v1`); a StatefulSet's spec \
beyond `replicas`, `ordinals`, `template`, `updateStrategy`, `revisionHistoryLimit`, \
`persistentVolumeClaimRetentionPolicy` and `minReadySeconds`; a Job's `spec.selector`, \
`spec.completionMode` and `spec.template` (a suspended Job that never started may change its \
template's node selector, affinity, tolerations, scheduling gates, labels and annotations); a \
Service's `spec.clusterIP` once set (unless either side is `ExternalName`; an omitted one is \
kept by the API server, so it is not reported); a PersistentVolumeClaim's spec beyond \
`resources`, `volumeAttributesClassName` and the `volumeName` it is bound to; the data of a \
ConfigMap or Secret marked `immutable: true`, and the mark itself; a Secret's `type`; a \
RoleBinding's or ClusterRoleBinding's `roleRef`; a StorageClass's `provisioner`, \
`parameters`, `reclaimPolicy` and `volumeBindingMode`. Values are compared as the API server \
compares them (an empty list or map equals an absent one). Pod updates (which may change little \
beyond images) are not judged: pods are rarely updated in place. See \
https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#label-selector-updates.",
        remediation: "Keep the field as it is, or delete and recreate the object (for a \
Deployment's selector: create a new Deployment under another name and remove the old one once \
the new one serves). For a StatefulSet's volumeClaimTemplates, `kubectl delete statefulset \
--cascade=orphan` keeps the pods while the StatefulSet is recreated.",
        failing_example: r#"# An UPDATE as the webhook receives it: the Deployment's selector changes.
apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  uid: 6f1c
  operation: UPDATE
  kind: {group: apps, version: v1, kind: Deployment}
  object:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector:
        matchLabels: {app.kubernetes.io/name: web}
      template:
        metadata:
          labels: {app.kubernetes.io/name: web}
        spec:
          containers:
            - {name: web, image: "registry.example.com/web:1.5.0"}
  oldObject:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - {name: web, image: "registry.example.com/web:1.4.0"}
"#,
        passing_example: r#"# An UPDATE as the webhook receives it: only the image changes.
apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  uid: 6f1d
  operation: UPDATE
  kind: {group: apps, version: v1, kind: Deployment}
  object:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - {name: web, image: "registry.example.com/web:1.5.0"}
  oldObject:
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
            - {name: web, image: "registry.example.com/web:1.4.0"}
"#,
    }
}

/// Whether a value is what the API server's typed objects hold for an absent field (leaning
/// to "unchanged" where Go's typed comparison would tell a nil pointer from an empty struct:
/// both objects the API server compares are defaulted, so the difference rarely shows).
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        // A struct whose fields are all unset is its zero value.
        Value::Object(m) => m.values().all(is_empty),
        _ => false,
    }
}

/// Equality as the API server's semantic comparison sees it: absent, null and empty values
/// are equal, and so are objects whose fields are equal in that sense.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(v), None) | (None, Some(v)) => is_empty(v),
        (Some(Value::Object(x)), Some(Value::Object(y))) => x
            .keys()
            .chain(y.keys())
            .all(|k| same(x.get(k), y.get(k))),
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(Some(a), Some(b)))
        }
        (Some(x), Some(y)) => x == y || (is_empty(x) && is_empty(y)),
    }
}

/// `object` without `fields` (top-level keys), for comparing what is left.
fn without(object: Option<&Value>, fields: &[&str]) -> Value {
    match object {
        Some(Value::Object(map)) => Value::Object(
            map.iter()
                .filter(|(k, _)| !fields.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        _ => Value::Object(Map::new()),
    }
}

/// The first key of two objects whose values differ, in the new object's order, then the
/// old one's.
fn first_difference(new: &Value, old: &Value) -> Option<String> {
    let (Value::Object(n), Value::Object(o)) = (new, old) else {
        return None;
    };
    n.keys()
        .chain(o.keys())
        .find(|k| !same(n.get(*k), o.get(*k)))
        .cloned()
}

/// A value echoed into a message: compact JSON, cut to a readable length.
fn shown(value: Option<&Value>) -> String {
    let text = value.map_or_else(|| "null".to_owned(), Value::to_string);
    super::shorten(&text).into_owned()
}

struct Judge<'a> {
    new: &'a Value,
    old: &'a Value,
    out: &'a mut Vec<Violation>,
}

impl Judge<'_> {
    /// `field: Invalid value: <new>: <reason>` when the field at `pointer` changed.
    fn immutable(&mut self, pointer: &str, reason: &str) {
        let (n, o) = (lookup(self.new, pointer), lookup(self.old, pointer));
        if !same(n, o) {
            self.out.push(Violation {
                pointer: pointer.to_owned(),
                message: format!("{}: Invalid value: {}: {reason}", dotted(pointer), shown(n)),
            });
        }
    }

    /// Like [`Self::immutable`], but only when the new object gives the field: the API
    /// server keeps (or generates) it when an update leaves it out.
    fn immutable_when_given(&mut self, pointer: &str) {
        if lookup(self.new, pointer).is_some_and(|v| !is_empty(v)) {
            self.immutable(pointer, "field is immutable");
        }
    }

    /// `field: Forbidden: <reason>` at `pointer` (or at the field that differs below it).
    fn forbidden(&mut self, field: &str, pointer: String, reason: &str) {
        self.out.push(Violation {
            pointer,
            message: format!("{field}: Forbidden: {reason}"),
        });
    }

    /// The object's `spec` without `mutable` fields must not change: reported as `spec`, at
    /// the first field that differs.
    fn frozen_spec(&mut self, mutable: &[&str], reason: &str) {
        let new = without(self.new.get("spec"), mutable);
        let old = without(self.old.get("spec"), mutable);
        if let Some(key) = first_difference(&new, &old) {
            let pointer = if self.new.pointer("/spec").and_then(|s| s.get(&key)).is_some() {
                format!("/spec/{}", crate::model::position::escape_token(&key))
            } else {
                "/spec".to_owned()
            };
            self.forbidden("spec", pointer, reason);
        }
    }
}

/// A StatefulSet's volume claim templates as compared: the fields the API server fills in or
/// clients add (`apiVersion`, `kind`, `status`, `metadata.creationTimestamp`) left out.
fn claim_templates(spec: &mut Value) {
    let Some(Value::Array(templates)) = spec.get_mut("volumeClaimTemplates") else {
        return;
    };
    for template in templates {
        if let Value::Object(map) = template {
            for key in ["apiVersion", "kind", "status"] {
                map.remove(key);
            }
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                meta.remove("creationTimestamp");
            }
        }
    }
}

const STATEFULSET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// The pod template fields a suspended Job that never started may change.
const JOB_SCHEDULING_FIELDS: [&str; 4] = ["nodeSelector", "affinity", "tolerations", "schedulingGates"];

impl Rule for ImmutableField {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(old) = cx.old_object else {
            return;
        };
        let object = &cx.manifest.object;
        let new = &cx.manifest.value;
        // An update of another kind (or version) is not this rule's to compare.
        if old.get("kind").and_then(Value::as_str) != Some(object.kind.as_str()) {
            return;
        }
        let mut judge = Judge { new, old, out };
        match (object.api_version.as_str(), object.kind.as_str()) {
            ("apps/v1", "Deployment" | "ReplicaSet" | "DaemonSet") => {
                judge.immutable("/spec/selector", "field is immutable");
            }
            ("apps/v1", "StatefulSet") => {
                let mut new_spec = without(new.get("spec"), &STATEFULSET_MUTABLE);
                let mut old_spec = without(old.get("spec"), &STATEFULSET_MUTABLE);
                claim_templates(&mut new_spec);
                claim_templates(&mut old_spec);
                if let Some(key) = first_difference(&new_spec, &old_spec) {
                    let pointer = if new_spec.get(&key).is_some() {
                        format!("/spec/{}", crate::model::position::escape_token(&key))
                    } else {
                        "/spec".to_owned()
                    };
                    judge.forbidden(
                        "spec",
                        pointer,
                        "updates to statefulset spec for fields other than 'replicas', \
                         'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', \
                         'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are \
                         forbidden",
                    );
                }
            }
            ("batch/v1", "Job") => {
                judge.immutable_when_given("/spec/selector");
                judge.immutable_when_given("/spec/completionMode");
                let never_started = old.pointer("/spec/suspend") == Some(&Value::Bool(true))
                    && old.pointer("/status/startTime").is_none_or(Value::is_null);
                if never_started {
                    let strip = |v: &Value| {
                        let mut t = v.pointer("/spec/template").cloned().unwrap_or(Value::Null);
                        if let Some(Value::Object(meta)) = t.get_mut("metadata") {
                            meta.remove("labels");
                            meta.remove("annotations");
                        }
                        if let Some(Value::Object(spec)) = t.get_mut("spec") {
                            for f in JOB_SCHEDULING_FIELDS {
                                spec.remove(f);
                            }
                        }
                        t
                    };
                    if !same(Some(&strip(new)), Some(&strip(old))) {
                        judge.immutable("/spec/template", "field is immutable");
                    }
                } else {
                    judge.immutable("/spec/template", "field is immutable");
                }
            }
            ("v1", "Service") => {
                let external = |v: &Value| {
                    v.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName")
                };
                let old_ip = old.pointer("/spec/clusterIP").and_then(Value::as_str);
                if !external(new) && !external(old) && old_ip.is_some_and(|ip| !ip.is_empty()) {
                    judge.immutable_when_given("/spec/clusterIP");
                }
            }
            ("v1", "PersistentVolumeClaim") => {
                let old_volume = old.pointer("/spec/volumeName").and_then(Value::as_str);
                let mut mutable = vec!["resources", "volumeAttributesClassName"];
                if old_volume.is_none_or(str::is_empty) {
                    mutable.push("volumeName");
                }
                judge.frozen_spec(
                    &mutable,
                    "spec is immutable after creation except resources.requests and \
                     volumeAttributesClassName for bound claims",
                );
            }
            ("v1", "ConfigMap" | "Secret") => {
                if object.kind == "Secret" {
                    judge.immutable_when_given("/type");
                }
                if old.get("immutable") == Some(&Value::Bool(true)) {
                    const REASON: &str = "field is immutable when `immutable` is set";
                    if new.get("immutable") != Some(&Value::Bool(true)) {
                        let pointer = if new.get("immutable").is_some() {
                            "/immutable"
                        } else {
                            ""
                        };
                        judge.forbidden("immutable", pointer.to_owned(), REASON);
                    }
                    for field in ["data", "binaryData"] {
                        if !same(new.get(field), old.get(field)) {
                            let pointer = if new.get(field).is_some() {
                                format!("/{field}")
                            } else {
                                String::new()
                            };
                            judge.forbidden(field, pointer, REASON);
                        }
                    }
                }
            }
            ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => {
                judge.immutable("/roleRef", "cannot change roleRef");
            }
            ("storage.k8s.io/v1", "StorageClass") => {
                for field in ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"] {
                    if !same(new.get(field), old.get(field)) {
                        let pointer = if new.get(field).is_some() {
                            format!("/{field}")
                        } else {
                            String::new()
                        };
                        judge.forbidden(
                            field,
                            pointer,
                            &format!("updates to {field} are forbidden."),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_and_absent_values_are_the_same() {
        assert!(same(Some(&json!({"a": [], "b": {}})), Some(&json!({}))));
        assert!(same(Some(&json!({"a": null})), None));
        assert!(!same(Some(&json!({"a": 0})), Some(&json!({}))));
        assert!(!same(Some(&json!([1, 2])), Some(&json!([2, 1]))));
        assert!(same(Some(&json!([{"x": []}])), Some(&json!([{}]))));
    }
}
