use crate::rules::best_practices::selection::{selector_at, selects_pods_of};
use crate::rules::best_practices::single_replica::{autoscaler, declared_replicas, is_replicated};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// A replicated Deployment or StatefulSet that no PodDisruptionBudget of the input guards.
    MissingPdb {
        id: "KG218",
        name: "missing-pdb",
        title: "Replicated Deployments and StatefulSets should have a PodDisruptionBudget",
        severity: Low,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "Replicas keep a service up only if they are not all taken down together. \
Node drains, cluster upgrades and the cluster autoscaler evict pods through the eviction API, \
which honours PodDisruptionBudgets: without one, draining the nodes that hold the replicas \
evicts them all at once, and the service is down until they are rescheduled and ready. \
kubegate reports a Deployment or StatefulSet that runs two or more replicas (`spec.replicas`, \
or the `minReplicas` of a HorizontalPodAutoscaler of the input that scales it) when no \
PodDisruptionBudget (`policy/v1` or `v1beta1`) in its namespace selects its pod template's \
labels. One replica is KG208's concern (a budget cannot help it). A budget deployed elsewhere \
is not visible: exempt the workload. kube-score calls this check \
`deployment-has-poddisruptionbudget` and `statefulset-has-poddisruptionbudget`.",
        remediation: "Add a PodDisruptionBudget selecting the pod template's labels with \
`maxUnavailable: 1` (or a `minAvailable` below the replica count).",
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
      containers:
        - name: api
          image: registry.example.com/api:2.1.0
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: api
  namespace: shop
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: api}
"#,
    }
}

impl Rule for MissingPdb {
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
        let namespace = manifest.object.namespace.as_deref();
        let guarded = cx
            .inventory
            .in_namespace("policy", "PodDisruptionBudget", namespace)
            .into_iter()
            .any(|pdb| {
                matches!(selector_at(&pdb.value, "/spec/selector"),
                    Ok(Some(selector)) if selects_pods_of(&selector, manifest))
            });
        if guarded {
            return;
        }
        let pointer = if crate::model::position::lookup(&manifest.value, "/spec/replicas").is_some()
        {
            "/spec/replicas"
        } else {
            "/spec"
        };
        out.push(Violation {
            pointer: pointer.to_owned(),
            message: format!(
                "{} runs {replicas} replicas but no PodDisruptionBudget of the input selects its \
                 pods, so a node drain or upgrade may evict them all at once",
                crate::rules::best_practices::selection::kind_name(manifest)
            ),
        });
    }
}
