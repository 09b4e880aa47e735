//! conftest fidelity: what counts as a result, what is refused at load, exceptions, on
//! fixtures written from conftest's engine (`policy/engine.go`) and documentation.

use crate::common::testdata;
use kubegate_engine::{Checker, Input, Loader, PolicyError, PolicyOptions, PolicySet, Report};
use std::sync::Arc;

/// The policies in `testdata/conftest/<dir>` over `testdata/conftest/manifests.yaml`, with only
/// the always-on built-in pack (less schema validation) so the assertions see the policies.
fn check(dir: &str, options: &PolicyOptions) -> Report {
    let set =
        PolicySet::load(&[testdata(&format!("conftest/{dir}"))], options).expect("policies load");
    let skip = ["KG005".to_owned(), "KG006".to_owned()];
    Checker::builtin_selection(&["kubegate".into()], &[], &skip, Default::default())
        .expect("checker")
        .with_policies(Arc::new(set))
        .check(&Loader::default().load(&[Input::Path(testdata("conftest/manifests.yaml"))]))
}

/// `(line, rule name, advisory, message)` of every finding, in report order.
fn findings(report: &Report) -> Vec<(u32, String, bool, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.location.line.unwrap_or(0),
                f.rule_name.to_string(),
                f.advisory,
                f.message.clone(),
            )
        })
        .collect()
}

fn row(line: u32, rule: &str, advisory: bool, message: &str) -> (u32, String, bool, String) {
    (line, rule.to_owned(), advisory, message.to_owned())
}

/// Sets (and arrays) of strings and of objects with `msg` are counted, one finding each. What
/// conftest does not count (a bare `deny if` that is true: a pass; a number in a set: ignored)
/// is reported as an advisory finding that never fails, saying so; `false` reports nothing.
#[test]
fn values_are_counted_as_conftest_counts_them_and_the_rest_is_said() {
    let report = check("counting", &PolicyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let bare = "`deny` is true, not a set of messages: conftest counts this as a pass, so \
                nothing fails; write `deny contains msg if { … }`";
    let number = "a result of `deny_numbers` is 7, neither a string nor an object with `msg`: \
                  conftest ignores it";
    assert_eq!(
        findings(&report),
        vec![
            row(1, "deny", true, bare),
            row(1, "deny_numbers", true, number),
            row(1, "deny_strings", false, "web: string result"),
            row(1, "warn_objects", false, "web: object result"),
            row(18, "violation_listed", false, "listed one"),
            row(18, "violation_listed", false, "listed two"),
            row(29, "deny", true, bare),
            row(29, "deny_numbers", true, number),
            row(29, "deny_strings", false, "legacy: string result"),
            row(29, "warn_objects", false, "legacy: object result"),
        ]
    );
    let object = &report.findings[3];
    assert_eq!(object.details.get("team"), Some(&serde_json::json!("shop")));
    assert_eq!(
        report.findings[0].details.get("conftest"),
        Some(&serde_json::json!("not counted"))
    );
    // Advisory findings are counted apart and never fail a run.
    assert_eq!(report.summary.advisory, 4);
    assert_eq!(report.summary.high, 4);
    assert_eq!(report.summary.low, 2);
}

/// An object result without a string `msg` stops conftest ("\"msg\" field must be present and
/// a string"); kubegate reports an evaluation error for that object, never a finding made up
/// from the object.
#[test]
fn an_object_result_without_a_string_msg_is_an_error_for_that_object() {
    let report = check("no-msg", &PolicyOptions::default());
    assert!(report.findings.is_empty(), "{:?}", findings(&report));
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let error = report.errors[0].to_string();
    assert!(error.contains("manifests.yaml:18"), "{error}");
    assert!(
        error.contains(
            "a result of deny is an object without a string `msg`: {\"message\":\"no msg key\"}"
        ),
        "{error}"
    );
}

/// `deny[msg] if { … }` is an object in Rego v1, not a set of messages: refused when the
/// policies load, naming file, line and column, and what to write instead, as conftest refuses
/// it ("rule is using 'if' keyword without 'contains' keyword").
#[test]
fn deny_with_a_key_and_if_is_refused_at_load_saying_what_to_write() {
    let errors = PolicySet::load(
        &[testdata("conftest/partial-object")],
        &PolicyOptions::default(),
    )
    .expect_err("refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        matches!(&errors[0], PolicyError::PartialObjectRule { name, key, .. } if name == "deny" && key == "msg"),
        "{errors:?}"
    );
    let text = errors[0].to_string();
    assert!(
        text.ends_with(
            "conftest/partial-object/deny.rego:9:1: `deny[msg] if { … }` defines an object in \
             Rego v1 (`deny[msg]` is true for each key), not a set of messages: write `deny \
             contains msg if { … }` (conftest refuses it too: rule is using 'if' keyword without \
             'contains' keyword)"
        ),
        "{text}"
    );
}

/// The other heads conftest's check refuses (a key with the value `true`, a dotted key), and
/// the heads that are fine: a set, a function, a complete rule with a value.
#[test]
fn only_valueless_keyed_heads_of_conftest_rules_are_refused() {
    let load = |text: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("p.rego"), text).expect("write");
        PolicySet::load(&[dir.path().to_path_buf()], &PolicyOptions::default())
    };
    for (text, head) in [
        (
            "package main\nwarn[msg] := true if { msg := \"x\" }\n",
            "warn[msg]",
        ),
        (
            "package main\nviolation_x.name if { true }\n",
            "violation_x.name",
        ),
    ] {
        let errors = load(text).expect_err(text);
        let message = errors[0].to_string();
        assert!(
            message.contains(&format!("`{head} if {{ … }}`")),
            "{message}"
        );
        assert!(message.contains("p.rego:2:1:"), "{message}");
    }
    for fine in [
        "package main\ndeny contains msg if { msg := \"x\" }\n",
        "package main\ndeny_map[k] := v if { k := \"a\"; v := 1 }\n",
        "package main\nlookup[k] if { k := \"a\" }\n",
        "package main\ndenylist[k] if { k := \"not a conftest rule\" }\n",
    ] {
        assert!(load(fine).is_ok(), "{fine}");
    }
}

