use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Without a NetworkPolicy, every pod in a namespace accepts traffic from everywhere.
    NamespaceWithoutNetworkPolicy {
        id: "KG401",
        name: "namespace-without-network-policy",
        title: "Every namespace should have a NetworkPolicy",
        severity: Medium,
        category: Network,
        scope: WholeInput,
        since: "0.1.0",
        rationale: "Pods accept traffic from any pod in the cluster until a NetworkPolicy selects \
them. One compromised pod can then reach every database and internal API. CIS 5.3.2 asks that \
every namespace has NetworkPolicies. kubegate judges the input as a whole: a namespace is \
reported when the input runs pods in it (a Pod or a workload: Deployment, StatefulSet, DaemonSet, \
ReplicaSet, ReplicationController, Job, CronJob) and no NetworkPolicy in the input belongs to it, \
once, on its first workload in input order. Namespaces that hold only ConfigMaps, Services or \
custom resources are not reported. Objects without `metadata.namespace` and the \
`kube-system`, `kube-public` and `kube-node-lease` namespaces are not judged. Policies already \
in the cluster are not visible; exempt the object if the namespace has them.",
        remediation: "Add a NetworkPolicy to the namespace, at least a default-deny policy \
(`podSelector: {}` with `policyTypes: [Ingress]`) plus policies that allow the traffic the \
applications need.",
        failing_example: r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: registry.example/web:1.0
"#,
        passing_example: r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - name: web
      image: registry.example/web:1.0
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: shop
spec:
  podSelector: {}
  policyTypes: [Ingress]
"#,
    }
}

/// Namespaces Kubernetes creates for itself.
pub(crate) const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

impl Rule for NamespaceWithoutNetworkPolicy {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        // Reported once per namespace, on its first workload: a namespace holding only
        // ConfigMaps or custom resources has no pods to protect.
        let Some(ns) = object.namespace.as_deref() else {
            return;
        };
        if SYSTEM_NAMESPACES.contains(&ns)
            || !cx.inventory.is_first_workload_in_namespace(manifest, ns)
            || !cx
                .inventory
                .in_namespace("networking.k8s.io", "NetworkPolicy", Some(ns))
                .is_empty()
        {
            return;
        }
        out.push(Violation {
            pointer: "/metadata/namespace".to_owned(),
            message: format!(
                "namespace {ns:?} runs pods but has no NetworkPolicy in the input, so its pods \
accept traffic from every pod in the cluster"
            ),
        });
    }
}
