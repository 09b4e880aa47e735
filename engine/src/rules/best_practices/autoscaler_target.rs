use crate::rules::best_practices::selection::namespace_phrase;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// A HorizontalPodAutoscaler whose `scaleTargetRef` names a workload the input does not
    /// define.
    AutoscalerTarget {
        id: "KG215",
        name: "autoscaler-target-missing",
        title: "A HorizontalPodAutoscaler should scale a workload of the input",
        severity: Medium,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "A HorizontalPodAutoscaler scales the object its `spec.scaleTargetRef` names \
(`apiVersion`, `kind`, `name`, in the autoscaler's own namespace). When no such object \
exists the autoscaler does nothing but report `FailedGetScale` events: the workload it was \
meant to scale runs at its fixed `spec.replicas`, and the API server accepted both without \
complaint. The usual cause is a workload renamed, or moved from a Deployment to a StatefulSet, \
on one side only. kubegate looks the target up among the objects of the input by API group \
(from `apiVersion`; when it is left out, the groups a Deployment, StatefulSet, ReplicaSet or \
ReplicationController lives in), kind, namespace and name. A target deployed elsewhere is not \
visible: exempt the autoscaler. kube-score calls this check `horizontalpodautoscaler-has-target`.",
        remediation: "Name the workload exactly in `scaleTargetRef` (`apiVersion: apps/v1`, \
`kind`, `name`), or add the workload to the input.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.2
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: web}
  minReplicas: 2
  maxReplicas: 6
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.2
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 6
"#,
    }
}

impl Rule for AutoscalerTarget {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        if !(object.group() == "autoscaling" && object.kind == "HorizontalPodAutoscaler") {
            return;
        }
        let Some(target) = crate::model::position::lookup(&cx.manifest.value, "/spec/scaleTargetRef")
        else {
            return;
        };
        let field = |key: &str| target.get(key).and_then(Value::as_str);
        // A target without kind or name is KG017's (the API server refuses it).
        let (Some(kind), Some(name)) = (field("kind"), field("name")) else {
            return;
        };
        let groups: Vec<&str> = match field("apiVersion") {
            Some(api_version) => vec![api_version.rsplit_once('/').map_or("", |(g, _)| g)],
            None => vec!["apps", "", "extensions"],
        };
        let namespace = object.namespace.as_deref();
        if groups
            .iter()
            .any(|group| cx.inventory.find(group, kind, namespace, name).is_some())
        {
            return;
        }
        let api_version = field("apiVersion").map_or_else(String::new, |v| format!("{v} "));
        out.push(Violation {
            pointer: "/spec/scaleTargetRef/name".to_owned(),
            message: format!(
                "the autoscaler scales {api_version}{kind} {name:?}, but {} of the input has no \
                 such object, so it scales nothing",
                namespace_phrase(namespace)
            ),
        });
    }
}
