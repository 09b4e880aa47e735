//! Reads manifests from files, directories and stdin, in parallel, into [`Manifest`]s.

pub mod scalar;
pub mod yaml;

use crate::load::yaml::{parse_stream, Limits, ParsedDocument};
use crate::model::manifest::{json_type, object_ref, Manifest, ObjectError};
use crate::model::position::{index_pointer, Position, PositionIndex};
use crate::source::{Source, SourceFile};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// Why (part of) an input could not be loaded.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("not valid UTF-8 text")]
    NotUtf8,
    #[error("file is {size} bytes, more than the limit of {limit} bytes")]
    FileTooLarge { size: u64, limit: usize },
    #[error(transparent)]
    Yaml(#[from] crate::load::yaml::YamlErrorKind),
    /// The document is not a Kubernetes object: not a mapping, or no `apiVersion`/`kind`.
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("path does not exist")]
    NotFound,
    #[error("{0}")]
    Walk(String),
    #[error(
        "this is a Helm chart directory; render it first: `helm template <release> <chart> | kubegate check -`"
    )]
    HelmChart,
    #[error("rule {rule} failed on {object}; its findings for this object are missing (please report this bug)")]
    RulePanicked { rule: &'static str, object: String },
    #[error("{0}")]
    PolicyFailed(String),
    #[error("policy evaluation failed on {object}; the policies' findings for this object are missing (please report this bug)")]
    PolicyPanicked { object: String },
    #[error("{0}")]
    Render(String),
}

/// A load error with the file and, where known, the position it concerns.
#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[error("{file}{}: {kind}", position.map(|p| format!(":{p}")).unwrap_or_default())]
pub struct LoadError {
    pub file: String,
    pub position: Option<Position>,
    #[serde(serialize_with = "serialize_display")]
    pub kind: LoadErrorKind,
}

fn serialize_display<S: serde::Serializer, T: std::fmt::Display>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// One thing to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or a directory (walked recursively).
    Path(PathBuf),
    /// Standard input, read to its end.
    Stdin,
}

/// Everything a load produced. Manifests are in input order: file, document, list item.
#[derive(Debug, Default)]
pub struct Loaded {
    pub manifests: Vec<Manifest>,
    pub errors: Vec<LoadError>,
    /// How many files (stdin counts as one) were read.
    pub files: usize,
}

/// Loads manifests from files, directories and stdin.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    pub limits: Limits,
    /// Directories given as inputs that are kustomizations or Helm charts are rendered with
    /// these settings; `None` treats them like any directory.
    pub render: Option<crate::source::render::RenderSettings>,
}

