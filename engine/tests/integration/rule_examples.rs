//! Every rule's declared examples: the failing one must produce that rule's finding, the
//! passing one must not, and both must load without errors.

use kubegate_engine::{registry as rules, Checker, Loaded, Loader, Manifest, Source, Subject};

/// Checks an example with the rule alone (rules that defer to an overlapping rule only show
/// their own ground that way), or with every rule for the exemption rules, which are about
/// other rules' findings.
fn check(rule_id: &str, text: &str) -> kubegate_engine::Report {
    let (manifests, errors) = Loader::default().load_text("example.yaml", text.to_owned());
    assert!(errors.is_empty(), "example does not load: {errors:?}");
    let alone: Vec<_> = rules::builtin()
        .iter()
        .copied()
        .filter(|r| r.meta().id == rule_id)
        .collect();
    let checker = if alone.is_empty() {
        Checker::default()
    } else {
        Checker::with_rules(alone)
    };
    // A rule that judges updates (KG018) gives its example as the AdmissionReview the webhook
    // receives: the request's object is judged with the request, as the webhook judges it.
    if let [review] = manifests.as_slice() {
        if review.object.kind == "AdmissionReview" {
            let request = review.value.get("request").expect("request");
            let object = Manifest::from_value(
                request.get("object").expect("request.object").clone(),
                Source::Admission("example".into()),
            )
            .expect("object");
            return checker.evaluate(Subject::Admission {
                object: &object,
                review: request,
            });
        }
    }
    checker.check(&Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    })
}

#[test]
fn every_rule_flags_its_failing_example_and_accepts_its_passing_one() {
    let metas = rules::all_metas();
    assert!(
        metas.len() >= 8,
        "expected the built-in catalogue, got {}",
        metas.len()
    );
    for meta in metas {
        let failing = check(meta.id, meta.failing_example);
        assert!(
            failing.findings.iter().any(|f| f.rule_id == meta.id),
            "{} did not flag its failing example; findings: {:?}",
            meta.id,
            failing
                .findings
                .iter()
                .map(|f| (f.rule_id.as_ref(), &f.message))
                .collect::<Vec<_>>()
        );
        let passing = check(meta.id, meta.passing_example);
        let own: Vec<_> = passing
            .findings
            .iter()
            .filter(|f| f.rule_id == meta.id)
            .collect();
        assert!(
            own.is_empty(),
            "{} flagged its passing example: {own:?}",
            meta.id
        );
    }
}

#[test]
fn rule_metadata_is_complete_and_ids_are_unique() {
    let metas = rules::all_metas();
    let mut ids: Vec<_> = metas.iter().map(|m| m.id).collect();
    ids.dedup();
    assert_eq!(ids.len(), metas.len(), "duplicate rule ids");
    let mut names: Vec<_> = metas.iter().map(|m| m.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), metas.len(), "duplicate rule names");
    for m in metas {
        assert!(
            m.id.starts_with("KG") && m.id.len() == 5,
            "{}: id format",
            m.id
        );
        assert!(
            m.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: name",
            m.id
        );
        for text in [m.title, m.rationale, m.remediation, m.since] {
            assert!(!text.trim().is_empty(), "{}: empty metadata", m.id);
        }
        assert_eq!(rules::find(m.id).map(|f| f.id), Some(m.id));
        assert_eq!(rules::find(m.name).map(|f| f.id), Some(m.id));
    }
}

/// What each rule reports on its failing example, one snapshot per rule (ruff's shape): rule,
/// `line:column`, JSON pointer and message of every finding of that rule. A change to what a
/// rule says or where it points shows up as a snapshot diff.
#[test]
fn each_rule_reports_its_failing_example_exactly() {
    for meta in rules::all_metas().iter().filter(|m| !m.is_retired()) {
        let report = check(meta.id, meta.failing_example);
        let lines: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.rule_id == meta.id)
            .map(|f| {
                format!(
                    "{} {}:{} {} {}",
                    f.rule_id,
                    f.location.line.unwrap_or(0),
                    f.location.column.unwrap_or(0),
                    f.pointer,
                    f.message
                )
            })
            .collect();
        insta::with_settings!({
            snapshot_suffix => meta.id,
            description => format!("{} ({}): findings on its failing example", meta.id, meta.name),
            omit_expression => true,
        }, {
            insta::assert_snapshot!("failing_example", lines.join("\n"));
        });
    }
}
