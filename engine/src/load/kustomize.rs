//! Kustomize trees in a walk: which directories are kustomizations, which are roots
//! (deployable units no other kustomization of the walk includes), which files are their
//! members (resources, patches, generator sources, components: judged through the roots'
//! output, never on their own), and the origins of each rendered object
//! ([`Origins`](crate::model::origin::Origins)).

use crate::load::yaml::{parse_stream, Limits};
use crate::model::origin::{name_of, targets, Origins, Patch, SourceDocs};
use crate::model::position::lookup;
use crate::source::render::kustomization_file;
use crate::source::{normalize, Source, SourceFile};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The annotations origin tracking adds; removed before anything judges the object.
const ORIGIN: &str = "config.kubernetes.io/origin";
const TRANSFORMATIONS: &str = "alpha.config.kubernetes.io/transformations";

/// One kustomization file, read.
#[derive(Debug, Clone)]
pub struct Kustomization {
    /// Its directory, normalized (`a/./b/../c` → `a/c`).
    pub dir: PathBuf,
    pub file: PathBuf,
    /// Kustomization directories it includes (`resources`, `bases`, `components`), normalized.
    pub includes: Vec<PathBuf>,
    /// Files it reads (resources, patches, generator sources, replacements, …), normalized.
    pub members: Vec<PathBuf>,
    /// `kind: Component` (`kustomize.config.k8s.io/v1alpha1`): it renders only as part of a
    /// kustomization that lists it under `components`, never on its own.
    pub component: bool,
}

/// Reads the kustomization in `dir`. Every string value of the file that names an existing
/// file relative to `dir` (or the path part of a generator's `key=path`) is a member; every
/// entry of `resources`, `bases` and `components` that is a kustomization directory is an
/// include. Remote references (URLs) name nothing on disk and are left to kustomize.
pub fn read(dir: &Path, limits: &Limits) -> Result<Kustomization, String> {
    let file = kustomization_file(dir).ok_or_else(|| "no kustomization file".to_owned())?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read: {e}"))?;
    let stream = parse_stream(&text, limits);
    if let Some(e) = stream.error {
        return Err(format!("{}: {}", e.position, e.kind));
    }
    let value = stream
        .documents
        .into_iter()
        .next()
        .map(|d| d.value)
        .unwrap_or(Value::Null);
    let dir = normalize(dir);
    let mut includes = Vec::new();
    for key in ["resources", "bases", "components"] {
        for entry in value
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(entry) = entry.as_str() else {
                continue;
            };
            let target = normalize(&dir.join(entry));
            if target.is_dir() && kustomization_file(&target).is_some() {
                includes.push(target);
            }
        }
    }
    let mut members = BTreeSet::new();
    collect_files(&value, &dir, &mut members);
    Ok(Kustomization {
        dir,
        file: normalize(&file),
        includes,
        members: members.into_iter().collect(),
        component: value.get("kind").and_then(Value::as_str) == Some("Component"),
    })
}

