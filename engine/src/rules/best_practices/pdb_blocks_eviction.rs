use crate::model::selector::LabelSelector;
use crate::model::manifest::Manifest;
use crate::rules::best_practices::selection::selects_pods_of;
use crate::rules::best_practices::single_replica::{autoscaler, declared_replicas, is_replicated};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// PodDisruptionBudgets that allow no voluntary eviction of the workload they cover.
    PdbBlocksEviction {
        id: "KG212",
        name: "pdb-blocks-eviction",
        title: "PodDisruptionBudgets must allow at least one pod to be evicted",
        severity: Medium,
        category: Reliability,
        scope: WholeInput,
        since: "0.1.0",
        rationale: "A PodDisruptionBudget whose `minAvailable` equals or exceeds the replicas of the \
workloads it selects (or whose `maxUnavailable` is 0) allows no voluntary eviction at all: \
`kubectl drain`, cluster upgrades and the cluster autoscaler wait on its pods forever, and the \
node cannot be emptied without overriding the budget. kubegate judges `policy/v1` budgets \
against the Deployments and StatefulSets of the input in the same namespace whose pod template \
labels the budget's selector matches (an empty selector matches every pod; a missing one \
none), counting their replicas together as the disruption controller does. A workload's count \
is `spec.replicas` (1 when unset), or the `minReplicas` of a HorizontalPodAutoscaler of the \
input that scales it, since at that size the budget blocks. A percentage is rounded up, as the disruption controller does: `minAvailable: 50%` of \
one replica is one pod.",
        remediation: "Run at least one replica more than `minAvailable` (or set `minAvailable` one \
lower), or use `maxUnavailable: 1` instead, which allows one eviction at any scale.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: payments}
  template:
    metadata:
      labels: {app: payments, tier: backend}
    spec:
      containers:
        - name: payments
          image: registry.example.com/payments:3.0.2
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: payments
  namespace: shop
spec:
  minAvailable: 2
  selector:
    matchLabels: {app: payments}
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: payments}
  template:
    metadata:
      labels: {app: payments, tier: backend}
    spec:
      containers:
        - name: payments
          image: registry.example.com/payments:3.0.2
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: payments
  namespace: shop
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app: payments}
"#,
    }
}

/// An `IntOrString` budget: a count or a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Count(u64),
    Percent(u64),
}

impl Budget {
    fn read(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => n.as_u64().map(Budget::Count),
            Value::String(s) => s.strip_suffix('%')?.parse().ok().map(Budget::Percent),
            _ => None,
        }
    }

    /// Pods out of `replicas`, a percentage rounded up as the disruption controller does.
    fn pods(self, replicas: u128) -> u128 {
        match self {
            Budget::Count(n) => u128::from(n),
            Budget::Percent(p) => u128::from(p).saturating_mul(replicas).div_ceil(100),
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Count(n) => write!(f, "{n}"),
            Budget::Percent(p) => write!(f, "{p}%"),
        }
    }
}

fn replica_count(n: u128) -> String {
    if n == 1 {
        "1 replica".to_owned()
    } else {
        format!("{n} replicas")
    }
}

/// A workload a budget selects, and the replicas it can run with.
struct Selected {
    label: String,
    replicas: u64,
    /// The HorizontalPodAutoscaler whose `minReplicas` gave `replicas`.
    autoscaler: Option<String>,
}

impl Selected {
    /// `None` when the replica count cannot be read.
    fn read(cx: &Context<'_>, workload: &Manifest) -> Option<Self> {
        let label = format!(
            "{} {:?}",
            workload.object.kind,
            workload.object.name.as_deref().unwrap_or("<unnamed>")
        );
        // At the autoscaler's minimum the budget blocks, whatever `spec.replicas` says.
        if let Some(hpa) = autoscaler(cx, workload) {
            return Some(Self {
                label,
                replicas: hpa.min_replicas?,
                autoscaler: Some(hpa.name.to_owned()),
            });
        }
        Some(Self {
            label,
            replicas: declared_replicas(workload)?,
            autoscaler: None,
        })
    }
}