impl Loader {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            render: None,
        }
    }

    /// The same loader, rendering kustomizations and charts given as inputs.
    pub fn with_render(mut self, settings: crate::source::render::RenderSettings) -> Self {
        self.render = Some(settings);
        self
    }

    /// Loads every input. Directories are walked in parallel (honouring `.gitignore`,
    /// `.ignore` and hidden-file rules) for `.yaml`, `.yml` and `.json` files; files named
    /// explicitly are always read. Files are parsed in parallel; the result does not depend on
    /// the number of threads.
    pub fn load(&self, inputs: &[Input]) -> Loaded {
        let mut errors = Vec::new();
        let mut files: Vec<PathBuf> = Vec::new();
        let mut rendered: Vec<PathBuf> = Vec::new();
        let mut stdin = false;
        for input in inputs {
            match input {
                Input::Stdin => stdin = true,
                Input::Path(path)
                    if self.render.is_some() && crate::source::render::kind_of(path).is_some() =>
                {
                    rendered.push(path.clone());
                }
                Input::Path(path) if path.join("Chart.yaml").is_file() => errors.push(LoadError {
                    file: path.display().to_string(),
                    position: None,
                    kind: LoadErrorKind::HelmChart,
                }),
                Input::Path(path) if path.is_dir() => {
                    let found = walk(path, &mut errors);
                    if found.is_empty() {
                        tracing::warn!("no .yaml, .yml or .json files under {}", path.display());
                    }
                    files.extend(found);
                }
                Input::Path(path) if path.exists() => files.push(path.clone()),
                Input::Path(path) => errors.push(LoadError {
                    file: path.display().to_string(),
                    position: None,
                    kind: LoadErrorKind::NotFound,
                }),
            }
        }
        let mut loaded = Loaded::default();
        if stdin {
            loaded.files += 1;
            let mut text = String::new();
            let limit = self.limits.max_file_bytes as u64;
            match std::io::stdin()
                .lock()
                .take(limit + 1)
                .read_to_string(&mut text)
            {
                Ok(n) if n as u64 > limit => errors.push(LoadError {
                    file: "<stdin>".into(),
                    position: None,
                    kind: LoadErrorKind::FileTooLarge {
                        size: n as u64,
                        limit: self.limits.max_file_bytes,
                    },
                }),
                Ok(_) => {
                    let (m, e) = self.load_source(Source::Stdin, text);
                    loaded.manifests.extend(m);
                    errors.extend(e);
                }
                Err(e) => errors.push(LoadError {
                    file: "<stdin>".into(),
                    position: None,
                    kind: if e.kind() == std::io::ErrorKind::InvalidData {
                        LoadErrorKind::NotUtf8
                    } else {
                        LoadErrorKind::Io(e.to_string())
                    },
                }),
            }
        }
        for dir in &rendered {
            let Some(settings) = &self.render else { break };
            match crate::source::render::render(dir, settings) {
                Some(Ok(r)) => {
                    loaded.files += 1;
                    let (mut manifests, errs) = self.load_source(r.source, r.text);
                    for m in &mut manifests {
                        m.template.get_or_insert_with(|| r.origin.clone());
                    }
                    loaded.manifests.extend(manifests);
                    errors.extend(errs);
                }
                Some(Err(e)) => errors.push(LoadError {
                    file: dir.display().to_string(),
                    position: None,
                    kind: LoadErrorKind::Render(e.to_string()),
                }),
                // The renderer is not available: the directory is walked like any other.
                None => files.extend(walk(dir, &mut errors)),
            }
        }
        // Sorted once all files are known (the walked fallbacks of renderers too), so the
        // object order does not depend on which inputs were rendered.
        files.sort();
        files.dedup();
        loaded.files += files.len();
        let per_file: Vec<_> = files.par_iter().map(|path| self.load_file(path)).collect();
        for (m, e) in per_file {
            loaded.manifests.extend(m);
            errors.extend(e);
        }
        loaded.errors = errors;
        loaded
    }

    fn load_file(&self, path: &Path) -> (Vec<Manifest>, Vec<LoadError>) {
        let name = path.display().to_string();
        let fail = |kind| {
            (
                Vec::new(),
                vec![LoadError {
                    file: name.clone(),
                    position: None,
                    kind,
                }],
            )
        };
        let size = match std::fs::metadata(path) {
            Ok(m) => m.len(),
            Err(e) => return fail(LoadErrorKind::Io(e.to_string())),
        };
        if size > self.limits.max_file_bytes as u64 {
            return fail(LoadErrorKind::FileTooLarge {
                size,
                limit: self.limits.max_file_bytes,
            });
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return fail(LoadErrorKind::Io(e.to_string())),
        };
        match String::from_utf8(bytes) {
            Ok(text) => self.load_source(Source::File(path.to_path_buf()), text),
            Err(_) => fail(LoadErrorKind::NotUtf8),
        }
    }

    /// Loads named texts (files read elsewhere, such as from git) in parallel, in order.
    pub fn load_texts(&self, texts: Vec<(Source, String)>) -> Loaded {
        let files = texts.len();
        let per_file: Vec<_> = texts
            .into_par_iter()
            .map(|(source, text)| self.load_source(source, text))
            .collect();
        let mut loaded = Loaded {
            files,
            ..Loaded::default()
        };
        for (m, e) in per_file {
            loaded.manifests.extend(m);
            loaded.errors.extend(e);
        }
        loaded
    }

    /// Loads one text given in memory under `name`.
    pub fn load_text(&self, name: &str, text: String) -> (Vec<Manifest>, Vec<LoadError>) {
        self.load_source(Source::Named(name.to_owned()), text)
    }

    /// Loads one text (a file's contents) from `source`.
    pub fn load_source(&self, source: Source, mut text: String) -> (Vec<Manifest>, Vec<LoadError>) {
        // Strip a UTF-8 byte order mark here, so character offsets (Helm comments) and the
        // parser's positions count from the same first character.
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let stream = parse_stream(&text, &self.limits);
        let helm_sources = helm_source_comments(&text);
        let source = Arc::new(SourceFile::new(source, text));
        let name = source.name.as_str();
        let mut manifests = Vec::new();
        let mut errors = Vec::new();
        let mut previous_end = 0;
        let mut templates = TemplateCursor::new(&helm_sources);
        for doc in stream.documents {
            let template = templates.template_for(previous_end, doc.start_char);
            previous_end = doc.end_char;
            if let Err(e) = into_manifests(doc, &source, template, &mut manifests) {
                errors.push(e);
            }
        }
        if let Some(e) = stream.error {
            errors.push(LoadError {
                file: name.to_owned(),
                position: Some(e.position),
                kind: e.kind.into(),
            });
        }
        (manifests, errors)
    }
}

