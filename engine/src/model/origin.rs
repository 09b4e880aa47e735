//! How the fields of a rendered object (kustomize output) map back to the files people edit:
//! the base document it came from, the patches that set fields of it, the kustomization
//! transformers (`namespace:`, `namePrefix:`, `commonLabels:`, `images:`). Built by the loader
//! (`load::kustomize`), used by [`Manifest::place`](crate::model::manifest::Manifest::place).

use crate::model::position::{child_pointer, lookup, Position, PositionIndex};
use crate::source::SourceFile;
use serde_json::Value;
use std::sync::Arc;

/// A file read for placing findings: its text (for excerpts) and its documents.
#[derive(Debug)]
pub(crate) struct SourceDocs {
    pub(crate) file: Arc<SourceFile>,
    pub(crate) docs: Vec<(Value, PositionIndex, usize)>,
}

impl SourceDocs {
    pub(crate) fn doc(&self, i: usize) -> Option<(&Value, &PositionIndex, usize)> {
        self.docs.get(i).map(|(v, p, idx)| (v, p, *idx))
    }
}

/// A patch that may set fields of a rendered object.
#[derive(Debug)]
pub(crate) enum Patch {
    /// A strategic-merge patch document in a file.
    Merge { file: Arc<SourceDocs>, doc: usize },
    /// A JSON 6902 operation list in a file.
    Json6902 { file: Arc<SourceDocs>, doc: usize },
    /// A patch written inline in a kustomization (`patches[i].patch`). In a literal block
    /// scalar (`patch: |-`) a field is placed on its own line (`inner` positions shifted by
    /// `shift`: lines, columns); otherwise on the entry.
    Inline {
        kustomization: Arc<SourceDocs>,
        pointer: String,
        ops: Option<Value>,
        merge: Option<Value>,
        inner: PositionIndex,
        shift: Option<(u32, u32)>,
    },
}

impl Patch {
    /// The file the patch is written in (the kustomization, for an inline patch).
    pub(crate) fn file_name(&self) -> &str {
        match self {
            Patch::Merge { file, .. } | Patch::Json6902 { file, .. } => &file.file.name,
            Patch::Inline { kustomization, .. } => &kustomization.file.name,
        }
    }
}

/// How a rendered object's fields map back to the files people edit.
#[derive(Debug)]
pub(crate) struct Origins {
    /// The document the object came from (its `config.kubernetes.io/origin` path).
    pub(crate) primary: Option<(Arc<SourceDocs>, usize)>,
    /// A generated object: the generator's entry in a kustomization.
    pub(crate) generator: Option<(Arc<SourceDocs>, String)>,
    /// Patches that target the object, the root's first (applied last: they win).
    pub(crate) patches: Vec<Patch>,
    /// The kustomizations of the root, root first (for transformer fields).
    pub(crate) kustomizations: Vec<Arc<SourceDocs>>,
    /// Every file the object is made from, as named in reports: its base document, the
    /// patches that target it, the kustomizations of its root and, for a generated object,
    /// its generator's sources. A `--staged` run judges the object when one of them changed.
    pub(crate) inputs: Vec<String>,
}

/// Where a finding's pointer lands.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) file: Arc<SourceFile>,
    pub(crate) position: Option<Position>,
    pub(crate) document_index: usize,
}

const MERGE_KEYS: [&str; 8] = [
    "name",
    "containerPort",
    "mountPath",
    "devicePath",
    "ip",
    "port",
    "key",
    "topologyKey",
];

/// Splits a JSON pointer into its (escaped) tokens.
fn tokens(pointer: &str) -> impl Iterator<Item = &str> {
    pointer.split('/').skip(1)
}

/// The pointer in `target` of the node that `pointer` names in `rendered`, list elements
/// matched by their merge key (a container by `name`, a port by `containerPort`, …) and by
/// index otherwise. Returns the deepest pointer that exists and whether it is the whole path.
fn translate(rendered: &Value, target: &Value, pointer: &str) -> (String, bool) {
    let mut out = String::new();
    let (mut r, mut t) = (rendered, target);
    for token in tokens(pointer) {
        let key = crate::model::position::unescape_token(token);
        let next = match (r, t) {
            (Value::Object(rm), Value::Object(tm)) => {
                match (rm.get(key.as_ref()), tm.get(key.as_ref())) {
                    (Some(rv), Some(tv)) => Some((rv, tv, token.to_owned())),
                    _ => None,
                }
            }
            (Value::Array(ra), Value::Array(ta)) => token
                .parse::<usize>()
                .ok()
                .and_then(|i| ra.get(i))
                .and_then(|re| {
                    let found = match re {
                        Value::Object(rm) => MERGE_KEYS.iter().find_map(|k| {
                            let v = rm.get(*k)?;
                            ta.iter().position(|te| te.get(*k) == Some(v))
                        }),
                        scalar => ta.iter().position(|te| te == scalar),
                    };
                    let found = found.or_else(|| {
                        let i: usize = token.parse().ok()?;
                        (ra.len() == ta.len()).then_some(i)
                    })?;
                    Some((re, ta.get(found)?, found.to_string()))
                }),
            _ => None,
        };
        let Some((rv, tv, token)) = next else {
            return (out, false);
        };
        out.push('/');
        out.push_str(&token);
        r = rv;
        t = tv;
    }
    (out, true)
}

