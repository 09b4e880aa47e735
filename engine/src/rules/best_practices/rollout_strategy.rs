use crate::model::position::lookup;
use crate::rules::best_practices::selection::kind_name;
use crate::rules::best_practices::single_replica::{autoscaler, declared_replicas};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Deployment rollouts that take every pod down at once.
    RolloutStrategy {
        id: "KG222",
        name: "rollout-strategy",
        title: "Deployment rollouts should keep pods serving",
        severity: Medium,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "A Deployment replaces its pods on every change to the pod template. With \
`strategy.type: Recreate` it deletes every old pod before it starts a new one, so each rollout \
is an outage; that is sometimes intended (a workload that must never run two versions at \
once), so kubegate reports it as an advisory note. With `RollingUpdate`, \
`rollingUpdate.maxUnavailable` caps how many pods may be down: the controller rounds a \
percentage down, and a value that reaches the replica count (`100%`, or `3` for three \
replicas) lets the rollout take every pod down at once, like `Recreate` but unintended; that \
is reported at the rule's severity. The replica count is `spec.replicas`, or the \
`minReplicas` of a HorizontalPodAutoscaler of the input that scales the Deployment (at that \
size every pod can go); single-replica Deployments are KG208's concern and not judged here. \
kube-score calls this check `deployment-strategy`.",
        remediation: "Use the default `RollingUpdate` strategy with a `maxUnavailable` below the \
replica count (the default 25% is a good start), and `maxSurge` to add new pods first.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 3
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 100%, maxSurge: 0}
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
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxUnavailable: 1, maxSurge: 1}
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
    }
}

/// Where the Recreate note points: recognised by [`Rule::is_note`].
const RECREATE_POINTER: &str = "/spec/strategy/type";

/// `maxUnavailable` as a pod count for `replicas` (a percentage rounded down, as the
/// Deployment controller rounds it); `None` when it is neither a count nor a percentage.
fn unavailable(value: &Value, replicas: u64) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let percent: u64 = s.strip_suffix('%')?.parse().ok()?;
            Some(replicas.saturating_mul(percent) / 100)
        }
        _ => None,
    }
}

impl Rule for RolloutStrategy {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if !(matches!(object.group(), "apps" | "extensions") && object.kind == "Deployment") {
            return;
        }
        let replicas = match autoscaler(cx, manifest) {
            Some(hpa) => hpa.min_replicas,
            None => declared_replicas(manifest),
        };
        let Some(replicas) = replicas.filter(|r| *r >= 2) else {
            return;
        };
        let value = &manifest.value;
        match lookup(value, RECREATE_POINTER).and_then(Value::as_str) {
            Some("Recreate") => {
                out.push(Violation {
                    pointer: RECREATE_POINTER.to_owned(),
                    message: format!(
                        "{} uses the Recreate strategy: every rollout stops all {replicas} pods \
                         before starting new ones",
                        kind_name(manifest)
                    ),
                });
                return;
            }
            None | Some("RollingUpdate") => {}
            // Another value is KG016's (the API server refuses it).
            Some(_) => return,
        }
        let pointer = "/spec/strategy/rollingUpdate/maxUnavailable";
        let Some(max) = lookup(value, pointer) else {
            return;
        };
        if unavailable(max, replicas).is_some_and(|n| n >= replicas) {
            let shown = match max {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push(Violation {
                pointer: pointer.to_owned(),
                message: format!(
                    "maxUnavailable {shown} lets a rollout of {} take all {replicas} pods down at \
                     once",
                    kind_name(manifest)
                ),
            });
        }
    }

    fn is_note(&self, violation: &Violation) -> bool {
        violation.pointer == RECREATE_POINTER
    }
}
