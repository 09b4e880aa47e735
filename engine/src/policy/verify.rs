//! `kubegate test`: Rego unit tests (`test_*` rules, as `opa test` and `conftest verify` run
//! them), Gatekeeper `gator` Suite files (`test.gatekeeper.sh/v1alpha1`), judged as
//! `gator verify` judges them, and the ValidatingAdmissionPolicy results of Kyverno CLI test
//! files (`kyverno-test.yaml`, `cli.kyverno.io/v1alpha1` `Test`), judged as `kyverno test`
//! judges them.

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
    Kyverno,
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
    let mut kyverno = Vec::new();
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
            if is_kyverno_test(&file) {
                kyverno.push(file);
                continue;
            }
            sort_file(file, &mut rego, &mut data, &mut yaml);
        }
    }
    for v in [&mut rego, &mut data, &mut yaml, &mut kyverno] {
        v.sort();
        v.dedup();
    }
    let mut results = missing;
    results.extend(rego_tests(&rego, &data));
    for file in yaml {
        results.extend(gator_suite(&file, options));
    }
    for file in kyverno {
        results.extend(kyverno_suite(&file, options));
    }
    results
}

/// A Kyverno CLI test file: named `kyverno-test.yaml` (what `kyverno test` looks for), or a
/// `cli.kyverno.io` `Test` document.
fn is_kyverno_test(path: &Path) -> bool {
    if path.file_name().and_then(|n| n.to_str()) == Some("kyverno-test.yaml") {
        return true;
    }
    if !matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    ) {
        return false;
    }
    let head = std::fs::read_to_string(path).unwrap_or_default();
    head.contains("cli.kyverno.io/") && head.contains("kind: Test")
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
                    let message = joined(&errors);
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

