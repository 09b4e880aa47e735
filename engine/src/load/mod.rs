//! Reads manifests from files, directories and stdin, in parallel, into [`Manifest`]s.

mod goyaml_compat;
pub mod kustomize;
pub mod scalar;
pub mod yaml;

use crate::load::kustomize::Forest;
use crate::load::yaml::{parse_stream, Limits, ParsedDocument};
use crate::model::manifest::{json_type, object_ref, Manifest, ObjectError};
use crate::model::position::{index_pointer, Position, PositionIndex};
use crate::source::render::{
    is_kustomization_file, kustomization_file, on_path, render_kustomize_root, RenderError,
};
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
    /// An object where the input may hold only certain kinds (`--namespace-labels`).
    #[error("{0}")]
    UnexpectedObject(String),
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
    /// Files a directory walk (or the git index) met that hold no Kubernetes object: no
    /// document with `apiVersion` and `kind` (`package.json`, compose files, Helm values,
    /// CI workflows, kustomize generator sources). Passed over, counted, never an error.
    pub not_manifests: Vec<String>,
    /// Helm charts a walk met but could not render, each with why (`helm is not on PATH`).
    /// Their objects are not judged: the report must say so.
    pub unrendered_charts: Vec<(String, String)>,
    /// Kustomize roots rendered (directories), and how many member files they read.
    pub kustomize_roots: Vec<String>,
    pub kustomize_members: usize,
    /// Kustomize Components a walk met that no kustomization of the input lists under
    /// `components`: a Component renders only inside a kustomization, so its objects and
    /// patches were not judged. The report must say so.
    pub unused_components: Vec<String>,
}

impl Loaded {
    /// Places every namespaced object without `metadata.namespace` in `namespace`, as
    /// `kubectl apply -n NAMESPACE` would: built-in cluster-scoped kinds and the kinds of
    /// cluster-scoped CustomResourceDefinitions in the input stay as they are. Returns how many
    /// objects were placed.
    pub fn place_in_namespace(&mut self, namespace: &str) -> usize {
        let cluster_crds: Vec<(String, String)> = self
            .manifests
            .iter()
            .filter(|m| m.object.kind == "CustomResourceDefinition")
            .filter(|m| {
                crate::model::position::lookup(&m.value, "/spec/scope").and_then(Value::as_str)
                    == Some("Cluster")
            })
            .filter_map(|m| {
                let group = crate::model::position::lookup(&m.value, "/spec/group")?.as_str()?;
                let kind =
                    crate::model::position::lookup(&m.value, "/spec/names/kind")?.as_str()?;
                Some((group.to_owned(), kind.to_owned()))
            })
            .collect();
        let mut placed = 0;
        for m in &mut self.manifests {
            let (group, kind) = (m.object.group().to_owned(), m.object.kind.clone());
            if m.object.namespace.is_some()
                || crate::model::manifest::is_cluster_scoped(&group, &kind)
                || cluster_crds.iter().any(|(g, k)| *g == group && *k == kind)
            {
                continue;
            }
            let mut done = false;
            let edited = m.edit(|value| {
                if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                    metadata.insert("namespace".into(), Value::String(namespace.to_owned()));
                    done = true;
                }
            });
            if let Err(e) = edited {
                tracing::error!(object = %m.object, "cannot place the object in {namespace}: {e}");
            }
            if done {
                m.object.namespace = Some(namespace.to_owned());
                placed += 1;
            }
        }
        placed
    }
}

/// Loads manifests from files, directories and stdin.
#[derive(Debug, Clone, Default)]
pub struct Loader {
    pub limits: Limits,
    /// Directories given as inputs that are kustomizations or Helm charts are rendered with
    /// these settings; `None` treats them like any directory.
    pub render: Option<crate::source::render::RenderSettings>,
    /// Park each object as its file is loaded ([`Manifest::park`]): the whole object is kept
    /// as compact JSON and read back only while it is judged, so a run's memory is bounded by
    /// its input. Off by default: a parked manifest's `value` is only its projection, which
    /// suits [`crate::Checker::check`] (it reads objects back) but not a caller reading values.
    pub park: bool,
}

