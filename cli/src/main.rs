//! The `kubegate` command line.

mod args;
mod output;
mod rules_cmd;
mod webhook;

use args::{CheckArgs, Cli, Command, Format, TestFormat, WebhookCommand};
use clap::Parser;
use kubegate_engine::Config;
use kubegate_engine::{Input, Limits, Loader};
use kubegate_engine::{Setup, SetupError};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

// Parsing allocates many small values on every core; mimalloc's per-thread heaps avoid the
// contention glibc's allocator showed in profiles (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Webhook(WebhookCommand::Serve(args)) => webhook::init_logging(args.log_format),
        _ => init_logging(),
    }
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KUBEGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Rules(args) => {
            let text = rules_cmd::list(&args)?;
            Ok(write_stdout(&text).unwrap_or(EXIT_CLEAN))
        }
        Command::Test(args) => Ok(policy_tests(&args)),
        Command::Schemas(args) => {
            let text = schemas_text(&args)?;
            Ok(write_stdout(&text).unwrap_or(EXIT_CLEAN))
        }
        Command::Init(args) => init(&args),
        Command::InstallHook(args) => install_hook(&args),
        Command::Webhook(WebhookCommand::Serve(args)) => webhook::serve(&args),
        Command::Webhook(WebhookCommand::Certs(args)) => webhook::certs(&args),
        Command::Explain(args) => match rules_cmd::explain(&args) {
            Ok(text) => Ok(write_stdout(&text).unwrap_or(EXIT_CLEAN)),
            Err(message) => {
                let _ = writeln!(std::io::stderr(), "error: {message}");
                Ok(EXIT_ERROR)
            }
        },
    }
}

/// `kubegate schemas`: the bundled versions and where they come from, or one version's kinds.
fn schemas_text(args: &args::SchemasArgs) -> anyhow::Result<String> {
    use kubegate_engine::schemas as builtin;
    let mut text = String::new();
    if let Some(version) = args.kube_version {
        for (api_version, kind) in builtin::kinds(version)? {
            text.push_str(&format!("{api_version} {kind}\n"));
        }
        return Ok(text);
    }
    let versions = builtin::bundled_versions()?;
    let newest = builtin::newest()?;
    for v in &versions {
        let count = builtin::kinds(*v)?.len();
        let mark = if *v == newest { " (default)" } else { "" };
        text.push_str(&format!("Kubernetes {v}: {count} kinds{mark}\n"));
    }
    let source = builtin::provenance()?;
    text.push_str("\nsource:\n");
    for (key, value) in source {
        text.push_str(&format!("  {key}: {value}\n"));
    }
    Ok(text)
}

