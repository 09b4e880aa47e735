//! The loaded form of a Kubernetes object: its JSON value (parsed once), identity, origin
//! and the position index that turns a JSON pointer into `file:line:column`.

use crate::model::position::{Position, PositionIndex};
use crate::source::{Source, SourceFile};
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// `apiVersion`, `kind`, `namespace` and `name` of an object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl ObjectRef {
    /// The API group of `apiVersion` (`""` for the core group).
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }
}

impl fmt::Display for ObjectRef {
    /// `Kind/namespace/name`, or `Kind/name` for objects without a namespace.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("<unnamed>");
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, name),
            None => write!(f, "{}/{}", self.kind, name),
        }
    }
}

/// One Kubernetes object ready for evaluation.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub object: ObjectRef,
    /// The object. While the manifest is parked ([`Manifest::is_parked`]) this is only its
    /// projection (what other objects' rules read through the inventory, see
    /// [`Manifest::park`]); [`Manifest::unparked`] gives the whole object.
    pub value: Value,
    pub source: Arc<SourceFile>,
    /// Index of the document within its file.
    pub document_index: usize,
    /// Index inside a `List`'s `items`, for objects that came from one.
    pub item_index: Option<usize>,
    /// The Helm template that rendered this document (from `# Source:`), if any.
    pub template: Option<String>,
    pub(crate) positions: Arc<PositionIndex>,
    /// Pointer of this object inside its document (`/items/3` for a List item, else empty).
    pub(crate) base_pointer: String,
    /// For kustomize output: how its fields map back to the files people edit.
    pub(crate) origins: Option<Arc<crate::model::origin::Origins>>,
    /// Seen by rules that look across objects, never judged itself (in a `--staged` run, the
    /// objects of the repository that the commit does not change).
    pub context: bool,
    /// The whole value as compact JSON while `value` holds only its projection.
    pub(crate) parked: Option<Arc<[u8]>>,
}

