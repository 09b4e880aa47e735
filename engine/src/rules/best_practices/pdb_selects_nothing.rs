use crate::rules::best_practices::selection::{namespace_phrase, selector_at, selects_any_workload};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// A PodDisruptionBudget whose selector matches no pod of the input.
    PdbSelectsNothing {
        id: "KG217",
        name: "pdb-selects-nothing",
        title: "A PodDisruptionBudget's selector should select pods of the input",
        severity: Low,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "A PodDisruptionBudget limits voluntary evictions (node drains, upgrades, the \
cluster autoscaler) of the pods its `spec.selector` selects in its namespace. A budget that \
selects no pod guards nothing: a drain can take every replica of the workload it was written \
for down at once, and nothing says so. In `policy/v1` a budget without a selector selects no \
pod at all, and an empty one (`{}`) selects every pod of the namespace (not reported). \
kubegate follows the selector to the pod templates of every pod-creating kind in the same \
namespace of the input. Pods deployed elsewhere are not visible: exempt the budget.",
        remediation: "Make `spec.selector` match the labels of the pod template the budget \
should guard, or delete the budget.",
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
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: api
  namespace: shop
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {app.kubernetes.io/name: api}
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

impl Rule for PdbSelectsNothing {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        if !(object.api_version == "policy/v1" && object.kind == "PodDisruptionBudget") {
            return;
        }
        let name = object.name.as_deref().unwrap_or("<unnamed>");
        let namespace = object.namespace.as_deref();
        let message = match selector_at(&cx.manifest.value, "/spec/selector") {
            // Not a selector the API server accepts: the schema's to report.
            Err(()) => return,
            Ok(None) => (
                "/spec",
                format!(
                    "PodDisruptionBudget {name:?} has no selector, which in policy/v1 selects no \
                     pod, so it guards nothing"
                ),
            ),
            Ok(Some(selector)) => {
                if selector.is_empty() || selects_any_workload(cx, namespace, &selector) {
                    return;
                }
                (
                    "/spec/selector",
                    format!(
                        "PodDisruptionBudget {name:?} selects no pod template in {} of the \
                         input, so it guards nothing",
                        namespace_phrase(namespace)
                    ),
                )
            }
        };
        out.push(Violation {
            pointer: message.0.to_owned(),
            message: message.1,
        });
    }
}
