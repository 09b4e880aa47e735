//! `kubegate test`: Rego unit tests (`test_*` rules, as `opa test` and `conftest verify` run
//! them) and Gatekeeper `gator` Suite files (`test.gatekeeper.sh/v1alpha1`), judged as
//! `gator verify` judges them.

use crate::load::{Input, Loader};
use crate::model::inventory::Inventory;
use crate::policy::rego::{add_data, add_policy, PolicyOptions, PolicySet};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What kind of test a result is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    Rego,
    Gator,
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "message")]
pub enum TestStatus {
    Pass,
    Fail(String),
    Error(String),
    Skip,
}

/// One test's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub kind: TestKind,
    /// `data.main.test_denies_latest`, or `suite / test / case` for gator.
    pub name: String,
    pub file: String,
    pub line: Option<u32>,
    #[serde(flatten)]
    pub status: TestStatus,
}

/// Runs every Rego test and gator suite found under `paths` (files or directories).
pub fn run(paths: &[PathBuf]) -> Vec<TestResult> {
    run_with_data(paths, &[])
}

/// [`run`], with the data documents under `data` (`.json`, `.yaml`, `.yml`; conftest verify's
/// `--data`) merged under `data` for the Rego tests. Nothing else is read from there.
pub fn run_with_data(paths: &[PathBuf], data_paths: &[PathBuf]) -> Vec<TestResult> {
    run_with_options(paths, data_paths, &PolicyOptions::default())
}

/// [`run_with_data`], gator suites loading their policies with `options` (only
/// [`PolicyOptions::k8s_native_validation`] is taken: gator's `--enable-k8s-native-validation`).
pub fn run_with_options(
    paths: &[PathBuf],
    data_paths: &[PathBuf],
    options: &PolicyOptions,
) -> Vec<TestResult> {
    let mut rego = Vec::new();
    let mut data = Vec::new();
    let mut yaml = Vec::new();
    let mut missing = Vec::new();
    for path in data_paths {
        if !path.exists() {
            missing.push(error(
                TestKind::Rego,
                path,
                None,
                path.display().to_string(),
                "no such file or directory".into(),
            ));
            continue;
        }
        let files = crate::source::walk::walk(path, &crate::source::walk::everything()).files;
        data.extend(files.into_iter().filter(|f| {
            matches!(
                f.extension().and_then(|e| e.to_str()),
                Some("json" | "yaml" | "yml")
            )
        }));
    }
    for path in paths {
        // A mistyped path would otherwise find no tests and pass.
        if !path.exists() {
            missing.push(error(
                TestKind::Rego,
                path,
                None,
                path.display().to_string(),
                "no such file or directory".into(),
            ));
            continue;
        }
        for file in crate::source::walk::walk(path, &crate::source::walk::everything()).files {
            sort_file(file, &mut rego, &mut data, &mut yaml);
        }
    }
    for v in [&mut rego, &mut data, &mut yaml] {
        v.sort();
        v.dedup();
    }
    let mut results = missing;
    results.extend(rego_tests(&rego, &data));
    for file in yaml {
        results.extend(gator_suite(&file, options));
    }
    results
}

fn sort_file(
    path: PathBuf,
    rego: &mut Vec<PathBuf>,
    data: &mut Vec<PathBuf>,
    yaml: &mut Vec<PathBuf>,
) {
    match path.extension().and_then(|e| e.to_str()) {
        Some("rego") => rego.push(path),
        Some("json") => data.push(path),
        Some("yaml" | "yml") => {
            // Suites are gator's; other YAML is Rego data unless it is Gatekeeper or Kubernetes.
            let head = std::fs::read_to_string(&path).unwrap_or_default();
            if head.contains("test.gatekeeper.sh/") {
                yaml.push(path);
            } else if !head.contains("apiVersion:") {
                data.push(path);
            }
        }
        _ => {}
    }
}

