use crate::rules::cis::rbac_match::Binding;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Every pod that names no service account runs as `default`; it should have no token and no
    /// permissions.
    DefaultServiceAccount {
        id: "KG305",
        name: "default-service-account",
        title: "Default service accounts should not mount tokens or be granted roles",
        severity: Medium,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "Each namespace has a ServiceAccount named `default`, and every pod that does not \
name another one runs as it. A token mounted from it, or a role bound to it, is handed to every \
such pod, wanted or not. CIS 5.1.5 asks that `default` sets `automountServiceAccountToken: false` \
and is bound to no roles.",
        remediation: "Set `automountServiceAccountToken: false` on each `default` ServiceAccount. Give \
workloads that call the API their own ServiceAccount, bind the roles to that one, and set \
`serviceAccountName` in their pod spec.",
        failing_example: r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: shop
"#,
        passing_example: r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: shop
automountServiceAccountToken: false
"#,
    }
}

impl Rule for DefaultServiceAccount {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if object.group().is_empty()
            && object.kind == "ServiceAccount"
            && object.name.as_deref() == Some("default")
        {
            match manifest.value.get("automountServiceAccountToken") {
                Some(Value::Bool(false)) => {}
                None | Some(Value::Null) => out.push(Violation {
                    pointer: "/metadata/name".to_owned(),
                    message: "ServiceAccount \"default\" does not set \
automountServiceAccountToken: false, so its token is mounted into every pod that names no \
service account"
                        .to_owned(),
                }),
                Some(value) => out.push(Violation {
                    pointer: "/automountServiceAccountToken".to_owned(),
                    message: format!(
                        "ServiceAccount \"default\" sets automountServiceAccountToken to {value}, \
so its token is mounted into every pod that names no service account"
                    ),
                }),
            }
            return;
        }
        let Some(binding) = Binding::of(manifest) else {
            return;
        };
        let role = binding
            .role_ref()
            .map_or_else(|| "its role".to_owned(), |r| r.to_string());
        for subject in binding.subjects() {
            if subject.is("ServiceAccount", "default") {
                out.push(Violation {
                    pointer: subject.pointer(),
                    message: format!(
                        "{} grants {role} to {subject}, so every pod in that namespace that \
names no service account gets these permissions",
                        binding.label()
                    ),
                });
            }
        }
    }
}
