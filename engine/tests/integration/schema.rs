//! KG004: custom resources validated against the CustomResourceDefinitions in the same input,
//! with the API server's structural-schema quirks and exact positions.

use crate::common;

use common::testdata;
use kubegate_engine::{Input, Loader};

fn findings(rel: &str) -> Vec<(String, u32, u32, String)> {
    let report =
        common::only(&["KG004"]).check(&Loader::default().load(&[Input::Path(testdata(rel))]));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.object.to_string(),
                f.location.line.unwrap_or_default(),
                f.location.column.unwrap_or_default(),
                f.message.clone(),
            )
        })
        .collect()
}

#[test]
fn custom_resources_are_validated_against_their_crd() {
    let carts = "Cache/shop/carts".to_owned();
    assert_eq!(
        findings("schema/crd-and-resources.yaml"),
        vec![
            (carts.clone(), 102, 3, r#"spec.engine: expected one of ["redis","memcached"], got "valkey""#.to_owned()),
            (carts.clone(), 103, 3, r#"spec.replicas: expected integer, got string "3""#.to_owned()),
            (carts.clone(), 104, 3, r#"spec.maxUnavailabel: unknown field "maxUnavailabel""#.to_owned()),
            (carts, 106, 1, r#"replicas: unknown field "replicas""#.to_owned()),
            ("Cache/shop/legacy".to_owned(), 113, 1, r#"spec: missing required field "replicas""#.to_owned()),
            (
                "Cache/shop/old".to_owned(),
                117,
                1,
                "CustomResourceDefinition caches.platform.example.com does not serve version v1beta1 of Cache (served: v1)".to_owned()
            ),
        ]
    );
}

#[test]
fn a_crd_whose_schema_does_not_compile_is_reported_on_the_crd() {
    let text = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            size: {type: whole-number}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
size: 3
"#;
    let (manifests, errors) = Loader::default().load_text("widgets.yaml", text.to_owned());
    assert!(errors.is_empty());
    let report = common::only(&["KG004"]).check(&kubegate_engine::Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    });
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(
        f.object.to_string(),
        "CustomResourceDefinition/widgets.example.com"
    );
    assert_eq!(f.pointer, "/spec/versions/0/schema/openAPIV3Schema");
    assert_eq!(f.location.line, Some(14), "the openAPIV3Schema key");
    assert!(
        f.message
            .starts_with("the schema of version v1 is not a valid schema: "),
        "{}",
        f.message
    );
}

#[test]
fn objects_without_a_crd_in_the_input_are_not_judged() {
    // Built-in kinds and custom resources whose CRD is elsewhere get no KG004 finding.
    assert!(findings("examples").is_empty());
}

/// `(rule, object, line, column, message, advisory)` of every finding of a run with `setup`.
fn judged(
    setup: &kubegate_engine::Setup,
    paths: &[&str],
) -> Vec<(String, String, u32, u32, String, bool)> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(testdata(p))).collect();
    let report = setup
        .checker()
        .expect("checker")
        .check(&Loader::default().load(&inputs));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.to_string(),
                f.object.to_string(),
                f.location.line.unwrap_or_default(),
                f.location.column.unwrap_or_default(),
                f.message.clone(),
                f.advisory,
            )
        })
        .collect()
}

/// Only the schema rules (and KG210, which KG005 defers to), at `version`.
fn schema_setup(version: Option<&str>) -> kubegate_engine::Setup {
    kubegate_engine::Setup {
        only: ["KG004", "KG005", "KG006", "KG210"]
            .map(String::from)
            .to_vec(),
        packs: vec!["best-practices".into()],
        kube_version: version.map(|v| v.parse().expect("version")),
        ..Default::default()
    }
}

fn row(
    rule: &str,
    object: &str,
    line: u32,
    column: u32,
    message: &str,
) -> (String, String, u32, u32, String, bool) {
    (
        rule.into(),
        object.into(),
        line,
        column,
        message.into(),
        false,
    )
}

