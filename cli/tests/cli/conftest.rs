//! conftest's flags on the real binary: `--fail-on-warn`, `--no-fail`, and how what conftest
//! does not count is shown.

use super::{kubegate, stderr, stdout};

/// Only the policies and the always-on pack (less schema validation) judge the fixtures.
fn check(policy: &str, extra: &[&str]) -> std::process::Output {
    let policy = format!("testdata/conftest/{policy}");
    let mut args = vec![
        "check",
        "--packs",
        "kubegate",
        "--skip-rules",
        "KG005,KG006",
        "--no-excerpt",
        "--policy",
        &policy,
    ];
    args.extend_from_slice(extra);
    args.push("testdata/conftest/manifests.yaml");
    kubegate(&args)
}

/// conftest exits 0 on warnings unless `--fail-on-warn`, and 0 on anything under `--no-fail`,
/// which wins over `--fail-on-warn`. Load errors are never hidden by `--no-fail`.
#[test]
fn fail_on_warn_and_no_fail_decide_the_exit_code_as_conftest_does() {
    // Two warnings (low findings): below the default --fail-on medium.
    let warned = check("warn-only", &[]);
    assert_eq!(warned.status.code(), Some(0), "{}", stderr(&warned));
    assert!(
        stdout(&warned).contains("2 findings (2 low)"),
        "{}",
        stdout(&warned)
    );
    let strict = check("warn-only", &["--fail-on-warn"]);
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
    assert!(
        stdout(&strict)
            .contains("failing at medium and above, and on every policy finding (--fail-on-warn)."),
        "{}",
        stdout(&strict)
    );
    let only_policies = check("warn-only", &["--fail-on", "never", "--fail-on-warn"]);
    assert_eq!(only_policies.status.code(), Some(1));
    assert!(stdout(&only_policies).contains("failing on policy findings only."));
    assert_eq!(
        check("warn-only", &["--no-fail", "--fail-on-warn"])
            .status
            .code(),
        Some(0)
    );
    // A deny finding (high) fails by default, not under --no-fail.
    assert_eq!(check("exceptions", &[]).status.code(), Some(1));
    let no_fail = check("exceptions", &["--no-fail"]);
    assert_eq!(no_fail.status.code(), Some(0), "{}", stderr(&no_fail));
    assert!(
        stdout(&no_fail).contains("no finding fails"),
        "{}",
        stdout(&no_fail)
    );
    // A policy that cannot load still exits 2.
    let broken = check("partial-object", &["--no-fail"]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        stderr(&broken).contains("deny.rego:9:1: `deny[msg] if { … }` defines an object"),
        "{}",
        stderr(&broken)
    );
    // --no-fail is --fail-on never: both at once is a usage error.
    let both = check("warn-only", &["--no-fail", "--fail-on", "low"]);
    assert_eq!(both.status.code(), Some(2));
}

/// What conftest passes over is shown as advisory, labelled, and fails nothing.
#[test]
fn results_conftest_does_not_count_are_shown_as_advisory() {
    let out = check("counting", &["--fail-on", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "`deny` is true, not a set of messages: conftest counts this as a pass, so nothing \
             fails; write `deny contains msg if { … }` (advisory: conftest does not count it, \
             never fails)"
        ),
        "{text}"
    );
    assert!(text.contains("4 advisory"), "{text}");
}

/// `--data` merges data documents under `data` for `check` and `test` (as conftest's `--data`
/// and `conftest verify --data`); Rego beside them is not loaded (this fixture's does not
/// compile), and data without policies is an error rather than read for nothing.
#[test]
fn data_documents_come_from_data_for_check_and_test() {
    let data = ["--data", "testdata/conftest/data"];
    let allowed = check("data-policy", &data);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    assert!(
        stdout(&allowed).contains("No findings"),
        "{}",
        stdout(&allowed)
    );
    let without = check("data-policy", &[]);
    assert_eq!(without.status.code(), Some(1));
    assert_eq!(
        stdout(&without)
            .matches("is not from an allowed registry")
            .count(),
        2
    );

    let tests = kubegate(&[
        "test",
        "testdata/conftest/data-policy",
        "--data",
        "testdata/conftest/data",
    ]);
    assert_eq!(tests.status.code(), Some(0), "{}", stdout(&tests));
    assert!(
        stdout(&tests).contains("2 passed, 0 failed, 0 errors"),
        "{}",
        stdout(&tests)
    );
    let no_data = kubegate(&["test", "testdata/conftest/data-policy"]);
    assert_eq!(no_data.status.code(), Some(1), "{}", stdout(&no_data));
    assert!(stdout(&no_data).contains("FAIL  data.main.test_an_allowed_registry_passes"));
    let missing = kubegate(&[
        "test",
        "testdata/conftest/data-policy",
        "--data",
        "testdata/conftest/nowhere",
    ]);
    assert_eq!(missing.status.code(), Some(2), "{}", stdout(&missing));

    let alone = kubegate(&[
        "check",
        "--data",
        "testdata/conftest/data",
        "testdata/conftest/manifests.yaml",
    ]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(
        stderr(&alone).contains("need policies to read them"),
        "{}",
        stderr(&alone)
    );
}

/// Rego unit tests see the annotations too (`kubegate test`, as `conftest verify`).
#[test]
fn policy_tests_read_metadata_annotations() {
    let out = kubegate(&["test", "testdata/conftest/metadata"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2 passed, 0 failed, 0 errors"),
        "{}",
        stdout(&out)
    );
}

/// `--combine` on the real binary: cross-document findings on the objects they concern, each
/// saying how it was placed; the same policies without it judge one object at a time.
#[test]
fn combine_judges_all_documents_at_once() {
    let run = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "--packs",
            "kubegate",
            "--skip-rules",
            "KG005,KG006",
            "--format",
            "json",
            "--policy",
            "testdata/conftest/combine",
        ];
        args.extend_from_slice(extra);
        args.push("testdata/conftest/combine-input");
        let out = kubegate(&args);
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
        (out.status.code(), report)
    };
    let (code, report) = run(&["--combine"]);
    assert_eq!(code, Some(1));
    let placed: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule_name"].as_str().unwrap_or_default().to_owned(),
                f["object"]["name"].as_str().unwrap_or_default().to_owned(),
                f["details"]["combined"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    let row = |r: &str, o: &str, h: &str| (r.to_owned(), o.to_owned(), h.to_owned());
    assert_eq!(
        placed,
        vec![
            row("warn_inventory", "web", "first"),
            row("violation_located", "worker", "_loc"),
            row("deny_unexposed", "worker", "path"),
            row("warn_single", "web", "message"),
        ]
    );
    assert_eq!(report["summary"]["exempted"], 1);
    let (code, report) = run(&[]);
    assert_eq!(code, Some(0));
    assert!(report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .all(|f| f["details"].get("combined").is_none()));
}
