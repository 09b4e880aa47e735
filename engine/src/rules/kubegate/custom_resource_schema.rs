use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Custom resources must match the schema of the CustomResourceDefinition in the same input.
    CustomResourceSchema {
        id: "KG004",
        name: "custom-resource-schema",
        title: "Custom resources must match their CustomResourceDefinition's schema",
        severity: High,
        category: Kubegate,
        scope: Object,
        since: "0.1.0",
        rationale: "The API server validates a custom resource against its CRD's openAPIV3Schema and \
rejects it (or, without strict field validation, silently drops unknown fields). When the CRD \
travels with its resources, as in a Helm chart or an operator bundle, kubegate validates them the \
same way before they reach a cluster: wrong types, missing required fields, values outside an \
enum, and (strict, as `kubectl apply` does by default) unknown fields, each at its line, after \
the schema's defaults are set as the API server sets them. The CRD's CEL validation rules \
(`x-kubernetes-validations`) run too, at their schema nodes, with the API server's messages; a \
rule kubegate cannot evaluate is an advisory note. Lists the schema marks \
`x-kubernetes-list-type: set` must not repeat a value, and `map` lists must not repeat the \
values of their `x-kubernetes-list-map-keys` (`spec.ports[2]: Duplicate value: {\"port\":443}`), \
as the API server refuses both. A CRD whose schema or rules do not compile, whose map-list keys \
are neither required nor defaulted, or a resource in a version the CRD does not serve, is \
reported too.",
        remediation: "Give each field the type and value its CustomResourceDefinition defines, and \
remove fields it does not know (a misspelt field name is the usual cause).",
        failing_example: concat!(
        backup_crd!(),
        r#"apiVersion: ops.example.com/v1
kind: Backup
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  retain: "7"
"#
    ),
        passing_example: concat!(
        backup_crd!(),
        r#"apiVersion: ops.example.com/v1
kind: Backup
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  retain: 7
"#
    ),
    }
}

impl Rule for CustomResourceSchema {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        // The CRDs travelling with the resources come first: they are what will be applied.
        if !cx.crds.get().validate(cx.manifest, cx.old_object, out) {
            cx.schema.crds().validate(cx.manifest, cx.old_object, out);
        }
    }

    /// A validation rule kubegate cannot evaluate is a note, never a silent pass.
    fn is_note(&self, violation: &Violation) -> bool {
        crate::schema::crd_rules::is_note(violation)
    }
}