/// Why a parked manifest could not be read back (never expected: the bytes are kubegate's own
/// serialization of a value; reported for the object rather than trusted blindly).
#[derive(Debug, thiserror::Error)]
#[error("cannot read back the parked object: {0}")]
pub struct UnparkError(#[from] serde_json::Error);

/// Kinds never parked: rules read them whole through the inventory (a namespace's labels, a
/// ServiceAccount's token setting, a Service's ports, an autoscaler's target, the CRDs that describe custom
/// resources). Everything else is read through the inventory only by identity and by the
/// fields [`projection`] keeps.
fn read_whole_by_others(group: &str, kind: &str) -> bool {
    kind == "CustomResourceDefinition"
        || matches!(
            (group, kind),
            ("", "Namespace" | "ServiceAccount" | "Service")
                | ("autoscaling", "HorizontalPodAutoscaler")
                | ("networking.k8s.io", "NetworkPolicy")
                | ("policy", "PodDisruptionBudget")
        )
}

/// What rules judging *other* objects read of a parked object: for the kinds that make pods,
/// `spec.replicas` and the pods' labels; of other kinds nothing but their identity. (A
/// whole-input rule that needs another field adds it here; the engine's `parking` integration
/// tests compare parked and unparked runs over every fixture directory.)
fn projection(value: &Value, object: &ObjectRef) -> Value {
    let Some((pod_spec, _)) = crate::model::workload::pod_spec_path(object.group(), &object.kind)
    else {
        // Other kinds are read through the inventory by identity only.
        return Value::Null;
    };
    let mut out = Value::Object(serde_json::Map::new());
    let mut keep = |pointer: &str| {
        let Some(found) = crate::model::position::lookup(value, pointer) else {
            return;
        };
        let mut slot = &mut out;
        for token in pointer.split('/').skip(1) {
            let Value::Object(map) = slot else { return };
            slot = map
                .entry(token.to_owned())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
        }
        *slot = found.clone();
    };
    keep("/spec/replicas");
    // A Pod's own labels (`/metadata/labels`), or its template's.
    let template = pod_spec.strip_suffix("/spec").unwrap_or(pod_spec);
    keep(&format!("{template}/metadata/labels"));
    out
}

/// Where a field of an object is to be shown: the file, position and document a person edits.
#[derive(Debug, Clone)]
pub struct Place {
    pub file: Arc<SourceFile>,
    pub position: Option<Position>,
    pub document_index: usize,
    pub item_index: Option<usize>,
    /// Set when the object is rendered output that could not be mapped back to a source line:
    /// the position in the rendered stream (`dir (kubectl kustomize):43:5`).
    pub rendered_at: Option<String>,
}

impl Manifest {
    /// Builds a manifest from an in-memory value that has no source text (an admission request,
    /// a generated object). Findings on it carry pointers but no line numbers.
    pub fn from_value(value: Value, source: Source) -> Result<Self, ObjectError> {
        let object = object_ref(&value)?;
        let source = Arc::new(SourceFile::new(source, String::new()));
        Ok(Self {
            object,
            value,
            source,
            document_index: 0,
            item_index: None,
            template: None,
            positions: Arc::default(),
            base_pointer: String::new(),
            origins: None,
            context: false,
            parked: None,
        })
    }

    /// Whether `value` holds only the object's projection (see [`Manifest::park`]).
    pub fn is_parked(&self) -> bool {
        self.parked.is_some()
    }

    /// Keeps the whole object as compact JSON (about a tenth of the memory of a parsed value)
    /// and only its projection as `value`, unless rules read its kind whole through the
    /// inventory. A run parks objects as they are loaded and reads each back
    /// ([`Manifest::unparked`]) only while judging it, so memory is bounded by the input
    /// rather than by its parsed form.
    pub(crate) fn park(&mut self) {
        if self.parked.is_some() || read_whole_by_others(self.object.group(), &self.object.kind) {
            return;
        }
        // Serializing a `Value` to memory cannot fail (its keys are strings).
        let Ok(json) = serde_json::to_vec(&self.value) else {
            return;
        };
        self.value = projection(&self.value, &self.object);
        self.parked = Some(json.into());
    }

    /// The manifest with its whole value: itself, or a copy read back from its parked form.
    pub fn unparked(&self) -> Result<std::borrow::Cow<'_, Manifest>, UnparkError> {
        let Some(json) = &self.parked else {
            return Ok(std::borrow::Cow::Borrowed(self));
        };
        let value = serde_json::from_slice(json)?;
        Ok(std::borrow::Cow::Owned(Manifest {
            object: self.object.clone(),
            value,
            source: self.source.clone(),
            document_index: self.document_index,
            item_index: self.item_index,
            template: self.template.clone(),
            positions: self.positions.clone(),
            base_pointer: self.base_pointer.clone(),
            origins: self.origins.clone(),
            context: self.context,
            parked: None,
        }))
    }

    /// The whole value (read back when parked).
    pub fn full_value(&self) -> Result<Value, UnparkError> {
        match &self.parked {
            Some(json) => Ok(serde_json::from_slice(json)?),
            None => Ok(self.value.clone()),
        }
    }

    /// Changes the whole value (a parked manifest is read back, changed and parked again).
    pub(crate) fn edit(&mut self, change: impl FnOnce(&mut Value)) -> Result<(), UnparkError> {
        match self.parked.take() {
            None => change(&mut self.value),
            Some(json) => {
                let mut value: Value = match serde_json::from_slice(&json) {
                    Ok(v) => v,
                    Err(e) => {
                        self.parked = Some(json);
                        return Err(e.into());
                    }
                };
                change(&mut value);
                self.value = value;
                self.park();
            }
        }
        Ok(())
    }

    /// Where the node at `pointer` is to be shown: in the object's own text, or, for kustomize
    /// output, in the base, patch or kustomization file that sets it.
    pub fn place(&self, pointer: &str) -> Place {
        let own = || Place {
            file: self.source.clone(),
            position: self.locate(pointer),
            document_index: self.document_index,
            item_index: self.item_index,
            rendered_at: None,
        };
        let Some(origins) = &self.origins else {
            return own();
        };
        // Origins are traced through the whole rendered object, not its projection.
        if self.parked.is_some() {
            if let Ok(whole) = self.unparked() {
                return whole.place(pointer);
            }
        }
        if let Some(placed) = origins.place(&self.value, pointer) {
            return Place {
                file: placed.file,
                position: placed.position,
                document_index: placed.document_index,
                item_index: None,
                rendered_at: None,
            };
        }
        let rendered = own();
        let rendered_at = format!(
            "{}{}",
            rendered.file.name,
            rendered
                .position
                .map(|p| format!(":{p}"))
                .unwrap_or_default()
        );
        match origins.root() {
            Some(root) => Place {
                file: root.file,
                position: root.position,
                document_index: root.document_index,
                item_index: None,
                rendered_at: Some(rendered_at),
            },
            None => rendered,
        }
    }

    /// Every file this object is made from, as named in reports: its own file, or for
    /// kustomize output its base document, the patches that target it, the kustomizations of
    /// its root and its generator's sources.
    pub fn input_files(&self) -> Vec<String> {
        match &self.origins {
            Some(origins) => origins.inputs.clone(),
            None => vec![self.source.name.clone()],
        }
    }

    /// The name of the file a person edits for this object: its source file, or for kustomize
    /// output the file its `metadata` comes from.
    pub fn origin_name(&self) -> String {
        match &self.origins {
            Some(_) => self.place("/metadata").file.name.clone(),
            None => self.source.name.clone(),
        }
    }

    /// Where the node at `pointer` (relative to this object) is, or its nearest existing parent.
    pub fn locate(&self, pointer: &str) -> Option<Position> {
        if self.base_pointer.is_empty() {
            return self.positions.resolve(pointer).map(|(pos, _)| pos);
        }
        let full = format!("{}{}", self.base_pointer, pointer);
        self.positions.resolve(&full).map(|(pos, _)| pos)
    }

    /// The object's annotations, if it has any.
    pub fn annotations(&self) -> Option<&serde_json::Map<String, Value>> {
        crate::model::position::lookup(&self.value, "/metadata/annotations")?.as_object()
    }
}