impl Loader {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            render: None,
            park: false,
        }
    }

    /// The same loader, parking objects as they are loaded (see [`Loader::park`]).
    pub fn parking(mut self, park: bool) -> Self {
        self.park = park;
        self
    }

    /// Parks `manifests` when this loader parks.
    fn settle(&self, mut manifests: Vec<Manifest>) -> Vec<Manifest> {
        if self.park {
            for m in &mut manifests {
                m.park();
            }
        }
        manifests
    }

    /// The same loader, rendering kustomizations and charts given as inputs.
    pub fn with_render(mut self, settings: crate::source::render::RenderSettings) -> Self {
        self.render = Some(settings);
        self
    }

    /// Loads every input. Directories are walked (honouring `.gitignore`, `.ignore` and
    /// hidden-file rules) for `.yaml`, `.yml` and `.json` files, understanding what a GitOps
    /// tree holds: kustomizations no other kustomization of the walk includes (roots) are
    /// rendered and their output judged, while the files they read (resources, patches,
    /// generator sources) are not judged on their own; Helm charts are rendered when helm is
    /// there and listed in [`Loaded::unrendered_charts`] when not; files holding no Kubernetes
    /// object are passed over and listed in [`Loaded::not_manifests`]. Files named explicitly
    /// are always read and judged. Files are parsed in parallel; the result does not depend on
    /// the number of threads.
    pub fn load(&self, inputs: &[Input]) -> Loaded {
        let mut errors = Vec::new();
        // (path, named explicitly)
        let mut files: Vec<(PathBuf, bool)> = Vec::new();
        let mut kustomizations: Vec<PathBuf> = Vec::new();
        let mut explicit_roots: Vec<PathBuf> = Vec::new();
        let mut charts: Vec<(PathBuf, bool)> = Vec::new();
        let mut stdin = false;
        let kustomize_on = self.render.as_ref().is_some_and(|r| r.kustomize);
        for input in inputs {
            match input {
                Input::Stdin => stdin = true,
                Input::Path(path) if path.join("Chart.yaml").is_file() => {
                    charts.push((path.clone(), true));
                }
                Input::Path(path) if kustomize_on && kustomization_file(path).is_some() => {
                    explicit_roots.push(path.clone());
                }
                Input::Path(path) if path.is_dir() => {
                    let found = walk(path, &mut errors);
                    if found.is_empty() {
                        tracing::warn!("no .yaml, .yml or .json files under {}", path.display());
                    }
                    files.extend(found.into_iter().map(|f| (f, false)));
                }
                Input::Path(path) if path.exists() => files.push((path.clone(), true)),
                Input::Path(path) => errors.push(LoadError {
                    file: path.display().to_string(),
                    position: None,
                    kind: LoadErrorKind::NotFound,
                }),
            }
        }
        // What the walks met: charts (a `Chart.yaml`; everything under one is the chart's),
        // kustomizations, and the files left to read.
        for (path, explicit) in &files {
            if !explicit && path.file_name().is_some_and(|n| n == "Chart.yaml") {
                if let Some(dir) = path.parent() {
                    charts.push((dir.to_path_buf(), false));
                }
            }
        }
        let chart_dirs: Vec<PathBuf> = charts.iter().map(|(d, _)| d.clone()).collect();
        files.retain(|(path, explicit)| {
            *explicit || !chart_dirs.iter().any(|d| path.starts_with(d))
        });
        let mut loaded = Loaded::default();
        files.retain(|(path, explicit)| {
            if *explicit || !is_kustomization_file(path) {
                return true;
            }
            if let Some(dir) = path.parent() {
                kustomizations.push(dir.to_path_buf());
            }
            false
        });
        if kustomize_on {
            let mut dirs = kustomizations.clone();
            dirs.extend(explicit_roots.iter().cloned());
            let forest = Forest::plan(&dirs, &self.limits);
            for (file, cause) in &forest.errors {
                errors.push(LoadError {
                    file: file.display().to_string(),
                    position: None,
                    kind: LoadErrorKind::Render(format!("cannot read the kustomization: {cause}")),
                });
            }
            let before = files.len();
            files.retain(|(path, explicit)| {
                *explicit || !forest.members.contains(&crate::source::normalize(path))
            });
            loaded.kustomize_members = before - files.len();
            let shown = |dir: &PathBuf| {
                kustomizations
                    .iter()
                    .find(|k| crate::source::normalize(k) == *dir)
                    .cloned()
                    .unwrap_or_else(|| dir.clone())
            };
            let mut roots: Vec<PathBuf> = forest
                .roots
                .iter()
                .filter(|r| {
                    !explicit_roots
                        .iter()
                        .any(|e| crate::source::normalize(e) == **r)
                })
                // Shown as walked (`./deploy/prod` stays so), not normalized.
                .map(shown)
                .collect();
            loaded.unused_components = forest
                .unused_components
                .iter()
                .filter(|c| {
                    !explicit_roots
                        .iter()
                        .any(|e| crate::source::normalize(e) == **c)
                })
                .map(|c| shown(c).display().to_string())
                .collect();
            for root in &explicit_roots {
                let is_component = forest
                    .kustomizations
                    .get(&crate::source::normalize(root))
                    .is_some_and(|k| k.component);
                if is_component {
                    errors.push(LoadError {
                        file: root.display().to_string(),
                        position: None,
                        kind: LoadErrorKind::Render(
                            "a kustomize Component (kind: Component) is not rendered on its own: \
                             name a kustomization that lists it under `components`"
                                .into(),
                        ),
                    });
                } else {
                    roots.push(root.clone());
                }
            }
            roots.sort();
            roots.dedup();
            let rendered: Vec<_> = roots
                .par_iter()
                .map(|root| (root, self.load_kustomize_root(root, &forest)))
                .collect();
            for (root, result) in rendered {
                match result {
                    Ok((manifests, errs)) => {
                        loaded.files += 1;
                        loaded.kustomize_roots.push(root.display().to_string());
                        loaded.manifests.extend(self.settle(manifests));
                        errors.extend(errs);
                    }
                    Err(e) => errors.push(LoadError {
                        file: root.display().to_string(),
                        position: None,
                        kind: LoadErrorKind::Render(e.to_string()),
                    }),
                }
            }
        }
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
                    loaded.manifests.extend(self.settle(m));
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
        charts.sort();
        charts.dedup();
        for (dir, explicit) in &charts {
            let helm = self.render.as_ref().filter(|r| r.helm);
            let Some(settings) = helm else {
                if *explicit {
                    errors.push(LoadError {
                        file: dir.display().to_string(),
                        position: None,
                        kind: LoadErrorKind::HelmChart,
                    });
                } else {
                    loaded.unrendered_charts.push((
                        dir.display().to_string(),
                        "rendering Helm charts is turned off".into(),
                    ));
                }
                continue;
            };
            match crate::source::render::render_chart(dir, settings) {
                Ok(r) => {
                    loaded.files += 1;
                    let (mut manifests, errs) = self.load_source(r.source, r.text);
                    for m in &mut manifests {
                        m.template.get_or_insert_with(|| r.origin.clone());
                    }
                    loaded.manifests.extend(self.settle(manifests));
                    errors.extend(errs);
                }
                Err(RenderError::NoHelm(_)) if !explicit && !settings.helm_required => {
                    loaded
                        .unrendered_charts
                        .push((dir.display().to_string(), "helm is not on PATH".into()));
                }
                Err(e) => errors.push(LoadError {
                    file: dir.display().to_string(),
                    position: None,
                    kind: LoadErrorKind::Render(e.to_string()),
                }),
            }
        }
        // Sorted once all files are known, so the object order does not depend on the order
        // of the inputs or of the walk.
        files.sort();
        files.dedup_by(|a, b| a.0 == b.0);
        let per_file: Vec<_> = files
            .par_iter()
            .map(|(path, explicit)| {
                let (m, e, not_manifest) = self.load_file(path, !explicit);
                (self.settle(m), e, not_manifest)
            })
            .collect();
        for (m, e, not_manifest) in per_file {
            if let Some(name) = not_manifest {
                loaded.not_manifests.push(name);
                continue;
            }
            loaded.files += 1;
            loaded.manifests.extend(m);
            errors.extend(e);
        }
        loaded.errors = errors;
        loaded
    }

    /// Renders one kustomize root with origin tracking and maps each object back to its files.
    fn load_kustomize_root(
        &self,
        root: &Path,
        forest: &Forest,
    ) -> Result<(Vec<Manifest>, Vec<LoadError>), RenderError> {
        let program = if on_path("kustomize") {
            "kustomize"
        } else if on_path("kubectl") {
            "kubectl"
        } else {
            return Err(RenderError::NoKustomize(root.display().to_string()));
        };
        let rendered = render_kustomize_root(root, program)?;
        let origin = kustomization_file(root)
            .unwrap_or_else(|| root.join("kustomization.yaml"))
            .display()
            .to_string();
        let (mut manifests, errors) = self.load_source(rendered.source, rendered.text);
        let mut files = kustomize::Files::new(&self.limits);
        for m in &mut manifests {
            m.origins = kustomize::origins(
                &m.value,
                &m.object,
                &rendered.base,
                forest,
                root,
                &mut files,
            )
            .map(Arc::new);
            kustomize::strip_origin_annotations(&mut m.value);
            m.template.get_or_insert_with(|| origin.clone());
        }
        Ok((manifests, errors))
    }

    /// Reads one file. A `discovered` file (met by a walk, not named) that holds no
    /// Kubernetes object, or whose name says it is none, comes back as its name instead.
    fn load_file(
        &self,
        path: &Path,
        discovered: bool,
    ) -> (Vec<Manifest>, Vec<LoadError>, Option<String>) {
        let name = path.display().to_string();
        if discovered && is_known_non_manifest(path) {
            return (Vec::new(), Vec::new(), Some(name));
        }
        let fail = |kind| {
            (
                Vec::new(),
                vec![LoadError {
                    file: name.clone(),
                    position: None,
                    kind,
                }],
                None,
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
            Ok(text) => self.load_discovered(Source::File(path.to_path_buf()), text, discovered),
            Err(_) => fail(LoadErrorKind::NotUtf8),
        }
    }

    /// Loads a text; when `discovered` and it holds no Kubernetes object, returns its name
    /// as the third value instead of errors.
    fn load_discovered(
        &self,
        source: Source,
        text: String,
        discovered: bool,
    ) -> (Vec<Manifest>, Vec<LoadError>, Option<String>) {
        self.load_parsed(source, text, discovered)
    }

    /// Loads named texts (files read elsewhere, such as from git) in parallel, in order.
    /// Like files met by a walk, a text that holds no Kubernetes object is passed over and
    /// listed in [`Loaded::not_manifests`].
    pub fn load_texts(&self, texts: Vec<(Source, String)>) -> Loaded {
        let per_file: Vec<_> = texts
            .into_par_iter()
            .map(|(source, text)| {
                let known = match &source {
                    Source::Git { path, .. } => is_known_non_manifest(Path::new(path)),
                    _ => false,
                };
                if known {
                    (Vec::new(), Vec::new(), Some(source.to_string()))
                } else {
                    let (m, e, not_manifest) = self.load_discovered(source, text, true);
                    (self.settle(m), e, not_manifest)
                }
            })
            .collect();
        let mut loaded = Loaded::default();
        for (m, e, not_manifest) in per_file {
            if let Some(name) = not_manifest {
                loaded.not_manifests.push(name);
                continue;
            }
            loaded.files += 1;
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
    pub fn load_source(&self, source: Source, text: String) -> (Vec<Manifest>, Vec<LoadError>) {
        let (m, e, _) = self.load_parsed(source, text, false);
        (m, e)
    }

    /// Parses one text once. When `discovered` (met by a walk or the git index, not named) and
    /// it holds no Kubernetes object, it is passed over: its name comes back instead.
    fn load_parsed(
        &self,
        source: Source,
        mut text: String,
        discovered: bool,
    ) -> (Vec<Manifest>, Vec<LoadError>, Option<String>) {
        // Strip a UTF-8 byte order mark here, so character offsets (Helm comments) and the
        // parser's positions count from the same first character.
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        let stream = parse_stream(&text, &self.limits);
        if discovered && !holds_objects(&stream) {
            return (Vec::new(), Vec::new(), Some(source.to_string()));
        }
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
        (manifests, errors, None)
    }
}

/// Walks a directory for manifest files and kustomization files, sorted.
fn walk(root: &Path, errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    let walked = crate::source::walk::walk(
        root,
        &crate::source::walk::WalkRules {
            follow_links: false,
            skip: |_, _| false,
            accept: &|path| {
                crate::source::walk::is_manifest_file(path) || is_kustomization_file(path)
            },
        },
    );
    errors.extend(walked.errors.into_iter().map(|message| LoadError {
        file: root.display().to_string(),
        position: None,
        kind: LoadErrorKind::Walk(message),
    }));
    // `kubegate check .` names `deploy/app.yaml`, not `./deploy/app.yaml`: the same name the
    // files mapped from kustomize output and the git index get.
    walked
        .files
        .into_iter()
        .map(|p| match p.strip_prefix(".") {
            Ok(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
            _ => p,
        })
        .collect()
}

/// Files that are YAML or JSON but never Kubernetes manifests, by name: a walk passes over
/// them without reading (they may be anything: a compose file, a chart's values, a package
/// manifest), and counts them.
fn is_known_non_manifest(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    let stem_is = |prefix: &str| {
        lower.starts_with(prefix)
            && [".yaml", ".yml", ".json"]
                .iter()
                .any(|e| lower.ends_with(e))
    };
    matches!(
        lower.as_str(),
        "package.json"
            | "package-lock.json"
            | "composer.json"
            | "composer.lock"
            | "tsconfig.json"
            | "jsconfig.json"
            | "renovate.json"
            | ".pre-commit-config.yaml"
            | ".pre-commit-hooks.yaml"
            | "chart.yaml"
            | "chart.lock"
            | "mkdocs.yml"
            | "mkdocs.yaml"
            | ".golangci.yml"
            | ".golangci.yaml"
            | "codecov.yml"
            | ".gitlab-ci.yml"
            | "skaffold.yaml"
            | "devfile.yaml"
    ) || stem_is("docker-compose")
        || stem_is("compose.")
        || stem_is("values")
        || stem_is("tsconfig.")
}

/// Whether a stream has at least one document that is a mapping with `apiVersion` and `kind`
/// (or does not parse: a broken file is reported, never passed over).
fn holds_objects(stream: &crate::load::yaml::ParsedStream) -> bool {
    stream.error.is_some()
        || stream
            .documents
            .iter()
            .any(|d| d.value.get("apiVersion").is_some() && d.value.get("kind").is_some())
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
                    origins: None,
                    context: false,
                    parked: None,
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
        origins: None,
        context: false,
        parked: None,
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
