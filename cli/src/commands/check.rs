//! `kubegate check`: the flags are resolved over the configuration file into one [`Plan`]
//! (what to read, how to judge it, how to report it), which then runs.

use crate::args::{CheckArgs, ColorChoice};
use crate::output::{self, style::Palette, RunInfo};
use crate::{write_stdout, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};
use kubegate_engine::{
    Checker, Config, Input, Limits, Loader, OutputFormat, Repo, Report, Setup, SetupError, Severity,
};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a `check` run reads.
enum Mode {
    /// Files, directories and standard input as given.
    Paths(Vec<Input>),
    /// The staged content of the given paths, from the git index.
    Staged { repo: Repo, paths: Vec<PathBuf> },
}

/// How the report is written.
struct Output {
    format: OutputFormat,
    excerpt: bool,
    /// `-v`: name the files the walk passed over.
    verbose: bool,
    /// `--output`: the report in `format` goes to this file, the human report to stdout.
    file: Option<PathBuf>,
    /// Colour on standard output (the human and compact formats).
    palette: Palette,
    /// `--min-severity`: findings below it are left out (they still fail the run).
    min_severity: Option<Severity>,
}

/// A resolved `check` run.
struct Plan {
    /// `--default-namespace` / `defaultNamespace`.
    default_namespace: Option<String>,
    /// `--namespace-labels` / `namespaceLabels`: files of Namespace objects, context only.
    namespace_labels: Vec<PathBuf>,
    config: Config,
    checker: Checker,
    loader: Loader,
    mode: Mode,
    /// `--diff-base`: only findings new since this revision of the same paths fail.
    diff_base: Option<DiffBase>,
    fail_on: Option<Severity>,
    /// `--fail-on-warn`: every policy finding fails the run, whatever its severity.
    fail_on_warn: bool,
    output: Output,
}

struct DiffBase {
    repo: Repo,
    rev: String,
    paths: Vec<PathBuf>,
    show_existing: bool,
}

/// `kubegate check`.
pub fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    match Plan::resolve(args)? {
        Ok(plan) => plan.run(),
        Err(code) => Ok(code),
    }
}

/// Prints `error: …` lines to stderr; the exit code of a usage or load problem.
fn report_errors<T: std::fmt::Display>(errors: impl IntoIterator<Item = T>) -> u8 {
    let text: String = errors
        .into_iter()
        .map(|e| format!("error: {e}\n"))
        .collect();
    let _ = std::io::stderr().write_all(text.as_bytes());
    EXIT_ERROR
}

