//! Gatekeeper ConstraintTemplates and Constraints on real template, constraint and resource
//! files written for these tests.

use crate::common;

use common::testdata;
use kubegate_engine::{Checker, Input, Loader, Position, Report, Severity};
use kubegate_engine::{PolicyError, PolicyOptions, PolicySet};
use std::sync::Arc;

fn check(policy: &str) -> Report {
    let set =
        PolicySet::load(&[testdata(policy)], &PolicyOptions::default()).expect("policies load");
    let checker = Checker::builtin(&["kubegate".into()], Default::default())
        .expect("checker")
        .with_policies(Arc::new(set));
    checker.check(&Loader::default().load(&[Input::Path(testdata("gatekeeper/resources.yaml"))]))
}

#[test]
fn constraints_match_evaluate_and_enforce_as_gatekeeper_does() {
    let report = check("gatekeeper/policy");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let found: Vec<(String, Severity, bool, u32)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.to_string(),
                f.severity,
                f.advisory,
                f.location.line.unwrap_or(0),
            )
        })
        .collect();
    let row = |id: &str, severity, advisory, line| (id.to_owned(), severity, advisory, line);
    assert_eq!(
        found,
        vec![
            // Deployment shop/web (line 8). kube-system/coredns (line 29) is excluded from
            // must-have-owner by `kube-*`; whether prod-repos' namespaceSelector (env=prod)
            // applies cannot be known (kube-system is not in the input): said so, advisory.
            row("K8sAllowedRepos.prod-repos", Severity::Low, false, 8), // enforcementAction: warn
            row("K8sReplicaLimits.replicas-2-to-10", Severity::Low, true, 8), // dryrun
            row(
                "K8sRequiredLabels.must-have-owner",
                Severity::High,
                false,
                8
            ), // deny
            row("K8sAllowedRepos.prod-repos", Severity::Low, true, 29), // cannot be judged
            // Two Services with one selector: each sees the other through data.inventory.
            row(
                "K8sUniqueServiceSelector.unique-service-selector",
                Severity::High,
                false,
                42
            ),
            row(
                "K8sUniqueServiceSelector.unique-service-selector",
                Severity::High,
                false,
                51
            ),
        ]
    );
    let labels = &report.findings[2];
    assert_eq!(labels.message, "you must provide labels: {\"owner\"}");
    assert_eq!(
        labels.details["details"]["missing_labels"],
        serde_json::json!(["owner"])
    );
    // Dry-run findings never fail a run, whatever the threshold.
    let only_dry_run = Report {
        findings: vec![report.findings[1].clone()],
        ..Report::default()
    };
    assert!(!only_dry_run.has_findings_at_or_above(Severity::Low));
}

