//! Build facts for `kubegate --version`: the commit (from git, when the source is a checkout)
//! and the regorus version (from Cargo.lock).

use std::path::Path;
use std::process::Command;

fn main() {
    // Rebuild when the checked-out commit moves; only paths that exist (a missing one would
    // rerun this script on every build).
    let head = Path::new(".git/HEAD");
    if head.is_file() {
        println!("cargo:rerun-if-changed=.git/HEAD");
        if let Ok(text) = std::fs::read_to_string(head) {
            if let Some(reference) = text.trim().strip_prefix("ref: ") {
                let path = Path::new(".git").join(reference);
                if path.is_file() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown (not built from a git checkout)".to_owned());
    println!("cargo:rustc-env=KUBEGATE_COMMIT={commit}");

    println!("cargo:rerun-if-changed=Cargo.lock");
    let regorus = std::fs::read_to_string("Cargo.lock")
        .ok()
        .and_then(|lock| {
            let at = lock.find("name = \"regorus\"\nversion = \"")?;
            let rest = &lock[at + "name = \"regorus\"\nversion = \"".len()..];
            rest.split('"').next().map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KUBEGATE_REGORUS_VERSION={regorus}");
}
