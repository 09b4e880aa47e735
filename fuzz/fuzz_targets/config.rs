//! The configuration file: `Config::parse` (YAML, schema validation, typed fields), then
//! what a front end does with a configuration that parsed: `Setup::from_config`, the checker
//! it describes, its exemptions, and one small object judged with them. The property: no panic;
//! a configuration is either refused with errors or gives a checker.
#![no_main]

use kubegate_engine::{Checker, Config, Loader, Setup, Subject};
use libfuzzer_sys::fuzz_target;

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\nspec:\n  containers:\n  - name: web\n    image: nginx:latest\n    securityContext: {privileged: true}\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::parse(text) {
        Ok(config) => config,
        Err(errors) => {
            assert!(!errors.is_empty(), "refused without saying why");
            return;
        }
    };
    for file in ["deploy/app.yaml", "a/b/../c.yml", "", "/abs/x.json"] {
        let _ = config.exempts_file(file);
    }
    let Ok(setup) = Setup::from_config(&config) else {
        return;
    };
    // Policies and CRDs are files to read; the fuzzer's paths name nothing (or anything on
    // this machine): those are the policy target's business.
    if !setup.policy_paths.is_empty() || !setup.crd_paths.is_empty() {
        return;
    }
    let checker: Checker = match setup.checker() {
        Ok(checker) => checker,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let (manifests, errors) = Loader::default().load_text("pod.yaml", POD.to_owned());
    assert!(
        errors.is_empty(),
        "the fixed object does not load: {errors:?}"
    );
    let review = serde_json::json!({"operation": "CREATE"});
    for object in &manifests {
        let report = checker.evaluate(Subject::Admission {
            object,
            review: &review,
        });
        for error in &report.errors {
            assert!(
                !error.to_string().contains("please report this bug"),
                "evaluation failed: {error}"
            );
        }
    }
});
