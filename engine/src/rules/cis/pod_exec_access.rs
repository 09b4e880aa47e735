use crate::rules::cis::rbac_match::{report_grants, Access, Verbs, CORE_GROUP};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// `pods/exec`, `pods/attach`, `pods/portforward` and `pods/proxy` reach into running pods.
    PodExecAccess {
        id: "KG314",
        name: "pod-exec-access",
        title: "Roles should not grant exec, attach, port-forward or proxy into pods",
        severity: Medium,
        category: Rbac,
        scope: Object,
        since: "0.2.0",
        rationale: "`create` on `pods/exec` (`kubectl exec`) runs any command in any container the \
role reaches, with the container's service account token, mounted Secrets and network access; \
`pods/attach` attaches to a running process, `pods/portforward` opens the pod's ports to the \
client past every NetworkPolicy, and `pods/proxy` sends HTTP requests to them. Each turns \
read access to a namespace into code execution or data access inside it, and the audit log \
records only that a session was opened. A streaming request sent as a POST (SPDY) is \
authorized as `create`; one opened as a WebSocket (an HTTP GET, what newer `kubectl` uses) is \
authorized as `get`; so kubegate reports rules granting either verb (or `*`). This is an RBAC \
hygiene rule kept with the CIS RBAC checks; no CIS control names it.",
        remediation: "Keep exec and port-forward to break-glass roles bound for a limited time; \
give developers logs (`pods/log`) and metrics instead.",
        failing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: developer
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [pods, pods/log, pods/exec]
    verbs: [get, list, create]
"#,
        passing_example: r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: developer
  namespace: shop
rules:
  - apiGroups: [""]
    resources: [pods, pods/log]
    verbs: [get, list]
"#,
    }
}

const ACCESS: Access = Access {
    verbs: Verbs::OneOf(&["create", "get"]),
    group: CORE_GROUP,
    resources: &["pods/exec", "pods/attach", "pods/portforward", "pods/proxy"],
};

impl Rule for PodExecAccess {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        report_grants(
            cx.manifest,
            &ACCESS,
            "subjects bound to it can run commands in, attach to or open connections into the pods in scope",
            out,
        );
    }
}
