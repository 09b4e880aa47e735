//! Writes the reproducible benchmark corpus to a directory.
//!
//! `cargo run --release -p kubegate-engine --example gen_corpus -- DIR [COUNT] [PER_FILE] [SEED]
//! [VAPS VAP_DIR [TEMPLATES TEMPLATE_DIR]]` (defaults: 20000 objects, 50 per file, seed 42; with
//! `VAPS VAP_DIR`, also that many ValidatingAdmissionPolicies and bindings, as the
//! `end_to_end_with_30_vaps` benchmark loads them, written to `VAP_DIR` for `kubegate check
//! --policy VAP_DIR`; with `TEMPLATES TEMPLATE_DIR`, that many Gatekeeper ConstraintTemplates
//! with their Constraints, as the webhook load benchmark and the soak load them).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: gen_corpus DIR [COUNT] [PER_FILE] [SEED]");
        return ExitCode::from(2);
    };
    let number = |i: usize, default: u64| -> Result<u64, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse().map_err(|e| format!("argument {s:?}: {e}"))
        })
    };
    let parsed = (|| Ok::<_, String>((number(1, 20_000)?, number(2, 50)?, number(3, 42)?)))();
    let (count, per_file, seed) = match parsed {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let files = kubegate_engine::corpus::generate_files(count as usize, per_file as usize, seed);
    let mut bytes = 0;
    for (name, text) in &files {
        bytes += text.len();
        if let Err(e) = std::fs::write(dir.join(name), text) {
            eprintln!("error: {name}: {e}");
            return ExitCode::from(2);
        }
    }
    println!(
        "wrote {count} objects in {} files ({bytes} bytes) to {}",
        files.len(),
        dir.display()
    );
    if let (Some(n), Some(vap_dir)) = (args.get(4), args.get(5)) {
        let Ok(n) = n.parse::<usize>() else {
            eprintln!("error: argument {n:?}: not a count of policies");
            return ExitCode::from(2);
        };
        let vap_dir = PathBuf::from(vap_dir);
        if let Err(e) = std::fs::create_dir_all(&vap_dir) {
            eprintln!("error: {}: {e}", vap_dir.display());
            return ExitCode::from(2);
        }
        for (name, text) in kubegate_engine::corpus::validating_admission_policies(n) {
            if let Err(e) = std::fs::write(vap_dir.join(&name), text) {
                eprintln!("error: {name}: {e}");
                return ExitCode::from(2);
            }
        }
        println!(
            "wrote {n} ValidatingAdmissionPolicies to {}",
            vap_dir.display()
        );
    }
    if let (Some(n), Some(template_dir)) = (args.get(6), args.get(7)) {
        let Ok(n) = n.parse::<usize>() else {
            eprintln!("error: argument {n:?}: not a count of templates");
            return ExitCode::from(2);
        };
        let template_dir = PathBuf::from(template_dir);
        if let Err(e) = std::fs::create_dir_all(&template_dir) {
            eprintln!("error: {}: {e}", template_dir.display());
            return ExitCode::from(2);
        }
        for (name, text) in kubegate_engine::corpus::gatekeeper_policies(n) {
            if let Err(e) = std::fs::write(template_dir.join(&name), text) {
                eprintln!("error: {name}: {e}");
                return ExitCode::from(2);
            }
        }
        println!(
            "wrote {n} Gatekeeper ConstraintTemplates with Constraints to {}",
            template_dir.display()
        );
    }
    ExitCode::SUCCESS
}