/// Compiles all Rego (tests included) and data, then evaluates every `test_*` rule. Every
/// policy file is compiled even where no test exists: one that does not compile is an error,
/// never "no tests found".
fn rego_tests(files: &[PathBuf], data: &[PathBuf]) -> Vec<TestResult> {
    let mut results = Vec::new();
    if files.is_empty() {
        return results;
    }
    let mut engine = regorus::Engine::new();
    engine.set_strict_builtin_errors(false);
    let mut tests = Vec::new();
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                results.push(error(
                    TestKind::Rego,
                    file,
                    None,
                    file.display().to_string(),
                    e.to_string(),
                ));
                continue;
            }
        };
        match add_policy(&mut engine, file, &text) {
            Ok(added) => {
                let package = added.package;
                for (line, name) in test_rules(&added.rules) {
                    if !tests
                        .iter()
                        .any(|(_, _, p, n): &(PathBuf, u32, String, String)| {
                            *p == package && *n == name
                        })
                    {
                        tests.push((file.clone(), line, package.clone(), name));
                    }
                }
            }
            Err(e) => results.push(error(
                TestKind::Rego,
                file,
                None,
                file.display().to_string(),
                e.to_string(),
            )),
        }
    }
    for file in data {
        if let Err(e) = std::fs::read_to_string(file)
            .map_err(|e| e.to_string())
            .and_then(|t| add_data(&mut engine, file, &t).map_err(|e| e.to_string()))
        {
            results.push(error(
                TestKind::Rego,
                file,
                None,
                file.display().to_string(),
                e,
            ));
        }
    }
    if results
        .iter()
        .any(|r| matches!(r.status, TestStatus::Error(_)))
    {
        return results;
    }
    engine.set_input(regorus::Value::from(serde_json::json!({})));
    for (file, line, package, name) in tests {
        let query = format!("data.{package}.{name}");
        let status = match engine.eval_rule(query.clone()) {
            Ok(regorus::Value::Bool(true)) => TestStatus::Pass,
            Ok(regorus::Value::Undefined) => {
                TestStatus::Fail("undefined: a test rule's body was not satisfied".into())
            }
            Ok(other) => TestStatus::Fail(format!(
                "evaluated to {}",
                serde_json::to_string(&other).unwrap_or_default()
            )),
            Err(e) => TestStatus::Error(e.to_string()),
        };
        results.push(TestResult {
            kind: TestKind::Rego,
            name: query,
            file: file.display().to_string(),
            line: Some(line),
            status,
        });
    }
    results
}

/// `(line, name)` of each `test_*` rule of a file's declared rules, once per name (a test
/// defined several times is one test), at its first definition.
fn test_rules(declared: &[(u32, String)]) -> Vec<(u32, String)> {
    let mut out: Vec<(u32, String)> = Vec::new();
    for (line, name) in declared {
        if name.starts_with("test_") && !out.iter().any(|(_, n)| n == name) {
            out.push((*line, name.clone()));
        }
    }
    out
}

fn error(
    kind: TestKind,
    file: &Path,
    line: Option<u32>,
    name: String,
    message: String,
) -> TestResult {
    TestResult {
        kind,
        name,
        file: file.display().to_string(),
        line,
        status: TestStatus::Error(message),
    }
}

/// Runs one gator Suite file.
fn gator_suite(file: &Path, options: &PolicyOptions) -> Vec<TestResult> {
    let options = PolicyOptions {
        k8s_native_validation: options.k8s_native_validation,
        ..PolicyOptions::default()
    };
    let mut results = Vec::new();
    let fail = |line: Option<u32>, name: String, message: String| TestResult {
        kind: TestKind::Gator,
        name,
        file: file.display().to_string(),
        line,
        status: TestStatus::Error(message),
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return vec![fail(None, file.display().to_string(), e.to_string())],
    };
    let stream = crate::load::yaml::parse_stream(&text, &crate::load::yaml::Limits::default());
    if let Some(e) = stream.error {
        return vec![fail(
            Some(e.position.line),
            file.display().to_string(),
            e.to_string(),
        )];
    }
    let base = file.parent().unwrap_or(Path::new("."));
    for doc in stream.documents {
        if doc.value.get("kind").and_then(Value::as_str) != Some("Suite") {
            continue;
        }
        let suite = doc
            .value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("suite")
            .to_owned();
        let at = |pointer: &str| doc.positions.resolve(pointer).map(|(p, _)| p.line);
        for (t, test) in doc
            .value
            .get("tests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let test_name = test
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("test")
                .to_owned();
            let path = |key: &str| test.get(key).and_then(Value::as_str).map(|p| base.join(p));
            let (Some(template), Some(constraint)) = (path("template"), path("constraint")) else {
                results.push(fail(
                    at(&format!("/tests/{t}")),
                    format!("{suite} / {test_name}"),
                    "a test needs `template` and `constraint`".into(),
                ));
                continue;
            };
            let policies = match PolicySet::load(&[template, constraint], &options) {
                Ok(p) => p,
                Err(errors) => {
                    let message = errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ");
                    results.push(fail(
                        at(&format!("/tests/{t}")),
                        format!("{suite} / {test_name}"),
                        message,
                    ));
                    continue;
                }
            };
            for (c, case) in test
                .get("cases")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let case_name = case.get("name").and_then(Value::as_str).unwrap_or("case");
                let name = format!("{suite} / {test_name} / {case_name}");
                let line = at(&format!("/tests/{t}/cases/{c}"));
                let skip = |v: &Value| v.get("skip") == Some(&Value::Bool(true));
                if skip(test) || skip(case) {
                    results.push(TestResult {
                        kind: TestKind::Gator,
                        name,
                        file: file.display().to_string(),
                        line,
                        status: TestStatus::Skip,
                    });
                    continue;
                }
                let status = run_case(base, case, &policies).unwrap_or_else(TestStatus::Error);
                results.push(TestResult {
                    kind: TestKind::Gator,
                    name,
                    file: file.display().to_string(),
                    line,
                    status,
                });
            }
        }
    }
    results
}

