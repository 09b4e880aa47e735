//! The shipped fixtures: exact positions of findings and errors, and a report that does not
//! depend on the number of threads.

use crate::common;

use common::{positions_all, testdata};
use kubegate_engine::{Checker, Input, Loader, Position, Report};

/// The rules these fixtures were written for: loader and position behaviour is asserted
/// through them, independently of how the catalogue grows.
const RULES: [&str; 8] = [
    "KG001", "KG002", "KG003", "KG101", "KG102", "KG103", "KG201", "KG202",
];

fn checker() -> Checker {
    common::only(&RULES)
}

fn check(rel: &str) -> Report {
    checker().check(&Loader::default().load(&[Input::Path(testdata(rel))]))
}

#[test]
fn web_deployment_findings_point_at_the_fields() {
    let report = check("examples/web-deployment.yaml");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        positions_all(&report),
        vec![("KG201", 21, 11), ("KG101", 25, 13), ("KG202", 26, 11)]
    );
    let f = &report.findings[1];
    assert_eq!(
        f.pointer,
        "/spec/template/spec/containers/0/securityContext/privileged"
    );
    assert_eq!(f.object.to_string(), "Deployment/shop/web");
    assert_eq!(report.summary.objects, 2);
}

#[test]
fn cronjob_yaml11_boolean_and_init_containers() {
    let report = check("examples/nightly-report.yaml");
    assert_eq!(
        positions_all(&report),
        vec![
            ("KG102", 13, 11),
            ("KG202", 15, 15),
            ("KG201", 16, 15),
            ("KG103", 30, 15)
        ]
    );
    assert_eq!(
        report.findings[0].pointer,
        "/spec/jobTemplate/spec/template/spec/hostNetwork"
    );
}

#[test]
fn helm_output_names_templates() {
    let report = check("examples/helm-rendered.yaml");
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_ref(), f.location.line, f.template.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("KG102", Some(42), Some("shop/templates/deployment.yaml")),
            (
                "KG201",
                Some(64),
                Some("shop/templates/tests/test-connection.yaml")
            ),
        ]
    );
}

#[test]
fn list_items_and_json_keep_positions() {
    let report = check("examples/cluster-dump.yaml");
    assert_eq!(
        positions_all(&report),
        vec![("KG102", 21, 11), ("KG102", 22, 11), ("KG103", 32, 15)]
    );
    assert_eq!(report.summary.objects, 2);
    let report = check("examples/api-pod.json");
    assert_eq!(positions_all(&report), vec![("KG102", 9, 5)]);
}

#[test]
fn kustomize_output_just_works() {
    let report = check("examples/kustomize-build.yaml");
    assert_eq!(
        positions_all(&report),
        vec![("KG201", 33, 9), ("KG102", 39, 7)]
    );
    assert_eq!(
        report.findings[1].object.namespace.as_deref(),
        Some("checkout-prod")
    );
}

#[test]
fn exemptions_suppress_and_stale_ones_are_reported() {
    let report = check("examples/cni-agent.yaml");
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_ref(), f.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![("KG002", "/metadata/annotations/exempt.kubegate.io~1KG102")]
    );
}

#[test]
fn compliant_example_is_clean() {
    let report = check("examples/compliant.yaml");
    assert!(
        report.findings.is_empty() && report.errors.is_empty(),
        "{report:?}"
    );
}

#[test]
fn yaml11_scalars_are_read_as_kubernetes_reads_them() {
    let report = check("yaml11/booleans.yaml");
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_ref(), f.pointer.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("KG102", "/spec/hostIPC"),
            ("KG003", "/spec/hostNetwork"),
            ("KG101", "/spec/containers/0/securityContext/privileged"),
        ]
    );
    // `namespace: "yes"` is quoted, so it stays a string; `hostPID: n` is false.
    assert_eq!(report.findings[0].object.namespace.as_deref(), Some("yes"));
}

