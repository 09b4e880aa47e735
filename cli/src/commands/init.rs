//! `kubegate init` (the starter configuration) and `kubegate install-hook` (the git pre-commit
//! hook).

use crate::args::{InitArgs, InstallHookArgs};
use crate::EXIT_CLEAN;
use std::io::Write;

/// `kubegate init`: writes the starter configuration, never over an existing file unless forced.
pub fn init(args: &InitArgs) -> anyhow::Result<u8> {
    if args.path.exists() && !args.force {
        anyhow::bail!(
            "{} exists; use --force to overwrite it",
            args.path.display()
        );
    }
    std::fs::write(&args.path, include_str!("../starter_config.yaml"))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.path.display()))?;
    let _ = writeln!(std::io::stdout(), "wrote {}", args.path.display());
    Ok(EXIT_CLEAN)
}

/// Marks hooks kubegate wrote, so it may replace them but never a foreign one.
const HOOK_MARKER: &str = "# kubegate pre-commit hook";

/// `kubegate install-hook`: writes `<hooks dir>/pre-commit` (honouring core.hooksPath).
pub fn install_hook(args: &InstallHookArgs) -> anyhow::Result<u8> {
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
