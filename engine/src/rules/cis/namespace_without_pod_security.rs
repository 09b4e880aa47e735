use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

declare_rule! {
    /// CIS 5.2.1 (as far as manifests show it): namespaces should enforce a Pod Security level.
    NamespaceWithoutPodSecurity {
        id: "KG404",
        name: "namespace-without-pod-security",
        title: "Namespaces should enforce a Pod Security level",
        severity: Low,
        category: Namespaces,
        scope: Object,
        since: "0.1.0",
        rationale: "CIS 5.2.1 asks for at least one active policy control mechanism. The built-in one \
is Pod Security Admission, switched on per namespace with the `pod-security.kubernetes.io/enforce` \
label. A namespace declared without it admits privileged pods unless a cluster-wide default or \
another admission webhook (kubegate's, for one) says otherwise, which manifests cannot show.",
        remediation: "Label the namespace `pod-security.kubernetes.io/enforce: restricted` (or \
`baseline`), optionally with `enforce-version`.",
        failing_example: r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
"#,
        passing_example: r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
"#,
    }
}

impl Rule for NamespaceWithoutPodSecurity {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        if object.group() != "" || object.kind != "Namespace" {
            return;
        }
        let name = object.name.as_deref().unwrap_or_default();
        if SYSTEM_NAMESPACES.contains(&name) {
            return;
        }
        let labels = crate::model::position::lookup(&cx.manifest.value, "/metadata/labels");
        let level = labels
            .and_then(|l| l.get(ENFORCE_LABEL))
            .and_then(Value::as_str);
        // Pod Security Admission reads an unknown enforce level as `restricted`.
        match level {
            Some("privileged") => out.push(Violation {
                pointer: crate::model::position::child_pointer("/metadata/labels", ENFORCE_LABEL),
                message: format!("namespace \"{name}\" enforces Pod Security level \"privileged\", which admits any pod"),
            }),
            Some(_) => {}
            None => out.push(Violation {
                pointer: "/metadata/labels".into(),
                message: format!("namespace \"{name}\" has no {ENFORCE_LABEL} label"),
            }),
        }
    }
}
