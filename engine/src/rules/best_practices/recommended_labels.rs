use crate::model::position::child_pointer;
use crate::model::workload::{is_pod_bearing, pod_spec};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

/// The one recommended label kubegate requires.
const NAME_LABEL: &str = "app.kubernetes.io/name";

declare_rule! {
    /// Workloads and Services without the `app.kubernetes.io/name` label.
    RecommendedLabels {
        id: "KG211",
        name: "recommended-labels",
        title: "Workloads and Services should carry the `app.kubernetes.io/name` label",
        severity: Low,
        category: Labels,
        scope: Object,
        since: "0.1.0",
        rationale: "Kubernetes recommends a shared set of labels under the `app.kubernetes.io` \
prefix so that dashboards, `kubectl`, cost reports and policies can tell which application an \
object belongs to without knowing each team's private conventions. kubegate requires only \
`app.kubernetes.io/name`, the application's name, on workloads (every kind that carries a pod \
template) and Services; on a workload it is also required in the pod template, since the pods \
are what metrics and logs are grouped by. The other recommended labels, `instance`, `version`, \
`component`, `part-of` and `managed-by`, are worth setting but not required: Kubernetes \
recommends them, no core tooling needs them.",
        remediation: "Add `app.kubernetes.io/name: <application>` to `metadata.labels` and to the pod \
template's labels (and, ideally, the other recommended labels).",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: inventory
  labels: {app: inventory}
spec:
  replicas: 2
  selector:
    matchLabels: {app: inventory}
  template:
    metadata:
      labels: {app: inventory}
    spec:
      containers:
        - name: inventory
          image: registry.example.com/inventory:2.2.0
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: inventory
  labels:
    app.kubernetes.io/name: inventory
    app.kubernetes.io/part-of: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: inventory
  template:
    metadata:
      labels:
        app.kubernetes.io/name: inventory
    spec:
      containers:
        - name: inventory
          image: registry.example.com/inventory:2.2.0
"#,
    }
}

impl Rule for RecommendedLabels {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        let is_service = object.group().is_empty() && object.kind == "Service";
        if !is_service && !is_pod_bearing(object.group(), &object.kind) {
            return;
        }
        let label = format!(
            "{} {:?}",
            object.kind,
            object.name.as_deref().unwrap_or("<unnamed>")
        );
        let mut judge = |metadata: &str, whose: String| {
            let labels = format!("{metadata}/labels");
            let has = crate::model::position::lookup(&manifest.value, &labels)
                .and_then(|l| l.get(NAME_LABEL))
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty());
            if !has {
                out.push(Violation {
                    pointer: child_pointer(&labels, NAME_LABEL),
                    message: format!("{whose} has no {NAME_LABEL} label"),
                });
            }
        };
        judge("/metadata", label.clone());
        // A Pod is its own pod template.
        if let Some(spec) = pod_spec(manifest) {
            let template = spec.metadata_pointer();
            if template != "/metadata" {
                judge(&template, format!("the pod template of {label}"));
            }
        }
    }
}
