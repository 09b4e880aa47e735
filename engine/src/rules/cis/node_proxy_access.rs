use crate::rules::cis::rbac_match::{report_grants, Access, Verbs, CORE_GROUP};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// `nodes/proxy` is a direct line to every kubelet's API.
    NodeProxyAccess {
        id: "KG310",
        name: "node-proxy-access",
        title: "Roles should not grant access to the nodes/proxy subresource",
        severity: High,
        category: Rbac,
        scope: Object,
        since: "0.1.0",
        rationale: "Requests to `nodes/proxy` are passed to the node's kubelet API, which can run \
commands in any container on that node. They skip admission control and the API server's audit \
log records only the proxy call, not what it did. CIS 5.1.10 asks to minimize this access.",
        remediation: "Read node and pod metrics through `nodes/metrics`, `nodes/stats` or the \
metrics API instead, and remove `nodes/proxy` from the rule.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metrics-scraper
rules:
  - apiGroups: [""]
    resources: [nodes, nodes/proxy, nodes/metrics]
    verbs: [get, list, watch]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: metrics-scraper
rules:
  - apiGroups: [""]
    resources: [nodes, nodes/metrics]
    verbs: [get, list, watch]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::Any,
    group: CORE_GROUP,
    resources: &["nodes/proxy"],
};

impl Rule for NodeProxyAccess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "nodes/proxy reaches the kubelet API, which runs commands in any container on the node without admission or a useful audit trail",
            out,
        );
    }
}
