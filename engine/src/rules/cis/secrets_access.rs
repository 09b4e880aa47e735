use crate::rules::cis::rbac_match::{report_grants, Access, Verbs, CORE_GROUP};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Reading Secrets reads every credential stored in them.
    SecretsAccess {
        id: "KG302",
        name: "secrets-access",
        title: "Roles should not grant read access to Secrets",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "Secrets hold passwords, API keys, TLS keys and service account tokens. `get`, \
`list` or `watch` on them lets a subject read every one in scope (`list` and `watch` return \
the contents too), and a token read this way can carry more permissions than the reader has. \
CIS 5.1.2 asks to minimize this access.",
        remediation: "Remove `secrets` (and `*`) from the rule, or narrow it with `resourceNames` to \
the few Secrets the subject must read. Workloads should receive Secrets as mounted volumes \
rather than read them from the API.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [configmaps, secrets]
    verbs: [get, list, watch]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: config-reader
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["get", "list", "watch"]),
    group: CORE_GROUP,
    resources: &["secrets"],
};

impl Rule for SecretsAccess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "subjects bound to it can read the Secrets in scope, service account tokens included",
            out,
        );
    }
}