fn check(args: &CheckArgs) -> anyhow::Result<u8> {
    let inputs: Vec<Input> = args
        .paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p.clone())
            }
        })
        .collect();
    let limits = Limits {
        max_file_bytes: args.max_file_size.saturating_mul(1024 * 1024),
        ..Limits::default()
    };
    // Settings come from flags, then the configuration file, then defaults.
    let config = match load_config(args) {
        Ok(c) => c,
        Err(errors) => {
            let text: String = errors.iter().map(|e| format!("error: {e}\n")).collect();
            let _ = std::io::stderr().write_all(text.as_bytes());
            return Ok(EXIT_ERROR);
        }
    };
    let mut setup = Setup::from_config(&config)?;
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
    if let Some(ms) = args.policy_timeout {
        setup.policy_timeout = std::time::Duration::from_millis(ms);
    }
    if let Some(fail_on) = args.fail_on {
        setup.fail_on = fail_on.threshold();
    }
    let checker = match setup.checker() {
        Ok(c) => c,
        Err(SetupError::Policies(errors)) => {
            let mut text = String::new();
            for e in errors {
                text.push_str(&format!("error: {e}\n"));
            }
            let _ = std::io::stderr().write_all(text.as_bytes());
            return Ok(EXIT_ERROR);
        }
        Err(SetupError::Crds(problems)) => {
            let text: String = problems.iter().map(|p| format!("error: {p}\n")).collect();
            let _ = std::io::stderr().write_all(text.as_bytes());
            return Ok(EXIT_ERROR);
        }
        Err(e) => return Err(e.into()),
    };
    let mut loader = Loader::new(limits);
    if !args.no_render {
        let mut helm_values: Vec<std::path::PathBuf> = config
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
        });
    }
    let git_paths: Vec<std::path::PathBuf> = args
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .collect();
    let repo = if args.staged || args.diff_base.is_some() {
        let cwd = std::env::current_dir()?;
        Some(kubegate_engine::Repo::discover(&cwd).map_err(|e| {
            anyhow::anyhow!(
                "{} needs a git repository: {e}",
                if args.staged {
                    "--staged"
                } else {
                    "--diff-base"
                }
            )
        })?)
    } else {
        None
    };
    let mut loaded = match (&repo, args.staged) {
        (Some(repo), true) => {
            let files = repo.staged(&git_paths)?;
            loader.load_texts(
                files
                    .into_iter()
                    .filter(|f| !config.exempts_file(&f.name))
                    .map(|f| (f.name, f.text))
                    .collect(),
            )
        }
        _ => loader.load(&inputs),
    };
    // Files exempted by path are not judged at all: they need not even be manifests.
    loaded
        .manifests
        .retain(|m| !config.exempts_file(&m.source.name));
    loaded.errors.retain(|e| !config.exempts_file(&e.file));
    tracing::debug!(
        files = loaded.files,
        objects = loaded.manifests.len(),
        errors = loaded.errors.len(),
        "loaded"
    );
    let mut report = checker.check(&loaded);
    // A partial input (the staged files) leaves most exemptions idle: only a full run says so.
    if !args.staged {
        for unused in &report.unused_exemptions {
            tracing::warn!("configuration exemption {unused} suppressed no finding");
        }
    }
    if let (Some(repo), Some(rev)) = (&repo, &args.diff_base) {
        let files = repo.snapshot(rev, &git_paths)?;
        let base_loaded = loader.load_texts(files.into_iter().map(|f| (f.name, f.text)).collect());
        let base = checker.check(&base_loaded);
        report.mark_existing(&base);
        if !args.show_existing {
            report.retain_findings(|f| !f.existing);
        }
    }
    let format = match (args.format, config.output.format.as_deref()) {
        (Some(f), _) => f,
        (None, Some(f)) => f.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        (None, None) => Format::Human,
    };
    let excerpt = !args.no_excerpt && config.output.excerpt.unwrap_or(true);

    let code = if !report.errors.is_empty() {
        EXIT_ERROR
    } else if setup
        .fail_on
        .is_some_and(|t| report.has_findings_at_or_above(t))
    {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    let human = || {
        let errors = output::human::render_errors(&report.errors);
        let _ = std::io::stderr().write_all(errors.as_bytes());
        output::human::render(&report, &output::human::Options { excerpt })
    };
    let rendered = match format {
        Format::Json => output::json::render(&report),
        Format::Sarif => output::sarif::render(&report),
        Format::Junit => output::junit::render(&report),
        Format::Github => output::github::render(&report),
        Format::Human if args.output.is_none() => human(),
        Format::Human => output::human::render(&report, &output::human::Options { excerpt: false }),
    };
    let text = match &args.output {
        None => rendered,
        Some(path) => {
            if let Err(e) = std::fs::write(path, rendered) {
                anyhow::bail!("cannot write {}: {e}", path.display());
            }
            human()
        }
    };
    let code = write_stdout(&text).unwrap_or(code);
    // The process ends right after this; freeing every parsed object one by one would only
    // cost time (measurably, on large inputs). The OS reclaims it all at exit.
    std::mem::forget(loaded);
    std::mem::forget(report);
    Ok(code)
}

