use crate::model::workload::pod_labels;
use crate::rules::best_practices::selection::{namespace_phrase, workloads_in};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// A Service whose selector matches no pod template of the input routes traffic nowhere.
    DanglingService {
        id: "KG213",
        name: "dangling-service",
        title: "A Service's selector should match the pods of a workload in the input",
        severity: Medium,
        category: Reliability,
        scope: WholeInput,
        since: "0.1.0",
        rationale: "A Service sends traffic to the ready pods its selector matches. When no pod \
carries all of the selector's labels, the Service has no endpoints: clients get connection \
refused or time out, and nothing in the cluster says why. The usual cause is a label renamed on \
one side only, or a typo. kubegate judges the input as a whole: a Service with a selector is \
reported when no Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, \
Job or CronJob in the same namespace has a pod template whose labels include every selector \
label. Services without a selector (endpoints managed by hand, `ExternalName`) are not judged. \
Workloads outside the input are not visible; exempt the Service if its pods are deployed \
elsewhere. kube-linter calls this check `dangling-service`.",
        remediation: "Make `spec.selector` match the labels of the pod template \
(`spec.template.metadata.labels` of the workload) that should receive the traffic, or add the \
workload to the input.",
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
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: wbe}
  ports:
    - port: 80
      targetPort: 8080
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
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
    - port: 80
      targetPort: 8080
"#,
    }
}

impl Rule for DanglingService {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if !(object.api_version == "v1" && object.kind == "Service") {
            return;
        }
        let spec = manifest.value.get("spec");
        if spec.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("ExternalName") {
            return;
        }
        // Only a mapping of strings is a selector the API server accepts; no selector, or an
        // empty one, means endpoints are managed by hand.
        let Some(selector) = spec
            .and_then(|s| s.get("selector"))
            .and_then(Value::as_object)
            .filter(|s| !s.is_empty())
        else {
            return;
        };
        let Some(wanted) = selector
            .iter()
            .map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        let namespace = object.namespace.as_deref();
        let selects = |labels: Option<&serde_json::Map<String, Value>>| {
            wanted
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(*k)).and_then(Value::as_str) == Some(*v))
        };
        let matched = workloads_in(cx, namespace).any(|w| selects(pod_labels(w)));
        if matched {
            return;
        }
        let labels: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push(Violation {
            pointer: "/spec/selector".into(),
            message: format!(
                "Service {:?} selects pods labelled {}, but no pod template in {} of the input \
                 has those labels, so the Service has no endpoints",
                object.name.as_deref().unwrap_or("<unnamed>"),
                labels.join(", "),
                namespace_phrase(namespace),
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::{Checker, Loaded, Loader};

    /// `(Service name, reported)` for each Service of `text`, judged with this rule alone.
    fn judged(text: &str) -> Vec<(String, bool)> {
        let (manifests, errors) = Loader::default().load_text("t.yaml", text.to_owned());
        assert!(errors.is_empty(), "{errors:?}");
        let checker = Checker::with_rules(vec![&super::DanglingService]);
        let report = checker.check(&Loaded {
            manifests,
            errors,
            files: 1,
            ..Default::default()
        });
        report
            .objects
            .iter()
            .filter(|(_, o)| o.kind == "Service")
            .map(|(_, o)| {
                let name = o.name.clone().unwrap_or_default();
                let reported = report.findings.iter().any(|f| f.object == *o);
                (name, reported)
            })
            .collect()
    }

    const WORKLOADS: &str = "apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: shop}
spec:
  schedule: '@daily'
  jobTemplate:
    spec:
      template:
        metadata:
          labels: {app: report, tier: batch}
        spec:
          restartPolicy: Never
          containers: [{name: r, image: busybox:1.36}]
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
  labels: {app: debug}
spec:
  containers: [{name: d, image: busybox:1.36}]
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tmpl, namespace: shop}
template:
  metadata:
    labels: {app: template-only}
  spec:
    containers: [{name: t, image: busybox:1.36}]
";

    #[test]
    fn selectors_are_followed_to_every_pod_creating_kind_in_the_namespace() {
        let services = "---
apiVersion: v1
kind: Service
metadata: {name: cron, namespace: shop}
spec: {selector: {app: report}}
---
apiVersion: v1
kind: Service
metadata: {name: pod, namespace: shop}
spec: {selector: {app: debug}}
---
apiVersion: v1
kind: Service
metadata: {name: subset-too-narrow, namespace: shop}
spec: {selector: {app: report, tier: web}}
---
apiVersion: v1
kind: Service
metadata: {name: other-namespace, namespace: billing}
spec: {selector: {app: report}}
---
apiVersion: v1
kind: Service
metadata: {name: template-only, namespace: shop}
spec: {selector: {app: template-only}}
---
apiVersion: v1
kind: Service
metadata: {name: manual-endpoints, namespace: shop}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty-selector, namespace: shop}
spec: {selector: {}}
---
apiVersion: v1
kind: Service
metadata: {name: external, namespace: shop}
spec: {type: ExternalName, externalName: db.example.com, selector: {app: nothing}}
";
        let got = judged(&format!("{WORKLOADS}{services}"));
        let expected = [
            ("cron", false),
            ("pod", false),
            ("subset-too-narrow", true),
            ("other-namespace", true),
            ("template-only", true),
            ("manual-endpoints", false),
            ("empty-selector", false),
            ("external", false),
        ];
        let expected: Vec<(String, bool)> =
            expected.iter().map(|(n, r)| (n.to_string(), *r)).collect();
        assert_eq!(got, expected);
    }
}
