use crate::rules::cis::rbac_match::{report_grants, Access, Verbs, CORE_GROUP};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Creating a service account's token is acting as that service account.
    ServiceAccountTokenCreate {
        id: "KG313",
        name: "service-account-token-create",
        title: "Roles should not grant creating service account tokens",
        severity: Medium,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "`create` on `serviceaccounts/token` issues a token for a service account, and \
with it every permission the account has, for as long as the requested expiry. A subject that \
can do this for a privileged account holds that account's privileges. CIS 5.1.13 asks to \
minimize this access.",
        remediation: "Let Kubernetes project tokens into the pods that need them, and remove \
`serviceaccounts/token` from the rule, or restrict it with `resourceNames` to one account.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: token-issuer
  namespace: ci
rules:
  - apiGroups: [""]
    resources: [serviceaccounts, serviceaccounts/token]
    verbs: [get, create]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: token-issuer
  namespace: ci
rules:
  - apiGroups: [""]
    resources: [serviceaccounts]
    verbs: [get, create]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["create"]),
    group: CORE_GROUP,
    resources: &["serviceaccounts/token"],
};

impl Rule for ServiceAccountTokenCreate {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "a token for a service account carries all of that account's permissions",
            out,
        );
    }
}