/// What the selected workloads run, for the message.
fn describe(selected: &[Selected], total: u128) -> String {
    match selected {
        [one] => match &one.autoscaler {
            Some(hpa) => format!(
                "HorizontalPodAutoscaler {hpa:?} can scale {} down to {}",
                one.label,
                replica_count(total)
            ),
            None => format!("{} runs {}", one.label, replica_count(total)),
        },
        many => {
            let parts: Vec<String> = many
                .iter()
                .map(|s| match s.autoscaler {
                    Some(_) => format!("{}: {} at minimum", s.label, s.replicas),
                    None => format!("{}: {}", s.label, s.replicas),
                })
                .collect();
            format!(
                "the workloads it selects run {} in all ({})",
                replica_count(total),
                parts.join(", ")
            )
        }
    }
}

impl Rule for PdbBlocksEviction {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        // policy/v1beta1 read an empty selector differently, and is no longer served (KG210).
        if object.api_version != "policy/v1" || object.kind != "PodDisruptionBudget" {
            return;
        }
        let Some(spec) = manifest.value.get("spec").and_then(Value::as_object) else {
            return;
        };
        // A missing selector selects no pods; a malformed one is the API server's to reject.
        let Some(selector) = spec.get("selector").filter(|s| s.is_object()) else {
            return;
        };
        let Ok(selector) = LabelSelector::parse(selector) else {
            return;
        };
        let (field, budget) = match (spec.get("minAvailable"), spec.get("maxUnavailable")) {
            (Some(v), _) if !v.is_null() => ("minAvailable", v),
            (_, Some(v)) if !v.is_null() => ("maxUnavailable", v),
            _ => return,
        };
        let Some(budget) = Budget::read(budget) else {
            return;
        };
        let namespace = object.namespace.as_deref();
        let mut selected = Vec::new();
        for workload in ["Deployment", "StatefulSet"]
            .into_iter()
            .flat_map(|kind| cx.inventory.in_namespace("apps", kind, namespace))
            .filter(|w| is_replicated(w))
        {
            if !selects_pods_of(&selector, workload) {
                continue;
            }
            // One unreadable count makes the total unknown: judge nothing.
            let Some(s) = Selected::read(cx, workload) else {
                return;
            };
            selected.push(s);
        }
        // The disruption controller counts the pods of every selected workload together.
        let total: u128 = selected.iter().map(|s| u128::from(s.replicas)).sum();
        let blocks = match field {
            "minAvailable" => total > 0 && budget.pods(total) >= total,
            _ => total > 0 && budget.pods(total) == 0,
        };
        if !blocks {
            return;
        }
        out.push(Violation {
            pointer: format!("/spec/{field}"),
            message: format!(
                "PodDisruptionBudget {:?} sets {field}: {budget} while {}, so it allows no \
voluntary eviction of its pods: node drains and cluster upgrades block",
                object.name.as_deref().unwrap_or("<unnamed>"),
                describe(&selected, total)
            ),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn budgets_round_percentages_up() {
        assert_eq!(Budget::read(&json!(2)), Some(Budget::Count(2)));
        assert_eq!(Budget::read(&json!("50%")), Some(Budget::Percent(50)));
        assert_eq!(Budget::read(&json!("2")), None);
        assert_eq!(Budget::read(&json!(-1)), None);
        assert_eq!(Budget::Percent(50).pods(1), 1);
        assert_eq!(Budget::Percent(50).pods(3), 2);
        assert_eq!(Budget::Percent(100).pods(4), 4);
        assert_eq!(Budget::Percent(0).pods(4), 0);
        assert_eq!(Budget::Count(7).pods(u128::MAX), 7);
        assert_eq!(Budget::Percent(200).pods(u128::MAX), u128::MAX / 100 + 1);
    }
}