/// The ValidatingAdmissionPolicy results of one Kyverno CLI test file: its `policies` (with a
/// Deny binding added for each policy no binding names, as `kyverno test` judges unbound
/// ones), its `resources`, and from its `variables` file the `namespaceSelector` labels and
/// `globalValues` `request.operation`. Each resource of each `results` entry is one test: it
/// passes when the policy's decision (`pass`, `fail`, `skip`, `warn`) is the expected
/// `result`. Entries for Kyverno policies (`ClusterPolicy` rules) are errors: kubegate does
/// not run them.
fn kyverno_suite(file: &Path, options: &PolicyOptions) -> Vec<TestResult> {
    let shown = file.display().to_string();
    let result = |name: String, line: Option<u32>, status: TestStatus| TestResult {
        kind: TestKind::Kyverno,
        name,
        file: shown.clone(),
        line,
        status,
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            return vec![result(
                shown.clone(),
                None,
                TestStatus::Error(e.to_string()),
            )]
        }
    };
    let stream = crate::load::yaml::parse_stream(&text, &crate::load::yaml::Limits::default());
    if let Some(e) = stream.error {
        return vec![result(
            shown.clone(),
            Some(e.position.line),
            TestStatus::Error(e.to_string()),
        )];
    }
    let Some(doc) = stream.documents.into_iter().next() else {
        return vec![result(
            shown.clone(),
            None,
            TestStatus::Error("the file holds no test".into()),
        )];
    };
    let test = &doc.value;
    let at = |pointer: &str| doc.positions.resolve(pointer).map(|(p, _)| p.line);
    let suite = test
        .pointer("/metadata/name")
        .or_else(|| test.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("test")
        .to_owned();
    let base = file.parent().unwrap_or(Path::new("."));
    let paths = |key: &str| -> Vec<PathBuf> {
        test.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|p| base.join(p))
            .collect()
    };
    let whole = |message: String| vec![result(suite.clone(), Some(1), TestStatus::Error(message))];
    let policy_files = paths("policies");
    if policy_files.is_empty() {
        return whole("a test needs `policies`".into());
    }
    let load_options = PolicyOptions {
        bind_unbound_vaps: true,
        k8s_native_validation: options.k8s_native_validation,
        ..PolicyOptions::default()
    };
    let policies = match PolicySet::load(&policy_files, &load_options) {
        Ok(p) => p,
        Err(errors) => return whole(joined(&errors)),
    };
    let loader = Loader::default();
    let resources = loader.load(
        &paths("resources")
            .into_iter()
            .map(Input::Path)
            .collect::<Vec<_>>(),
    );
    if let Some(e) = resources.errors.first() {
        return whole(e.to_string());
    }
    let variables = match test.get("variables").and_then(Value::as_str) {
        None => Value::Null,
        Some(p) => match std::fs::read_to_string(base.join(p)) {
            Ok(text) => {
                let stream =
                    crate::load::yaml::parse_stream(&text, &crate::load::yaml::Limits::default());
                match (stream.error, stream.documents.into_iter().next()) {
                    (Some(e), _) => return whole(format!("{p}: {e}")),
                    (None, Some(d)) => d.value,
                    (None, None) => Value::Null,
                }
            }
            Err(e) => return whole(format!("{p}: {e}")),
        },
    };
    let operation = variables
        .pointer("/globalValues/request.operation")
        .and_then(Value::as_str)
        .unwrap_or("CREATE")
        .to_owned();
    // Namespaces as the values file labels them, unless the resources define them.
    let mut everything = resources.manifests.clone();
    for ns in variables
        .get("namespaceSelector")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = ns.get("name").and_then(Value::as_str) else {
            continue;
        };
        let defined = everything
            .iter()
            .any(|m| m.object.kind == "Namespace" && m.object.name.as_deref() == Some(name));
        if defined {
            continue;
        }
        let namespace = serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": ns.get("labels").cloned().unwrap_or(Value::Null)},
        });
        match crate::model::manifest::Manifest::from_value(
            namespace,
            crate::source::Source::Admission(format!("{shown}: namespaceSelector")),
        ) {
            Ok(m) => everything.push(m),
            Err(e) => return whole(format!("namespaceSelector {name:?}: {e}")),
        }
    }
    let inventory = Inventory::new(&everything);
    let mut results = Vec::new();
    for (r, entry) in test
        .get("results")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let line = at(&format!("/results/{r}"));
        let policy = entry.get("policy").and_then(Value::as_str).unwrap_or("");
        let expected = entry.get("result").and_then(Value::as_str).unwrap_or("");
        let kind = entry.get("kind").and_then(Value::as_str);
        let mut names: Vec<&str> = entry
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if let Some(one) = entry.get("resource").and_then(Value::as_str) {
            names.push(one);
        }
        let title = |resource: &str| {
            let shown_kind = kind.map(|k| format!("{k}/")).unwrap_or_default();
            format!("{suite} / {policy} / {shown_kind}{resource}")
        };
        let is_vap = policies.vap_names().any(|n| n == policy);
        if !is_vap {
            results.push(result(
                title(&names.join(", ")),
                line,
                TestStatus::Error(format!(
                    "{policy:?} is not a ValidatingAdmissionPolicy of the test's policies: \
                     kubegate runs the ValidatingAdmissionPolicy results of kyverno-test.yaml, \
                     not Kyverno policy rules"
                )),
            ));
            continue;
        }
        if !matches!(expected, "pass" | "fail" | "skip" | "warn") {
            results.push(result(
                title(&names.join(", ")),
                line,
                TestStatus::Error(format!(
                    "result must be pass, fail, skip or warn, not {expected:?}"
                )),
            ));
            continue;
        }
        if names.is_empty() {
            results.push(result(
                title(""),
                line,
                TestStatus::Error("a result needs `resources`".into()),
            ));
            continue;
        }
        for name in names {
            let (namespace, object_name) = match name.split_once('/') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, name),
            };
            let found: Vec<&crate::model::manifest::Manifest> = resources
                .manifests
                .iter()
                .filter(|m| m.object.name.as_deref() == Some(object_name))
                .filter(|m| namespace.is_none() || m.object.namespace.as_deref() == namespace)
                .filter(|m| kind.is_none_or(|k| m.object.kind == k))
                .collect();
            let status = match found.as_slice() {
                [] => TestStatus::Fail(format!(
                    "no resource {name:?}{} among the test's resources",
                    kind.map(|k| format!(" of kind {k}")).unwrap_or_default()
                )),
                many => judge_kyverno(many, policy, expected, &operation, &policies, &inventory),
            };
            results.push(result(title(name), line, status));
        }
    }
    if results.is_empty() {
        return whole("the test has no `results`".into());
    }
    results
}

/// Policy load errors on one line.
fn joined(errors: &[crate::policy::rego::PolicyError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The status of one Kyverno result entry for the resources it names.
fn judge_kyverno(
    manifests: &[&crate::model::manifest::Manifest],
    policy: &str,
    expected: &str,
    operation: &str,
    policies: &PolicySet,
    inventory: &Inventory<'_>,
) -> TestStatus {
    for m in manifests {
        let review = (operation != "CREATE").then(|| {
            serde_json::json!({
                "operation": operation,
                "name": m.object.name,
                "namespace": m.object.namespace,
                "object": m.value,
                "oldObject": if operation == "UPDATE" { m.value.clone() } else { Value::Null },
                "userInfo": {},
                "dryRun": false,
            })
        });
        let outcome = policies
            .vap_outcomes(m, inventory, review.as_ref())
            .into_iter()
            .find(|(name, _)| name == policy)
            .map(|(_, o)| o);
        let Some(outcome) = outcome else {
            return TestStatus::Error(format!("policy {policy:?} was not evaluated"));
        };
        if let crate::policy::rego::VapOutcome::Undecided(why) = &outcome {
            return TestStatus::Error(format!("cannot be judged offline: {}", why.join("; ")));
        }
        if outcome.word() != expected {
            let why = match &outcome {
                crate::policy::rego::VapOutcome::Fail(m)
                | crate::policy::rego::VapOutcome::Warn(m) => {
                    format!(": {}", m.join("; "))
                }
                _ => String::new(),
            };
            return TestStatus::Fail(format!(
                "{}: expected {expected}, got {}{why}",
                m.object,
                outcome.word()
            ));
        }
    }
    TestStatus::Pass
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
