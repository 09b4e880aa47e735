use crate::model::workload::pod_spec;
use crate::rules::best_practices::selection::kind_name;
use crate::rules::best_practices::single_replica::{autoscaler, declared_replicas, is_replicated};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Replicated Deployments and StatefulSets that do nothing to keep replicas apart.
    ReplicasNotSpread {
        id: "KG221",
        name: "replicas-not-spread",
        title: "Replicated workloads should spread their pods with anti-affinity or topology spread constraints",
        severity: Low,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "The scheduler places replicas wherever they fit. Without pod anti-affinity or \
topology spread constraints, several (often all) replicas of a Deployment can land on one node \
or in one zone, and a single node failure or zone outage takes the service down although it \
runs several replicas. kubegate reports a Deployment or StatefulSet that runs two or more \
replicas (`spec.replicas`, or the `minReplicas` of a HorizontalPodAutoscaler of the input that \
scales it) when its pod template sets neither `topologySpreadConstraints` nor \
`affinity.podAntiAffinity` (required or preferred). A cluster-wide default spread configured \
in the scheduler is not visible in manifests; exempt the workload if you rely on one. \
kube-score calls this check `deployment-has-host-podantiaffinity` (and the StatefulSet one).",
        remediation: "Add `topologySpreadConstraints` over `kubernetes.io/hostname` (and \
`topology.kubernetes.io/zone`) selecting the pod template's labels, or a preferred \
`podAntiAffinity` on the hostname.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:2.1.0
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels: {app: api}
      containers:
        - name: api
          image: registry.example.com/api:2.1.0
"#,
    }
}

/// Whether a list-valued field holds at least one entry.
fn non_empty(value: Option<&Value>) -> bool {
    value.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

impl Rule for ReplicasNotSpread {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        if !is_replicated(manifest) {
            return;
        }
        let replicas = match autoscaler(cx, manifest) {
            Some(hpa) => hpa.min_replicas,
            None => declared_replicas(manifest),
        };
        let Some(replicas) = replicas.filter(|r| *r >= 2) else {
            return;
        };
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        let anti_affinity = spec
            .spec
            .get("affinity")
            .and_then(|a| a.get("podAntiAffinity"));
        let spread = non_empty(spec.spec.get("topologySpreadConstraints"))
            || anti_affinity.is_some_and(|a| {
                non_empty(a.get("requiredDuringSchedulingIgnoredDuringExecution"))
                    || non_empty(a.get("preferredDuringSchedulingIgnoredDuringExecution"))
            });
        if spread {
            return;
        }
        out.push(Violation {
            pointer: spec.pointer.to_owned(),
            message: format!(
                "{} runs {replicas} replicas but sets neither topologySpreadConstraints nor \
                 podAntiAffinity, so the scheduler may put them all on one node",
                kind_name(manifest)
            ),
        });
    }
}
