//! Rego policies with conftest conventions, on real policy files and manifests.

use crate::common;

use common::testdata;
use kubegate_engine::{Checker, Input, Loader, Position, Report, Severity};
use kubegate_engine::{PolicyError, PolicyOptions, PolicySet};
use std::sync::Arc;
use std::time::Duration;

fn policies(dirs: &[&str], options: &PolicyOptions) -> Result<PolicySet, Vec<PolicyError>> {
    let paths: Vec<_> = dirs.iter().map(|d| testdata(d)).collect();
    PolicySet::load(&paths, options)
}

/// Only the always-on pack (less schema validation: the fixtures' string `replicas` is the
/// policies' subject) and the policies, so built-in rules do not crowd the assertions.
fn check(dirs: &[&str], options: &PolicyOptions) -> Report {
    let set = policies(dirs, options).expect("policies load");
    let skip = ["KG005".to_owned(), "KG006".to_owned()];
    let checker = Checker::builtin_selection(&["kubegate".into()], &[], &skip, Default::default())
        .expect("checker")
        .with_policies(Arc::new(set));
    checker.check(&Loader::default().load(&[Input::Path(testdata("rego/manifests.yaml"))]))
}

/// `(rule id, rule name, severity, line, column)` of every finding.
fn summary(report: &Report) -> Vec<(String, String, Severity, u32, u32)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.to_string(),
                f.rule_name.to_string(),
                f.severity,
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
            )
        })
        .collect()
}

fn row(
    id: &str,
    name: &str,
    severity: Severity,
    line: u32,
    column: u32,
) -> (String, String, Severity, u32, u32) {
    (id.into(), name.into(), severity, line, column)
}

#[test]
fn conftest_rules_metadata_paths_exceptions_and_exemptions() {
    let report = check(&["rego/policy"], &PolicyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        summary(&report),
        vec![
            // warn without a path: the object itself; warn stays low.
            row("ORG001", "warn_owner", Severity::Low, 1, 1),
            // Rego v0 violation with a pointer path, no metadata: id from package and rule.
            row("main.violation", "violation", Severity::High, 7, 3),
            // deny with a list path, metadata id and severity.
            row("ORG001", "deny_registry", Severity::High, 18, 11),
            // legacy-importer is excepted by the policy's `exception` rule; api is exempted by
            // its `exempt.kubegate.io/ORG001` annotation: neither appears.
        ]
    );
    let violation = &report.findings[1];
    assert_eq!(
        violation.details.get("replicas"),
        Some(&serde_json::json!("3"))
    );
    assert_eq!(violation.pointer, "/spec/replicas");
    assert!(violation
        .policy
        .as_deref()
        .is_some_and(|p| p.ends_with("rego/policy/replicas.rego")));
    assert_eq!(
        report.findings[2].message,
        "container \"sidecar\" uses image \"docker.io/library/busybox:1.36\" from an unapproved registry"
    );
}

#[test]
fn namespaces_select_packages() {
    // `team.labels` is not in `main`: it runs only when asked for.
    let report = check(&["rego/policy", "rego/other"], &PolicyOptions::default());
    assert!(report
        .findings
        .iter()
        .all(|f| f.rule_id != "team.labels.deny"));
    let all = PolicyOptions {
        all_namespaces: true,
        ..PolicyOptions::default()
    };
    let report = check(&["rego/policy", "rego/other"], &all);
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.rule_id == "team.labels.deny")
            .count(),
        3
    );
    let only_team = PolicyOptions {
        namespaces: vec!["team.labels".into()],
        ..PolicyOptions::default()
    };
    let report = check(&["rego/policy", "rego/other"], &only_team);
    assert!(report
        .findings
        .iter()
        .all(|f| f.rule_id == "team.labels.deny" || f.rule_id.starts_with("KG")));
}

#[test]
fn syntax_errors_name_file_line_and_column() {
    let errors = policies(&["rego/broken"], &PolicyOptions::default()).expect_err("must not load");
    assert_eq!(errors.len(), 1);
    match &errors[0] {
        PolicyError::Compile {
            path,
            position,
            message,
        } => {
            assert!(path.ends_with("rego/broken/bad.rego"));
            assert_eq!(*position, Some(Position::new(6, 25)));
            assert_eq!(message, "invalid character in string");
        }
        other => panic!("unexpected {other:?}"),
    }
    let missing =
        policies(&["rego/does-not-exist"], &PolicyOptions::default()).expect_err("missing dir");
    assert!(matches!(missing[0], PolicyError::Io { .. }));
}

#[test]
fn evaluation_time_is_bounded_and_reported() {
    let options = PolicyOptions {
        timeout: Duration::from_millis(50),
        ..PolicyOptions::default()
    };
    let started = std::time::Instant::now();
    let report = check(&["rego/slow"], &options);
    // Three objects, each stopped at its limit: an error per object, no finding, no hang.
    assert_eq!(report.errors.len(), 3, "{:?}", report.errors);
    assert!(report
        .errors
        .iter()
        .all(|e| e.to_string().contains("time limit")));
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| summary(&check(&["rego/policy"], &PolicyOptions::default())))
    };
    assert_eq!(run(1), run(4));
}

#[test]
fn metadata_must_be_well_formed_and_ids_unique() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write =
        |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write");
    write("a.rego", "package main\nimport rego.v1\n__rego_metadata__ := {\"id\": \"X1\", \"severity\": \"urgent\"}\ndeny contains \"x\" if { true }\n");
    let errors = PolicySet::load(&[dir.path().to_path_buf()], &PolicyOptions::default())
        .expect_err("bad severity");
    assert!(
        matches!(&errors[0], PolicyError::Metadata { message, .. } if message.contains("urgent")),
        "{errors:?}"
    );
    write("a.rego", "package main\nimport rego.v1\n__rego_metadata__ := {\"id\": \"KG101\"}\ndeny contains \"x\" if { true }\n");
    let errors = PolicySet::load(&[dir.path().to_path_buf()], &PolicyOptions::default())
        .expect_err("built-in id");
    assert!(
        matches!(&errors[0], PolicyError::DuplicateId { id, .. } if id == "KG101"),
        "{errors:?}"
    );
}
