use crate::rules::{Context, Rule};
use crate::schema::builtin::{Lookup, UnknownKinds};
use crate::vocab::Violation;

declare_rule! {
    /// Objects that no schema describes, so nothing validated them.
    UnknownKind {
        id: "KG006",
        name: "unknown-kind",
        title: "Objects of kinds no schema describes are not schema-validated",
        severity: Medium,
        category: Kubegate,
        scope: Object,
        since: "0.1.0",
        rationale: "kubegate validates built-in kinds against the bundled Kubernetes schemas and \
custom resources against their CustomResourceDefinitions, from the input or from `--crd`. An \
object of any other kind (a custom resource whose CRD kubegate was not given, or a misspelt \
`apiVersion` group) passes through unvalidated. By default that is a note that never fails a \
run (`schema.unknownKinds: skip`); with `--unknown-kinds fail` (or `schema.unknownKinds: fail`) \
it is a finding at this rule's severity, for pipelines that must validate everything.",
        remediation: "Give kubegate the CustomResourceDefinition with `--crd <dir>` (or \
`schema.crds` in `.kubegate.yaml`), include it in the input, or correct the `apiVersion`.",
        failing_example: r#"apiVersion: ops.example.com/v1
kind: Backup
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
"#,
        passing_example: concat!(
        backup_crd!(),
        r#"apiVersion: ops.example.com/v1
kind: Backup
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
"#
    ),
    }
}

impl Rule for UnknownKind {
    /// Objects no schema describes are a note unless the run asks them to fail.
    fn advisory(&self, cx: &Context<'_>) -> bool {
        cx.schema.unknown_kinds() == UnknownKinds::Skip
    }

    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        let Ok(schemas) = cx.schema.builtin() else {
            return; // KG005 reports why the built-in schemas are unavailable
        };
        // KG210 names the removals of the migration guide (their groups, like `extensions`,
        // are served by no bundled version).
        let removed = cx.is_active(crate::rules::best_practices::deprecated_api_version::META.id)
            && crate::rules::best_practices::deprecated_api_version::is_removed(
                cx,
                &object.api_version,
                &object.kind,
            );
        if removed || schemas.classify(&object.api_version, &object.kind) != Lookup::Unknown {
            return;
        }
        let group = object.group();
        if cx.crds.get()
            .defines(group, &object.kind)
            || cx.schema.crds().defines(group, &object.kind)
        {
            return;
        }
        out.push(Violation {
            pointer: "/apiVersion".into(),
            message: format!(
                "no schema for {} {}: not a kind of Kubernetes {}, and no CustomResourceDefinition \
                 in the input or given with --crd defines it; it was not schema-validated",
                object.api_version,
                object.kind,
                schemas.version()
            ),
        });
    }
}
