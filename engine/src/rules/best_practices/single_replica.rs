use crate::model::manifest::Manifest;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Deployments and StatefulSets that run one replica.
    SingleReplica {
        id: "KG208",
        name: "single-replica",
        title: "Deployments and StatefulSets should run at least two replicas",
        severity: Low,
        category: Reliability,
        scope: WholeInput,
        since: "0.1.0",
        rationale: "With one replica, every node drain, cluster upgrade, eviction or crash leaves the \
workload with no pod until a new one is scheduled and ready. A PodDisruptionBudget cannot fix \
that: with one replica, `minAvailable: 1` blocks every voluntary eviction, so node drains and \
upgrades hang instead (KG212 reports such budgets), and without a budget a drain takes the only \
pod down. `spec.replicas` left unset means 1. A workload that a HorizontalPodAutoscaler \
(`autoscaling/*`) in the input scales with `minReplicas` of 2 or more is not reported; one \
scaled with a lower `minReplicas` is. `spec.replicas: 0` (deliberately scaled down) is not \
reported.",
        remediation: "Set `spec.replicas: 2` or more (or `minReplicas: 2` on its \
HorizontalPodAutoscaler), spread the replicas over nodes with `topologySpreadConstraints` or \
pod anti-affinity, and add a PodDisruptionBudget that allows one pod to be evicted. A workload \
that must be a singleton (a leader without failover) can be exempted with the reason.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      containers:
        - name: orders
          image: registry.example.com/orders:1.9.0
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  selector:
    matchLabels: {app: orders}
  template:
    metadata:
      labels: {app: orders}
    spec:
      containers:
        - name: orders
          image: registry.example.com/orders:1.9.0
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: orders
  namespace: shop
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: orders
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: {type: Utilization, averageUtilization: 70}
"#,
    }
}

/// Whether the object is a Deployment or StatefulSet, the replicated kinds judged here.
pub(super) fn is_replicated(manifest: &Manifest) -> bool {
    manifest.object.group() == "apps"
        && matches!(manifest.object.kind.as_str(), "Deployment" | "StatefulSet")
}

/// `spec.replicas`, 1 when unset (the API default); `None` when it is not a count.
pub(super) fn declared_replicas(manifest: &Manifest) -> Option<u64> {
    match crate::model::position::lookup(&manifest.value, "/spec/replicas") {
        None | Some(Value::Null) => Some(1),
        Some(v) => v.as_u64(),
    }
}

/// A HorizontalPodAutoscaler of the input that scales a workload.
pub(super) struct Autoscaler<'a> {
    pub name: &'a str,
    /// `spec.minReplicas`, 1 when unset; `None` when it is not a count.
    pub min_replicas: Option<u64>,
}

/// The first HorizontalPodAutoscaler (any `autoscaling` version) in the workload's namespace
/// whose `scaleTargetRef` names it.
pub(super) fn autoscaler<'a>(cx: &Context<'a>, workload: &Manifest) -> Option<Autoscaler<'a>> {
    let object = &workload.object;
    let name = object.name.as_deref()?;
    cx.inventory
        .in_namespace(
            "autoscaling",
            "HorizontalPodAutoscaler",
            object.namespace.as_deref(),
        )
        .into_iter()
        .find_map(|hpa| {
            let target = crate::model::position::lookup(&hpa.value, "/spec/scaleTargetRef")?;
            let str_field = |key: &str| target.get(key).and_then(Value::as_str);
            let group_matches = match str_field("apiVersion") {
                Some(api_version) => {
                    api_version.rsplit_once('/').map_or("", |(g, _)| g) == object.group()
                }
                None => true,
            };
            if !(group_matches
                && str_field("kind") == Some(object.kind.as_str())
                && str_field("name") == Some(name))
            {
                return None;
            }
            let min_replicas = match crate::model::position::lookup(&hpa.value, "/spec/minReplicas")
            {
                None | Some(Value::Null) => Some(1),
                Some(v) => v.as_u64(),
            };
            Some(Autoscaler {
                name: hpa.object.name.as_deref().unwrap_or("<unnamed>"),
                min_replicas,
            })
        })
}

impl Rule for SingleReplica {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        if !is_replicated(manifest) {
            return;
        }
        let object = &manifest.object;
        let workload = format!(
            "{} {:?}",
            object.kind,
            object.name.as_deref().unwrap_or("<unnamed>")
        );
        let consequence = "every node drain, eviction or crash leaves it with no pod";
        if let Some(hpa) = autoscaler(cx, manifest) {
            // An unreadable minReplicas is the autoscaler's problem, not a finding here.
            if hpa.min_replicas == Some(1) {
                out.push(Violation {
                    pointer: "/spec/replicas".to_owned(),
                    message: format!(
                        "{workload} is scaled by HorizontalPodAutoscaler {:?} with minReplicas \
1, so it can run a single replica: {consequence}",
                        hpa.name
                    ),
                });
            }
            return;
        }
        let message = match crate::model::position::lookup(&manifest.value, "/spec/replicas") {
            None | Some(Value::Null) => format!(
                "{workload} does not set spec.replicas, so it runs a single replica: \
{consequence}"
            ),
            Some(_) if declared_replicas(manifest) == Some(1) => {
                format!("{workload} runs a single replica (spec.replicas: 1): {consequence}")
            }
            _ => return,
        };
        out.push(Violation {
            pointer: "/spec/replicas".to_owned(),
            message,
        });
    }
}