#[test]
fn parameters_are_validated_against_the_template_schema() {
    let errors = PolicySet::load(
        &[testdata("gatekeeper/bad-parameters")],
        &PolicyOptions::default(),
    )
    .expect_err("bad parameters");
    assert_eq!(errors.len(), 1, "{errors:?}");
    match &errors[0] {
        PolicyError::Compile {
            path,
            position,
            message,
        } => {
            assert!(path.ends_with("bad-parameters/constraint.yaml"));
            assert_eq!(*position, Some(Position::new(7, 5)));
            assert_eq!(
                message,
                "constraint \"replicas-wrong\": parameters.min: \"2\" is not of type \"integer\""
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn constraints_without_templates_and_broken_templates_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("c.yaml"),
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sNothing\nmetadata:\n  name: x\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("t.yaml"),
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: broken\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sBroken\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package broken\n        violation[{\"msg\": msg}] {\n          msg := \n        }\n",
    )
    .expect("write");
    let errors = PolicySet::load(&[dir.path().to_path_buf()], &PolicyOptions::default())
        .expect_err("errors");
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter()
            .any(|e| e.contains("no ConstraintTemplate defines kind K8sNothing")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|e| e.contains("template \"broken\"") && e.contains("t.yaml:12:")),
        "{text:?}"
    );
}

/// A template whose Rego nests `[`/`{` deeper than regorus parses in reasonable time (its
/// time doubles per level: found by the policy fuzz target) is refused, naming the template
/// and the line, before regorus sees it.
#[test]
fn templates_nested_too_deep_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = format!("{}{}", "{".repeat(200), "}".repeat(200));
    std::fs::write(
        dir.path().join("t.yaml"),
        format!("apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: deep\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sDeep\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n        package deep\n        violation[{{\"msg\": \"x\"}}] {{\n          x := {deep}\n        }}\n"),
    )
    .expect("write");
    let started = std::time::Instant::now();
    let errors = PolicySet::load(&[dir.path().to_path_buf()], &PolicyOptions::default())
        .expect_err("refused");
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        text.iter().any(|e| e.contains(
            "template \"deep\": line 3 of its Rego: `[` and `{` nested deeper than 12 levels"
        )),
        "{text:?}"
    );
}

/// `match.namespaces` and `excludedNamespaces` cannot disqualify a namespaced object that has
/// no `metadata.namespace`: Gatekeeper matches it (gator and the gatekeeper-library suites rely
/// on it). Placed in a namespace first (`--default-namespace`), it is matched as that namespace.
#[test]
fn objects_without_a_namespace_match_as_gatekeeper_matches_them() {
    let set = PolicySet::load(
        &[testdata("gatekeeper/namespaces/policy.yaml")],
        &PolicyOptions::default(),
    )
    .expect("policies load");
    let checker = Checker::builtin(&["kubegate".into()], Default::default())
        .expect("checker")
        .with_policies(Arc::new(set));
    let found = |loaded: &kubegate_engine::Loaded| -> Vec<String> {
        let report = checker.check(loaded);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .iter()
            .filter(|f| f.rule_id.starts_with("K8sNoLatest"))
            .map(|f| format!("{} {}", f.rule_id, f.object))
            .collect()
    };
    let input = [Input::Path(testdata(
        "gatekeeper/namespaces/resources.yaml",
    ))];
    let mut loaded = Loader::default().load(&input);
    assert_eq!(
        found(&loaded),
        [
            "K8sNoLatest.not-in-dev Deployment/unplaced",
            "K8sNoLatest.prod-no-latest Deployment/unplaced",
            "K8sNoLatest.not-in-dev Deployment/prod/in-prod",
            "K8sNoLatest.prod-no-latest Deployment/prod/in-prod",
        ]
    );
    assert_eq!(loaded.place_in_namespace("dev"), 1);
    assert_eq!(
        found(&loaded),
        [
            "K8sNoLatest.not-in-dev Deployment/prod/in-prod",
            "K8sNoLatest.prod-no-latest Deployment/prod/in-prod",
        ]
    );
    let mut loaded = Loader::default().load(&input);
    loaded.place_in_namespace("prod");
    assert_eq!(
        found(&loaded),
        [
            "K8sNoLatest.not-in-dev Deployment/prod/unplaced",
            "K8sNoLatest.prod-no-latest Deployment/prod/unplaced",
            "K8sNoLatest.not-in-dev Deployment/prod/in-prod",
            "K8sNoLatest.prod-no-latest Deployment/prod/in-prod",
        ]
    );
}

/// A template with both engines is judged by its CEL code (message, and the field its
/// variables read) unless `k8s_native_validation` is off; then by its Rego.
#[test]
fn dual_engine_templates_choose_cel_unless_told_otherwise() {
    let judge = |native: bool| {
        let options = PolicyOptions {
            k8s_native_validation: native,
            ..PolicyOptions::default()
        };
        let set = PolicySet::load(&[testdata("gatekeeper/cel/policy.yaml")], &options)
            .expect("policies load");
        let checker = Checker::builtin(&["kubegate".into()], Default::default())
            .expect("checker")
            .with_policies(Arc::new(set));
        let report = checker.check(
            &Loader::default().load(&[Input::Path(testdata("gatekeeper/cel/resources.yaml"))]),
        );
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        report
            .findings
            .iter()
            .filter(|f| f.rule_id.starts_with("K8sMaxReplicas"))
            .map(|f| (f.message.clone(), f.location.line.unwrap_or(0)))
            .collect::<Vec<_>>()
    };
    assert_eq!(judge(true), [("cel: 5 replicas, at most 3".to_owned(), 15)]);
    assert_eq!(
        judge(false),
        [("rego: 5 replicas, at most 3".to_owned(), 9)]
    );
}
