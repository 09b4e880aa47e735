//! `kubegate test`: Rego unit tests, gator suites and Kyverno CLI tests of
//! ValidatingAdmissionPolicies.

use crate::args::{TestArgs, TestFormat};
use crate::{write_stdout, EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS};

/// `kubegate test`: exit 0 when every test passes, 1 when a test fails, 2 when something
/// could not run (a policy or test that does not compile, a missing path, a broken suite).
pub fn run(args: &TestArgs) -> u8 {
    use kubegate_engine::policy_tests::{run_with_options, TestStatus};
    let options = kubegate_engine::PolicyOptions {
        k8s_native_validation: args.enable_k8s_native_validation,
        ..Default::default()
    };
    let results = run_with_options(&args.paths, &args.data, &options);
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
                out.push_str("no tests found (Rego `test_*` rules in *_test.rego files, gator Suite files, or kyverno-test.yaml files)\n");
            }
            let errors = if errors == 1 {
                "1 error".to_owned()
            } else {
                format!("{errors} errors")
            };
            out.push_str(&format!(
                "{passed} passed, {failed} failed, {errors}, {skipped} skipped\n"
            ));
            out
        }
    };
    let code = if errors > 0 {
        EXIT_ERROR
    } else if failed > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    };
    write_stdout(&text).unwrap_or(code)
}
