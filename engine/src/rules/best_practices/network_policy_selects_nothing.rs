use crate::rules::best_practices::selection::{namespace_phrase, selector_at, selects_any_workload};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// A NetworkPolicy whose pod selector matches no pod of the input.
    NetworkPolicySelectsNothing {
        id: "KG216",
        name: "network-policy-selects-nothing",
        title: "A NetworkPolicy's podSelector should select pods of the input",
        severity: Low,
        category: Network,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "A NetworkPolicy applies to the pods its `spec.podSelector` selects in its \
namespace. A selector that matches no pod template protects nothing: the pods it was written \
for accept (or send) traffic the policy meant to stop, and nothing says so. The usual cause is \
a label renamed on the workload, or a policy copied from another namespace. kubegate follows \
non-empty selectors (`matchLabels` and `matchExpressions`) to the pod templates of every \
pod-creating kind in the same namespace of the input. An empty selector (`{}`) selects every \
pod of the namespace, the usual default-deny policy, and is not reported even when the \
namespace has no pods in the input. Pods deployed elsewhere are not visible: exempt the \
policy. kube-score calls this check `networkpolicy-targets-pod`.",
        remediation: "Make `spec.podSelector` match the labels of the pod template it should \
protect, or delete the policy.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
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
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-ingress
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: apis}
  policyTypes: [Ingress]
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
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
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-ingress
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: api}
  policyTypes: [Ingress]
"#,
    }
}

impl Rule for NetworkPolicySelectsNothing {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        if !(object.group() == "networking.k8s.io" && object.kind == "NetworkPolicy") {
            return;
        }
        let Ok(Some(selector)) = selector_at(&cx.manifest.value, "/spec/podSelector") else {
            return;
        };
        let namespace = object.namespace.as_deref();
        if selector.is_empty() || selects_any_workload(cx, namespace, &selector) {
            return;
        }
        out.push(Violation {
            pointer: "/spec/podSelector".to_owned(),
            message: format!(
                "NetworkPolicy {:?} selects no pod template in {} of the input, so it protects \
                 nothing",
                object.name.as_deref().unwrap_or("<unnamed>"),
                namespace_phrase(namespace)
            ),
        });
    }
}
