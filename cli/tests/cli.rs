//! Runs the real `kubegate` binary from the workspace root and asserts on its output and
//! exit code.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

/// conftest fidelity (`--fail-on-warn`, `--no-fail`, `--combine`, `--data`, metadata).
#[path = "cli/conftest.rs"]
mod conftest;

fn kubegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("KUBEGATE_LOG")
        .output()
        .expect("run kubegate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_examples_human_output() {
    let out = kubegate(&["check", "testdata/examples"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    insta::assert_snapshot!("check_examples_human", stdout(&out));
}

#[test]
fn check_examples_json_output() {
    let out = kubegate(&["check", "--format", "json", "testdata/examples"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    assert_eq!(
        doc["summary"]["findings"],
        doc["findings"].as_array().map_or(0, Vec::len)
    );
    insta::assert_snapshot!("check_examples_json", stdout(&out));
}

#[test]
fn malformed_inputs_exit_2_with_file_line_and_cause() {
    let out = kubegate(&["check", "testdata/malformed"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("check_malformed_stderr", stderr(&out));
    let json = kubegate(&["check", "-f", "json", "testdata/malformed"]);
    assert_eq!(json.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("valid JSON");
    let errors = doc["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 5);
    assert!(errors
        .iter()
        .all(|e| e["file"].is_string() && e["line"].is_u64() && e["message"].is_string()));
    // Every format says on stderr, as the human one does, why the run exited 2.
    for format in ["json", "sarif", "junit", "github", "compact"] {
        let o = kubegate(&["check", "-f", format, "testdata/malformed"]);
        assert_eq!(o.status.code(), Some(2), "{format}");
        assert_eq!(stderr(&o), stderr(&out), "{format}");
    }
}

#[test]
fn clean_input_exits_0() {
    let out = kubegate(&["check", "testdata/examples/compliant.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "No findings in 3 objects from 1 file.\nUsing built-in defaults; failing at medium and above.\n"
    );
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    // With only best practices, kustomize-build.yaml has exactly one medium finding (an
    // untagged image).
    let file = "testdata/examples/kustomize-build.yaml";
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--packs", "best-practices", file];
        args.extend_from_slice(extra);
        kubegate(&args).status.code()
    };
    assert_eq!(run(&[]), Some(1));
    assert_eq!(run(&["--fail-on", "medium"]), Some(1));
    assert_eq!(run(&["--fail-on", "high"]), Some(0));
    assert_eq!(run(&["--fail-on", "never"]), Some(0));
    // Under Pod Security baseline, cni-agent.yaml's only finding is a low one (an unused
    // exemption): below the default threshold.
    let cni = [
        "check",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "testdata/examples/cni-agent.yaml",
    ];
    assert_eq!(kubegate(&cni).status.code(), Some(0));
    let mut strict = cni.to_vec();
    strict.extend(["--fail-on", "low"]);
    assert_eq!(kubegate(&strict).status.code(), Some(1));
}

#[test]
fn min_severity_hides_findings_without_changing_the_exit_code() {
    // kustomize-build.yaml's best-practices findings: two medium (an untagged image; no
    // NetworkPolicy selects the pods, which KG219 reports when KG401 does not run), seven low.
    let file = "testdata/examples/kustomize-build.yaml";
    let base = ["check", "--packs", "best-practices", "--fail-on", "medium"];
    let run = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.push(file);
        kubegate(&args)
    };
    let json =
        |o: &Output| -> serde_json::Value { serde_json::from_str(&stdout(o)).expect("json") };
    let all = json(&run(&["-f", "json"]))["summary"]["findings"].clone();
    assert_eq!(all, 9, "two medium and seven low findings");
    let o = run(&["--min-severity", "high", "-f", "json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the hidden medium finding still fails"
    );
    let doc = json(&o);
    assert_eq!(doc["findings"], serde_json::json!([]));
    assert_eq!(
        (&doc["summary"]["findings"], &doc["summary"]["hidden"]),
        (&0.into(), &all)
    );
    let o = run(&["--min-severity", "high"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "No findings in 2 objects from 1 file; 9 below high not shown.\nUsing built-in defaults; failing at medium and above.\n"
    );
    // At or below the finding's own severity, it is shown.
    let o = run(&["--min-severity", "medium", "-f", "compact"]);
    assert!(stdout(&o).contains(": medium[KG201] "), "{}", stdout(&o));
}

#[test]
fn colour_on_request_and_never_under_no_color() {
    let args = |extra: &[&str]| {
        let mut a = vec![
            "check",
            "--rules",
            "KG101,KG201,KG122,KG123",
            "--packs",
            "best-practices",
        ];
        a.extend_from_slice(extra);
        a.push("testdata/examples/web-deployment.yaml");
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |extra: &[&str], env: &[(&str, &str)]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
            .args(args(extra))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("KUBEGATE_LOG")
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .envs(env.iter().copied())
            .output()
            .expect("run kubegate");
        stdout(&out)
    };
    let escapes = |text: &str| text.contains('\u{1b}');
    let coloured = run(&["--color", "always"], &[]);
    // Escape codes shown as ␛ so that the snapshot reads as text.
    insta::assert_snapshot!("check_colour_human", coloured.replace('\u{1b}', "␛"));
    assert!(escapes(&run(&["--color", "always", "-f", "compact"], &[])));
    // Standard output is a pipe here: `auto` colours only when forced, and NO_COLOR wins.
    assert!(!escapes(&run(&[], &[])));
    assert!(escapes(&run(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!escapes(&run(&["--color", "auto"], &[("NO_COLOR", "1")])));
    assert!(!escapes(&run(
        &[],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]
    )));
    assert!(
        escapes(&run(&[], &[("NO_COLOR", ""), ("CLICOLOR_FORCE", "1")])),
        "an empty NO_COLOR does not count"
    );
    assert!(!escapes(&run(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    // Formats for programs never are.
    for format in ["json", "sarif", "junit", "github"] {
        assert!(
            !escapes(&run(&["--color", "always", "-f", format], &[])),
            "{format}"
        );
    }
    // Without colour, the same text.
    let plain = run(&["--color", "never"], &[]);
    assert_eq!(anstream::adapter::strip_str(&coloured).to_string(), plain);
}

#[test]
fn compact_output_is_one_line_per_finding() {
    let out = kubegate(&[
        "check",
        "-f",
        "compact",
        "--packs",
        "pss",
        "--pss-level",
        "restricted",
        "testdata/examples/web-deployment.yaml",
        "testdata/examples/cni-agent.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("check_compact", stdout(&out));
}

#[test]
fn usage_errors_and_missing_paths_exit_2() {
    let out = kubegate(&["check", "--fail-on", "sometimes", "testdata"]);
    assert_eq!(out.status.code(), Some(2));
    let out = kubegate(&["check", "testdata/does-not-exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: testdata/does-not-exist.yaml: path does not exist\n"
    );
}

#[test]
fn stdin_is_read_with_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(["check", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  hostPID: on\n  containers:\n    - name: a\n      image: nginx:1.27.2\n      resources: {limits: {cpu: 1, memory: 1Gi}}\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifest.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("high[KG102] pod must not set hostPID=true\n  --> <stdin>:6:3  Pod/p (v1)"),
        "{text}"
    );
}

#[test]
fn broken_pipe_exits_quietly() {
    // Enough findings that the output cannot fit in the pipe buffer.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = kubegate_engine::corpus::generate(3000, 1);
    std::fs::write(dir.path().join("big.yaml"), text).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(["check", "big.yaml"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
}

#[test]
fn rules_lists_filters_and_explains() {
    let out = kubegate(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("rules_table", stdout(&out));

    let out = kubegate(&["rules", "--benchmark", "CIS 5.2", "--format", "json"]);
    let rules: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let ids: Vec<&str> = rules
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "KG101", "KG102", "KG103", "KG104", "KG105", "KG111", "KG122", "KG123", "KG124",
            "KG126", "KG131", "KG132", "KG404"
        ]
    );

    let out = kubegate(&["rules", "--severity", "high"]);
    assert!(!stdout(&out).contains("KG201"));

    let out = kubegate(&["explain", "privileged-container"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("explain_kg101", stdout(&out));

    let out = kubegate(&["explain", "KG999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown rule \"KG999\""));
}

#[test]
fn rules_markdown_matches_docs() {
    let out = kubegate(&["rules", "--format", "markdown"]);
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md"))
        .expect("docs/rules.md");
    assert_eq!(stdout(&out), docs);
}

/// Rule ids of the findings in a `--format json` run.
fn finding_ids(out: &Output) -> Vec<String> {
    let doc: serde_json::Value = serde_json::from_str(&stdout(out)).expect("json");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn packs_select_what_runs() {
    let file = "testdata/examples/web-deployment.yaml";
    let out = kubegate(&["check", "--packs", "best-practices", "-f", "json", file]);
    let ids = finding_ids(&out);
    assert!(
        ids.contains(&"KG201".to_owned()) && ids.contains(&"KG202".to_owned()),
        "{ids:?}"
    );
    assert!(
        ids.iter().all(|id| id.starts_with("KG2")),
        "only best practices ran: {ids:?}"
    );
    let out = kubegate(&[
        "check",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "-f",
        "json",
        file,
    ]);
    assert_eq!(finding_ids(&out), vec!["KG101"]);
    // The restricted level adds its own checks on the same container.
    let out = kubegate(&["check", "--packs", "pss", "-f", "json", file]);
    assert_eq!(
        finding_ids(&out),
        // Container "web" (missing fields resolve to the container), its privileged flag,
        // then container "log-shipper".
        vec!["KG122", "KG123", "KG125", "KG126", "KG101", "KG122", "KG123", "KG125", "KG126"]
    );

    let out = kubegate(&["check", "--packs", "pod-securty", "testdata/examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown pack \"pod-securty\""),
        "{}",
        stderr(&out)
    );

    let out = kubegate(&["check", "--pss-version", "v1.99", "testdata/examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown Pod Security policy version"),
        "{}",
        stderr(&out)
    );

    let out = kubegate(&["rules", "--pack", "pss", "-f", "json"]);
    let rules: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(rules.as_array().map(Vec::len), Some(19));
}

#[test]
fn helm_charts_and_kustomizations_are_not_read_as_manifests() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("chart");
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .expect("write");
    std::fs::write(chart.join("templates/x.yaml"), "kind: {{ .Values.kind }}\n").expect("write");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [pod.yaml]\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostPID: true\n  containers: [{name: a, image: \"x:1\", resources: {limits: {cpu: 1, memory: 1Mi}}}]\n",
    )
    .expect("write");
    let root = dir.path().to_str().expect("utf-8 path");
    // Walking the directory passes over the chart and the kustomization file.
    let out = kubegate(&[
        "check",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "-f",
        "json",
        root,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(finding_ids(&out), vec!["KG102"]);
    // Naming the chart itself without rendering is an error that says what to do, not a
    // silent pass over zero files.
    let out = kubegate(&["check", "--no-render", chart.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("this is a Helm chart directory; render it first"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rules_and_skip_rules_narrow_the_selection() {
    let file = "testdata/examples/web-deployment.yaml";
    let out = kubegate(&[
        "check",
        "-f",
        "json",
        "--rules",
        "privileged-container,KG201",
        file,
    ]);
    assert_eq!(finding_ids(&out), vec!["KG201", "KG101"]);
    let out = kubegate(&[
        "check",
        "-f",
        "json",
        "--packs",
        "best-practices",
        "--skip-rules",
        "KG202",
        file,
    ]);
    assert!(!finding_ids(&out).contains(&"KG202".to_owned()));
    assert!(finding_ids(&out).contains(&"KG201".to_owned()));
    let out = kubegate(&["check", "--rules", "KG999", file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown rule \"KG999\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rego_policies_run_alongside_built_in_rules() {
    let out = kubegate(&[
        "check",
        "-f",
        "json",
        "--packs",
        "kubegate",
        "--policy",
        "testdata/rego/policy",
        "testdata/rego/manifests.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let findings = doc["findings"].as_array().expect("findings");
    let violation = findings
        .iter()
        .find(|f| f["rule_id"] == "main.violation")
        .expect("replicas violation");
    assert_eq!(violation["location"]["line"], 7);
    assert_eq!(violation["details"]["replicas"], "3");
    assert_eq!(violation["policy"], "testdata/rego/policy/replicas.rego");

    let out = kubegate(&[
        "check",
        "--policy",
        "testdata/rego/broken",
        "testdata/rego/manifests.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: testdata/rego/broken/bad.rego:6:25: invalid character in string\n"
    );
}

#[test]
fn policy_tests_run_rego_unit_tests_and_gator_suites() {
    let out = kubegate(&["test", "testdata/rego/policy", "testdata/gatekeeper/suite"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("PASS  data.main.test_legacy_importer_is_excepted (testdata/rego/policy/images_test.rego:19)"), "{text}");
    assert!(
        text.contains(
            "PASS  kubegate-gatekeeper / allowed-repos-by-namespace / prod-namespace-in-inventory"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("8 passed, 0 failed, 0 errors, 0 skipped\n"),
        "{text}"
    );

    let out = kubegate(&["test", "-f", "json", "testdata/policy-tests-failing"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["summary"]["failed"], 2);
    let statuses: Vec<&str> = doc["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    assert_eq!(statuses, vec!["fail", "fail"]);
    assert_eq!(doc["tests"][1]["line"], 10);
}

/// Kyverno CLI test files (`kyverno-test.yaml`) of ValidatingAdmissionPolicies: each named
/// resource of each result is a test, judged pass/fail/skip/warn as `kyverno test` judges it;
/// wrong expectations fail, a missing resource fails, a Kyverno policy rule is an error.
#[test]
fn kyverno_tests_of_validating_admission_policies() {
    let out = kubegate(&[
        "test",
        "testdata/vap-tests/host-path",
        "testdata/vap-tests/replicas",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    for line in [
        "PASS  no-host-path-volumes / no-host-path-volumes / Pod/debug (testdata/vap-tests/host-path/kyverno-test.yaml:20)",
        "PASS  replica-ceiling / replica-ceiling / Deployment/batch/big-batch (testdata/vap-tests/replicas/kyverno-test.yaml:16)",
        "PASS  replica-ceiling / team-label / Deployment/big-batch (testdata/vap-tests/replicas/kyverno-test.yaml:26)",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    assert!(
        text.ends_with("9 passed, 0 failed, 0 errors, 0 skipped\n"),
        "{text}"
    );

    let out = kubegate(&["test", "-f", "json", "testdata/vap-tests/failing"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let tests = doc["tests"].as_array().expect("tests");
    let row = |t: &serde_json::Value| {
        format!(
            "{} {} {}",
            t["kind"].as_str().unwrap_or_default(),
            t["status"].as_str().unwrap_or_default(),
            t["message"].as_str().unwrap_or_default()
        )
    };
    let rows: Vec<String> = tests.iter().map(row).collect();
    assert_eq!(
        rows,
        [
            "kyverno fail Deployment/shop/node-logs: expected pass, got fail: pods may not mount hostPath volumes",
            "kyverno fail no resource \"missing-deployment\" of kind Deployment among the test's resources",
            "kyverno error \"require-labels\" is not a ValidatingAdmissionPolicy of the test's policies: kubegate runs the ValidatingAdmissionPolicy results of kyverno-test.yaml, not Kyverno policy rules",
        ]
    );
}

/// A policy that does not compile is an error (exit 2) even where it has no tests: never "no
/// tests found" and a pass.
#[test]
fn policy_tests_report_a_policy_that_does_not_compile() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("images.rego"),
        "package main\n\ndeny contains msg if {\n  input.kind == \"Pod\"\n  msg := \n}\n",
    )
    .expect("write");
    let out = kubegate(&["test", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("ERROR ") && text.contains("images.rego:6:1"),
        "{text}"
    );
    assert!(
        text.ends_with("0 passed, 0 failed, 1 error, 0 skipped\n"),
        "{text}"
    );
}

#[test]
fn rules_and_explain_show_policy_metadata() {
    let out = kubegate(&[
        "rules",
        "-f",
        "json",
        "--category",
        "policy",
        "--policy",
        "testdata/rego/policy",
    ]);
    let rules: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let ids: Vec<&str> = rules
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["ORG001", "ORG001", "main.violation"]);
    assert_eq!(
        rules[0]["remediation"],
        "Mirror the image into an approved registry."
    );
    let out = kubegate(&["explain", "ORG001", "--policy", "testdata/rego/policy"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with(
        "ORG001 (deny_registry): Images come from approved registries\nseverity: high"
    ));
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let out = kubegate(&[
        "check",
        "-f",
        "sarif",
        "testdata/examples",
        "testdata/malformed/tabs.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2), "a load error still exits 2");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let schema_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/sarif/sarif-schema-2.1.0.json"
    ))
    .expect("schema");
    // The official schema's `language` patterns (run and toolComponent; kubegate emits neither)
    // are not valid ECMA-262 regexes: a stray `]`. The meta-schema check refuses to compile them,
    // so they are repaired here, in memory, to what they mean (`en` or `en-US`).
    let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(schema_text.matches(broken).count() >= 1);
    let schema: serde_json::Value =
        serde_json::from_str(&schema_text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#))
            .expect("schema json");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .build(&schema)
        .expect("compile schema");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The schema really constrains the output: an invalid level is refused.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("critical");
    assert!(validator.iter_errors(&broken).next().is_some());
    let run = &doc["runs"][0];
    let results = run["results"].as_array().expect("results");
    let privileged = results
        .iter()
        .find(|r| r["ruleId"] == "KG101")
        .expect("KG101");
    assert_eq!(privileged["level"], "error");
    assert_eq!(
        privileged["locations"][0]["physicalLocation"]["region"]["startLine"],
        25
    );
    assert_eq!(
        privileged["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "Deployment/shop/web/spec/template/spec/containers/0/securityContext/privileged"
    );
    let rule =
        &run["tool"]["driver"]["rules"][privileged["ruleIndex"].as_u64().expect("index") as usize];
    assert_eq!(rule["id"], "KG101");
    assert_eq!(rule["properties"]["security-severity"], "9.5");
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    assert!(
        run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("tabs"))
    );
}

#[test]
fn junit_output_is_well_formed_with_a_case_per_object_and_rule() {
    let out = kubegate(&[
        "check",
        "-f",
        "junit",
        "--packs",
        "best-practices",
        "testdata/examples/kustomize-build.yaml",
    ]);
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1);
    let cases = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    // 2 objects × (KG003 to KG006 + KG010 to KG018 + 23 best-practices rules); KG001/KG002 are
    // the engine's own checks.
    assert_eq!(cases, 2 * 36);
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert!(!failures.is_empty());
    assert_eq!(
        suites[0].attribute("failures"),
        Some(failures.len().to_string().as_str())
    );
    insta::assert_snapshot!("junit_kustomize_best_practices", xml);
}

#[test]
fn github_annotations_and_output_file() {
    let out = kubegate(&[
        "check",
        "-f",
        "github",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "testdata/examples/web-deployment.yaml",
    ]);
    insta::assert_snapshot!("github_web_deployment_baseline", stdout(&out));

    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("report.sarif");
    let out = kubegate(&[
        "check",
        "-f",
        "sarif",
        "-o",
        report.to_str().expect("utf-8"),
        "testdata/examples/web-deployment.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("critical[KG101]"),
        "the human report still goes to stdout"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("written")).expect("sarif");
    assert_eq!(written["version"], "2.1.0");
}

#[test]
fn sarif_snapshot() {
    let out = kubegate(&[
        "check",
        "-f",
        "sarif",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "testdata/examples/web-deployment.yaml",
    ]);
    insta::assert_snapshot!("sarif_web_deployment_baseline", stdout(&out));
}

/// Runs kubegate in `dir`.
fn kubegate_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(args)
        .current_dir(dir)
        .env_remove("KUBEGATE_LOG")
        .output()
        .expect("run kubegate")
}

const WEB: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n          securityContext: {privileged: true}\n";

#[test]
fn configuration_is_discovered_merged_and_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("deploy/prod");
    std::fs::create_dir_all(&sub).expect("mkdir");
    std::fs::write(sub.join("web.yaml"), WEB).expect("write");
    std::fs::write(
        dir.path().join(".kubegate.yaml"),
        "packs: [pss]\npss: {level: baseline}\nrules:\n  severity: {privileged-container: low}\nfailOn: high\noutput: {format: json}\n",
    )
    .expect("write");
    // Found from a subdirectory; the privileged finding is downgraded to low, below failOn: high.
    let out = kubegate_in(&sub, &["check", "web.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(finding_ids(&out), vec!["KG101"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json from config");
    assert_eq!(doc["findings"][0]["severity"], "low");
    // Flags win over the file.
    let out = kubegate_in(
        &sub,
        &["check", "--fail-on", "low", "-f", "human", "web.yaml"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("low[KG101]"), "{}", stdout(&out));
    // --no-config ignores it: every pack runs again.
    let out = kubegate_in(&sub, &["check", "--no-config", "-f", "json", "web.yaml"]);
    assert!(finding_ids(&out).len() > 5);

    std::fs::write(
        dir.path().join(".kubegate.yaml"),
        "packs: [psa]\nfailOn: sometimes\n",
    )
    .expect("write");
    let out = kubegate_in(&sub, &["check", "web.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(".kubegate.yaml:1:9: packs.0:"), "{err}");
    assert!(err.contains(".kubegate.yaml:2:1: failOn:"), "{err}");
}

#[test]
fn configuration_exemptions_by_namespace_object_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("vendor")).expect("mkdir");
    std::fs::write(dir.path().join("web.yaml"), WEB).expect("write");
    std::fs::write(
        dir.path().join("vendor/web.yaml"),
        WEB.replace("name: web\n  namespace", "name: other\n  namespace"),
    )
    .expect("write");
    let config = |body: &str| {
        std::fs::write(
            dir.path().join(".kubegate.yaml"),
            format!("packs: [pss]\npss: {{level: baseline}}\n{body}"),
        )
        .expect("write")
    };
    let ids = |dir: &std::path::Path| finding_ids(&kubegate_in(dir, &["check", "-f", "json", "."]));
    config("");
    assert_eq!(ids(dir.path()), vec!["KG101", "KG101"]);
    config("exemptions: {paths: [\"vendor/**\"]}\n");
    assert_eq!(ids(dir.path()), vec!["KG101"]);
    // A file exempted by path is not even loaded: it may not be a manifest.
    std::fs::write(dir.path().join("vendor/values.yaml"), "replicaCount: 3\n").expect("write");
    let out = kubegate_in(dir.path(), &["check", "-f", "json", "."]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "only findings, no load error: {}",
        stderr(&out)
    );
    std::fs::remove_file(dir.path().join("vendor/values.yaml")).expect("remove");
    config("exemptions: {namespaces: [\"sho*\"]}\n");
    assert!(ids(dir.path()).is_empty());
    config("exemptions:\n  objects:\n    - {kind: Deployment, name: web, rules: [privileged-container], reason: \"CNI, SEC-1\"}\n");
    assert_eq!(ids(dir.path()), vec!["KG101"]);
}

#[test]
fn init_writes_a_valid_starter_configuration_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = kubegate_in(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join(".kubegate.yaml").is_file());
    std::fs::write(dir.path().join("web.yaml"), WEB).expect("write");
    let out = kubegate_in(dir.path(), &["check", "web.yaml"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the starter file is valid: {}",
        stderr(&out)
    );
    let out = kubegate_in(dir.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("exists; use --force"));
    assert_eq!(
        kubegate_in(dir.path(), &["init", "--force"]).status.code(),
        Some(0)
    );
}

/// A fresh git repository with an identity, for the git integration tests.
fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for args in [
        vec!["init", "-q", "-b", "main"],
        vec!["config", "user.email", "test@example.com"],
        vec!["config", "user.name", "kubegate tests"],
        vec!["config", "commit.gpgsign", "false"],
    ] {
        git(dir.path(), &args);
    }
    dir
}

fn git(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

fn pod(name: &str, extra_spec: &str) -> String {
    format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: shop\nspec:\n{extra_spec}  containers:\n    - name: app\n      image: registry.example.com/app:1.0.0\n")
}

const BASELINE: [&str; 5] = ["--packs", "pss", "--pss-level", "baseline", "-f"];

#[test]
fn staged_content_is_checked_as_it_will_be_committed() {
    let repo = git_repo();
    let root = repo.path();
    std::fs::create_dir_all(root.join("deploy")).expect("mkdir");
    std::fs::write(root.join("deploy/old.yaml"), pod("old", "")).expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    // Staged: a pod with hostPID. Working tree: the same file fixed, but not staged.
    std::fs::write(
        root.join("deploy/new.yaml"),
        pod("new", "  hostPID: true\n"),
    )
    .expect("write");
    git(root, &["add", "deploy/new.yaml"]);
    std::fs::write(root.join("deploy/new.yaml"), pod("new", "")).expect("write");
    // A staged deletion is not checked.
    git(root, &["rm", "-q", "deploy/old.yaml"]);

    let mut args = vec!["check", "--staged"];
    args.extend(BASELINE);
    args.push("json");
    let out = kubegate_in(root, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["summary"]["files"], 1);
    assert_eq!(doc["findings"][0]["rule_id"], "KG102");
    assert_eq!(doc["findings"][0]["location"]["file"], "deploy/new.yaml");
    assert_eq!(doc["findings"][0]["location"]["line"], 7);
    // The working tree copy passes: only the staged content had the problem.
    let mut args: Vec<&str> = vec!["check"];
    args.extend(BASELINE);
    args.extend(["json", "deploy"]);
    assert_eq!(kubegate_in(root, &args).status.code(), Some(0));
    // From a subdirectory, names are relative to it.
    let mut args = vec!["check", "--staged"];
    args.extend(BASELINE);
    args.push("json");
    let out = kubegate_in(&root.join("deploy"), &args);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["findings"][0]["location"]["file"], "new.yaml");

    // Paths limit --staged to the staged manifests under them.
    std::fs::create_dir_all(root.join("other")).expect("mkdir");
    std::fs::write(
        root.join("other/net.yaml"),
        pod("net", "  hostNetwork: true\n"),
    )
    .expect("write");
    git(root, &["add", "other/net.yaml"]);
    let staged_files = |paths: &[&str]| {
        let mut args = vec!["check", "--staged"];
        args.extend(BASELINE);
        args.push("json");
        args.extend(paths);
        let out = kubegate_in(root, &args);
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        let mut files: Vec<String> = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter_map(|f| f["location"]["file"].as_str().map(str::to_owned))
            .collect();
        files.dedup();
        (out.status.code(), files)
    };
    let both = (
        Some(1),
        vec!["deploy/new.yaml".into(), "other/net.yaml".into()],
    );
    assert_eq!(staged_files(&[]), both);
    assert_eq!(staged_files(&["deploy/new.yaml", "other/"]), both);
    assert_eq!(
        staged_files(&["deploy"]),
        (Some(1), vec!["deploy/new.yaml".into()])
    );
    assert_eq!(
        staged_files(&["other"]),
        (Some(1), vec!["other/net.yaml".into()])
    );
    // A prefix of a directory name is not that directory.
    assert_eq!(staged_files(&["oth"]), (Some(0), vec![]));

    let outside = tempfile::tempdir().expect("tempdir");
    let out = kubegate_in(outside.path(), &["check", "--staged"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--staged needs a git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn diff_base_reports_only_new_findings_across_moves_and_renames() {
    let repo = git_repo();
    let root = repo.path();
    std::fs::write(
        root.join("pods.yaml"),
        pod("legacy", "  hostNetwork: true\n"),
    )
    .expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    // Rename the file, push the old finding down (a new pod above it), and add a new problem.
    git(root, &["mv", "pods.yaml", "workloads.yaml"]);
    let text = format!(
        "{}---\n{}",
        pod("fresh", "  hostPID: true\n"),
        pod("legacy", "  hostNetwork: true\n")
    );
    std::fs::write(root.join("workloads.yaml"), text).expect("write");

    let mut args = vec!["check", "--diff-base", "HEAD"];
    args.extend(BASELINE);
    args.extend(["json", "workloads.yaml"]);
    let out = kubegate_in(root, &args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(ids, vec!["KG102"]);
    assert!(doc["findings"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("hostPID")));

    let mut args = vec!["check", "--diff-base", "HEAD", "--show-existing"];
    args.extend(BASELINE);
    args.extend(["human", "workloads.yaml"]);
    let out = kubegate_in(root, &args);
    let text = stdout(&out);
    assert!(
        text.contains("hostNetwork=true (existing: also at the diff base)"),
        "{text}"
    );

    // Only the old finding left: the gate passes.
    std::fs::write(
        root.join("workloads.yaml"),
        pod("legacy", "  hostNetwork: true\n"),
    )
    .expect("write");
    let mut args = vec!["check", "--diff-base", "HEAD"];
    args.extend(BASELINE);
    args.extend(["human", "workloads.yaml"]);
    assert_eq!(kubegate_in(root, &args).status.code(), Some(0));
    let out = kubegate_in(
        root,
        &["check", "--diff-base", "no-such-rev", "workloads.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown revision \"no-such-rev\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn summary_counts_exempted_advisory_existing_and_hidden_findings() {
    let repo = git_repo();
    let root = repo.path();
    std::fs::write(
        root.join(".kubegate.yaml"),
        "packs: [pss]\npss: {level: baseline}\nfailOn: high\nexemptions:\n  objects:\n    - {kind: Pod, name: vetted, reason: \"reviewed in SEC-7\"}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("pods.yaml"),
        pod("legacy", "  hostNetwork: true\n"),
    )
    .expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    // New: a high finding, an exempted pod, an unknown kind (advisory) and an exemption
    // annotation that suppresses nothing (a low KG002).
    let probe = "apiVersion: monitoring.example.com/v1\nkind: Probe\nmetadata:\n  name: web\n  namespace: shop\n";
    let idle = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n  annotations:\n    exempt.kubegate.io/KG102: \"host access reviewed\"\n";
    let text = [
        pod("legacy", "  hostNetwork: true\n"),
        pod("fresh", "  hostPID: true\n"),
        pod("vetted", "  hostIPC: true\n"),
        probe.to_owned(),
        idle.to_owned(),
    ]
    .join("---\n");
    std::fs::write(root.join("pods.yaml"), text).expect("write");
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--diff-base", "HEAD"];
        args.extend_from_slice(extra);
        args.push("pods.yaml");
        kubegate_in(root, &args)
    };
    let mut shown = String::new();
    for extra in [
        &["-f", "compact", "--show-existing"][..],
        &[
            "-f",
            "compact",
            "--show-existing",
            "--min-severity",
            "medium",
        ],
        &["-f", "compact"],
        &[
            "-f",
            "compact",
            "--fail-on",
            "never",
            "--min-severity",
            "critical",
        ],
    ] {
        let o = run(extra);
        shown.push_str(&format!("$ {}\n{}\n", extra.join(" "), stdout(&o)));
        let expected = if extra.contains(&"never") { 0 } else { 1 };
        assert_eq!(o.status.code(), Some(expected), "{extra:?}: {}", stderr(&o));
    }
    insta::assert_snapshot!("check_summary_counts", shown);

    let o = run(&["-f", "json", "--show-existing", "--min-severity", "medium"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let s = &doc["summary"];
    let n = |key: &str| s[key].as_u64().unwrap_or(99);
    assert_eq!(
        [
            n("findings"),
            n("high"),
            n("advisory"),
            n("existing"),
            n("exempted"),
            n("hidden")
        ],
        [3, 1, 1, 1, 1, 1],
        "{s}"
    );
    // Existing findings never fail, so no format calls them failures.
    let o = run(&["-f", "github", "--show-existing"]);
    let github = stdout(&o);
    assert!(
        github.lines().any(|l| l.starts_with("::notice ")
            && l.contains("(high%2C existing)::")
            && l.contains("hostNetwork")),
        "{github}"
    );
    let o = run(&["-f", "sarif", "--show-existing"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("sarif");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let state = |needle: &str| {
        results
            .iter()
            .find(|r| {
                r["message"]["text"]
                    .as_str()
                    .is_some_and(|m| m.contains(needle))
            })
            .map(|r| (r["level"].clone(), r["baselineState"].clone()))
    };
    assert_eq!(
        state("hostNetwork"),
        Some(("note".into(), "unchanged".into()))
    );
    assert_eq!(state("hostPID"), Some(("error".into(), "new".into())));
    let o = run(&["-f", "junit", "--show-existing"]);
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).expect("xml");
    let failed: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .filter_map(|n| n.text())
        .collect();
    assert!(failed.iter().any(|t| t.contains("hostPID")), "{xml}");
    assert!(!failed.iter().any(|t| t.contains("hostNetwork")), "{xml}");
}

#[test]
fn sarif_rule_levels_follow_severity_overrides() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("web.yaml"), WEB).expect("write");
    std::fs::write(
        dir.path().join(".kubegate.yaml"),
        "packs: [pss]\npss: {level: baseline}\nrules:\n  severity: {privileged-container: low}\n",
    )
    .expect("write");
    let o = kubegate_in(dir.path(), &["check", "-f", "sarif", "web.yaml"]);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("sarif");
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"][0];
    assert_eq!(rule["id"], "KG101");
    assert_eq!(rule["defaultConfiguration"]["level"], "note");
    assert_eq!(rule["properties"]["security-severity"], "3.0");
    assert_eq!(sarif["runs"][0]["results"][0]["level"], "note");
}

#[test]
fn install_hook_blocks_a_bad_commit_and_never_replaces_a_foreign_hook() {
    let repo = git_repo();
    let root = repo.path();
    let out = kubegate_in(root, &["install-hook"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let hook = root.join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&hook)
        .expect("hook")
        .contains("kubegate check --staged"));
    // The hook runs for real: a privileged pod is blocked, with the finding printed.
    std::fs::write(root.join("bad.yaml"), pod("bad", "  hostPID: true\n")).expect("write");
    git(root, &["add", "bad.yaml"]);
    let commit = Command::new("git")
        .args(["commit", "-qm", "bad"])
        .current_dir(root)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("git commit");
    assert!(!commit.status.success(), "the hook must block the commit");
    // git passes a hook's output on through stderr.
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&commit.stdout),
        String::from_utf8_lossy(&commit.stderr)
    );
    assert!(
        printed.contains("pod must not set hostPID=true"),
        "{printed}"
    );
    // Reinstalling over its own hook is fine; over a foreign one only with --force.
    assert_eq!(kubegate_in(root, &["install-hook"]).status.code(), Some(0));
    std::fs::write(&hook, "#!/bin/sh\necho mine\n").expect("write");
    let out = kubegate_in(root, &["install-hook"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("was not written by kubegate"));
    assert_eq!(
        kubegate_in(root, &["install-hook", "--force"])
            .status
            .code(),
        Some(0)
    );
}

fn bin_dir() -> String {
    std::path::Path::new(env!("CARGO_BIN_EXE_kubegate"))
        .parent()
        .expect("bin dir")
        .display()
        .to_string()
}

/// A git repository holding this checkout's files as they are on disk (committed or not, and
/// untracked ones unless ignored), committed once, and that commit: the hook repository that
/// pre-commit clones. HEAD alone would miss work not yet committed.
fn hook_repository() -> (tempfile::TempDir, String) {
    let this_repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let listed = Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(this_repo)
        .output()
        .expect("git ls-files");
    assert!(listed.status.success(), "git ls-files: {}", stderr(&listed));
    let repo = git_repo();
    let mut copied = 0;
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).expect("file names in kubegate's tree are UTF-8");
        let from = this_repo.join(name);
        // Listed by the index but deleted in the working tree.
        if !from.is_file() {
            continue;
        }
        let to = repo.path().join(name);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&from, &to).expect("copy");
        copied += 1;
    }
    assert!(copied > 0, "no files listed in {}", this_repo.display());
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-qm", "kubegate under test"]);
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo.path())
        .output()
        .expect("git rev-parse");
    let rev = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    (repo, rev)
}

/// This process's PATH without any directory holding a `kubegate`, with the toolchain that runs
/// these tests (`CARGO`) in front: what a user has who never installed kubegate.
fn path_without_kubegate() -> std::ffi::OsString {
    let cargo = std::path::PathBuf::from(std::env::var_os("CARGO").expect("cargo test sets CARGO"));
    let toolchain = cargo.parent().expect("cargo's directory").to_path_buf();
    assert!(
        !toolchain.join("kubegate").exists(),
        "kubegate is installed next to cargo in {}",
        toolchain.display()
    );
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(toolchain)
        .chain(std::env::split_paths(&path).filter(|dir| !dir.join("kubegate").exists()));
    std::env::join_paths(dirs).expect("PATH")
}

/// The real pre-commit framework installs kubegate's hook from a clone of this tree, the way a
/// user's `.pre-commit-config.yaml` gets it: `id: kubegate` (`language: rust`) builds kubegate
/// with `cargo install` into an empty `PRE_COMMIT_HOME`, with no kubegate on PATH;
/// `id: kubegate-system` runs the kubegate on PATH, and `args` limit it to paths. CI installs
/// pre-commit (`.ci/run`); without it this test fails.
///
/// The build is cargo's release profile made cheap (no LTO, opt-level 0) in a target directory
/// kept under cargo's `CARGO_TARGET_TMPDIR`, so a second run rebuilds only kubegate's own crates.
#[test]
fn pre_commit_framework_installs_and_runs_the_hooks_from_this_repository() {
    let version = Command::new("pre-commit").arg("--version").output();
    assert!(
        version.is_ok_and(|o| o.status.success()),
        "the pre-commit framework is not installed: python3 -m pip install 'pre-commit>=4,<5' \
         (.ci/run installs it)"
    );
    let (hook_repo, rev) = hook_repository();
    let repo = git_repo();
    let root = repo.path();
    let home = tempfile::tempdir().expect("pre-commit home");
    let config = |hook: &str| {
        std::fs::write(
            root.join(".pre-commit-config.yaml"),
            format!(
                "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n{hook}",
                hook_repo.path().display()
            ),
        )
        .expect("write");
    };
    config("      - id: kubegate\n");
    std::fs::write(
        root.join(".kubegate.yaml"),
        "packs: [pss]\npss: {level: baseline}\n",
    )
    .expect("write");
    let build_dir = concat!(env!("CARGO_TARGET_TMPDIR"), "/pre-commit-hook");
    let run = |path: &std::ffi::OsStr, args: &[&str]| {
        Command::new(args[0])
            .args(&args[1..])
            .current_dir(root)
            .env("PATH", path)
            .env("PRE_COMMIT_HOME", home.path())
            .env("CARGO_TARGET_DIR", build_dir)
            .env("CARGO_PROFILE_RELEASE_LTO", "false")
            .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
            .env_remove("KUBEGATE_LOG")
            .output()
            .expect("run")
    };
    let printed = |o: &Output| format!("{}{}", stdout(o), stderr(o));

    let bare = path_without_kubegate();
    let missing = run(&bare, &["sh", "-c", "command -v kubegate"]);
    assert!(
        !missing.status.success(),
        "kubegate on PATH: {}",
        stdout(&missing)
    );
    assert!(run(&bare, &["pre-commit", "install"]).status.success());
    let started = std::time::Instant::now();
    let installed = run(&bare, &["pre-commit", "install-hooks"]);
    assert!(
        installed.status.success(),
        "pre-commit builds the hook: {}",
        printed(&installed)
    );
    eprintln!(
        "pre-commit install-hooks (cargo install of kubegate) took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    std::fs::write(root.join("good.yaml"), pod("good", "")).expect("write");
    git(
        root,
        &[
            "add",
            "good.yaml",
            ".pre-commit-config.yaml",
            ".kubegate.yaml",
        ],
    );
    let ok = run(&bare, &["git", "commit", "-qm", "good"]);
    assert!(
        ok.status.success(),
        "a compliant commit passes: {}",
        printed(&ok)
    );
    std::fs::write(root.join("bad.yaml"), pod("bad", "  hostNetwork: true\n")).expect("write");
    git(root, &["add", "bad.yaml"]);
    let blocked = run(&bare, &["git", "commit", "-qm", "bad"]);
    assert!(
        !blocked.status.success(),
        "a non-compliant commit is blocked"
    );
    let output = printed(&blocked);
    assert!(
        output.contains("pod must not set hostNetwork=true") && output.contains("bad.yaml:7:3"),
        "{output}"
    );

    // The system hook, limited to deploy/: the staged bad.yaml above is outside it.
    let with_kubegate = std::env::join_paths(
        std::iter::once(std::path::PathBuf::from(bin_dir())).chain(std::env::split_paths(&bare)),
    )
    .expect("PATH");
    config("      - id: kubegate-system\n        args: [deploy]\n");
    git(root, &["add", ".pre-commit-config.yaml"]);
    let scoped = run(&with_kubegate, &["git", "commit", "-qm", "outside deploy/"]);
    assert!(
        scoped.status.success(),
        "only manifests under deploy/ are judged: {}",
        printed(&scoped)
    );
    std::fs::create_dir_all(root.join("deploy")).expect("mkdir");
    std::fs::write(
        root.join("deploy/bad.yaml"),
        pod("bad", "  hostPID: true\n"),
    )
    .expect("write");
    git(root, &["add", "deploy/bad.yaml"]);
    let blocked = run(&with_kubegate, &["git", "commit", "-qm", "bad"]);
    let output = printed(&blocked);
    assert!(!blocked.status.success(), "{output}");
    assert!(
        output.contains("pod must not set hostPID=true") && output.contains("deploy/bad.yaml:7:3"),
        "{output}"
    );
}

#[test]
fn kustomizations_are_rendered_with_the_real_kubectl() {
    require_kustomize();
    let out = kubegate(&[
        "check",
        "-f",
        "json",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "testdata/kustomize/overlays/prod",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let f = &doc["findings"][0];
    assert_eq!(f["rule_id"], "KG102");
    // Set by the overlay's inline JSON 6902 patch: its `value: true` line in the kustomization.
    assert_eq!(
        f["location"]["file"], "testdata/kustomize/overlays/prod/kustomization.yaml",
        "{f}"
    );
    assert_eq!(
        (&f["location"]["line"], &f["location"]["column"]),
        (&17.into(), &9.into())
    );
    assert_eq!(
        f["template"],
        "testdata/kustomize/overlays/prod/kustomization.yaml"
    );
    assert_eq!(
        f["object"]["namespace"], "checkout-prod",
        "namespace set by the overlay"
    );
    // --no-render treats it as a directory of plain manifests.
    let out = kubegate(&[
        "check",
        "-f",
        "json",
        "--no-render",
        "--packs",
        "pss",
        "--pss-level",
        "baseline",
        "testdata/kustomize/overlays/prod",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the patch only exists once rendered: {}",
        stdout(&out)
    );
}

#[test]
fn helm_charts_are_rendered_with_values_and_set_passed_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chart = dir.path().join("shop");
    std::fs::create_dir_all(chart.join("templates")).expect("mkdir");
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: shop\nversion: 1.0.0\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("values-prod.yaml"), "replicas: 3\n").expect("write");
    // A stand-in for helm: records its arguments and prints a rendered stream.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let args_file = dir.path().join("helm-args");
    let rendered = format!(
        "---\n# Source: shop/templates/pod.yaml\n{}",
        pod("shop", "  hostIPC: true\n")
    );
    std::fs::write(
        bin.join("helm"),
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\ncat <<'YAML'\n{rendered}YAML\n",
            args_file.display()
        ),
    )
    .expect("write");
    Command::new("chmod")
        .args(["+x", bin.join("helm").to_str().expect("utf-8")])
        .status()
        .expect("chmod");
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args([
            "check",
            "-f",
            "json",
            "--packs",
            "pss",
            "--pss-level",
            "baseline",
            "--helm-values",
            "values-prod.yaml",
            "--helm-set",
            "image.tag=2.0.0",
            "shop",
        ])
        .current_dir(dir.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["findings"][0]["rule_id"], "KG102");
    assert_eq!(
        doc["findings"][0]["location"]["file"],
        "shop (helm template)"
    );
    assert_eq!(doc["findings"][0]["template"], "shop/templates/pod.yaml");
    assert_eq!(
        std::fs::read_to_string(&args_file).expect("args").trim(),
        "template shop shop --values values-prod.yaml --set image.tag=2.0.0"
    );
    // Without helm on PATH: a clear error, exit 2.
    let out = Command::new(env!("CARGO_BIN_EXE_kubegate"))
        .args(["check", "shop"])
        .current_dir(dir.path())
        .env("PATH", dir.path().join("nothing"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is a Helm chart, but helm is not on PATH"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_validation_flags_versions_crds_and_unknown_kinds() {
    let code = |o: &Output| o.status.code();
    // The string-replicas rollout, caught with its position (human output, excerpt and caret).
    let o = kubegate(&[
        "check",
        "--rules",
        "KG005",
        "--packs",
        "best-practices",
        "testdata/schema/builtin/invalid.yaml",
    ]);
    assert_eq!(code(&o), Some(1), "{}", stderr(&o));
    // What a developer sees: every mistake at its line, with the excerpt.
    insta::assert_snapshot!("check_schema_builtin_human", stdout(&o));

    // Removed between releases: ServiceCIDR v1beta1 passes at 1.36, fails at 1.37.
    let versions = "testdata/schema/versions/apis-across-releases.yaml";
    let at = |v: &str| {
        kubegate(&[
            "check",
            "--rules",
            "KG005,KG210",
            "--packs",
            "best-practices",
            "--kube-version",
            v,
            "--format",
            "json",
            versions,
        ])
    };
    let ids = |o: &Output| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                format!(
                    "{} {}",
                    f["rule_id"].as_str().unwrap_or(""),
                    f["object"]["kind"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert_eq!(ids(&at("1.36")), vec!["KG210 PodSecurityPolicy".to_owned()]);
    assert_eq!(
        ids(&at("v1.37")),
        vec![
            "KG005 ServiceCIDR".to_owned(),
            "KG210 PodSecurityPolicy".to_owned()
        ]
    );
    assert_eq!(
        ids(&at("1.33")),
        vec!["KG210 PodSecurityPolicy".to_owned(), "KG005 Pod".to_owned()]
    );

    // A version kubegate has no schemas for is an error, exit 2.
    let o = kubegate(&["check", "--kube-version", "1.24", versions]);
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains("kubegate has no schemas for Kubernetes 1.24"),
        "{}",
        stderr(&o)
    );

    // --crd validates custom resources; the unknown Probe is advisory and does not fail.
    let o = kubegate(&[
        "check",
        "--packs",
        "best-practices",
        "--rules",
        "KG004,KG006",
        "--crd",
        "testdata/schema/crds",
        "testdata/schema/custom",
    ]);
    assert_eq!(code(&o), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("high[KG004] spec.schedul: unknown field \"schedul\""),
        "{out}"
    );
    assert!(
        out.contains("medium[KG006] no schema for monitoring.example.com/v1 Probe"),
        "{out}"
    );
    // Only the unknown kind: advisory by default (exit 0), a failure with --unknown-kinds fail.
    let probe_only = [
        "check",
        "--packs",
        "best-practices",
        "--rules",
        "KG006",
        "--skip-rules",
        "KG003,KG004,KG005",
        "--crd",
        "testdata/schema/crds",
        "testdata/schema/custom",
    ];
    let o = kubegate(&probe_only);
    assert_eq!(code(&o), Some(0), "{}", stdout(&o));
    let mut failing = probe_only.to_vec();
    failing.extend(["--unknown-kinds", "fail"]);
    assert_eq!(code(&kubegate(&failing)), Some(1));

    // --no-strict accepts the misspelt field, not the wrong type.
    let o = kubegate(&[
        "check",
        "--packs",
        "best-practices",
        "--rules",
        "KG004",
        "--no-strict",
        "--crd",
        "testdata/schema/crds",
        "testdata/schema/custom",
    ]);
    let out = stdout(&o);
    assert!(!out.contains("schedul\""), "{out}");
    assert!(
        out.contains("spec.retain: expected integer, got string \"4\""),
        "{out}"
    );

    // A --crd path without CRDs is an error naming it.
    let o = kubegate(&[
        "check",
        "--crd",
        "testdata/schema/custom",
        "testdata/examples",
    ]);
    assert_eq!(code(&o), Some(2));
    assert!(
        stderr(&o).contains(
            "testdata/schema/custom: no apiextensions.k8s.io/v1 CustomResourceDefinition found"
        ),
        "{}",
        stderr(&o)
    );

    // `kubegate schemas` lists the bundle.
    let o = kubegate(&["schemas"]);
    let out = stdout(&o);
    assert!(out.contains("Kubernetes 1.25: "), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Kubernetes 1.37: ") && l.ends_with("(default)")),
        "{out}"
    );
    assert!(
        out.contains("sha256: 85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9")
    );
    let o = kubegate(&["schemas", "--kube-version", "1.36"]);
    assert!(stdout(&o)
        .lines()
        .any(|l| l == "networking.k8s.io/v1beta1 ServiceCIDR"));
}

/// The kustomize tests run the real renderer: kubectl (its built-in kustomize) is on the
/// machine image and CI's requirements (README), so its absence is a failure, never a skip.
fn require_kustomize() {
    let has = |tool: &str| {
        Command::new(tool)
            .arg("version")
            .arg("--client")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    assert!(
        has("kubectl") || has("kustomize"),
        "these tests need kubectl (with its built-in kustomize) or kustomize on PATH"
    );
}

/// A kustomize Component renders only inside a kustomization that lists it. A walk that meets
/// one nobody lists (microservices-demo ships eight, for users to opt into) must not try to
/// render it alone (kubectl refuses: "expected kind != 'Component'") and exit 2, nor pass over
/// it silently: it is named as not checked. Named explicitly, it is an error that says why.
#[test]
fn a_kustomize_component_no_kustomization_lists_is_named_not_rendered() {
    require_kustomize();
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\n# components:\n#   - ../components/debug\n",
    );
    write("app/web.yaml", WEB);
    write(
        "components/debug/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - debug.yaml\n",
    );
    write(
        "components/debug/debug.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\n  namespace: shop\nspec:\n  hostPID: true\n  containers:\n    - name: debug\n      image: busybox:1.36\n",
    );
    let root = dir.path().to_str().expect("utf-8 path");
    let out = kubegate_in(dir.path(), &["check", "-f", "json", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["errors"], serde_json::json!([]), "{}", stderr(&out));
    assert_eq!(doc["walk"]["kustomize_roots"], serde_json::json!(["app"]));
    assert_eq!(
        doc["walk"]["unused_components"],
        serde_json::json!(["components/debug"])
    );
    // The component's files are its members, not objects of their own.
    let findings = doc["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["object"]["name"] == "web"),
        "{findings:?}"
    );
    assert!(
        stderr(&out).contains(
            "note: kustomize Component components/debug is listed by no kustomization in the input, so it was not rendered: its objects and patches were not checked"
        ),
        "{}",
        stderr(&out)
    );
    // Listed by the kustomization, it is rendered through it (and its pod judged).
    write(
        "app/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - web.yaml\ncomponents:\n  - ../components/debug\n",
    );
    let out = kubegate_in(dir.path(), &["check", "-f", "json", "."]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["errors"], serde_json::json!([]), "{}", stderr(&out));
    assert!(doc["walk"].get("unused_components").is_none(), "{doc}");
    assert!(
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["object"]["name"] == "debug" && f["rule_id"] == "KG102"),
        "{doc}"
    );
    // Named explicitly, a component is an error naming the cause (exit 2), not kubectl's.
    let out = kubegate(&["check", &format!("{root}/components/debug")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("a kustomize Component (kind: Component) is not rendered on its own"),
        "{}",
        stderr(&out)
    );
}

/// A GitOps tree (testdata/gitops): the kustomize roots are rendered with the real kubectl
/// and each finding points at the file and line a person edits: the base, the patch that sets
/// the field, the kustomization line of a transformer. Member files are never judged alone,
/// files that are not manifests are passed over and named, the chart that cannot be rendered
/// is said to be, and nothing exits 2.
#[test]
fn a_gitops_tree_is_judged_through_its_kustomize_roots_at_the_lines_people_edit() {
    require_kustomize();
    let out = kubegate(&["check", "-f", "json", "-v", "testdata/gitops"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["errors"], serde_json::json!([]));
    let findings = doc["findings"].as_array().expect("findings");
    let root = env!("CARGO_MANIFEST_DIR");
    for f in findings {
        let file = f["location"]["file"].as_str().expect("file");
        assert!(
            std::path::Path::new(root).join(file).is_file(),
            "{file} is not a file of the repository: {f}"
        );
        assert!(f["location"]["line"].is_u64(), "{f}");
    }
    let at = |rule: &str, namespace: &str| -> Vec<String> {
        findings
            .iter()
            .filter(|f| f["rule_id"] == rule && f["object"]["namespace"] == namespace)
            .map(|f| {
                let l = &f["location"];
                format!(
                    "{}:{}:{}",
                    l["file"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_start_matches("testdata/gitops/"),
                    l["line"],
                    l["column"]
                )
            })
            .collect()
    };
    // A strategic-merge patch sets privileged: its line.
    assert_eq!(
        at("KG101", "shop-prod"),
        ["apps/shop/overlays/prod/debug-privileged.yaml:12:13"]
    );
    // A JSON 6902 patch file adds hostNetwork: the operation's value.
    assert_eq!(
        at("KG102", "shop-prod"),
        ["apps/shop/overlays/prod/host-network.yaml:3:3"]
    );
    // The namespace comes from the overlay's `namespace:` transformer; staging has its policy.
    assert_eq!(
        at("KG401", "shop-prod"),
        ["apps/shop/overlays/prod/kustomization.yaml:3:1"]
    );
    assert!(at("KG401", "shop-staging").is_empty());
    // The base's container, once per deployable unit.
    assert_eq!(
        at("KG204", "shop-prod"),
        [
            "apps/shop/base/deployment.yaml:19:11",
            "apps/shop/components/tracing/sidecar.yaml:9:11"
        ]
    );
    assert_eq!(
        at("KG204", "shop-staging"),
        ["apps/shop/base/deployment.yaml:19:11"]
    );
    // The component's sidecar, with its :latest image.
    assert_eq!(
        at("KG201", "shop-prod"),
        ["apps/shop/components/tracing/sidecar.yaml:10:11"]
    );
    // Nothing judged the patches or the generator's source as objects of their own, and the
    // rendered objects carry no origin annotations.
    for f in findings {
        let file = f["location"]["file"].as_str().unwrap_or_default();
        if file.contains("/apps/") {
            // Alone, a member has no namespace: only the overlays give one.
            assert!(
                f["object"]["namespace"].is_string(),
                "a member was judged alone: {f}"
            );
        }
        assert!(
            !f.to_string().contains("config.kubernetes.io/origin"),
            "{f}"
        );
    }
    assert_eq!(
        doc["walk"]["kustomize_roots"],
        serde_json::json!([
            "testdata/gitops/apps/shop/overlays/prod",
            "testdata/gitops/apps/shop/overlays/staging"
        ])
    );
    assert_eq!(doc["walk"]["kustomize_members"], 7);
    assert_eq!(
        doc["walk"]["not_manifests"],
        serde_json::json!([
            "testdata/gitops/config/tooling.json",
            "testdata/gitops/config/values-prod.yaml",
            "testdata/gitops/docker-compose.yml",
            "testdata/gitops/package.json"
        ])
    );
    let err = stderr(&out);
    assert!(
        err.contains("note: 4 files are not Kubernetes manifests, passed over:")
            && err.contains("  testdata/gitops/package.json"),
        "{err}"
    );
    let helm_on_path = Command::new("helm").arg("version").output().is_ok();
    if !helm_on_path {
        assert!(
            err.contains("note: Helm chart testdata/gitops/charts/web was not rendered (helm is not on PATH): its objects were not checked"),
            "{err}"
        );
        assert_eq!(
            doc["walk"]["unrendered_charts"][0]["path"],
            "testdata/gitops/charts/web"
        );
        // Configured to require charts, the same walk is an error.
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("kubegate.yaml");
        std::fs::write(&config, "render:\n  helm:\n    required: true\n").expect("write");
        let out = kubegate(&[
            "check",
            "--config",
            config.to_str().expect("utf-8 path"),
            "testdata/gitops",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(
            stderr(&out).contains("testdata/gitops/charts/web"),
            "{}",
            stderr(&out)
        );
    }
}

/// Files a walk meets that are not Kubernetes objects are no error; the same file named on
/// the command line still is.
#[test]
fn non_manifest_yaml_in_a_walk_is_passed_over_but_not_when_named() {
    let out = kubegate(&["check", "--no-render", "testdata/gitops/config"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out)
            .contains("note: 2 files are not Kubernetes manifests, passed over (-v names them)"),
        "{}",
        stderr(&out)
    );
    let out = kubegate(&["check", "testdata/gitops/config/values-prod.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("testdata/gitops/config/values-prod.yaml:2:1"),
        "{}",
        stderr(&out)
    );
}

/// `--staged` judges the staged files in the context of the whole index: a compliant Pod
/// staged in a namespace whose NetworkPolicy and ServiceAccount were committed in other files
/// is not blocked (KG401, KG306), while the same Pod alone in a fresh repository is.
#[test]
fn staged_changes_are_judged_with_the_whole_index_as_context() {
    let dir = git_repo();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    write(
        "platform/shop-policy.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n  namespace: shop\nautomountServiceAccountToken: false\n",
    );
    // An unrelated committed file with its own problems: not this commit's business.
    write(
        "legacy/old.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: old\n  namespace: legacy\nspec:\n  containers:\n    - name: app\n      image: app\n",
    );
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "platform"]);
    write(
        "apps/web.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  serviceAccountName: web\n  containers:\n    - name: app\n      image: registry.example.com/app:1.0.0\n",
    );
    git(dir.path(), &["add", "apps/web.yaml"]);
    let rules = ["check", "--rules", "KG401,KG306", "-f", "json", "--staged"];
    let out = kubegate_in(dir.path(), &rules);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        doc["summary"]["objects"], 1,
        "only the staged Pod is judged"
    );
    assert_eq!(doc["walk"]["context_objects"], 3);
    // Without the committed context the same Pod fails both rules.
    let alone = git_repo();
    std::fs::create_dir_all(alone.path().join("apps")).expect("mkdir");
    std::fs::copy(
        dir.path().join("apps/web.yaml"),
        alone.path().join("apps/web.yaml"),
    )
    .expect("copy");
    git(alone.path(), &["add", "."]);
    let out = kubegate_in(alone.path(), &rules);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let ids: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(ids, ["KG401", "KG306"]);
}

/// A staged change to a kustomize base re-renders the overlays that include it, from the
/// index, and judges the objects made from the changed file, at the base's line; a staged
/// patch file is never judged as an object of its own.
#[test]
fn a_staged_base_change_re_renders_its_overlays() {
    require_kustomize();
    let dir = git_repo();
    let source = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/gitops"));
    copy_tree(source, dir.path());
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "gitops"]);
    // Unchanged tree: nothing staged, nothing judged, nothing blocked.
    let out = kubegate_in(dir.path(), &["check", "--staged", "-f", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // The base's container loses its seccomp profile: staged, not yet in the working tree's
    // other files; the working tree copy differs (what the index holds is what counts).
    let base = dir.path().join("apps/shop/base/deployment.yaml");
    let text = std::fs::read_to_string(&base).expect("read");
    std::fs::write(
        &base,
        text.replace("type: RuntimeDefault", "type: Unconfined"),
    )
    .expect("write");
    git(dir.path(), &["add", "apps/shop/base/deployment.yaml"]);
    std::fs::write(
        &base,
        "this working-tree copy is not what will be committed: [\n",
    )
    .expect("write");
    let out = kubegate_in(
        dir.path(),
        &["check", "--staged", "-f", "json", "--rules", "KG109,KG101"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(doc["errors"], serde_json::json!([]));
    let found: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {}:{}",
                f["rule_id"].as_str().unwrap_or_default(),
                f["object"]["namespace"].as_str().unwrap_or_default(),
                f["location"]["file"].as_str().unwrap_or_default(),
                f["location"]["line"]
            )
        })
        .collect();
    // Both overlays' Deployments are made from the changed base, so both are judged whole:
    // the base's new line, and prod's (unchanged) privileged patch, since the object changed.
    assert_eq!(
        found,
        [
            "KG109 shop-prod apps/shop/base/deployment.yaml:35",
            "KG109 shop-staging apps/shop/base/deployment.yaml:35",
            "KG101 shop-prod apps/shop/overlays/prod/debug-privileged.yaml:12",
        ],
        "{found:?}"
    );
    // The overlays' other objects (the Service, the generated ConfigMap, staging's
    // NetworkPolicy) and the plain manifests are context only.
    assert_eq!(doc["summary"]["objects"], 2);
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A `rust-version` as a comparable (major, minor, patch); a missing part is 0.
fn rust_version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|e| panic!("rust-version {text:?}: {e}"))
    });
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

/// The workspace's `rust-version` is the real minimum: no package in the locked dependency graph
/// (every `resolve` node of `cargo metadata`, dev and build dependencies and other platforms
/// included) declares a newer one, and the README states it.
#[test]
fn declared_rust_version_covers_every_dependency() {
    let cargo = std::env::var_os("CARGO").expect("cargo test sets CARGO");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata: {}", stderr(&out));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata json");
    let declared = env!("CARGO_PKG_RUST_VERSION");
    assert!(
        !declared.is_empty(),
        "the workspace declares no rust-version"
    );
    let packages: std::collections::BTreeMap<&str, &serde_json::Value> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes");
    assert!(nodes.len() > 100, "{} resolve nodes", nodes.len());
    let mut newer: Vec<String> = nodes
        .iter()
        .filter_map(|node| packages.get(node["id"].as_str()?))
        .filter_map(|p| {
            let needs = p["rust_version"].as_str()?;
            (rust_version(needs) > rust_version(declared)).then(|| {
                format!(
                    "{} {} needs rustc {needs}",
                    p["name"].as_str().unwrap_or("?"),
                    p["version"].as_str().unwrap_or("?")
                )
            })
        })
        .collect();
    newer.sort();
    assert!(
        newer.is_empty(),
        "rust-version = \"{declared}\" in Cargo.toml, but:\n{}",
        newer.join("\n")
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    assert!(
        readme.contains(&format!("Rust {declared} or newer")),
        "README.md must say \"Rust {declared} or newer\""
    );
}

/// Every suite of the public gatekeeper-library (`../shared/corpora/gatekeeper-library`, beside
/// the checkout as in CI), run with `kubegate test` as upstream runs them with `gator verify`.
/// The cases kubegate does not yet decide as gator does are listed with their cause (issue #14);
/// any change, a new failure or a listed case that now passes, fails this test so the list stays
/// true.
#[test]
fn gatekeeper_library_suites_give_gators_verdicts() {
    let library = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpora/gatekeeper-library"
    );
    assert!(
        std::path::Path::new(library).is_dir(),
        "{library} is missing: CI provides ../shared beside the checkout"
    );
    // Every case of every suite gives gator's verdict. Before issue #14 three did not: two
    // `httpsonly` cases (a quoted scalar continued at the key's indentation, which go-yaml
    // reads: load/goyaml_compat.rs) and `users / users-and-groups-together / example-allowed`
    // (`not accept_value(rule, v, params.ranges)` with `ranges` undefined: OPA evaluates the
    // argument before the `not`, policy/v0_compat.rs).
    //
    // Upstream runs the suites on both engines (gator's `--enable-k8s-native-validation`, on by
    // default, judges the 16 dual-engine templates with their CEL code), and so does this test.
    for native in ["true", "false"] {
        let flag = format!("--enable-k8s-native-validation={native}");
        let out = kubegate(&["test", "-f", "json", &flag, library]);
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        let tests = doc["tests"].as_array().expect("tests");
        let not_passing: Vec<(String, String)> = tests
            .iter()
            .filter(|t| t["status"] != "pass")
            .map(|t| {
                (
                    t["name"].as_str().unwrap_or_default().to_owned(),
                    t["status"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(not_passing, Vec::new(), "{flag}: {}", stdout(&out));
        assert_eq!(doc["summary"]["passed"], 270, "{flag}: {}", doc["summary"]);
        assert_eq!(tests.len(), 270);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

/// The CEL engine is the one that judges a dual-engine template by default (its
/// messageExpression's text, and the field its variables read), and the Rego one with
/// `--enable-k8s-native-validation=false`.
#[test]
fn dual_engine_templates_are_judged_by_their_cel_code_unless_told_otherwise() {
    let base = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpora/gatekeeper-library/pod-security-policy/capabilities"
    );
    let samples = format!("{base}/samples/psp-capabilities-baseline");
    let run = |extra: &[&str]| -> serde_json::Value {
        let template = format!("{base}/template.yaml");
        let constraint = format!("{samples}/constraint.yaml");
        let object = format!("{samples}/example_disallowed.yaml");
        let mut args = vec!["check", "-f", "json", "--packs", "kubegate"];
        args.extend_from_slice(extra);
        args.extend(["--policy", &template, "--policy", &constraint, &object]);
        let out = kubegate(&args);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        doc["findings"][0].clone()
    };
    let cel = run(&[]);
    assert_eq!(
        cel["message"],
        "containers have disallowed capabilities: {container: opa, capabilities: [SYS_ADMIN]}"
    );
    assert_eq!(cel["pointer"], "/spec/containers", "{cel}");
    let rego = run(&["--enable-k8s-native-validation=false"]);
    assert!(
        rego["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("container <opa> has a disallowed capability")),
        "{rego}"
    );
}

/// `--default-namespace` places namespace-less objects before anything judges them.
#[test]
fn default_namespace_places_objects_without_one() {
    let run = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "check",
            "-f",
            "json",
            "--packs",
            "kubegate",
            "--policy",
            "testdata/gatekeeper/namespaces/policy.yaml",
        ];
        args.extend_from_slice(extra);
        args.push("testdata/gatekeeper/namespaces/resources.yaml");
        let out = kubegate(&args);
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["object"]["name"] == "unplaced")
            .map(|f| {
                format!(
                    "{} {}",
                    f["rule_id"].as_str().unwrap_or_default(),
                    f["object"]["namespace"]
                )
            })
            .collect()
    };
    assert_eq!(
        run(&[]),
        [
            "K8sNoLatest.not-in-dev null",
            "K8sNoLatest.prod-no-latest null"
        ]
    );
    assert!(run(&["--default-namespace", "dev"]).is_empty());
    assert_eq!(
        run(&["--default-namespace", "prod"]),
        [
            "K8sNoLatest.not-in-dev \"prod\"",
            "K8sNoLatest.prod-no-latest \"prod\""
        ]
    );
}

/// `kubegate --version` names the commit it was built from, the bundled schema versions, the
/// Pod Security Standards versions and the policy engines.
#[test]
fn version_names_the_build() {
    let out = kubegate(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git");
    let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
    let versions = kubegate_engine::schemas::bundled_versions().expect("bundle");
    let expected = format!(
        "kubegate {}\ncommit: {head}\nKubernetes API schemas: {} to {} (bundled)\nPod Security Standards: v1.0 to v1.{}\npolicy engines: Rego (regorus {}), CEL (cel {})\nbuilt-in rules: {}\n",
        env!("CARGO_PKG_VERSION"),
        versions.first().expect("a version"),
        versions.last().expect("a version"),
        kubegate_engine::PSS_NEWEST_MINOR,
        env!("KUBEGATE_REGORUS_VERSION"),
        env!("KUBEGATE_CEL_VERSION"),
        kubegate_engine::registry::builtin().len()
    );
    assert_eq!(text, expected);
    // -V stays the short form.
    assert_eq!(
        stdout(&kubegate(&["-V"])),
        format!("kubegate {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `--namespace-labels` gives namespaceSelector the labels of Namespaces defined elsewhere; they
/// are context, never judged, and the file may hold Namespaces only.
#[test]
fn namespace_labels_from_elsewhere_answer_namespace_selectors() {
    let run = |extra: &[&str]| -> (Option<i32>, Vec<String>, serde_json::Value) {
        let mut args = vec![
            "check",
            "-f",
            "json",
            "--packs",
            "kubegate",
            "--policy",
            "testdata/gatekeeper/namespaces/selector-policy.yaml",
        ];
        args.extend_from_slice(extra);
        args.push("testdata/gatekeeper/namespaces/resources.yaml");
        let out = kubegate(&args);
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        let found = doc["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule_id"] == "K8sNoLatest.prod-selected")
            .map(|f| {
                let name = f["object"]["name"].as_str().unwrap_or_default();
                if f["advisory"] == true {
                    format!("{name} (cannot be judged)")
                } else {
                    name.to_owned()
                }
            })
            .collect();
        (out.status.code(), found, doc)
    };
    // Without the Namespaces their labels are unknown: said so (advisory, never failing),
    // never a silent non-match; the namespace-less Deployment matches, as in Gatekeeper.
    let (code, found, doc) = run(&[]);
    assert_eq!(
        found,
        [
            "unplaced",
            "in-prod (cannot be judged)",
            "in-dev (cannot be judged)"
        ]
    );
    assert!(
        doc["findings"].to_string().contains(
            "cannot be judged: namespace \\\"prod\\\" is not in the input, so whether its labels match"
        ),
        "{doc}"
    );
    assert_eq!(
        code,
        Some(1),
        "the unplaced Deployment's real violation fails the run"
    );
    let (_, found, doc) = run(&[
        "--namespace-labels",
        "testdata/gatekeeper/namespaces/namespaces-elsewhere.yaml",
    ]);
    assert_eq!(found, ["unplaced", "in-prod"]);
    assert_eq!(
        doc["summary"]["objects"], 3,
        "the Namespaces are not judged"
    );
    // Anything but Namespaces in that file is an error.
    let (code, _, doc) = run(&[
        "--namespace-labels",
        "testdata/gatekeeper/namespaces/resources.yaml",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("--namespace-labels reads Namespace objects only")),
        "{doc}"
    );
}

/// ExpansionTemplates shift Pod constraints onto workloads, as Gatekeeper's generator resource
/// expansion does: findings on the field inside the workload's pod template, `[Implied by
/// NAME]` before the message, the expansion's enforcementAction replacing the constraint's.
#[test]
fn expansion_templates_judge_workloads_as_their_pods() {
    let findings = |extra: &[&str]| -> (Option<i32>, Vec<serde_json::Value>) {
        let mut args = vec![
            "check",
            "-f",
            "json",
            "--packs",
            "kubegate",
            "--policy",
            "testdata/gatekeeper/expansion/policy.yaml",
        ];
        args.extend_from_slice(extra);
        args.push("testdata/gatekeeper/expansion/workloads.yaml");
        let out = kubegate(&args);
        let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        (
            out.status.code(),
            doc["findings"].as_array().cloned().unwrap_or_default(),
        )
    };
    let summary = |f: &serde_json::Value| {
        format!(
            "{} {}:{} {} {} advisory={}",
            f["object"]["kind"].as_str().unwrap_or_default(),
            f["location"]["line"],
            f["location"]["column"],
            f["pointer"].as_str().unwrap_or_default(),
            f["message"].as_str().unwrap_or_default(),
            f["advisory"]
        )
    };
    // Without an expansion the Pod constraint sees no pod: the workloads pass.
    let (code, none) = findings(&[]);
    assert_eq!((code, none.len()), (Some(0), 0), "{none:?}");

    let expected = [
        "Deployment 17:13 /spec/template/spec/containers/0/securityContext/privileged [Implied by expand-workloads] container app is privileged advisory=null",
        "CronJob 35:17 /spec/jobTemplate/spec/template/spec/containers/0/securityContext/privileged [Implied by expand-cronjobs] container job is privileged advisory=null",
    ];
    // The shipped templates given as a policy, and the flag that adds them, agree.
    for extra in [
        &["--policy", "policies/library/expansion"][..],
        &["--expand-workloads"],
    ] {
        let (code, found) = findings(extra);
        let got: Vec<String> = found.iter().map(summary).collect();
        assert_eq!(got, expected, "{extra:?}");
        assert_eq!(code, Some(1));
        assert_eq!(found[0]["rule_id"], "K8sNoPrivileged.no-privileged");
        assert_eq!(found[0]["details"]["expansion"]["generated"], "Pod");
    }

    // An expansion in dryrun reports, never fails.
    let (code, found) = findings(&[
        "--policy",
        "testdata/gatekeeper/expansion/dryrun-expansion.yaml",
    ]);
    let got: Vec<String> = found.iter().map(summary).collect();
    assert_eq!(
        got,
        ["Deployment 17:13 /spec/template/spec/containers/0/securityContext/privileged [Implied by expand-deployments-dryrun] container app is privileged advisory=true"]
    );
    assert_eq!(code, Some(0));

    // A broken ExpansionTemplate is an error naming file, line and what is missing.
    let out = kubegate(&[
        "check",
        "--policy",
        "testdata/gatekeeper/expansion/policy.yaml",
        "--policy",
        "testdata/gatekeeper/expansion/bad-expansion.yaml",
        "testdata/gatekeeper/expansion/workloads.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "bad-expansion.yaml:5:1: ExpansionTemplate \"no-source\": spec.templateSource"
        ),
        "{}",
        stderr(&out)
    );
}

/// ValidatingAdmissionPolicies with their bindings (testdata/vap, written from the Kubernetes
/// documentation's semantics): params by name and by selector, a binding's namespaceSelector
/// narrowing its policy, Deny/Warn/Audit grading, messageExpression, variables,
/// namespaceObject, matchConditions, excludeResourceRules, and `authorizer` said to be
/// unjudgeable offline.
/// `explain` shows each binding of a VAP, its actions and the validations with their messages;
/// `rules --policy` lists one rule per binding.
#[test]
fn validating_admission_policies_are_explained_per_binding() {
    let out = kubegate(&[
        "explain",
        "max-replicas.example.com",
        "--policy",
        "testdata/vap/policies",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("vap_explain", stdout(&out));
    let out = kubegate(&["rules", "--policy", "testdata/vap/policies"]);
    let listed = stdout(&out);
    for binding in [
        "max-replicas-prod",
        "max-replicas-dev",
        "require-team-label-audit",
    ] {
        assert!(listed.contains(binding), "{listed}");
    }
}

#[test]
fn validating_admission_policies_judge_as_the_api_server() {
    let out = kubegate(&[
        "check",
        "--packs",
        "kubegate",
        "--policy",
        "testdata/vap/policies",
        "testdata/vap/resources.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    insta::assert_snapshot!("vap_human", stdout(&out));
    let out = kubegate(&[
        "check",
        "-f",
        "json",
        "--packs",
        "kubegate",
        "--policy",
        "testdata/vap/policies",
        "testdata/vap/resources.yaml",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let seen: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["rule_id"].as_str().unwrap_or_default(),
                f["details"]["binding"].as_str().unwrap_or_default(),
                f["severity"].as_str().unwrap_or_default(),
                f["advisory"].as_bool().unwrap_or(false),
                f["pointer"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            "max-replicas.example.com max-replicas-prod high false /spec/replicas",
            "require-team-label require-team-label-audit low true /metadata/labels",
            "max-replicas.example.com max-replicas-dev low false /spec/replicas",
            "privileged-needs-approval privileged-needs-approval high true /spec/containers",
        ]
    );
}

/// Broken VAPs and bindings are load errors naming the file, line and cause (exit 2), never a
/// silently skipped policy.
#[test]
fn broken_validating_admission_policies_are_load_errors() {
    let run = |file: &str| {
        let policy = format!("testdata/vap/broken/{file}");
        let out = kubegate(&[
            "check",
            "--packs",
            "kubegate",
            "--policy",
            &policy,
            "testdata/vap/resources.yaml",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        stderr(&out)
    };
    let err = run("missing-policy.yaml");
    assert!(
        err.contains("missing-policy.yaml:6:3: ValidatingAdmissionPolicyBinding \"orphan\": policyName \"no-such-policy\" names no ValidatingAdmissionPolicy"),
        "{err}"
    );
    let err = run("bad-expressions.yaml");
    for expected in [
        "bad-expressions.yaml:13:5: ValidatingAdmissionPolicy \"syntax\": validations[0].expression: syntax error: mismatched input '<EOF>'",
        "(line 1, column 25 of the expression)",
        "bad-expressions.yaml:27:5: ValidatingAdmissionPolicy \"undeclared\": validations[0].expression: undeclared reference to `objects`",
        "bad-expressions.yaml:41:5: ValidatingAdmissionPolicy \"unsupported\": validations[0].expression: `url` (the Kubernetes URL library) is not supported",
        "ValidatingAdmissionPolicyBinding \"both\": validationActions must not contain both Deny and Warn",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
}

#[test]
fn diff_base_judges_each_change_as_an_update_of_the_base_object() {
    let repo = git_repo();
    let root = repo.path();
    let deployment = |selector: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n\
             spec:\n  selector:\n    matchLabels: {{{selector}}}\n  template:\n    metadata:\n      \
             labels: {{{selector}}}\n    spec:\n      containers:\n        - name: web\n          \
             image: {image}\n"
        )
    };
    std::fs::write(
        root.join("web.yaml"),
        deployment("app: web", "registry.example.com/web:1.4.0"),
    )
    .expect("write");
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "base"]);
    let run = |args: &[&str]| {
        let mut all = vec!["check", "--rules", "KG018", "-f", "compact"];
        all.extend_from_slice(args);
        all.push("web.yaml");
        kubegate_in(root, &all)
    };

    // A new image is an update the API server takes.
    std::fs::write(
        root.join("web.yaml"),
        deployment("app: web", "registry.example.com/web:1.5.0"),
    )
    .expect("write");
    assert_eq!(run(&["--diff-base", "HEAD"]).status.code(), Some(0));

    // A new selector is refused on update: reported against the base revision's object, at
    // the selector; without a base there is no old object to compare.
    std::fs::write(
        root.join("web.yaml"),
        deployment(
            "app.kubernetes.io/name: web",
            "registry.example.com/web:1.5.0",
        ),
    )
    .expect("write");
    let out = run(&["--diff-base", "HEAD"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).lines().next(),
        Some(
            "web.yaml:7:3: high[KG018] spec.selector: Invalid value: \
             {\"matchLabels\":{\"app.kubernetes.io/name\":\"web\"}}: field is immutable"
        ),
        "{}",
        stdout(&out)
    );
    assert_eq!(run(&[]).status.code(), Some(0));
}