fn collect_files(value: &Value, dir: &Path, out: &mut BTreeSet<PathBuf>) {
    match value {
        Value::String(s) if !s.contains('\n') && !s.contains("://") => {
            let path_part = s.split_once('=').map_or(s.as_str(), |(_, p)| p);
            for candidate in [s.as_str(), path_part] {
                let path = normalize(&dir.join(candidate));
                if path.is_file() {
                    out.insert(path);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_files(v, dir, out)),
        Value::Object(map) => map.values().for_each(|v| collect_files(v, dir, out)),
        _ => {}
    }
}

/// What the kustomizations of a walk are to it.
#[derive(Debug, Default)]
pub struct Forest {
    /// Kustomizations no other kustomization of the walk includes, sorted: what is rendered.
    /// Components are never roots.
    pub roots: Vec<PathBuf>,
    /// Components no kustomization of the walk lists, sorted: not rendered, so not judged
    /// (their files are members all the same: patches are not objects to judge alone).
    pub unused_components: Vec<PathBuf>,
    /// Files the kustomizations read (normalized): judged through the roots, not on their own.
    pub members: BTreeSet<PathBuf>,
    /// Kustomization files that could not be read: `(file, cause)`.
    pub errors: Vec<(PathBuf, String)>,
    /// Every kustomization read, by normalized directory.
    pub kustomizations: HashMap<PathBuf, Kustomization>,
}

impl Forest {
    /// Reads the kustomizations in `dirs` (and the ones they include, wherever those are) and
    /// sorts out roots and members.
    pub fn plan(dirs: &[PathBuf], limits: &Limits) -> Forest {
        let mut forest = Forest::default();
        let walked: BTreeSet<PathBuf> = dirs.iter().map(|d| normalize(d)).collect();
        let mut pending: Vec<PathBuf> = walked.iter().cloned().collect();
        while let Some(dir) = pending.pop() {
            if forest.kustomizations.contains_key(&dir) {
                continue;
            }
            match read(&dir, limits) {
                Ok(k) => {
                    pending.extend(k.includes.iter().cloned());
                    forest.kustomizations.insert(dir, k);
                }
                Err(cause) => {
                    let file = kustomization_file(&dir).unwrap_or_else(|| dir.clone());
                    forest.errors.push((file, cause));
                }
            }
        }
        let included: BTreeSet<&PathBuf> = forest
            .kustomizations
            .values()
            .flat_map(|k| k.includes.iter())
            .collect();
        for dir in walked.iter().filter(|d| !included.contains(d)) {
            match forest.kustomizations.get(dir) {
                Some(k) if k.component => forest.unused_components.push(dir.clone()),
                Some(_) => forest.roots.push(dir.clone()),
                None => {}
            }
        }
        forest.members = forest
            .kustomizations
            .values()
            .flat_map(|k| k.members.iter().cloned())
            .collect();
        forest.errors.sort();
        forest
    }

    /// The kustomizations a root reaches, the root first, then breadth first.
    pub fn closure(&self, root: &Path) -> Vec<&Kustomization> {
        let mut out: Vec<&Kustomization> = Vec::new();
        let mut queue = std::collections::VecDeque::from([normalize(root)]);
        while let Some(dir) = queue.pop_front() {
            if out.iter().any(|k| k.dir == dir) {
                continue;
            }
            if let Some(k) = self.kustomizations.get(&dir) {
                queue.extend(k.includes.iter().cloned());
                out.push(k);
            }
        }
        out
    }
}

/// Reads source files once per root.
#[derive(Debug)]
pub(crate) struct Files {
    cwd: PathBuf,
    limits: Limits,
    cache: HashMap<PathBuf, Option<Arc<SourceDocs>>>,
}

impl Files {
    pub(crate) fn new(limits: &Limits) -> Self {
        let cwd = std::env::current_dir().unwrap_or_default();
        Self {
            cwd: cwd.canonicalize().unwrap_or(cwd),
            limits: *limits,
            cache: HashMap::new(),
        }
    }

    /// `path` (absolute) as people name it: relative to the working directory when under it.
    fn absolute(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            normalize(path)
        } else {
            normalize(&self.cwd.join(path))
        }
    }

    fn display(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.cwd)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| path.to_path_buf())
    }

    fn get(&mut self, path: &Path) -> Option<Arc<SourceDocs>> {
        let absolute = if path.is_absolute() {
            normalize(path)
        } else {
            normalize(&self.cwd.join(path))
        };
        if let Some(found) = self.cache.get(&absolute) {
            return found.clone();
        }
        let read = std::fs::read_to_string(&absolute).ok().map(|text| {
            let stream = parse_stream(&text, &self.limits);
            let docs = stream
                .documents
                .into_iter()
                .map(|d| (d.value, d.positions, d.index))
                .collect();
            Arc::new(SourceDocs {
                file: Arc::new(SourceFile::new(Source::File(self.display(&absolute)), text)),
                docs,
            })
        });
        self.cache.insert(absolute, read.clone());
        read
    }
}