/// Evaluates one case: its object against the test's constraints, with its inventory.
fn run_case(base: &Path, case: &Value, policies: &PolicySet) -> Result<TestStatus, String> {
    let object = case
        .get("object")
        .and_then(Value::as_str)
        .ok_or("a case needs `object`")?;
    let loader = Loader::default();
    let loaded = loader.load(&[Input::Path(base.join(object))]);
    if let Some(e) = loaded.errors.first() {
        return Err(e.to_string());
    }
    let [manifest] = loaded.manifests.as_slice() else {
        return Err(format!(
            "{object}: a case's object file must hold exactly one object"
        ));
    };
    let inventory_files: Vec<Input> = case
        .get("inventory")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|p| Input::Path(base.join(p)))
        .collect();
    let inventory_loaded = loader.load(&inventory_files);
    if let Some(e) = inventory_loaded.errors.first() {
        return Err(e.to_string());
    }
    let mut everything = inventory_loaded.manifests.clone();
    everything.push(manifest.clone());
    let inventory = Inventory::new(&everything);
    let data = crate::policy::gatekeeper::inventory_data(&inventory_loaded.manifests);
    let mut worker = policies.worker(Some(&data));
    let mut found = Vec::new();
    policies
        .evaluate(&mut worker, manifest, &inventory, &mut found)
        .map_err(|e| e.to_string())?;
    // A constraint that cannot be applied (a namespaceSelector whose Namespace the case's
    // inventory lacks) gives no violation in a suite, as the suites expect; `check` reports it
    // as "cannot be judged".
    let messages: Vec<&str> = found
        .iter()
        .filter(|v| !v.undecided && !v.excepted)
        .map(|v| v.violation.message.as_str())
        .collect();
    for (i, assertion) in case
        .get("assertions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let matching: Vec<&&str> = match assertion.get("message").and_then(Value::as_str) {
            Some(pattern) => {
                let re = regex_lite(pattern)
                    .map_err(|e| format!("assertion {i}: bad message regex {pattern:?}: {e}"))?;
                messages.iter().filter(|m| re.is_match(m)).collect()
            }
            None => messages.iter().collect(),
        };
        let ok = match assertion.get("violations") {
            // YAML 1.1 reads `yes`/`no` as booleans. A missing count means "yes", as gator's
            // `Assertion.Run` defaults it ("assume the object fails validation").
            Some(Value::Bool(true)) | None => !matching.is_empty(),
            Some(Value::Bool(false)) => matching.is_empty(),
            Some(Value::String(s)) if s == "yes" => !matching.is_empty(),
            Some(Value::String(s)) if s == "no" => matching.is_empty(),
            Some(Value::Number(n)) => n.as_u64() == Some(matching.len() as u64),
            Some(other) => {
                return Err(format!(
                    "assertion {i}: violations must be yes, no or a number, not {other}"
                ))
            }
        };
        if !ok {
            let expected = assertion
                .get("violations")
                .map_or("yes".to_owned(), |v| match v {
                    Value::Bool(true) => "yes".into(),
                    Value::Bool(false) => "no".into(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            return Ok(TestStatus::Fail(format!(
                "assertion {i}: expected {expected} violation(s){}, got {}: {:?}",
                assertion
                    .get("message")
                    .and_then(Value::as_str)
                    .map(|m| format!(" matching {m:?}"))
                    .unwrap_or_default(),
                matching.len(),
                messages
            )));
        }
    }
    Ok(TestStatus::Pass)
}

/// The regex engine regorus already links (`regex`), for assertion messages.
fn regex_lite(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::Regex::new(pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_path_is_an_error_not_an_empty_pass() {
        let results = run(&[PathBuf::from("/nonexistent/kubegate-policy-tests")]);
        assert_eq!(results.len(), 1);
        assert_eq!(
            results[0].status,
            TestStatus::Error("no such file or directory".into())
        );
    }

    /// Same lines as before the syntax tree replaced the line scanner, in valid Rego v1 (the
    /// old text mixed v0 and v1 heads, which no parser accepts), plus an indented test.
    #[test]
    fn finds_test_rules_once_with_lines() {
        let text = "package main\n\ntest_a if {\n  true\n}\ntest_a if {\n  false\n}\n\ntest_b if {\n  true\n}\nhelper := 1\n  test_c if { true }\n";
        let mut engine = regorus::Engine::new();
        let added = add_policy(&mut engine, Path::new("t_test.rego"), text).expect("parses");
        assert_eq!(
            test_rules(&added.rules),
            vec![
                (3, "test_a".to_owned()),
                (10, "test_b".to_owned()),
                (14, "test_c".to_owned())
            ]
        );
    }
}