impl Plan {
    /// Flags over the configuration over the defaults. `Ok(Err(code))`: a problem already
    /// reported to the user, ending the run with `code`.
    fn resolve(args: &CheckArgs) -> anyhow::Result<Result<Plan, u8>> {
        let config = match load_config(args) {
            Ok(c) => c,
            Err(errors) => return Ok(Err(report_errors(errors))),
        };
        let setup = setup(args, &config)?;
        let checker = match setup.checker() {
            Ok(c) => c,
            Err(SetupError::Policies(errors)) => return Ok(Err(report_errors(errors))),
            Err(SetupError::Crds(problems)) => return Ok(Err(report_errors(problems))),
            Err(e) => return Err(e.into()),
        };
        let limits = Limits {
            max_file_bytes: args.max_file_size.saturating_mul(1024 * 1024),
            ..Limits::default()
        };
        // Objects are parked as they load and read back while judged: memory stays bounded
        // by the input (docs/performance.md).
        let mut loader = Loader::new(limits).parking(true);
        if !args.no_render {
            let mut helm_values: Vec<PathBuf> = config
                .render
                .helm
                .values_files
                .iter()
                .map(|v| config.base.join(v))
                .collect();
            helm_values.extend(args.helm_values.iter().cloned());
            let mut helm_set = config.render.helm.set.clone();
            helm_set.extend(args.helm_set.iter().cloned());
            loader = loader.with_render(kubegate_engine::RenderSettings {
                kustomize: config.render.kustomize.unwrap_or(true),
                helm: config.render.helm.enabled.unwrap_or(true),
                helm_values,
                helm_set,
                helm_required: config.render.helm.required.unwrap_or(false),
            });
        }
        let git_paths: Vec<PathBuf> = args
            .paths
            .iter()
            .filter(|p| p.as_os_str() != "-")
            .cloned()
            .collect();
        let repo = |flag: &str| -> anyhow::Result<Repo> {
            let cwd = std::env::current_dir()?;
            Repo::discover(&cwd).map_err(|e| anyhow::anyhow!("{flag} needs a git repository: {e}"))
        };
        let mode = if args.staged {
            Mode::Staged {
                repo: repo("--staged")?,
                paths: git_paths.clone(),
            }
        } else {
            Mode::Paths(
                args.paths
                    .iter()
                    .map(|p| {
                        if p.as_os_str() == "-" {
                            Input::Stdin
                        } else {
                            Input::Path(p.clone())
                        }
                    })
                    .collect(),
            )
        };
        let diff_base = match &args.diff_base {
            Some(rev) => Some(DiffBase {
                repo: repo("--diff-base")?,
                rev: rev.clone(),
                paths: git_paths,
                show_existing: args.show_existing,
            }),
            None => None,
        };
        let output = Output {
            format: args.format.or(config.output.format).unwrap_or_default(),
            excerpt: !args.no_excerpt && config.output.excerpt.unwrap_or(true),
            verbose: args.verbose,
            file: args.output.clone(),
            palette: Palette::new(colour(args.color)),
            min_severity: args.min_severity.or(config.output.min_severity),
        };
        let namespace_labels = if args.namespace_labels.is_empty() {
            config
                .namespace_labels
                .iter()
                .map(|f| config.base.join(f))
                .collect()
        } else {
            args.namespace_labels.clone()
        };
        Ok(Ok(Plan {
            namespace_labels,
            default_namespace: args
                .default_namespace
                .clone()
                .or_else(|| config.default_namespace.clone()),
            fail_on: setup.fail_on,
            fail_on_warn: args.fail_on_warn && !args.no_fail,
            config,
            checker,
            loader,
            mode,
            diff_base,
            output,
        }))
    }

