use crate::rules::cis::rbac_match::{report_grants, Access, Verbs};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Admission webhooks see, and may rewrite or block, the objects sent to the API server.
    WebhookConfigAccess {
        id: "KG312",
        name: "webhook-config-access",
        title: "Roles should not grant changing admission webhook configurations",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "Whoever writes a ValidatingWebhookConfiguration or MutatingWebhookConfiguration \
decides which service receives API requests: it can read every object sent, Secrets included, \
rewrite pods as they are created, or delete the policy webhooks that guard the cluster. CIS \
5.1.12 asks to minimize this access.",
        remediation: "Keep create, update, patch and delete on webhook configurations to the \
operators that install their own webhooks; others need `get`, `list` and `watch` at most.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: cert-injector
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
    verbs: [get, list, watch, update, patch]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: webhook-viewer
rules:
  - apiGroups: [admissionregistration.k8s.io]
    resources: [validatingwebhookconfigurations, mutatingwebhookconfigurations]
    verbs: [get, list, watch]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["create", "update", "patch", "delete"]),
    group: "admissionregistration.k8s.io",
    resources: &[
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
    ],
};

impl Rule for WebhookConfigAccess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "admission webhooks receive the objects sent to the API server, Secrets included, and can rewrite or block them",
            out,
        );
    }
}
