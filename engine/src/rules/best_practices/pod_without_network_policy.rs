use crate::model::workload::{creates_pods, pod_spec_pointer};
use crate::rules::best_practices::selection::{kind_name, selector_at, selects_pods_of};
use crate::rules::cis::namespace_without_network_policy::SYSTEM_NAMESPACES;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// A workload whose pods no NetworkPolicy of the input isolates for ingress.
    PodWithoutNetworkPolicy {
        id: "KG219",
        name: "pod-without-network-policy",
        title: "Every workload's pods should be selected by a NetworkPolicy for ingress",
        severity: Medium,
        category: Network,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "A pod accepts traffic from every pod in the cluster until a NetworkPolicy \
that applies to ingress selects it. KG401 asks for a NetworkPolicy in every namespace that \
runs pods, and any one policy satisfies it; but a namespace with a policy for its database \
alone still leaves its web and worker pods open. kubegate reports each workload (every \
pod-creating kind) whose pod template labels no NetworkPolicy of its namespace selects with a \
policy that isolates ingress (`policyTypes` unset or listing `Ingress`; an empty \
`podSelector` selects every pod). When the namespace has no NetworkPolicy at all and KG401 \
runs, KG401 reports it once instead. Objects without `metadata.namespace` and the \
`kube-system`, `kube-public` and `kube-node-lease` namespaces are not judged. Policies \
already in the cluster are not visible; exempt the workload if it has one. kube-linter calls \
this check `non-isolated-pod`, kube-score `pod-networkpolicy`.",
        remediation: "Add a NetworkPolicy whose `podSelector` selects the pod template's labels \
(or a namespace-wide default-deny policy, `podSelector: {}`), then allow the traffic the \
workload needs.",
        failing_example: r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-ingress
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: db}
  ingress:
    - from:
        - podSelector:
            matchLabels: {app: api}
---
apiVersion: apps/v1
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
"#,
        passing_example: r#"apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]
---
apiVersion: apps/v1
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
"#,
    }
}

/// Whether a NetworkPolicy applies to ingress: `policyTypes` unset (ingress is always
/// included then) or listing `Ingress`.
fn isolates_ingress(policy: &Value) -> bool {
    match crate::model::position::lookup(policy, "/spec/policyTypes") {
        None | Some(Value::Null) => true,
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some("Ingress")),
        Some(_) => false,
    }
}

impl Rule for PodWithoutNetworkPolicy {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if !creates_pods(object) {
            return;
        }
        let Some(namespace) = object.namespace.as_deref() else {
            return;
        };
        if SYSTEM_NAMESPACES.contains(&namespace) {
            return;
        }
        let policies = cx
            .inventory
            .in_namespace("networking.k8s.io", "NetworkPolicy", Some(namespace));
        if policies.is_empty() && cx.is_active("KG401") {
            return;
        }
        let isolated = policies.iter().any(|policy| {
            isolates_ingress(&policy.value)
                && matches!(selector_at(&policy.value, "/spec/podSelector"),
                    Ok(Some(selector)) if selects_pods_of(&selector, manifest))
        });
        if isolated {
            return;
        }
        let template = pod_spec_pointer(object.group(), &object.kind)
            .map(|p| p.strip_suffix("/spec").unwrap_or(p))
            .unwrap_or_default();
        let labels = format!("{template}/metadata/labels");
        let pointer = if crate::model::position::lookup(&manifest.value, &labels).is_some() {
            labels
        } else {
            "/metadata".to_owned()
        };
        out.push(Violation {
            pointer,
            message: format!(
                "no NetworkPolicy of the input selects the pods of {} for ingress, so they \
                 accept traffic from every pod in the cluster",
                kind_name(manifest)
            ),
        });
    }
}