pub(crate) fn name_of(value: &Value) -> Option<&str> {
    lookup(value, "/metadata/name")?.as_str()
}

/// Whether a patch naming `kind`/`name` targets the rendered object (its name may carry
/// prefixes and suffixes added after the patch was written).
pub(crate) fn targets(
    object: &crate::model::manifest::ObjectRef,
    kind: Option<&str>,
    name: Option<&str>,
) -> bool {
    kind.is_none_or(|k| k == object.kind)
        && name.is_none_or(|n| object.name.as_deref().is_some_and(|o| o.contains(n)))
}

impl Origins {
    /// Where `pointer` (in the rendered object `rendered`) is set in the files people edit, or
    /// `None` when nothing maps (the caller falls back to the root's kustomization).
    pub(crate) fn place(&self, rendered: &Value, pointer: &str) -> Option<Placed> {
        let leaf = lookup(rendered, pointer).is_some_and(|v| !v.is_object() && !v.is_array());
        let in_primary = |exact_only: bool| -> Option<Placed> {
            let (docs, d) = self.primary.as_ref()?;
            let (value, positions, index) = docs.doc(*d)?;
            let (found, exact) = translate(rendered, value, pointer);
            if exact_only && !exact {
                return None;
            }
            Some(Placed {
                file: docs.file.clone(),
                position: positions.resolve(&found).map(|(p, _)| p),
                document_index: index,
            })
        };
        if !leaf {
            if let Some(placed) = in_primary(true) {
                return Some(placed);
            }
        }
        if let Some(placed) = self.in_patches(rendered, pointer) {
            return Some(placed);
        }
        if let Some(placed) = in_primary(true) {
            return Some(placed);
        }
        if let Some(placed) = self.in_transformers(rendered, pointer) {
            return Some(placed);
        }
        if let Some((docs, entry)) = &self.generator {
            let (_, positions, index) = docs.doc(0)?;
            return Some(Placed {
                file: docs.file.clone(),
                position: positions.resolve(entry).map(|(p, _)| p),
                document_index: index,
            });
        }
        self.deepest(rendered, pointer)
    }

    /// For a node no file sets (a missing field): the deepest existing ancestor in the base
    /// document or a strategic-merge patch, the base on a tie.
    fn deepest(&self, rendered: &Value, pointer: &str) -> Option<Placed> {
        let mut best: Option<(usize, Placed)> = None;
        let mut consider = |docs: &Arc<SourceDocs>, d: usize| {
            let Some((value, positions, index)) = docs.doc(d) else {
                return;
            };
            let (found, _) = translate(rendered, value, pointer);
            let depth = found.matches('/').count();
            if best.as_ref().is_some_and(|(b, _)| *b >= depth) {
                return;
            }
            if let Some((position, _)) = positions.resolve(&found) {
                best = Some((
                    depth,
                    Placed {
                        file: docs.file.clone(),
                        position: Some(position),
                        document_index: index,
                    },
                ));
            }
        };
        if let Some((docs, d)) = &self.primary {
            consider(docs, *d);
        }
        for patch in &self.patches {
            if let Patch::Merge { file, doc } = patch {
                consider(file, *doc);
            }
        }
        best.map(|(_, placed)| placed)
    }

    fn in_patches(&self, rendered: &Value, pointer: &str) -> Option<Placed> {
        for patch in &self.patches {
            match patch {
                Patch::Merge { file, doc } => {
                    let (value, positions, index) = file.doc(*doc)?;
                    let (found, exact) = translate(rendered, value, pointer);
                    if exact && sets_field(&found) {
                        return Some(Placed {
                            file: file.file.clone(),
                            position: positions.get(&found),
                            document_index: index,
                        });
                    }
                }
                Patch::Json6902 { file, doc } => {
                    let (value, positions, index) = file.doc(*doc)?;
                    if let Some(found) = json6902_op(value, pointer) {
                        return Some(Placed {
                            file: file.file.clone(),
                            position: positions.resolve(&found).map(|(p, _)| p),
                            document_index: index,
                        });
                    }
                }
                Patch::Inline {
                    kustomization,
                    pointer: at,
                    ops,
                    merge,
                    inner,
                    shift,
                } => {
                    let found = match (ops, merge) {
                        (Some(ops), _) => json6902_op(ops, pointer),
                        (_, Some(merge)) => {
                            let (found, exact) = translate(rendered, merge, pointer);
                            (exact && sets_field(&found)).then_some(found)
                        }
                        _ => None,
                    };
                    if let Some(found) = found {
                        let (_, positions, index) = kustomization.doc(0)?;
                        let shifted = shift.and_then(|(lines, columns)| {
                            let (p, _) = inner.resolve(&found)?;
                            Some(Position::new(p.line + lines, p.column + columns))
                        });
                        return Some(Placed {
                            file: kustomization.file.clone(),
                            position: shifted.or_else(|| positions.resolve(at).map(|(p, _)| p)),
                            document_index: index,
                        });
                    }
                }
            }
        }
        None
    }