    fn run(self) -> anyhow::Result<u8> {
        let config = &self.config;
        let mut loaded = match &self.mode {
            Mode::Staged { repo, paths } => self.load_staged(repo, paths)?,
            Mode::Paths(inputs) => self.loader.load(inputs),
        };
        if !self.namespace_labels.is_empty() {
            let context = self.namespaces_from_elsewhere();
            loaded.errors.extend(context.errors);
            loaded.manifests.extend(context.manifests);
        }
        if let Some(ns) = &self.default_namespace {
            let placed = loaded.place_in_namespace(ns);
            tracing::debug!(placed, namespace = %ns, "placed objects without a namespace");
        }
        // Files exempted by path are not judged at all: they need not even be manifests.
        loaded
            .manifests
            .retain(|m| !config.exempts_file(&m.origin_name()));
        loaded.errors.retain(|e| !config.exempts_file(&e.file));
        tracing::debug!(
            files = loaded.files,
            objects = loaded.manifests.len(),
            errors = loaded.errors.len(),
            "loaded"
        );
        // With --diff-base, the same paths at the base revision: each object there is the
        // old object of its update (KG018, transition rules), and its findings are the ones
        // that already existed.
        let base_loaded = match &self.diff_base {
            Some(base) => {
                let files = base.repo.snapshot(&base.rev, &base.paths)?;
                let mut base_loaded = self
                    .loader
                    .load_texts(files.into_iter().map(|f| (f.source, f.text)).collect());
                if let Some(ns) = &self.default_namespace {
                    base_loaded.place_in_namespace(ns);
                }
                Some(base_loaded)
            }
            None => None,
        };
        let mut report = match &base_loaded {
            Some(base) => self.checker.check_since(&loaded, base),
            None => self.checker.check(&loaded),
        };
        // A partial input (the staged files) leaves most exemptions idle: only a full run
        // says so.
        if matches!(self.mode, Mode::Paths(_)) {
            for unused in &report.unused_exemptions {
                tracing::warn!("configuration exemption {unused} suppressed no finding");
            }
        }
        if let Some(base) = &base_loaded {
            report.mark_existing(&self.checker.check(base));
        }
        // Decided on every finding: what follows only changes what is shown.
        let code = if !report.errors.is_empty() {
            EXIT_ERROR
        } else if self
            .fail_on
            .is_some_and(|t| report.has_findings_at_or_above(t))
            || (self.fail_on_warn && report.has_policy_findings())
        {
            EXIT_FINDINGS
        } else {
            EXIT_CLEAN
        };
        let notes = output::human::render_walk(&report.walk, self.output.verbose);
        let _ = std::io::stderr().write_all(notes.as_bytes());
        let mut info = RunInfo {
            config: config.file.as_deref().map(shown_path),
            fail_on: self.fail_on,
            fail_on_warn: self.fail_on_warn,
            min_severity: self.output.min_severity,
            diff_base: self.diff_base.is_some(),
            ..RunInfo::default()
        };
        if self.diff_base.as_ref().is_some_and(|b| !b.show_existing) {
            info.existing_hidden = leave_out(&mut report, |f| !f.existing);
        }
        if let Some(min) = self.output.min_severity {
            info.hidden = leave_out(&mut report, |f| f.severity >= min);
        }
        let code = if self.output.streams_json() {
            // The document goes straight to stdout as it is serialized.
            self.output.write_errors(&report);
            output::json::write_stdout(&report, &info).unwrap_or(code)
        } else {
            let text = self.output.render(&report, &info)?;
            write_stdout(&text).unwrap_or(code)
        };
        // The process ends right after this; freeing every parsed object one by one would only
        // cost time (measurably, on large inputs). The OS reclaims it all at exit.
        std::mem::forget(loaded);
        std::mem::forget(report);
        Ok(code)
    }
}

impl Plan {
    /// The Namespace objects of `--namespace-labels`, as context: anything else in those files
    /// is an error (they are read for namespace labels only).
    fn namespaces_from_elsewhere(&self) -> kubegate_engine::Loaded {
        let inputs: Vec<Input> = self
            .namespace_labels
            .iter()
            .map(|p| Input::Path(p.clone()))
            .collect();
        let mut loaded = Loader::new(self.loader.limits).load(&inputs);
        let mut errors = Vec::new();
        loaded.manifests.retain(|m| {
            let namespace = m.object.group().is_empty() && m.object.kind == "Namespace";
            if !namespace {
                errors.push(kubegate_engine::LoadError {
                    file: m.source.name.clone(),
                    position: m.place("").position,
                    kind: kubegate_engine::LoadErrorKind::UnexpectedObject(format!(
                        "--namespace-labels reads Namespace objects only, not {}",
                        m.object
                    )),
                });
            }
            namespace
        });
        for m in &mut loaded.manifests {
            m.context = true;
        }
        loaded.errors.extend(errors);
        loaded
    }

