use crate::rules::cis::rbac_match::{report_grants, Access, Verbs, CORE_GROUP};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Creating pods means running any image with any service account of the namespace.
    PodCreateAccess {
        id: "KG304",
        name: "pod-create-access",
        title: "Roles should not grant creating pods",
        severity: Medium,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "A subject that creates pods chooses their image, their service account and their \
volumes: it can run as any service account of the namespace, mount any Secret there, and, where \
admission allows, run privileged on a node. CIS 5.1.4 asks to minimize this access. Workload \
controllers create pods with their own permissions, so people and CI rarely need it.",
        remediation: "Grant `create` on Deployments, Jobs or other workload resources instead, and \
keep `create` on `pods` to the few controllers that need it.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: debugger
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [get, list, create, delete]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: debugger
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [pods, pods/log]
    verbs: [get, list]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["create"]),
    group: CORE_GROUP,
    resources: &["pods"],
};

impl Rule for PodCreateAccess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "subjects bound to it can run any image as any service account in scope and mount its Secrets",
            out,
        );
    }
}