/// Why a value is not a Kubernetes object (the loader reports these as load errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("document is a {0}, not a Kubernetes object (a mapping)")]
    NotAnObject(&'static str),
    #[error("document has no `{0}`; every Kubernetes object needs `apiVersion` and `kind`")]
    MissingField(&'static str),
    #[error("`{field}` must be a {expected}, found a {found}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
}

/// Reads `apiVersion`, `kind`, `metadata.namespace` and `metadata.name` (or `generateName`).
pub(crate) fn object_ref(value: &Value) -> Result<ObjectRef, ObjectError> {
    use ObjectError as E;
    let Value::Object(map) = value else {
        return Err(E::NotAnObject(json_type(value)));
    };
    let field = |name: &'static str| -> Result<String, E> {
        match map.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) | None | Some(Value::Null) => Err(E::MissingField(name)),
            Some(other) => Err(E::WrongType {
                field: name,
                expected: "string",
                found: json_type(other),
            }),
        }
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    let metadata = map.get("metadata");
    let meta_str = |key: &str| {
        metadata
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let Some(m) = metadata {
        if !m.is_object() && !m.is_null() {
            return Err(E::WrongType {
                field: "metadata",
                expected: "mapping",
                found: json_type(m),
            });
        }
    }
    Ok(ObjectRef {
        api_version,
        kind,
        namespace: meta_str("namespace"),
        name: meta_str("name").or_else(|| meta_str("generateName")),
    })
}

pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}

/// A scalar for a message: JSON text (strings quoted), cut after 40 characters; nothing for
/// mappings and sequences, whose type says enough.
pub(crate) fn preview(value: &Value) -> String {
    match value {
        Value::Object(_) | Value::Array(_) => String::new(),
        _ => {
            let text = value.to_string();
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(40).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// Built-in kinds that live outside namespaces (Gatekeeper's `scope`, the inventory layout,
/// `--default-namespace`).
pub(crate) fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        (
            "",
            "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus"
        ) | (
            "rbac.authorization.k8s.io",
            "ClusterRole" | "ClusterRoleBinding"
        ) | ("apiextensions.k8s.io", "CustomResourceDefinition")
            | (
                "storage.k8s.io",
                "StorageClass" | "CSIDriver" | "CSINode" | "VolumeAttachment"
            )
            | ("scheduling.k8s.io", "PriorityClass")
            | ("node.k8s.io", "RuntimeClass")
            | ("networking.k8s.io", "IngressClass")
            | ("certificates.k8s.io", "CertificateSigningRequest")
            | (
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration"
                    | "MutatingWebhookConfiguration"
                    | "ValidatingAdmissionPolicy"
                    | "ValidatingAdmissionPolicyBinding"
            )
            | ("apiregistration.k8s.io", "APIService")
            | (
                "flowcontrol.apiserver.k8s.io",
                "FlowSchema" | "PriorityLevelConfiguration"
            )
            | ("policy", "PodSecurityPolicy")
            | ("templates.gatekeeper.sh", "ConstraintTemplate")
    )
}

#[cfg(test)]
mod tests {
    use crate::source::{Source, SourceFile};

    #[test]
    fn lines_by_number() {
        let f = SourceFile::new(Source::Named("f".into()), "a\r\nbb\n\nlast".to_owned());
        assert_eq!(f.line(1), Some("a"));
        assert_eq!(f.line(2), Some("bb"));
        assert_eq!(f.line(3), Some(""));
        assert_eq!(f.line(4), Some("last"));
        assert_eq!(f.line(5), None);
        assert_eq!(f.line(0), None);
        let f = SourceFile::new(Source::Named("f".into()), "x\n".to_owned());
        assert_eq!(f.line(1), Some("x"));
        assert_eq!(f.line(2), None);
    }
}
