//! Policy loading: a Rego module and a YAML stream of Gatekeeper ConstraintTemplates and
//! Constraints (or data documents), written to files and loaded with `PolicySet::load` as
//! `--policy DIR` does, then one small object (the input's third part, or a fixed Pod)
//! judged by what loaded. Input: `rego` `\n#==\n` `yaml` `\n#==\n` `object`. The property:
//! no panic; problems are `PolicyError`s; evaluation ends within the policy time limit.
#![no_main]

use kubegate_engine::{Checker, Loader, PolicyOptions, PolicySet};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\nspec:\n  containers:\n  - name: web\n    image: nginx:latest\n";

/// Time limit of one evaluation, as `policies.timeoutMs` would set it.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A directory of this process's own for the policy files.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kubegate-fuzz-policy-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.splitn(3, "\n#==\n");
    let (rego, yaml, object) = (parts.next(), parts.next(), parts.next());
    let dir = dir();
    for (name, content) in [("policy.rego", rego), ("policy.yaml", yaml)] {
        let path = dir.join(name);
        let written = match content {
            Some(c) if !c.is_empty() => std::fs::write(&path, c),
            _ => std::fs::remove_file(&path).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }),
        };
        if let Err(e) = written {
            panic!("cannot write {}: {e}", path.display());
        }
    }
    let options = PolicyOptions {
        namespaces: vec!["main".to_owned()],
        all_namespaces: true,
        timeout: TIMEOUT,
        // The shipped ExpansionTemplates too, so workloads are expanded as `--expand-workloads`
        // expands them.
        expand_workloads: true,
        ..PolicyOptions::default()
    };
    let set = match PolicySet::load(&[dir.clone()], &options) {
        Ok(set) => set,
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without saying why");
            for e in &errors {
                let _ = e.to_string();
            }
            return;
        }
    };
    let _ = set.rules().len();
    let object = object.filter(|o| !o.trim().is_empty()).unwrap_or(POD);
    let loaded = Loader::default().load_texts(vec![(
        kubegate_engine::Source::Named("object.yaml".to_owned()),
        object.to_owned(),
    )]);
    let checker = Checker::with_rules(Vec::new()).with_policies(Arc::new(set));
    let started = Instant::now();
    let report = checker.check(&loaded);
    let elapsed = started.elapsed();
    // One time limit per object and rule set, and a little for the rest.
    let bound = TIMEOUT * (loaded.manifests.len() as u32 + 1) + Duration::from_secs(1);
    assert!(
        elapsed <= bound,
        "evaluation took {elapsed:?}, limit {bound:?}"
    );
    for error in &report.errors {
        assert!(
            !error.to_string().contains("please report this bug"),
            "evaluation failed: {error}"
        );
    }
});
