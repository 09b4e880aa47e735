//! The `kubegate` command line.

mod args;
mod commands;
mod output;

use args::{Cli, Command, WebhookCommand};
use clap::{CommandFactory, FromArgMatches};
use commands::{rules as rules_cmd, webhook};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

// Parsing allocates many small values on every core; mimalloc's per-thread heaps avoid the
// contention glibc's allocator showed in profiles (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) const EXIT_CLEAN: u8 = 0;
pub(crate) const EXIT_FINDINGS: u8 = 1;
pub(crate) const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    // `--version` names the build. Reading the bundle's index costs milliseconds, so only a
    // run that asks for it pays (the pre-commit run does not).
    let mut command = Cli::command();
    if std::env::args_os().any(|a| a == "--version") {
        command = command.long_version(&*Box::leak(long_version().into_boxed_str()));
    }
    let cli = command.get_matches();
    let cli = Cli::from_arg_matches(&cli).unwrap_or_else(|e| e.exit());
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

/// What `kubegate --version` prints after the version: the commit, the bundled Kubernetes
/// schemas, the Pod Security Standards versions, the policy engines and the rule count.
fn long_version() -> String {
    let schemas = match kubegate_engine::schemas::bundled_versions() {
        Ok(v) => match (v.first(), v.last()) {
            (Some(first), Some(last)) => format!("{first} to {last}"),
            _ => "none".to_owned(),
        },
        Err(e) => format!("unavailable ({e})"),
    };
    format!(
        "{}\ncommit: {}\nKubernetes API schemas: {schemas} (bundled)\nPod Security Standards: \
         v1.0 to v1.{}\npolicy engines: Rego (regorus {}), CEL (cel {})\nbuilt-in rules: {}",
        env!("CARGO_PKG_VERSION"),
        env!("KUBEGATE_COMMIT"),
        kubegate_engine::PSS_NEWEST_MINOR,
        env!("KUBEGATE_REGORUS_VERSION"),
        env!("KUBEGATE_CEL_VERSION"),
        kubegate_engine::registry::builtin().len()
    )
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
        Command::Check(args) => commands::check::run(&args),
        Command::Rules(args) => {
            let text = rules_cmd::list(&args)?;
            Ok(write_stdout(&text).unwrap_or(EXIT_CLEAN))
        }
        Command::Test(args) => Ok(commands::test::run(&args)),
        Command::Schemas(args) => {
            let text = commands::schemas::text(&args)?;
            Ok(write_stdout(&text).unwrap_or(EXIT_CLEAN))
        }
        Command::Init(args) => commands::init::init(&args),
        Command::InstallHook(args) => commands::init::install_hook(&args),
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

/// Writes to stdout. Returns `Some(0)` when the reader went away (a closed pipe is not an
/// error: `kubegate check . | head` must end quietly), `None` when everything was written.
pub(crate) fn write_stdout(text: &str) -> Option<u8> {
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
