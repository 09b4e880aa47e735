//! The one evaluation path: a run and an admission request go through `Checker::evaluate`, which
//! decides from each rule's declared scope what it can judge, and applies every exemption.

use kubegate_engine::Subject;
use kubegate_engine::{Checker, Loaded, Loader, Manifest};
use kubegate_engine::{ConfigExemptions, Exemptions, ObjectExemption};

fn load(text: &str) -> Loaded {
    let (manifests, errors) = Loader::default().load_text("input.yaml", text.to_owned());
    assert!(errors.is_empty(), "{errors:?}");
    Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    }
}

fn ids(report: &kubegate_engine::Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.rule_id.as_ref()).collect()
}

const NAMESPACE_AND_DEPLOYMENT: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.2
";

/// KG401 (no NetworkPolicy in the namespace) and KG208 (single replica, no autoscaler) need
/// the other objects: a run judges them, one admission request never does.
#[test]
fn whole_input_rules_judge_a_run_but_not_an_admission_request() {
    let checker = Checker::default();
    let loaded = load(NAMESPACE_AND_DEPLOYMENT);
    let run = checker.evaluate(Subject::Run(&loaded));
    assert!(ids(&run).contains(&"KG401"), "{:?}", ids(&run));
    assert!(ids(&run).contains(&"KG208"), "{:?}", ids(&run));
    for object in &loaded.manifests {
        let value = object.value.clone();
        let alone = Manifest::from_value(value, kubegate_engine::Source::Admission("test".into()))
            .expect("object");
        let admitted = checker.evaluate(Subject::Admission {
            object: &alone,
            review: &serde_json::Value::Null,
        });
        for id in kubegate_engine::registry::whole_input_ids() {
            assert!(!ids(&admitted).contains(&id), "{id} judged one request");
        }
        assert!(admitted.rules_run.iter().all(|r| r != "KG401"));
        // The object rules still run on it: the Deployment has no probes, limits, ….
        if object.object.kind == "Deployment" {
            assert!(ids(&admitted).contains(&"KG204"), "{:?}", ids(&admitted));
        }
    }
    assert_eq!(
        checker.rule_count(false) - checker.rule_count(true),
        kubegate_engine::registry::whole_input_ids().len()
    );
}

/// An exemption annotation for a whole-input rule on an admitted object is not "unused": the
/// rule could not run there (no KG002), while in a run it is used.
#[test]
fn exemption_annotations_for_rules_that_cannot_run_are_not_reported_unused() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\n  annotations:\n    exempt.kubegate.io/KG401: \"policies live in the platform repo; NET-12\"\nspec:\n  containers:\n  - name: web\n    image: registry.example/web:1.0\n";
    let checker = Checker::default();
    let loaded = load(text);
    let run = checker.check(&loaded);
    assert!(
        !ids(&run).contains(&"KG401") && !ids(&run).contains(&"KG002"),
        "{:?}",
        ids(&run)
    );
    assert_eq!(run.summary.exempted, 1, "the KG401 finding, suppressed");
    let alone = Manifest::from_value(
        loaded.manifests[0].value.clone(),
        kubegate_engine::Source::Admission("test".into()),
    )
    .expect("object");
    let admitted = checker.evaluate(Subject::Admission {
        object: &alone,
        review: &serde_json::Value::Null,
    });
    assert!(!ids(&admitted).contains(&"KG002"), "{:?}", ids(&admitted));
}

