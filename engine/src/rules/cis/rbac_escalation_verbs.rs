use crate::rules::cis::rbac_match::{Access, PolicyRule, Role, Verbs, CORE_GROUP, RBAC_GROUP, WILDCARD};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// `bind`, `escalate` and `impersonate` let a subject step around RBAC's own limits.
    RbacEscalationVerbs {
        id: "KG308",
        name: "rbac-escalation-verbs",
        title: "Roles should not grant the bind, escalate or impersonate verbs",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "RBAC stops a subject from granting permissions it does not hold, except through \
these verbs: `bind` lets it bind roles it does not hold, `escalate` lets it write roles with \
more than it holds, and `impersonate` lets it act as another user, group or service account. \
Each is a path to cluster-admin. CIS 5.1.8 asks to limit them. A verb is reported only on \
the resources where the RBAC authorizer gives it a meaning: `bind` and `escalate` on `roles` \
and `clusterroles` of `rbac.authorization.k8s.io`, `impersonate` on `users`, `groups` and \
`serviceaccounts` of the core group and `uids` and `userextras/*` of `authentication.k8s.io` \
(or `*`). `bind` on `rolebindings`, say, grants nothing. (A `*` verb is reported by KG303.)",
        remediation: "Remove the verbs, or restrict the rule with `resourceNames` to the exact roles \
or identities an operator must bind or impersonate.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: team-onboarding
rules:
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [clusterroles]
    verbs: [get, list, bind, escalate]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: team-onboarding
rules:
  - apiGroups: [rbac.authorization.k8s.io]
    resources: [clusterroles]
    verbs: [get, list]
"#,
    }
}

const VERBS: [&str; 3] = ["bind", "escalate", "impersonate"];

/// What each verb allows, for messages.
fn allows(verb: &str) -> &'static str {
    match verb {
        "bind" => "bind lets it grant roles it does not hold",
        "escalate" => "escalate lets it add permissions it does not hold to roles",
        _ => "impersonate lets it act as other users, groups or service accounts",
    }
}

const BIND: [&str; 1] = ["bind"];
const ESCALATE: [&str; 1] = ["escalate"];
const IMPERSONATE: [&str; 1] = ["impersonate"];

/// Whether `verb`, which the rule lists, means something on the rule's resources.
fn meaningful(rule: &PolicyRule<'_>, verb: &str) -> bool {
    let on = |verbs: &'static [&'static str], group: &'static str, resources: &'static [&'static str]| {
        rule.grants(&Access {
            verbs: Verbs::OneOf(verbs),
            group,
            resources,
        })
        .is_some()
    };
    match verb {
        "bind" => on(&BIND, RBAC_GROUP, &["roles", "clusterroles"]),
        "escalate" => on(&ESCALATE, RBAC_GROUP, &["roles", "clusterroles"]),
        _ => {
            on(&IMPERSONATE, CORE_GROUP, &["users", "groups", "serviceaccounts"])
                || on(&IMPERSONATE, "authentication.k8s.io", &["uids"])
                || (rule
                    .entries("apiGroups")
                    .any(|(_, g)| g == "authentication.k8s.io" || g == WILDCARD)
                    && rule
                        .entries("resources")
                        .any(|(_, r)| r.starts_with("userextras/")))
        }
    }
}

impl Rule for RbacEscalationVerbs {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(role) = Role::of(cx.manifest) else {
            return;
        };
        for rule in role.rules() {
            let mut verbs = rule.explicit_verbs(&VERBS);
            verbs.retain(|v| meaningful(&rule, v));
            if verbs.is_empty() {
                continue;
            }
            verbs.sort_unstable();
            verbs.dedup();
            let resources: Vec<&str> = rule
                .entries("resources")
                .map(|(_, r)| if r == WILDCARD { "\"*\"" } else { r })
                .collect();
            let on = if resources.is_empty() {
                String::new()
            } else {
                format!(" on {}", resources.join(", "))
            };
            let why: Vec<&str> = verbs.iter().map(|v| allows(v)).collect();
            out.push(Violation {
                pointer: rule.pointer("verbs"),
                message: format!(
                    "{} rule {} grants {}{on}: {}",
                    role.label(),
                    rule.index,
                    verbs.join(", "),
                    why.join("; ")
                ),
            });
        }
    }
}