#[test]
fn malformed_inputs_are_errors_with_file_and_line() {
    let report = check("malformed");
    let errors: Vec<_> = report
        .errors
        .iter()
        .map(|e| {
            let file = e.file.rsplit('/').next().unwrap_or_default().to_owned();
            (file, e.position, e.kind.to_string())
        })
        .collect();
    let expect = |file: &str, line: u32, column: u32, text: &str| {
        let found = errors
            .iter()
            .find(|(f, _, _)| f == file)
            .unwrap_or_else(|| panic!("no error for {file}"));
        assert_eq!(
            found.1,
            Some(Position::new(line, column)),
            "{file}: {}",
            found.2
        );
        assert!(
            found.2.contains(text),
            "{file}: {:?} lacks {text:?}",
            found.2
        );
    };
    expect(
        "duplicate-keys.yaml",
        11,
        9,
        "duplicate key \"privileged\" (first defined at line 10)",
    );
    expect("alias-bomb.yaml", 11, 28, "alias expansion exceeds");
    expect("bad-indentation.yaml", 5, 2, "syntax error");
    expect("tabs.yaml", 4, 2, "tabs");
    expect("missing-kind.yaml", 6, 1, "no `kind`");
    assert_eq!(report.errors.len(), 5);
    // wrong-types.yaml loads, and its mistakes are findings rather than silent passes.
    let kg003: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "KG003")
        .map(|f| f.location.line)
        .collect();
    assert_eq!(kg003, vec![Some(15), Some(16)]);
}

#[test]
fn report_does_not_depend_on_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let report = check("");
            // Every field, positions and sources included (the report has no serialized
            // form of its own: the CLI's printers define those).
            format!("{:?}", (&report.findings, &report.errors, &report.summary))
        })
    };
    let one = run(1);
    assert!(one.contains("KG101"));
    assert_eq!(one, run(4));
    assert_eq!(one, run(3));
}

#[test]
fn every_pod_bearing_kind_is_checked_through_its_template() {
    let report = check("kinds/pod-bearing-kinds.yaml");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.object.kind.as_str(),
                f.rule_id.as_ref(),
                f.pointer.clone(),
                f.location.line.unwrap_or(0),
            )
        })
        .collect();
    let expected: Vec<_> = [
        ("Pod", "/spec", 7),
        ("PodTemplate", "/template/spec", 15),
        ("ReplicationController", "/spec/template/spec", 24),
        ("ReplicaSet", "/spec/template/spec", 33),
        ("Deployment", "/spec/template/spec", 42),
        ("StatefulSet", "/spec/template/spec", 51),
        ("DaemonSet", "/spec/template/spec", 60),
        ("Job", "/spec/template/spec", 70),
        ("CronJob", "/spec/jobTemplate/spec/template/spec", 83),
        ("DeploymentConfig", "/spec/template/spec", 96),
    ]
    .into_iter()
    .map(|(kind, spec, line)| {
        (
            kind,
            "KG101",
            format!("{spec}/containers/0/securityContext/privileged"),
            line,
        )
    })
    .collect();
    assert_eq!(found, expected);
    assert_eq!(report.summary.objects, 12);
}

#[test]
fn crlf_line_endings_and_byte_order_marks_keep_positions() {
    let text = "\u{feff}---\r\n# Source: c/templates/p.yaml\r\napiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n  hostPID: true\r\n  containers: [{name: a, image: \"x:1\", resources: {limits: {cpu: 1, memory: 1Mi}}}]\r\n";
    let (manifests, errors) = Loader::default().load_text("crlf.yaml", text.to_owned());
    assert!(errors.is_empty(), "{errors:?}");
    let report = checker().check(&kubegate_engine::Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    });
    let f = &report.findings[0];
    assert_eq!(
        (f.rule_id.as_ref(), f.location.line, f.location.column),
        ("KG102", Some(8), Some(3))
    );
    assert_eq!(f.template.as_deref(), Some("c/templates/p.yaml"));
    assert_eq!(f.source.line(8), Some("  hostPID: true"));
}
