//! `kubegate check` against the public gatekeeper-library's own suites (`../shared/corpora/
//! gatekeeper-library`, beside the checkout as in CI), independently of `kubegate test`'s
//! suite runner: for every case, the template and the constraint are loaded as `--policy` files
//! are, the case's object is checked as a file (its inventory files beside it, as the rest of
//! the input), and the constraint's findings on the object must satisfy the case's assertions
//! as gator counts them (the corpus README: an unanchored RE2 `message` against each
//! violation's message; `yes` ≥ 1, `no` 0, an integer exactly). An AdmissionReview object is
//! judged as the webhook judges it: `request.object` with the request. Both engines of the
//! dual-engine templates, as upstream CI runs them (issue #14).

use kubegate_engine::{Input, Loader, Manifest, Setup, Source, Subject};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn library() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpora/gatekeeper-library"
    ))
}

fn suites(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            suites(&path, out);
        } else if path.file_name().is_some_and(|n| n == "suite.yaml") {
            out.push(path);
        }
    }
}

/// The one document of a YAML file, as the loader reads it.
fn document(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (mut manifests, errors) = Loader::default().load_text(&path.display().to_string(), text);
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    assert_eq!(manifests.len(), 1, "{}", path.display());
    manifests
        .remove(0)
        .unparked()
        .expect("read back")
        .into_owned()
        .value
}

/// Whether `count` violations satisfy an assertion's `violations` (missing: "yes").
fn holds(expected: Option<&Value>, count: usize) -> bool {
    match expected {
        None => count >= 1,
        Some(Value::Bool(true)) => count >= 1,
        Some(Value::Bool(false)) => count == 0,
        Some(Value::String(s)) if s == "yes" => count >= 1,
        Some(Value::String(s)) if s == "no" => count == 0,
        Some(Value::Number(n)) => n.as_u64() == Some(count as u64),
        Some(other) => panic!("unknown assertion {other}"),
    }
}

#[test]
fn check_gives_the_suites_verdicts_on_the_suites_objects() {
    let root = library();
    assert!(
        root.is_dir(),
        "{} is missing: CI provides ../shared beside the checkout",
        root.display()
    );
    let mut paths = Vec::new();
    suites(&root, &mut paths);
    assert_eq!(paths.len(), 49, "the library's 49 suites");
    let mut judged = 0;
    let mut wrong = Vec::new();
    for native in [true, false] {
        for suite_path in &paths {
            let dir = suite_path.parent().expect("dir");
            let suite = document(suite_path);
            for test in suite["tests"].as_array().expect("tests") {
                let setup = Setup {
                    packs: vec!["kubegate".into()],
                    policy_paths: vec![
                        dir.join(test["template"].as_str().expect("template")),
                        dir.join(test["constraint"].as_str().expect("constraint")),
                    ],
                    k8s_native_validation: native,
                    ..Default::default()
                };
                let checker = setup
                    .checker()
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", suite_path.display(), test["name"]));
                let constraint = document(&dir.join(test["constraint"].as_str().expect("c")));
                let rule = format!(
                    "{}.{}",
                    constraint["kind"].as_str().expect("kind"),
                    constraint["metadata"]["name"].as_str().expect("name")
                );
                for case in test["cases"].as_array().into_iter().flatten() {
                    let object_path = dir.join(case["object"].as_str().expect("object"));
                    let object = document(&object_path);
                    let messages: Vec<String> = if object["kind"] == "AdmissionReview" {
                        let request = &object["request"];
                        let manifest = Manifest::from_value(
                            request["object"].clone(),
                            Source::Admission(object_path.display().to_string()),
                        )
                        .expect("object");
                        checker
                            .evaluate(Subject::Admission {
                                object: &manifest,
                                review: request,
                            })
                            .findings
                            .iter()
                            .filter(|f| f.rule_id == rule.as_str())
                            .map(|f| f.message.clone())
                            .collect()
                    } else {
                        let mut inputs = vec![Input::Path(object_path.clone())];
                        inputs.extend(
                            case["inventory"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str)
                                .map(|p| Input::Path(dir.join(p))),
                        );
                        let report = checker.check(&Loader::default().load(&inputs));
                        assert!(report.errors.is_empty(), "{:?}", report.errors);
                        let file = object_path.display().to_string();
                        report
                            .findings
                            .iter()
                            .filter(|f| f.rule_id == rule.as_str() && f.location.file == file)
                            .map(|f| f.message.clone())
                            .collect()
                    };
                    let assertions = case["assertions"].as_array();
                    let ok = match assertions {
                        // No assertions: no violations expected.
                        None => messages.is_empty(),
                        Some(list) => list.iter().all(|a| {
                            let count = match a["message"].as_str() {
                                Some(pattern) => {
                                    let re = regex::Regex::new(pattern).expect("RE2 pattern");
                                    messages.iter().filter(|m| re.is_match(m)).count()
                                }
                                None => messages.len(),
                            };
                            holds(a.get("violations"), count)
                        }),
                    };
                    judged += 1;
                    if !ok {
                        wrong.push(format!(
                            "native={native} {} / {} / {}: {messages:?}",
                            suite["metadata"]["name"].as_str().unwrap_or("?"),
                            test["name"].as_str().unwrap_or("?"),
                            case["name"].as_str().unwrap_or("?")
                        ));
                    }
                }
            }
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
    assert_eq!(judged, 2 * 270, "every case on both engines");
}