/// Builds the origins of one rendered object from its annotations (`value`'s, before they are
/// stripped), the kustomizations of its root, and the files they read.
pub(crate) fn origins(
    value: &Value,
    object: &crate::model::manifest::ObjectRef,
    base: &Path,
    forest: &Forest,
    root: &Path,
    files: &mut Files,
) -> Option<Origins> {
    let annotations = lookup(value, "/metadata/annotations")?.as_object()?;
    let origin = annotations.get(ORIGIN)?.as_str()?;
    let origin: Value = parse_stream(origin, &Limits::default())
        .documents
        .into_iter()
        .next()?
        .value;
    let mut origins = Origins {
        primary: None,
        generator: None,
        patches: Vec::new(),
        kustomizations: Vec::new(),
        inputs: Vec::new(),
    };
    if let Some(path) = origin.get("path").and_then(Value::as_str) {
        if let Some(docs) = files.get(&base.join(path)) {
            let doc = docs
                .docs
                .iter()
                .enumerate()
                .filter(|(_, (v, _, _))| {
                    lookup(v, "/kind").and_then(Value::as_str) == Some(object.kind.as_str())
                })
                .filter(|(_, (v, _, _))| targets(object, None, name_of(v)))
                .max_by_key(|(_, (v, _, _))| name_of(v).map_or(0, str::len))
                .map(|(i, _)| i);
            if let Some(doc) = doc {
                origins.primary = Some((docs, doc));
            }
        }
    } else if let Some(path) = origin.get("configuredIn").and_then(Value::as_str) {
        if let Some(docs) = files.get(&base.join(path)) {
            let generator = origin
                .pointer("/configuredBy/kind")
                .and_then(Value::as_str)
                .map(|k| match k {
                    "SecretGenerator" => "secretGenerator",
                    _ => "configMapGenerator",
                });
            if let (Some(key), Some((v, _, _))) = (generator, docs.doc(0)) {
                let entry = v.get(key).and_then(Value::as_array).and_then(|entries| {
                    entries
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| {
                            targets(object, None, e.get("name").and_then(Value::as_str))
                        })
                        .max_by_key(|(_, e)| {
                            e.get("name").and_then(Value::as_str).map_or(0, str::len)
                        })
                        .map(|(i, _)| format!("/{key}/{i}"))
                });
                if let Some(entry) = entry {
                    origins.generator = Some((docs.clone(), entry.clone()));
                    // The generator's sources: the files its entry names.
                    let generator_file = files.absolute(&base.join(path));
                    let mut sources = BTreeSet::new();
                    if let (Some(dir), Some(entry_value)) =
                        (generator_file.parent(), lookup(v, &entry))
                    {
                        collect_files(entry_value, dir, &mut sources);
                    }
                    for source in sources {
                        origins
                            .inputs
                            .push(files.display(&source).display().to_string());
                    }
                }
            }
        }
    }
    for k in forest.closure(root) {
        let Some(kdocs) = files.get(&k.file) else {
            continue;
        };
        origins.kustomizations.push(kdocs.clone());
        let Some((kv, _, _)) = kdocs.doc(0) else {
            continue;
        };
        let kv = kv.clone();
        for (key, json) in [
            ("patches", None),
            ("patchesStrategicMerge", Some(false)),
            ("patchesJson6902", Some(true)),
        ] {
            for (i, entry) in kv
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let pointer = format!("/{key}/{i}");
                let (path, inline, target) = match entry {
                    Value::String(s) if s.contains('\n') => (None, Some(s.as_str()), None),
                    Value::String(s) => (Some(s.as_str()), None, None),
                    Value::Object(m) => (
                        m.get("path").and_then(Value::as_str),
                        m.get("patch").and_then(Value::as_str),
                        m.get("target").and_then(Value::as_object),
                    ),
                    _ => continue,
                };
                let target_kind = target.and_then(|t| t.get("kind")).and_then(Value::as_str);
                let target_name = target.and_then(|t| t.get("name")).and_then(Value::as_str);
                if target.is_some() && !targets(object, target_kind, target_name) {
                    continue;
                }
                if let Some(path) = path {
                    let Some(pdocs) = files.get(&k.dir.join(path)) else {
                        continue;
                    };
                    for (d, (pv, _, _)) in pdocs.docs.iter().enumerate() {
                        match pv {
                            Value::Array(_) if json != Some(false) => {
                                origins.patches.push(Patch::Json6902 {
                                    file: pdocs.clone(),
                                    doc: d,
                                })
                            }
                            Value::Object(_) if json != Some(true) => {
                                let kind = lookup(pv, "/kind").and_then(Value::as_str);
                                if target.is_some() || targets(object, kind, name_of(pv)) {
                                    origins.patches.push(Patch::Merge {
                                        file: pdocs.clone(),
                                        doc: d,
                                    });
                                }
                            }
                            _ => {}
                        }
                    }
                } else if let Some(inline) = inline {
                    let parsed = parse_stream(inline, &Limits::default())
                        .documents
                        .into_iter()
                        .next();
                    let Some(parsed) = parsed else { continue };
                    let inner = parsed.positions;
                    let (ops, merge) = match parsed.value {
                        v @ Value::Array(_) => (Some(v), None),
                        v @ Value::Object(_) => {
                            let kind = lookup(&v, "/kind").and_then(Value::as_str);
                            if target.is_none() && !targets(object, kind, name_of(&v)) {
                                continue;
                            }
                            (None, Some(v))
                        }
                        _ => continue,
                    };
                    let pointer = if entry.is_object() {
                        format!("{pointer}/patch")
                    } else {
                        pointer
                    };
                    let shift = block_scalar_shift(&kdocs, &pointer);
                    origins.patches.push(Patch::Inline {
                        kustomization: kdocs.clone(),
                        pointer,
                        ops,
                        merge,
                        inner,
                        shift,
                    });
                }
            }
        }
    }
    let mut inputs = std::mem::take(&mut origins.inputs);
    if let Some((docs, _)) = &origins.primary {
        inputs.push(docs.file.name.clone());
    }
    for patch in &origins.patches {
        inputs.push(patch.file_name().to_owned());
    }
    inputs.extend(origins.kustomizations.iter().map(|k| k.file.name.clone()));
    inputs.sort();
    inputs.dedup();
    origins.inputs = inputs;
    Some(origins)
}