/// Walks a directory for manifest files, sorted, passing over renderer inputs.
fn walk(root: &Path, errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    let walked = crate::source::walk::walk(
        root,
        &crate::source::walk::WalkRules {
            follow_links: false,
            skip: is_render_input,
            accept: &crate::source::walk::is_manifest_file,
        },
    );
    errors.extend(walked.errors.into_iter().map(|message| LoadError {
        file: root.display().to_string(),
        position: None,
        kind: LoadErrorKind::Walk(message),
    }));
    walked.files
}

/// Inputs of renderers, not Kubernetes objects: a kustomization file, or a Helm chart
/// directory (its templates are not YAML until rendered). A directory walk passes over them;
/// naming such a file explicitly still checks it.
fn is_render_input(path: &Path, is_dir: bool) -> bool {
    let skip = if is_dir {
        path.join("Chart.yaml").is_file()
    } else {
        matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
        )
    };
    if skip {
        tracing::info!(path = %path.display(), "skipping kustomization or Helm chart during directory walk");
    }
    skip
}

/// `(character offset, template path)` of every `# Source: <path>` comment line that Helm
/// writes before each rendered document.
fn helm_source_comments(text: &str) -> Vec<(usize, String)> {
    if !text.contains("# Source: ") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut chars = 0;
    for line in text.split_inclusive('\n') {
        if let Some(path) = line.trim_end().strip_prefix("# Source: ") {
            out.push((chars, path.trim().to_owned()));
        }
        chars += line.chars().count();
    }
    out
}

/// Attaches Helm `# Source:` comments to documents in one forward pass: a document gets the
/// last comment between the previous document's end and its own start.
#[derive(Debug)]
struct TemplateCursor<'a> {
    sources: &'a [(usize, String)],
    next: usize,
}

impl<'a> TemplateCursor<'a> {
    fn new(sources: &'a [(usize, String)]) -> Self {
        Self { sources, next: 0 }
    }

    fn template_for(&mut self, after: usize, before: usize) -> Option<String> {
        let mut found = None;
        while let Some((at, path)) = self.sources.get(self.next) {
            if *at >= before {
                break;
            }
            if *at >= after {
                found = Some(path);
            }
            self.next += 1;
        }
        found.cloned()
    }
}

/// Turns one document into manifests, flattening `List` and `*List` kinds.
fn into_manifests(
    doc: ParsedDocument,
    source: &Arc<SourceFile>,
    template: Option<String>,
    out: &mut Vec<Manifest>,
) -> Result<(), LoadError> {
    let err = |kind, pointer: &str, positions: &PositionIndex| LoadError {
        file: source.name.clone(),
        position: positions
            .resolve(pointer)
            .map(|(p, _)| p)
            .or(Some(doc.start)),
        kind,
    };
    let object = object_ref(&doc.value).map_err(|k| err(k.into(), "", &doc.positions))?;
    let positions = Arc::new(doc.positions);
    if is_list(&object, &doc.value) {
        let Value::Object(mut map) = doc.value else {
            return Ok(());
        };
        let items = match map.remove("items") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => {
                return Err(err(
                    ObjectError::WrongType {
                        field: "items",
                        expected: "sequence",
                        found: json_type(&other),
                    }
                    .into(),
                    "/items",
                    &positions,
                ))
            }
        };
        // Typed lists (`PodList`) from the API omit each item's apiVersion and kind.
        let item_kind = object
            .kind
            .strip_suffix("List")
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        let mut first_error = None;
        for (i, mut item) in items.into_iter().enumerate() {
            let pointer = index_pointer("/items", i);
            if let (Some(kind), Value::Object(m)) = (&item_kind, &mut item) {
                m.entry("apiVersion")
                    .or_insert_with(|| Value::String(object.api_version.clone()));
                m.entry("kind")
                    .or_insert_with(|| Value::String(kind.clone()));
            }
            match object_ref(&item) {
                Ok(item_ref) => out.push(Manifest {
                    object: item_ref,
                    value: item,
                    source: source.clone(),
                    document_index: doc.index,
                    item_index: Some(i),
                    template: template.clone(),
                    positions: positions.clone(),
                    base_pointer: pointer,
                }),
                Err(kind) => {
                    first_error.get_or_insert_with(|| err(kind.into(), &pointer, &positions));
                }
            }
        }
        return first_error.map_or(Ok(()), Err);
    }
    out.push(Manifest {
        object,
        value: doc.value,
        source: source.clone(),
        document_index: doc.index,
        item_index: None,
        template,
        positions,
        base_pointer: String::new(),
    });
    Ok(())
}

