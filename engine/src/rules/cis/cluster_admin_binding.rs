use crate::rules::cis::rbac_match::Binding;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// A binding to the `cluster-admin` ClusterRole hands its subjects every permission there is.
    ClusterAdminBinding {
        id: "KG301",
        name: "cluster-admin-binding",
        title: "Only the built-in binding may grant the cluster-admin role",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "`cluster-admin` allows every verb on every resource. Bound cluster-wide it \
controls the whole cluster; bound with a RoleBinding it controls everything in the namespace, \
its Secrets and RBAC included. A leaked credential of any subject bound to it is a full \
compromise. Kubernetes ships one such binding, `cluster-admin` to the `system:masters` group; \
CIS 5.1.1 asks that no other is needed.",
        remediation: "Bind a Role or ClusterRole that grants only the verbs and resources the \
subject uses (the built-in `admin`, `edit` or `view`, or your own), then delete the \
cluster-admin binding.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ci-deployer-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ci
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ci-deployer-edit
  namespace: shop
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ci
"#,
    }
}

impl Rule for ClusterAdminBinding {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(binding) = Binding::of(cx.manifest) else {
            return;
        };
        if binding.is_builtin_cluster_admin() {
            return;
        }
        let Some(role_ref) = binding.role_ref() else {
            return;
        };
        if role_ref.kind != "ClusterRole" || role_ref.name != "cluster-admin" {
            return;
        }
        let scope = match (binding.kind, binding.namespace) {
            ("RoleBinding", Some(ns)) => format!("every resource in namespace {ns:?}"),
            ("RoleBinding", None) => "every resource in its namespace".to_owned(),
            _ => "every resource in the cluster".to_owned(),
        };
        out.push(Violation {
            pointer: "/roleRef/name".to_owned(),
            message: format!(
                "{} gives {} full control of {scope} through ClusterRole \"cluster-admin\"",
                binding.label(),
                binding.subjects_summary()
            ),
        });
    }
}