/// For an inline patch written as a literal block scalar (`patch: |-` and the patch on the
/// lines below), how far the patch's own positions are from the kustomization's: the key's
/// line (its content starts on the next), and the content's indentation. `None` for any other
/// style (quoted, folded: lines would not correspond).
fn block_scalar_shift(kustomization: &SourceDocs, pointer: &str) -> Option<(u32, u32)> {
    let (_, positions, _) = kustomization.doc(0)?;
    let key = positions.get(pointer)?;
    let text = &kustomization.file;
    let line = text.line(key.line)?;
    let after_key = line.split_once(':')?.1.trim();
    if !after_key.starts_with('|') {
        return None;
    }
    let mut next = key.line + 1;
    let indent = loop {
        let content = text.line(next)?;
        if !content.trim().is_empty() {
            break content.len() - content.trim_start().len();
        }
        next += 1;
    };
    Some((key.line, u32::try_from(indent).ok()?))
}

/// Removes the annotations origin tracking added, and `annotations` when nothing else is left.
pub(crate) fn strip_origin_annotations(value: &mut Value) {
    let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let empty = match metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        Some(annotations) => {
            annotations.remove(ORIGIN);
            annotations.remove(TRANSFORMATIONS);
            annotations.is_empty()
        }
        None => false,
    };
    if empty {
        metadata.remove("annotations");
    }
}