    /// A `--staged` run: the objects judged are the ones the staged changes make (changed
    /// manifest files; for kustomize trees, the objects whose base, patches, kustomizations or
    /// generator sources changed), and rules that look across objects see the whole index: the
    /// repository as it will be committed. The rest is context, never judged, and its own
    /// problems (a broken file the commit does not touch) do not block the commit.
    fn load_staged(
        &self,
        repo: &Repo,
        paths: &[PathBuf],
    ) -> anyhow::Result<kubegate_engine::Loaded> {
        let scopes: Vec<String> = paths
            .iter()
            .map(|p| {
                let shown = p.to_string_lossy().replace('\\', "/");
                shown
                    .trim_start_matches("./")
                    .trim_end_matches('/')
                    .to_owned()
            })
            .collect();
        let in_scope = |name: &str| {
            scopes.is_empty()
                || scopes.iter().any(|s| {
                    s.is_empty() || s == "." || name == s || name.starts_with(&format!("{s}/"))
                })
        };
        let changed: std::collections::BTreeSet<String> = repo
            .staged_paths()?
            .into_iter()
            .filter(|name| in_scope(name))
            .collect();
        let mut loaded = if repo.index_has_kustomizations()? {
            // Kustomizations render from files: write the index out and render there, named
            // as in the repository (the working directory's place in it).
            let dir = tempfile::Builder::new()
                .prefix("kubegate-index-")
                .tempdir()?;
            let cwd_there = repo.export_index(dir.path())?;
            // The working directory may hold no tracked file (then the index has no such
            // directory); the run still starts there.
            std::fs::create_dir_all(&cwd_there)?;
            let inputs: Vec<Input> = if paths.is_empty() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(&cwd_there)?
                    .filter_map(Result::ok)
                    .map(|e| PathBuf::from(e.file_name()))
                    .filter(|name| !name.to_string_lossy().starts_with('.'))
                    .collect();
                entries.sort();
                entries.into_iter().map(Input::Path).collect()
            } else {
                paths
                    .iter()
                    .filter(|p| cwd_there.join(p).exists())
                    .map(|p| Input::Path(p.clone()))
                    .collect()
            };
            let here = std::env::current_dir()?;
            std::env::set_current_dir(&cwd_there)?;
            let loaded = self.loader.load(&inputs);
            std::env::set_current_dir(here)?;
            loaded
        } else {
            let files = repo.index_files()?;
            self.loader
                .load_texts(files.into_iter().map(|f| (f.source, f.text)).collect())
        };
        for m in &mut loaded.manifests {
            m.context = !m.input_files().iter().any(|f| changed.contains(f));
        }
        // The problems of files the commit does not change are not this commit's.
        loaded.errors.retain(|e| {
            changed.contains(&e.file)
                || changed
                    .iter()
                    .any(|c| c.starts_with(&format!("{}/", e.file)))
        });
        loaded.not_manifests.retain(|n| changed.contains(n));
        loaded.files = changed.len();
        Ok(loaded)
    }
}

impl Output {
    /// Load errors, to stderr.
    fn write_errors(&self, report: &Report) {
        let errors = output::human::render_errors(&report.errors);
        let _ = std::io::stderr().write_all(errors.as_bytes());
    }

    /// `--format json` to stdout: written as it is serialized ([`output::json::write`]).
    fn streams_json(&self) -> bool {
        self.format == OutputFormat::Json && self.file.is_none()
    }

    /// What goes to stdout. Load errors go to stderr in every format, so that a log shows why
    /// the run exited 2 even when the report is a document for a program.
    fn render(&self, report: &Report, info: &RunInfo) -> anyhow::Result<String> {
        self.write_errors(report);
        let human = |excerpt: bool, palette: Palette| {
            output::human::render(report, info, &output::human::Options { excerpt, palette })
        };
        // The copy written with --output is for a file: no colour, no excerpt.
        let (excerpt, palette) = match self.file {
            None => (self.excerpt, self.palette),
            Some(_) => (false, Palette::plain()),
        };
        let rendered = match self.format {
            OutputFormat::Human => human(excerpt, palette),
            OutputFormat::Compact => output::compact::render(report, info, palette),
            OutputFormat::Json => output::json::render(report, info),
            OutputFormat::Sarif => output::sarif::render(report, info),
            OutputFormat::Junit => output::junit::render(report),
            OutputFormat::Github => output::github::render(report, info),
        };
        match &self.file {
            None => Ok(rendered),
            Some(path) => {
                if let Err(e) = std::fs::write(path, rendered) {
                    anyhow::bail!("cannot write {}: {e}", path.display());
                }
                Ok(human(self.excerpt, self.palette))
            }
        }
    }
}