fn is_list(object: &crate::model::manifest::ObjectRef, value: &Value) -> bool {
    object.kind.ends_with("List")
        && value
            .get("items")
            .is_some_and(|i| i.is_array() || i.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (Vec<Manifest>, Vec<LoadError>) {
        Loader::default().load_text("test.yaml", text.to_owned())
    }

    #[test]
    fn lists_are_flattened_with_positions() {
        let (m, e) = load(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n",
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].object.kind, "Secret");
        assert_eq!(m[1].item_index, Some(1));
        assert_eq!(m[1].locate("/metadata/name"), Some(Position::new(11, 5)));
    }

    #[test]
    fn typed_lists_fill_in_kind() {
        let (m, e) = load("apiVersion: v1\nkind: PodList\nitems:\n- metadata:\n    name: p\n");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(m[0].object.kind, "Pod");
        assert_eq!(m[0].object.api_version, "v1");
    }

    #[test]
    fn documents_without_kind_are_errors_not_skipped() {
        let (m, e) = load("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata:\n  name: b\n");
        assert_eq!(m.len(), 1);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].kind, ObjectError::MissingField("kind").into());
        assert_eq!(e[0].position, Some(Position::new(5, 1)));
        let (_, e) = load("- a\n- b\n");
        assert_eq!(e[0].kind, ObjectError::NotAnObject("sequence").into());
        let (_, e) = load("apiVersion: v1\nkind: [Pod]\n");
        assert!(matches!(
            e[0].kind,
            LoadErrorKind::Object(ObjectError::WrongType { field: "kind", .. })
        ));
    }

    #[test]
    fn helm_source_comments_name_the_template() {
        let (m, e) = load(
            "---\n# Source: web/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n# Source: web/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        );
        assert!(e.is_empty(), "{e:?}");
        let templates: Vec<_> = m.iter().map(|m| m.template.as_deref()).collect();
        assert_eq!(
            templates,
            vec![
                Some("web/templates/sa.yaml"),
                Some("web/templates/deploy.yaml"),
                None
            ]
        );
    }

    /// A kustomization whose renderer is turned off is walked like any directory; its files
    /// are read in sorted order with the others, whatever the walk's thread scheduling (they
    /// used to be appended, unsorted, after the sorted files of the other inputs).
    #[test]
    fn a_walked_kustomization_keeps_the_object_order_sorted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).expect("mkdir");
        std::fs::write(app.join("kustomization.yaml"), "resources: []\n").expect("write");
        for i in 0..40 {
            let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i:02}\n");
            std::fs::write(app.join(format!("cm-{i:02}.yaml")), text).expect("write");
        }
        let other = dir.path().join("z-last.yaml");
        std::fs::write(
            &other,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: z\n",
        )
        .expect("write");
        let loader = Loader::default().with_render(crate::source::render::RenderSettings {
            kustomize: false,
            helm: false,
            ..Default::default()
        });
        let mut expected: Vec<String> = (0..40).map(|i| format!("cm-{i:02}")).collect();
        expected.push("z".into());
        for _ in 0..5 {
            // The other input first on the command line: order follows the sorted paths.
            let loaded = loader.load(&[Input::Path(other.clone()), Input::Path(app.clone())]);
            assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
            let names: Vec<String> = loaded
                .manifests
                .iter()
                .filter_map(|m| m.object.name.clone())
                .collect();
            assert_eq!(names, expected);
            assert_eq!(loaded.files, 41);
        }
    }
}
