use crate::rules::cis::rbac_match::Binding;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Members of `system:masters` bypass RBAC entirely; nothing should rely on the group.
    SystemMastersBinding {
        id: "KG307",
        name: "system-masters-binding",
        title: "Bindings should not name the system:masters group",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "The API server grants members of `system:masters` every permission without \
consulting RBAC, and the membership comes from client certificates, which cannot be revoked \
before they expire. A binding that names the group suggests credentials are being issued into \
it. CIS 5.1.7 asks to avoid the group. The built-in `cluster-admin` ClusterRoleBinding, which \
Kubernetes creates for this group itself, is not reported.",
        remediation: "Bind an ordinary group or user from your identity provider to the role it \
needs, and issue no certificates with organization `system:masters` beyond the break-glass one.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: platform-admins
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: admin
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:masters
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: platform-admins
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: admin
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: platform-admins
"#,
    }
}

impl Rule for SystemMastersBinding {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(binding) = Binding::of(cx.manifest) else {
            return;
        };
        if binding.is_builtin_cluster_admin() {
            return;
        }
        for subject in binding.subjects() {
            if subject.is("Group", "system:masters") {
                out.push(Violation {
                    pointer: subject.pointer(),
                    message: format!(
                        "{} names group \"system:masters\", whose members bypass RBAC and \
cannot be removed before their certificates expire",
                        binding.label()
                    ),
                });
            }
        }
    }
}