/// `kubegate test`: exit 0 when every test passes, 1 on a failure or error.
fn policy_tests(args: &args::TestArgs) -> u8 {
    use kubegate_engine::policy_tests::{run, TestStatus};
    let results = run(&args.paths);
    let count = |f: fn(&TestStatus) -> bool| results.iter().filter(|r| f(&r.status)).count();
    let passed = count(|s| matches!(s, TestStatus::Pass));
    let failed = count(|s| matches!(s, TestStatus::Fail(_)));
    let errors = count(|s| matches!(s, TestStatus::Error(_)));
    let skipped = count(|s| matches!(s, TestStatus::Skip));
    let text = match args.format {
        TestFormat::Json => {
            let doc = serde_json::json!({
                "tests": results,
                "summary": {"passed": passed, "failed": failed, "errors": errors, "skipped": skipped},
            });
            format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            )
        }
        TestFormat::Human => {
            let mut out = String::new();
            for r in &results {
                let at = r
                    .line
                    .map(|l| format!("{}:{l}", r.file))
                    .unwrap_or_else(|| r.file.clone());
                let (word, detail) = match &r.status {
                    TestStatus::Pass => ("PASS", None),
                    TestStatus::Fail(m) => ("FAIL", Some(m)),
                    TestStatus::Error(m) => ("ERROR", Some(m)),
                    TestStatus::Skip => ("SKIP", None),
                };
                out.push_str(&format!("{word:<5} {} ({at})\n", r.name));
                if let Some(detail) = detail {
                    out.push_str(&format!("      {detail}\n"));
                }
            }
            if results.is_empty() {
                out.push_str("no tests found (Rego `test_*` rules in *_test.rego files, or gator Suite files)\n");
            }
            out.push_str(&format!(
                "{passed} passed, {failed} failed, {errors} errors, {skipped} skipped\n"
            ));
            out
        }
    };
    let code = if failed + errors > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    write_stdout(&text).unwrap_or(code)
}

/// `kubegate init`: writes the starter configuration, never over an existing file unless forced.
fn init(args: &args::InitArgs) -> anyhow::Result<u8> {
    if args.path.exists() && !args.force {
        anyhow::bail!(
            "{} exists; use --force to overwrite it",
            args.path.display()
        );
    }
    std::fs::write(&args.path, include_str!("starter_config.yaml"))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.path.display()))?;
    let _ = writeln!(std::io::stdout(), "wrote {}", args.path.display());
    Ok(EXIT_CLEAN)
}

/// Marks hooks kubegate wrote, so it may replace them but never a foreign one.
const HOOK_MARKER: &str = "# kubegate pre-commit hook";

/// `kubegate install-hook`: writes `<hooks dir>/pre-commit` (honouring core.hooksPath).
fn install_hook(args: &args::InstallHookArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()?;
    let hooks = kubegate_engine::Repo::discover(&cwd)
        .map_err(|e| anyhow::anyhow!("install-hook needs a git repository: {e}"))?
        .hooks_dir()?;
    std::fs::create_dir_all(&hooks)?;
    let path = hooks.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(HOOK_MARKER) && !args.force {
            anyhow::bail!(
                "{} exists and was not written by kubegate; use --force to replace it (or call `kubegate check --staged` from it)",
                path.display()
            );
        }
    }
    // Prefer the kubegate on PATH when the hook runs; fall back to this binary.
    let fallback = std::env::current_exe()?
        .display()
        .to_string()
        .replace('\'', "'\\''");
    let script = format!(
        "#!/bin/sh\n{HOOK_MARKER} (written by `kubegate install-hook`; safe to edit or delete)\n\
         if command -v kubegate >/dev/null 2>&1; then exec kubegate check --staged; fi\n\
         exec '{fallback}' check --staged\n"
    );
    std::fs::write(&path, script)?;
    make_executable(&path)?;
    let _ = writeln!(std::io::stdout(), "installed {}", path.display());
    Ok(EXIT_CLEAN)
}

#[cfg(unix)]
fn make_executable(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn make_executable(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
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

/// Writes to stdout. Returns `Some(0)` when the reader went away (a closed pipe is not an
/// error: `kubegate check . | head` must end quietly), `None` when everything was written.
fn write_stdout(text: &str) -> Option<u8> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => None,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Some(EXIT_CLEAN),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: cannot write output: {e}");
            Some(EXIT_ERROR)
        }
    }
}