/// Drops the findings `keep` refuses from the report (its summary recounted); how many.
fn leave_out(report: &mut Report, keep: impl FnMut(&kubegate_engine::Finding) -> bool) -> usize {
    let before = report.findings.len();
    report.retain_findings(keep);
    before - report.findings.len()
}

/// `--color`: `auto` asks the terminal and the environment (`NO_COLOR`, `CLICOLOR_FORCE`,
/// `CLICOLOR`, `TERM`).
fn colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
        }
    }
}

/// A path as the summary shows it: relative to the working directory (`.kubegate.yaml`,
/// `../../.kubegate.yaml`) when it is below one of its ancestors, else as it is.
fn shown_path(path: &Path) -> String {
    let relative = std::env::current_dir().ok().and_then(|cwd| {
        cwd.ancestors().enumerate().find_map(|(up, dir)| {
            let rest = path.strip_prefix(dir).ok()?;
            let mut shown: PathBuf = std::iter::repeat_n("..", up).collect();
            shown.push(rest);
            Some(shown)
        })
    });
    relative
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

/// The engine setup: the configuration's, with the flags on top.
fn setup(args: &CheckArgs, config: &Config) -> anyhow::Result<Setup> {
    let mut setup = Setup::from_config(config)?;
    if let Some(level) = args.pss_level {
        setup.pss.level = Some(level);
    }
    if let Some(version) = args.pss_version {
        setup.pss.version = version;
    } else if let (Some(version), None) = (args.kube_version, config.pss.version.as_deref()) {
        setup.pss.version = kubegate_engine::PssVersion::v1(version.minor)?;
    }
    if let Some(version) = args.kube_version {
        setup.kube_version = Some(version);
    }
    if args.no_strict {
        setup.schema_strict = false;
    } else if args.strict {
        setup.schema_strict = true;
    }
    if let Some(mode) = args.unknown_kinds {
        setup.unknown_kinds = mode;
    }
    setup.crd_paths.extend(args.crd.iter().cloned());
    if !args.packs.is_empty() {
        setup.packs = args.packs.clone();
    }
    if !args.rules.is_empty() {
        setup.only = args.rules.clone();
    }
    setup.skip.extend(args.skip_rules.iter().cloned());
    setup.policy_paths.extend(args.policy.iter().cloned());
    if !args.namespace.is_empty() {
        setup.policy_namespaces = args.namespace.clone();
    }
    setup.all_namespaces |= args.all_namespaces;
    setup.data_paths.extend(args.data.iter().cloned());
    setup.combine |= args.combine;
    if let Some(native) = args.enable_k8s_native_validation {
        setup.k8s_native_validation = native;
    }
    setup.expand_workloads |= args.expand_workloads;
    setup.complete_input |= args.complete_input;
    if let Some(ms) = args.policy_timeout {
        setup.policy_timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(fail_on) = args.fail_on {
        setup.fail_on = fail_on.threshold();
    }
    if args.no_fail {
        setup.fail_on = None;
    }
    Ok(setup)
}

/// The configuration: `--config`, else the nearest `.kubegate.yaml`, else defaults.
fn load_config(args: &CheckArgs) -> Result<Config, Vec<kubegate_engine::ConfigError>> {
    let path = match (&args.config, args.no_config) {
        (_, true) => None,
        (Some(path), _) => Some(path.clone()),
        (None, false) => std::env::current_dir()
            .ok()
            .and_then(|dir| Config::discover(&dir)),
    };
    match path {
        Some(path) => {
            tracing::debug!(config = %path.display(), "configuration");
            Config::load(&path)
        }
        None => Ok(Config::default()),
    }
}
