use crate::rules::{Context, Rule};
use crate::schema::builtin::Lookup;
use crate::vocab::Violation;

declare_rule! {
    /// Built-in objects must match the Kubernetes API schema of the target version.
    KubernetesSchema {
        id: "KG005",
        name: "kubernetes-schema",
        title: "Objects must match the Kubernetes API schema of the target version",
        severity: High,
        category: Kubegate,
        scope: Object,
        since: "0.1.0",
        rationale: "The API server rejects an object whose fields have the wrong type, that lacks a \
required field, or (with strict field validation, what `kubectl apply` does by default) that \
carries a field the API does not define. Found at apply time, that is a stalled rollout; found \
in a pre-commit hook, it is a one-line fix. kubegate validates every built-in kind against the \
OpenAPI schema of the target Kubernetes version (`--kube-version`, default the newest bundled), \
offline, and points at the offending field: `replicas: \"3\"` in a chart, a misspelt \
`imagePullPolice`, `containers` one level too high. Int-or-string fields, quantities, free-form \
fields (`RawExtension`) and `status` in dumps are accepted as the API server accepts them. An \
`apiVersion` and `kind` the target version does not serve are reported too, with the version to \
use (the removals the Deprecated API Migration Guide lists are KG210's).",
        remediation: "Give each field the type the API defines (`replicas: 3`, not `\"3\"`), move \
misplaced fields to where the API expects them, and fix misspelt field names. `kubectl explain \
<kind>.<field>` shows what a field takes. For a field of a newer Kubernetes release, raise \
`--kube-version` (or `kubernetesVersion` in `.kubegate.yaml`) to the cluster's version.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "3"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.2
          imagePullPolice: Always
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.4.2
          imagePullPolicy: Always
"#,
    }
}

impl Rule for KubernetesSchema {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let schemas = match cx.schema.builtin() {
            Ok(s) => s,
            Err(e) => {
                out.push(Violation {
                    pointer: String::new(),
                    message: e.to_string(),
                });
                return;
            }
        };
        let object = &cx.manifest.object;
        if schemas.validate(cx.manifest, out) == Lookup::NotServed {
            // KG210 names the removals of the migration guide, with their replacements.
            if cx.is_active(crate::rules::best_practices::deprecated_api_version::META.id)
                && crate::rules::best_practices::deprecated_api_version::is_removed(
                cx,
                    &object.api_version,
                    &object.kind,
                )
            {
                return;
            }
            out.push(Violation {
                pointer: "/apiVersion".into(),
                message: schemas.not_served_message(&object.api_version, &object.kind),
            });
        }
    }
}