    fn in_transformers(&self, rendered: &Value, pointer: &str) -> Option<Placed> {
        let mut keys: Vec<String> = Vec::new();
        let mut tokens = tokens(pointer);
        match (tokens.next(), tokens.next(), tokens.next()) {
            (Some("metadata"), Some("namespace"), None) => keys.push("/namespace".into()),
            (Some("metadata"), Some("name"), None) => {
                keys.extend(["/namePrefix".into(), "/nameSuffix".into()]);
            }
            (Some("metadata"), Some(field @ ("labels" | "annotations")), Some(key)) => {
                if field == "labels" {
                    keys.push(format!("/commonLabels/{key}"));
                } else {
                    keys.push(format!("/commonAnnotations/{key}"));
                }
            }
            (Some("spec"), Some("replicas"), None) => keys.push("/replicas".into()),
            _ => {}
        }
        if pointer.ends_with("/image") {
            keys.push("/images".into());
        }
        if pointer.contains("/metadata/labels/") {
            if let Some(key) = pointer.rsplit('/').next() {
                keys.push(format!("/commonLabels/{key}"));
            }
        }
        for k in &self.kustomizations {
            let (value, positions, index) = k.doc(0)?;
            for key in &keys {
                let at = if key == "/images" {
                    let image = lookup(rendered, pointer)
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    value
                        .get("images")
                        .and_then(Value::as_array)
                        .and_then(|images| {
                            images.iter().position(|i| {
                                ["newName", "name"].iter().any(|f| {
                                    i.get(*f)
                                        .and_then(Value::as_str)
                                        .is_some_and(|n| image.starts_with(n))
                                })
                            })
                        })
                        .map(|i| format!("/images/{i}"))
                } else if lookup(value, key).is_some() {
                    Some(key.clone())
                } else if key.starts_with("/commonLabels/") {
                    let label = key.trim_start_matches("/commonLabels/");
                    value
                        .get("labels")
                        .and_then(Value::as_array)
                        .and_then(|ls| {
                            ls.iter()
                                .position(|l| l.get("pairs").and_then(|p| p.get(label)).is_some())
                        })
                        .map(|i| child_pointer(&format!("/labels/{i}/pairs"), label))
                } else {
                    None
                };
                if let Some(at) = at {
                    if let Some(position) = positions.get(&at) {
                        return Some(Placed {
                            file: k.file.clone(),
                            position: Some(position),
                            document_index: index,
                        });
                    }
                }
            }
        }
        None
    }

    /// The root kustomization file, for findings nothing maps.
    pub(crate) fn root(&self) -> Option<Placed> {
        let k = self.kustomizations.first()?;
        let (_, positions, index) = k.doc(0)?;
        Some(Placed {
            file: k.file.clone(),
            position: positions.get("/resources").or(Some(Position::new(1, 1))),
            document_index: index,
        })
    }
}

/// Whether a strategic-merge patch's node at `pointer` sets something, rather than naming the
/// object it patches (its `apiVersion`, `kind`, name and namespace, and the mappings above).
fn sets_field(pointer: &str) -> bool {
    !matches!(
        pointer,
        "" | "/apiVersion" | "/kind" | "/metadata" | "/metadata/name" | "/metadata/namespace"
    )
}

/// The pointer (in the operation list `ops`) of the JSON 6902 operation that sets `pointer`:
/// the last `add`/`replace`/`copy`/`move` whose `path` is `pointer` or one of its ancestors.
fn json6902_op(ops: &Value, pointer: &str) -> Option<String> {
    let ops = ops.as_array()?;
    ops.iter().enumerate().rev().find_map(|(i, op)| {
        let kind = op.get("op").and_then(Value::as_str)?;
        if !matches!(kind, "add" | "replace" | "copy" | "move") {
            return None;
        }
        let path = op.get("path").and_then(Value::as_str)?;
        let rest = pointer.strip_prefix(path)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        Some(if op.get("value").is_some() {
            format!("/{i}/value{rest}")
        } else {
            format!("/{i}")
        })
    })
}
