//! Build facts for `kubegate --version`: the commit (from git, when the source is a checkout)
//! and the regorus and cel versions (from Cargo.lock).

use std::path::Path;
use std::process::Command;

fn main() {
    // Rebuild when the checked-out commit moves: HEAD, the branch it names, and packed-refs
    // (where `git gc` moves branches). Git names the files, so a worktree (whose `.git` is a
    // file pointing elsewhere) is followed too. Only paths that exist: a missing one would rerun
    // this script on every build.
    let head = git(&["rev-parse", "--git-path", "HEAD"]);
    let branch = git(&["rev-parse", "--symbolic-full-name", "HEAD"])
        .filter(|name| name.starts_with("refs/"))
        .and_then(|name| git(&["rev-parse", "--git-path", &name]));
    let packed = git(&["rev-parse", "--git-path", "packed-refs"]);
    for path in [head, branch, packed].into_iter().flatten() {
        if Path::new(&path).is_file() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"])
        .unwrap_or_else(|| "unknown (not built from a git checkout)".to_owned());
    println!("cargo:rustc-env=KUBEGATE_COMMIT={commit}");

    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").unwrap_or_default();
    for (name, var) in [
        ("regorus", "KUBEGATE_REGORUS_VERSION"),
        ("cel", "KUBEGATE_CEL_VERSION"),
    ] {
        let version = locked_version(&lock, name).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env={var}={version}");
    }
}

/// The version Cargo.lock records for the package `name`.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let key = format!("name = \"{name}\"\nversion = \"");
    let at = lock.find(&key)?;
    lock[at + key.len()..].split('"').next().map(str::to_owned)
}

/// One line of git's output, or nothing when git is missing, fails or prints nothing.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}
