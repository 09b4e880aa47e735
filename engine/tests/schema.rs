//! KG004: custom resources validated against the CustomResourceDefinitions in the same input,
//! with the API server's structural-schema quirks and exact positions.

mod common;

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