/// Configuration exemptions are applied by the checker (the same for both front ends) and the
/// ones that suppressed nothing are listed.
#[test]
fn configuration_exemptions_apply_inside_the_engine_and_unused_ones_are_listed() {
    let exemptions = ConfigExemptions {
        exemptions: Exemptions {
            namespaces: vec!["kube-*".into()],
            paths: vec!["vendor/**".into()],
            objects: vec![
                ObjectExemption {
                    kind: Some("Deployment".into()),
                    name: Some("we*".into()),
                    rules: vec!["KG204".into(), "readiness-probe-missing".into()],
                    reason: "probes come with the next release".into(),
                    ..ObjectExemption::default()
                },
                ObjectExemption {
                    kind: Some("StatefulSet".into()),
                    reason: "none in this input".into(),
                    ..ObjectExemption::default()
                },
            ],
        },
        base: std::env::current_dir().expect("cwd"),
    };
    let loaded = load(NAMESPACE_AND_DEPLOYMENT);
    let plain = Checker::default().check(&loaded);
    let checker = Checker::default().with_exemptions(exemptions);
    let exempted = checker.check(&loaded);
    assert!(ids(&plain).contains(&"KG204") && ids(&plain).contains(&"KG205"));
    assert!(!ids(&exempted).contains(&"KG204"), "{:?}", ids(&exempted));
    assert!(
        !ids(&exempted).contains(&"KG205"),
        "by name: {:?}",
        ids(&exempted)
    );
    assert_eq!(plain.findings.len() - exempted.findings.len(), 2);
    assert_eq!(exempted.summary.findings, exempted.findings.len());
    assert_eq!((plain.summary.exempted, exempted.summary.exempted), (0, 2));
    let s = &exempted.summary;
    assert_eq!(
        s.findings,
        s.critical + s.high + s.medium + s.low + s.advisory + s.existing,
        "every finding counted once"
    );
    assert_eq!(
        exempted.unused_exemptions,
        [
            "exemptions.namespaces[0] (kube-*)",
            "exemptions.objects[1] (kind: StatefulSet)"
        ],
        "path exemptions act when files are read, so they are never listed"
    );
    let alone = Manifest::from_value(
        loaded.manifests[1].value.clone(),
        kubegate_engine::Source::Admission("test".into()),
    )
    .expect("object");
    let admitted = checker.evaluate(Subject::Admission {
        object: &alone,
        review: &serde_json::Value::Null,
    });
    assert!(!ids(&admitted).contains(&"KG204"), "{:?}", ids(&admitted));
}

/// A budget caps what one rule keeps (never below one, so a per-rule verdict is unchanged),
/// cuts long messages, and stops an evaluation past its deadline with a typed error.
#[test]
fn a_budget_bounds_findings_messages_and_time() {
    let checker = Checker::default();
    let image = "x".repeat(10_000);
    let containers: Vec<serde_json::Value> = (0..50)
        .map(|i| serde_json::json!({"name": format!("c{i}"), "image": format!("{image}:latest")}))
        .collect();
    let pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "many", "namespace": "shop"},
        "spec": {"containers": containers},
    });
    let manifest = Manifest::from_value(pod, kubegate_engine::Source::Admission("test".into()))
        .expect("object");
    let subject = Subject::Admission {
        object: &manifest,
        review: &serde_json::Value::Null,
    };
    let full = checker.evaluate(subject);
    assert_eq!(full.findings_cut, 0);
    let budget = kubegate_engine::Budget {
        max_findings_per_rule: Some(3),
        max_message_bytes: Some(200),
        ..Default::default()
    };
    let capped = checker
        .evaluate_within(subject, &budget)
        .expect("no deadline");
    assert_eq!(
        capped.findings.len() + capped.findings_cut,
        full.findings.len(),
        "every finding is kept or counted"
    );
    assert!(capped.findings_cut > 0);
    let rules = |r: &kubegate_engine::Report| {
        r.findings
            .iter()
            .map(|f| f.rule_id.to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(rules(&capped), rules(&full), "every rule keeps a finding");
    for rule in rules(&capped) {
        assert!(capped.findings.iter().filter(|f| f.rule_id == rule).count() <= 3);
    }
    assert!(full.findings.iter().any(|f| f.message.len() > 10_000));
    assert!(capped
        .findings
        .iter()
        .all(|f| f.message.len() <= 200 && (f.message.len() < 200 || f.message.ends_with('…'))));

    let late = kubegate_engine::Budget {
        deadline: Some(std::time::Instant::now()),
        ..Default::default()
    };
    assert_eq!(
        checker.evaluate_within(subject, &late).err(),
        Some(kubegate_engine::Interrupted::Deadline)
    );
}
