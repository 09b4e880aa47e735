use crate::rules::cis::rbac_match::Role;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// A `*` in a role grants everything of its kind, today's and tomorrow's.
    RbacWildcard {
        id: "KG303",
        name: "rbac-wildcard",
        title: "Roles should not use \"*\" in verbs, resources, apiGroups or nonResourceURLs",
        severity: Medium,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "A `*` grants every verb, resource or API group, including ones added later: a \
new CRD, a new subresource, or the `escalate`, `bind` and `impersonate` verbs. The role then \
grants far more than its author reviewed. CIS 5.1.3 asks to minimize wildcards. The ClusterRoles \
Kubernetes ships (`cluster-admin`, `system:*`) are not reported.",
        remediation: "List the verbs, API groups and resources the subject uses explicitly. \
`kubectl auth can-i --list --as=<subject>` or the audit log shows what it actually does.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops
rules:
  - apiGroups: [apps]
    resources: ["*"]
    verbs: [get, list, watch]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ops
rules:
  - apiGroups: [apps]
    resources: [deployments, statefulsets, daemonsets]
    verbs: [get, list, watch]
"#,
    }
}

/// What a `*` in each field covers, for messages.
fn covers(field: &str) -> &'static str {
    match field {
        "verbs" => "every verb, escalate, bind and impersonate included",
        "apiGroups" => "every API group, including CRDs installed later",
        "resources" => "every resource in its API groups, including ones added later",
        _ => "every non-resource URL of the API server",
    }
}

impl Rule for RbacWildcard {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(role) = Role::of(cx.manifest) else {
            return;
        };
        if role.is_builtin() {
            return;
        }
        for rule in role.rules() {
            for (field, entry) in rule.wildcards() {
                out.push(Violation {
                    pointer: rule.entry_pointer(field, entry),
                    message: format!(
                        "{} rule {} has \"*\" in {field}, which grants {}",
                        role.label(),
                        rule.index,
                        covers(field)
                    ),
                });
            }
        }
    }
}