#[test]
fn built_in_kinds_are_validated_with_positions_and_plain_messages() {
    let checkout = "Deployment/shop/checkout";
    assert_eq!(
        judged(&schema_setup(None), &["schema/builtin/invalid.yaml"]),
        vec![
            row("KG005", checkout, 7, 3, r#"metadata.label: unknown field "label""#),
            row("KG005", checkout, 9, 3, r#"spec.replicas: expected integer, got string "3""#),
            row("KG005", checkout, 19, 11, r#"spec.template.spec.containers[0].imagePullPolice: unknown field "imagePullPolice""#),
            row("KG005", checkout, 21, 15, r#"spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string "8080""#),
            row("KG005", checkout, 23, 22, "spec.template.spec.containers[0].resources.limits.memory: expected number or string, got sequence"),
            row("KG005", "Deployment/shop/search", 34, 3, r#"spec.containers: unknown field "containers""#),
            row("KG005", "Service/shop/checkout", 55, 7, "spec.ports[0].targetPort: expected integer or string, got mapping"),
            row("KG005", "CronJob/shop/report", 65, 3, r#"spec.suspend: expected boolean, got string "no""#),
            row("KG005", "CronJob/shop/report", 72, 15, r#"spec.jobTemplate.spec.template.spec.containers[0]: missing required field "name""#),
        ]
    );
}

#[test]
fn kubernetes_quirks_pass_int_or_string_quantities_status_raw_extensions_and_crds() {
    assert_eq!(
        judged(&schema_setup(None), &["schema/builtin/valid.yaml"]),
        vec![]
    );
    // Every bundled version accepts them too (the oldest lacks none of these fields).
    for version in kubegate_engine::schemas::bundled_versions().expect("bundle") {
        let mut setup = schema_setup(None);
        setup.kube_version = Some(version);
        assert_eq!(
            judged(&setup, &["schema/builtin/valid.yaml"]),
            vec![],
            "{version}"
        );
    }
}

#[test]
fn removed_apis_and_new_fields_depend_on_the_target_version() {
    let at = |v: &str| {
        judged(
            &schema_setup(Some(v)),
            &["schema/versions/apis-across-releases.yaml"],
        )
    };
    // 1.33: ServiceCIDR v1beta1 is served; hostnameOverride is not a field yet.
    let r133 = at("1.33");
    assert_eq!(r133.len(), 2, "{r133:#?}");
    assert_eq!(
        r133[1],
        row(
            "KG005",
            "Pod/shop/legacy-host",
            30,
            3,
            r#"spec.hostnameOverride: unknown field "hostnameOverride""#
        )
    );
    // The PodSecurityPolicy is KG210's at every version (KG005 defers to it).
    assert_eq!((r133[0].0.as_str(), r133[0].2), ("KG210", 12));
    assert!(
        r133[0]
            .4
            .starts_with("policy/v1beta1 PodSecurityPolicy was removed in Kubernetes 1.25"),
        "{}",
        r133[0].4
    );
    // 1.36: both are fine.
    assert_eq!(at("1.36").len(), 1, "only the PodSecurityPolicy");
    // 1.37: ServiceCIDR v1beta1 is gone, with the version to use.
    let r137 = at("v1.37");
    assert_eq!(
        r137[0],
        row("KG005", "ServiceCIDR/extra-services", 4, 1, "networking.k8s.io/v1beta1 ServiceCIDR is not served by Kubernetes 1.37 (removed after 1.36); use networking.k8s.io/v1")
    );
    assert_eq!(r137.len(), 2, "{r137:#?}");
}

#[test]
fn crds_given_apart_validate_custom_resources_and_unknown_kinds_are_notes_or_failures() {
    let mut setup = schema_setup(None);
    // Without the CRD: both Backups and the Probe are unknown kinds, advisory by default.
    let alone = judged(&setup, &["schema/custom"]);
    assert_eq!(alone.len(), 3, "{alone:#?}");
    assert!(alone.iter().all(|f| f.0 == "KG006" && f.5), "{alone:#?}");
    assert_eq!(
        alone[2].4,
        "no schema for monitoring.example.com/v1 Probe: not a kind of Kubernetes 1.37, and no \
         CustomResourceDefinition in the input or given with --crd defines it; it was not \
         schema-validated"
    );
    // With --crd: the Backups are validated (strict, preserve-unknown-fields honoured).
    setup.crd_paths = vec![testdata("schema/crds")];
    let with_crd = judged(&setup, &["schema/custom"]);
    let weekly = "Backup/shop/weekly";
    assert_eq!(
        with_crd,
        vec![
            row(
                "KG004",
                weekly,
                16,
                1,
                r#"spec: missing required field "schedule""#
            ),
            row(
                "KG004",
                weekly,
                17,
                3,
                r#"spec.retain: expected integer, got string "4""#
            ),
            row(
                "KG004",
                weekly,
                18,
                3,
                r#"spec.schedul: unknown field "schedul""#
            ),
            (
                "KG006".into(),
                "Probe/shop/web".into(),
                21,
                1,
                alone[2].4.clone(),
                true
            ),
        ]
    );
    // Unknown kinds set to fail: the Probe's finding is no longer advisory.
    setup.unknown_kinds = kubegate_engine::UnknownKinds::Fail;
    let failing = judged(&setup, &["schema/custom"]);
    assert!(!failing[3].5, "{failing:#?}");
    // Not strict: the misspelt field is accepted (the API server would drop it).
    setup.schema_strict = false;
    let lenient = judged(&setup, &["schema/custom"]);
    assert_eq!(lenient.len(), 3, "{lenient:#?}");
    assert!(lenient.iter().all(|f| !f.4.contains("unknown field")));
}

#[test]
fn not_strict_accepts_unknown_built_in_fields_but_not_wrong_types() {
    let mut setup = schema_setup(None);
    setup.schema_strict = false;
    let found = judged(&setup, &["schema/builtin/invalid.yaml"]);
    assert!(
        found.iter().all(|f| !f.4.contains("unknown field")),
        "{found:#?}"
    );
    assert!(found
        .iter()
        .any(|f| f.4 == r#"spec.replicas: expected integer, got string "3""#));
}

#[test]
fn bad_crd_paths_and_versions_are_setup_errors() {
    use kubegate_engine::SetupError;
    let mut setup = schema_setup(None);
    setup.crd_paths = vec![testdata("schema/custom")];
    match setup.checker() {
        Err(SetupError::Crds(problems)) => assert!(
            problems[0].ends_with("no apiextensions.k8s.io/v1 CustomResourceDefinition found"),
            "{problems:?}"
        ),
        other => panic!("expected a CRD error, got {other:?}"),
    }
    setup.crd_paths = vec![testdata("schema/does-not-exist")];
    assert!(matches!(setup.checker(), Err(SetupError::Crds(_))));
    let mut setup = schema_setup(Some("1.24"));
    let err = setup.checker().expect_err("1.24 is not bundled");
    assert!(
        err.to_string()
            .starts_with("kubegate has no schemas for Kubernetes 1.24 (bundled: 1.25 to "),
        "{err}"
    );
    // A version outside the bundle is fine when KG005 does not run (KG006 then stays quiet:
    // without the version's schemas it cannot tell built-in kinds from unknown ones).
    setup.skip = vec!["KG005".into()];
    let report = setup
        .checker()
        .expect("no KG005, no need for bundled schemas")
        .check(&Loader::default().load(&[Input::Path(testdata("schema/custom"))]));
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn schema_findings_are_exemptible_like_any_other() {
    let text = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
  annotations:
    exempt.kubegate.io/kubernetes-schema: "chart 1.x renders replicas as a string; fixed in 2.0 (OPS-77)"
spec:
  replicas: "3"
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: app, image: "registry.example.com/legacy:1.0.0"}]}
"#;
    let (manifests, errors) = Loader::default().load_text("legacy.yaml", text.to_owned());
    assert!(errors.is_empty(), "{errors:?}");
    let loaded = kubegate_engine::Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    };
    let report = common::only(&["KG005"]).check(&loaded);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // Without the annotation the same object fails.
    let (manifests, _) = Loader::default().load_text(
        "legacy.yaml",
        text.replace("exempt.kubegate.io/kubernetes-schema", "note"),
    );
    let report = common::only(&["KG005"]).check(&kubegate_engine::Loaded {
        manifests,
        errors: Vec::new(),
        files: 1,
        ..Default::default()
    });
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].location.line, Some(8));
}

/// A removed API version is caught by the always-on pack (KG210 is in it) whatever packs run,
/// once (KG005 and KG006 defer to it), and only where the target version no longer serves it.
#[test]
fn removed_api_versions_are_always_on_and_follow_the_target_version() {
    let setup = |version: &str| kubegate_engine::Setup {
        packs: vec!["pss".into()],
        kube_version: Some(version.parse().expect("version")),
        ..Default::default()
    };
    let found = |version: &str| -> Vec<(String, String, u32)> {
        judged(&setup(version), &["schema/versions/removed-apis.yaml"])
            .into_iter()
            .map(|(rule, object, line, _, _, _)| (rule, object, line))
            .collect()
    };
    let ingress = ("KG210".to_owned(), "Ingress/shop/legacy".to_owned(), 2);
    let flow = ("KG210".to_owned(), "FlowSchema/batch-jobs".to_owned(), 13);
    assert_eq!(found("1.29"), vec![ingress.clone(), flow]);
    assert_eq!(found("1.37").len(), 2);
    // 1.28 still serves flowcontrol v1beta2: validated by KG005 (and valid), not reported.
    assert_eq!(found("1.28"), vec![ingress]);
}

/// `x-kubernetes-validations` rules of a CRD in the input (testdata/schema/crd-rules): each at
/// the field it names, in the API server's words, on the defaulted object; a rule in a CEL
/// library kubegate does not implement is an advisory note, not a silent pass.
#[test]
fn crd_validation_rules_are_enforced_on_the_defaulted_object_with_positions() {
    let suite = "Pipeline/ci/nightly-integration-suite";
    let found = judged(&schema_setup(None), &["schema/crd-rules"]);
    let kg004: Vec<_> = found.iter().filter(|f| f.0 == "KG004").cloned().collect();
    assert_eq!(
        kg004,
        vec![
            row(
                "KG004",
                suite,
                15,
                1,
                r#"object: Invalid value: "object": pipeline names are at most 20 characters"#
            ),
            row(
                "KG004",
                suite,
                20,
                1,
                "spec: Forbidden: schedule and trigger are mutually exclusive"
            ),
            row(
                "KG004",
                suite,
                22,
                3,
                r#"spec.minRunners: Invalid value: "object": minRunners (6) is above maxRunners (3)"#
            ),
            (
                "KG004".into(),
                suite.into(),
                26,
                3,
                "spec.webhook: kubegate cannot judge this rule (x-kubernetes-validations \
                 `isURL(self)`): `isURL` (the Kubernetes URL library) is not supported by \
                 kubegate's CEL engine yet"
                    .into(),
                true
            ),
            row(
                "KG004",
                suite,
                28,
                7,
                r#"spec.stages[0]: Invalid value: "object": timeouts are given in minutes"#
            ),
        ],
        "{found:#?}"
    );
    // The first Pipeline passes only because the schema's defaults are applied first
    // (maxRunners 4, each stage's timeout 10m); the transition rule has no old object here.
    assert!(
        !found.iter().any(|f| f.1 == "Pipeline/ci/build"),
        "{found:#?}"
    );
}

/// In the webhook an UPDATE carries the stored object: transition rules (`oldSelf`) run
/// against it; a CREATE of the same object passes them.
#[test]
fn crd_transition_rules_run_against_the_old_object_of_an_update() {
    let mut setup = schema_setup(None);
    setup.crd_paths = vec![testdata("schema/crd-rules/crd.yaml")];
    let checker = setup.checker().expect("checker");
    let object = serde_json::json!({
        "apiVersion": "ci.example.com/v1", "kind": "Pipeline",
        "metadata": {"name": "build", "namespace": "ci"},
        "spec": {"queue": "fast", "minRunners": 1}
    });
    let manifest = kubegate_engine::Manifest::from_value(
        object.clone(),
        kubegate_engine::Source::Admission("test".into()),
    )
    .expect("object");
    let verdict = |review: serde_json::Value| -> Vec<String> {
        checker
            .evaluate(kubegate_engine::Subject::Admission {
                object: &manifest,
                review: &review,
            })
            .findings
            .iter()
            .filter(|f| f.rule_id == "KG004")
            .map(|f| format!("{} {}", f.pointer, f.message))
            .collect()
    };
    let mut old = object.clone();
    old["spec"]["queue"] = "default".into();
    assert_eq!(
        verdict(serde_json::json!({"operation": "UPDATE", "object": object, "oldObject": old})),
        [r#"/spec spec: Invalid value: "object": queue is immutable"#]
    );
    assert!(verdict(serde_json::json!({"operation": "CREATE", "object": object})).is_empty());
    assert!(verdict(
        serde_json::json!({"operation": "UPDATE", "object": object, "oldObject": object})
    )
    .is_empty());
}

/// `x-kubernetes-list-type` lists of a CRD in the input (testdata/schema/crd-list-types): a
/// repeated set value or map key is refused at the item that repeats it, after the key fields'
/// defaults are filled in; a map key that is neither required nor defaulted is the CRD's error.
#[test]
fn crd_set_and_map_lists_refuse_repeated_values_and_keys() {
    let found = judged(&schema_setup(None), &["schema/crd-list-types"]);
    let edge = "Gateway/net/edge";
    assert_eq!(
        found,
        vec![
            row(
                "KG004",
                "CustomResourceDefinition/pools.net.example.com",
                78,
                23,
                "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[members]\
                 .items.properties[address].default: Required value: this property is in \
                 x-kubernetes-list-map-keys, so it must have a default or be a required property"
            ),
            // The third copy of the hostname is not reported again.
            row(
                "KG004",
                edge,
                8,
                50,
                r#"spec.hostnames[2]: Duplicate value: "shop.example.com""#
            ),
            // Listener 0's protocol is defaulted to TCP, so listener 2 repeats its key.
            row(
                "KG004",
                edge,
                12,
                7,
                r#"spec.listeners[2]: Duplicate value: {"port":443,"protocol":"TCP"}"#
            ),
            row(
                "KG004",
                edge,
                17,
                9,
                r#"spec.routes.shop[2]: Duplicate value: {"path":"/"}"#
            ),
        ],
        "{found:#?}"
    );
}
