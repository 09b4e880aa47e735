use super::HOST_PATH_VOLUMES;
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

/// Volume sources the restricted level allows.
const ALLOWED: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Restricted volume sources, in the order upstream names the first one it finds.
const RESTRICTED: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

declare_rule! {
    /// PSA `restrictedVolumes` (restricted, v1.0; overrides `hostPathVolumes`).
    RestrictedVolumes {
        id: "KG121",
        name: "restricted-volume-types",
        title: "Pods may use only ephemeral, projected and claim-based volume types",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "Volume types that name node paths, network storage or remote repositories directly \
(nfs, iscsi, gitRepo, …) bypass the PersistentVolume layer where an administrator controls storage \
access. The restricted level allows configMap, csi, downwardAPI, emptyDir, ephemeral, image, \
persistentVolumeClaim, projected and secret volumes.",
        remediation: "Use a PersistentVolumeClaim backed by a StorageClass or PersistentVolume the \
cluster administrator provides, or one of the allowed volume types.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: build
      image: registry.example.com/builder:5.1.0
  volumes:
    - name: shared
      nfs:
        server: nfs.example.com
        path: /exports/build
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: builder
spec:
  containers:
    - name: build
      image: registry.example.com/builder:5.1.0
  volumes:
    - name: shared
      persistentVolumeClaim:
        claimName: build-cache
    - name: scratch
"#,
    }
}

/// The restricted type a volume uses, or `None` if it is allowed. A volume with no source at
/// all is an `emptyDir`: the API server defaults it so before admission.
fn restricted_type(volume: &serde_json::Map<String, Value>) -> Option<&'static str> {
    let is_set = |key: &str| volume.get(key).is_some_and(|v| !v.is_null());
    if ALLOWED.iter().any(|k| is_set(k)) {
        return None;
    }
    if let Some(kind) = RESTRICTED.iter().find(|k| is_set(k)) {
        return Some(kind);
    }
    let has_source = volume.iter().any(|(k, v)| k != "name" && !v.is_null());
    has_source.then_some("unknown")
}

impl Rule for RestrictedVolumes {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        let volumes = spec.spec.get("volumes").and_then(Value::as_array);
        for (i, volume) in volumes.into_iter().flatten().enumerate() {
            let Some(volume) = volume.as_object() else {
                continue;
            };
            let Some(kind) = restricted_type(volume) else {
                continue;
            };
            // hostPath volumes are a baseline violation, reported by that rule when it runs.
            if kind == "hostPath" && cx.is_active(HOST_PATH_VOLUMES) {
                continue;
            }
            let name = volume
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("<unnamed>");
            let field = if kind == "unknown" {
                volume
                    .keys()
                    .find(|k| *k != "name")
                    .map_or("", String::as_str)
            } else {
                kind
            };
            out.push(Violation {
                pointer: spec.field_pointer(&format!(
                    "volumes/{i}/{}",
                    crate::model::position::escape_token(field)
                )),
                message: format!("volume \"{name}\" uses restricted volume type \"{kind}\""),
            });
        }
    }
}
