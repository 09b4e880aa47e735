use crate::rules::cis::rbac_match::{report_grants, Access, Verbs};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Approving certificate signing requests mints credentials.
    CsrApprovalAccess {
        id: "KG311",
        name: "csr-approval-access",
        title: "Roles should not grant approving certificate signing requests",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "Updating `certificatesigningrequests/approval` approves CSRs. With a client \
signer, an approved CSR becomes a certificate for whatever user and groups the request names, \
so a subject that can approve its own request can authenticate as anyone. CIS 5.1.11 asks to \
minimize this access.",
        remediation: "Leave CSR approval to the controllers built for it (kubelet serving and client \
certificates) and remove `certificatesigningrequests/approval` from the rule.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: csr-approver
rules:
  - apiGroups: [certificates.k8s.io]
    resources: [certificatesigningrequests/approval]
    verbs: [update]
  - apiGroups: [certificates.k8s.io]
    resources: [signers]
    resourceNames: [kubernetes.io/kube-apiserver-client]
    verbs: [approve]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: csr-viewer
rules:
  - apiGroups: [certificates.k8s.io]
    resources: [certificatesigningrequests]
    verbs: [get, list, watch]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["update", "patch"]),
    group: "certificates.k8s.io",
    resources: &["certificatesigningrequests/approval"],
};

impl Rule for CsrApprovalAccess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "approving CSRs can mint client certificates for any user or group",
            out,
        );
    }
}