/// Exceptions suppress `deny_<name>`, `violation_<name>` and, as conftest's engine does,
/// `warn_<name>` rules for the inputs they match; the plain rules only with `""`. What they
/// suppress is counted as exempted.
#[test]
fn exceptions_suppress_warn_rules_too_and_are_counted() {
    let report = check("exceptions", &PolicyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        findings(&report),
        vec![
            row(
                1,
                "deny_latest",
                false,
                "container \"web\" uses the latest tag"
            ),
            row(1, "warn", false, "web: plain warn"),
            row(1, "warn_replicas", false, "web runs 2 replicas"),
            row(29, "warn", false, "legacy: plain warn"),
        ]
    );
    // legacy's deny_latest and warn_replicas results.
    assert_eq!(report.summary.exempted, 2);
}

/// `PolicyOptions::data` (conftest's `--data`): the documents there are `data`; Rego there is
/// not loaded; the data files are among the set's files (the webhook reloads on them).
#[test]
fn data_paths_give_data_documents_only() {
    let options = PolicyOptions {
        data: vec![testdata("conftest/data")],
        ..PolicyOptions::default()
    };
    let report = check("data-policy", &options);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.findings.is_empty(), "{:?}", findings(&report));
    let without = check("data-policy", &PolicyOptions::default());
    assert_eq!(without.findings.len(), 2, "{:?}", findings(&without));
    let set = PolicySet::load(&[testdata("conftest/data-policy")], &options).expect("loads");
    let names: Vec<String> = set
        .files()
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["registries.yaml", "registries.rego"]);
}

/// `# METADATA` annotations read through `rego.metadata.rule()` and `rego.metadata.chain()`,
/// as conftest policies use them for message templates.
#[test]
fn metadata_annotations_give_messages_through_rule_and_chain() {
    let report = check("metadata", &PolicyOptions::default());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        findings(&report),
        vec![
            row(
                1,
                "deny_latest",
                false,
                "DEP-001: container \"web\" uses the latest tag"
            ),
            row(
                29,
                "deny_latest",
                false,
                "DEP-001: container \"legacy\" uses the latest tag"
            ),
            row(
                29,
                "warn_replicas",
                false,
                "legacy runs 1 replicas, fewer than 2"
            ),
        ]
    );
    let warn = &report.findings[2];
    assert_eq!(
        warn.details.get("title"),
        Some(&serde_json::json!("Enough replicas"))
    );
    assert_eq!(
        warn.details.get("policy"),
        Some(&serde_json::json!("Deployment checks"))
    );
}

/// `--combine`: conftest rules see every object at once, `input` an array of `{"path",
/// "contents"}` sorted by path; each result is reported on the object its `path` (an index
/// into the input), its `_loc`, or the one file its message names points at, else on the
/// first object, with `details.combined` saying which. Annotations exempt as usual.
#[test]
fn combined_input_is_one_array_and_results_land_on_their_documents() {
    let options = PolicyOptions {
        combine: true,
        ..PolicyOptions::default()
    };
    let set = PolicySet::load(&[testdata("conftest/combine")], &options).expect("loads");
    assert!(set.combines());
    let skip = ["KG005".to_owned(), "KG006".to_owned()];
    let checker = Checker::builtin_selection(&["kubegate".into()], &[], &skip, Default::default())
        .expect("checker")
        .with_policies(Arc::new(set));
    // Given services first: the input is sorted by path all the same.
    let inputs = [
        Input::Path(testdata("conftest/combine-input/services.yaml")),
        Input::Path(testdata("conftest/combine-input/deployments.yaml")),
    ];
    let report = checker.check(&Loader::default().load(&inputs));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let placed: Vec<(String, u32, u32, String, String)> = report
        .findings
        .iter()
        .map(|f| {
            let file = f
                .location
                .file
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let how = f
                .details
                .get("combined")
                .and_then(|v| v.as_str())
                .unwrap_or("-");
            (
                file,
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
                f.rule_name.to_string(),
                how.to_owned(),
            )
        })
        .collect();
    let row = |file: &str, line, column, rule: &str, how: &str| {
        (
            file.to_owned(),
            line,
            column,
            rule.to_owned(),
            how.to_owned(),
        )
    };
    assert_eq!(
        placed,
        vec![
            row("deployments.yaml", 1, 1, "warn_inventory", "first"),
            // worker: deny_unexposed at its labels; api's is exempted by its annotation.
            row("deployments.yaml", 33, 1, "violation_located", "_loc"),
            row("deployments.yaml", 42, 7, "deny_unexposed", "path"),
            row("services.yaml", 1, 1, "warn_single", "message"),
        ]
    );
    assert_eq!(
        report.findings[0].message,
        "4 objects: Deployment/web,Deployment/api,Deployment/worker,Service/web"
    );
    assert_eq!(
        report.findings[2].message,
        "Deployment worker: no Service selects its pods"
    );
    assert_eq!(report.summary.exempted, 1);
    // Without --combine the same rules see one object at a time: `input` is not an array, so
    // only the inventory rule (over an object's keys) gives anything.
    let per_object = check("combine", &PolicyOptions::default());
    assert!(per_object
        .findings
        .iter()
        .all(|f| f.rule_name == "warn_inventory"));
}
