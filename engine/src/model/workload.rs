//! Finding the pod spec inside every pod-bearing kind, and walking its containers.

use crate::model::manifest::Manifest;
use serde_json::{Map, Value};

/// Where the pod spec is inside each pod-bearing kind, by API group and kind: its pointer, and
/// the same path as keys (rules look it up for every object, so no pointer parsing there).
pub(crate) fn pod_spec_path(
    group: &str,
    kind: &str,
) -> Option<(&'static str, &'static [&'static str])> {
    const POD: (&str, &[&str]) = ("/spec", &["spec"]);
    const TEMPLATE: (&str, &[&str]) = ("/template/spec", &["template", "spec"]);
    const WORKLOAD: (&str, &[&str]) = ("/spec/template/spec", &["spec", "template", "spec"]);
    const CRONJOB: (&str, &[&str]) = (
        "/spec/jobTemplate/spec/template/spec",
        &["spec", "jobTemplate", "spec", "template", "spec"],
    );
    Some(match (group, kind) {
        ("", "Pod") => POD,
        ("", "PodTemplate") => TEMPLATE,
        ("", "ReplicationController") => WORKLOAD,
        ("apps" | "extensions", "Deployment" | "DaemonSet" | "ReplicaSet") => WORKLOAD,
        ("apps", "StatefulSet") => WORKLOAD,
        ("batch", "Job") => WORKLOAD,
        ("batch", "CronJob") => CRONJOB,
        // OpenShift's DeploymentConfig (deprecated since 4.14, still widely run) makes pods from
        // `spec.template` like a ReplicationController.
        ("apps.openshift.io", "DeploymentConfig") => WORKLOAD,
        _ => return None,
    })
}

/// Pointer of the pod spec inside a pod-bearing kind (`/spec/template/spec` for a Deployment).
pub fn pod_spec_pointer(group: &str, kind: &str) -> Option<&'static str> {
    pod_spec_path(group, kind).map(|(pointer, _)| pointer)
}

/// The kinds whose pods exist in the cluster (a `PodTemplate` only describes some), by API
/// group and kind.
pub const POD_CREATING_KINDS: [(&str, &str); 12] = [
    ("", "Pod"),
    ("", "ReplicationController"),
    ("apps", "Deployment"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
    ("extensions", "Deployment"),
    ("extensions", "DaemonSet"),
    ("extensions", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("apps.openshift.io", "DeploymentConfig"),
];

/// Whether the object runs pods in the cluster (one of [`POD_CREATING_KINDS`]).
pub fn creates_pods(object: &crate::model::manifest::ObjectRef) -> bool {
    let group = object.group();
    POD_CREATING_KINDS
        .iter()
        .any(|(g, k)| *g == group && *k == object.kind)
}

/// The labels of the pods an object creates (its own for a Pod, the pod template's otherwise).
pub fn pod_labels(manifest: &Manifest) -> Option<&Map<String, Value>> {
    let (pointer, _) = pod_spec_path(manifest.object.group(), &manifest.object.kind)?;
    let metadata = pointer.strip_suffix("/spec").unwrap_or(pointer);
    crate::model::position::lookup(&manifest.value, &format!("{metadata}/metadata/labels"))?
        .as_object()
}

/// Whether `kind` in `group` carries a pod template.
pub fn is_pod_bearing(group: &str, kind: &str) -> bool {
    pod_spec_pointer(group, kind).is_some()
}

/// The three container lists of a pod spec, in the order PSA checks them.
pub const CONTAINER_FIELDS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// A pod spec found inside a manifest.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    pub spec: &'a Map<String, Value>,
    /// Pointer of the spec inside the object.
    pub pointer: &'static str,
}

/// The value at `path` (mapping keys) under `value`: the one key-path walk every view of an
/// object uses (a JSON pointer string is `model::position::lookup`'s business).
pub fn get_path<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

/// The pod spec of a pod-bearing object, if it has one and it is a mapping.
pub fn pod_spec(manifest: &Manifest) -> Option<PodSpec<'_>> {
    let (pointer, keys) = pod_spec_path(manifest.object.group(), &manifest.object.kind)?;
    let value = get_path(&manifest.value, keys)?;
    Some(PodSpec {
        spec: value.as_object()?,
        pointer,
    })
}

/// One container of a pod spec.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    pub value: &'a Map<String, Value>,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub field: &'static str,
    pub index: usize,
    spec_pointer: &'static str,
}

impl<'a> Container<'a> {
    pub fn name(&self) -> &'a str {
        self.value
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>")
    }

    /// Pointer of this container, or of `rest` inside it (`rest` like `securityContext/privileged`).
    pub fn pointer(&self, rest: &str) -> String {
        if rest.is_empty() {
            format!("{}/{}/{}", self.spec_pointer, self.field, self.index)
        } else {
            format!(
                "{}/{}/{}/{}",
                self.spec_pointer, self.field, self.index, rest
            )
        }
    }

    /// Human label used in messages: `container "app"`, `init container "setup"`.
    pub fn label(&self) -> String {
        let what = match self.field {
            "initContainers" => "init container",
            "ephemeralContainers" => "ephemeral container",
            _ => "container",
        };
        format!("{what} {:?}", self.name())
    }

    /// The container's field at `path` (mapping keys).
    pub fn get(&self, path: &[&str]) -> Option<&'a Value> {
        let (first, rest) = path.split_first()?;
        get_path(self.value.get(*first)?, rest)
    }
}

impl<'a> PodSpec<'a> {
    /// Every container (init, regular, ephemeral) that is a mapping.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + 'a {
        let spec = self.spec;
        let spec_pointer = self.pointer;
        CONTAINER_FIELDS.into_iter().flat_map(move |field| {
            spec.get(field)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(move |(index, c)| {
                    c.as_object().map(|value| Container {
                        value,
                        field,
                        index,
                        spec_pointer,
                    })
                })
        })
    }

    pub fn field_pointer(&self, field: &str) -> String {
        format!("{}/{}", self.pointer, field)
    }

    /// A field of the pod-level `securityContext`.
    pub fn security_context_field(&self, path: &[&str]) -> Option<&'a Value> {
        get_path(self.spec.get("securityContext")?, path)
    }

    /// Whether the pod declares itself a Windows pod (`spec.os.name: windows`).
    pub fn is_windows(&self) -> bool {
        self.spec
            .get("os")
            .and_then(|os| os.get("name"))
            .and_then(Value::as_str)
            == Some("windows")
    }

    /// Whether the pod opts out of the host user namespace (`spec.hostUsers: false`).
    pub fn uses_user_namespace(&self) -> bool {
        self.spec.get("hostUsers") == Some(&Value::Bool(false))
    }

    /// Pointer of the pod's own metadata: `/metadata` for a Pod, `/spec/template/metadata`
    /// for a Deployment, and so on.
    pub fn metadata_pointer(&self) -> String {
        let base = self.pointer.strip_suffix("/spec").unwrap_or(self.pointer);
        format!("{base}/metadata")
    }

    /// The pod's annotations (on the pod template for workload kinds).
    pub fn annotations(&self, manifest: &'a Manifest) -> Option<&'a Map<String, Value>> {
        crate::model::position::lookup(&manifest.value, &self.metadata_pointer())?
            .get("annotations")?
            .as_object()
    }
}
