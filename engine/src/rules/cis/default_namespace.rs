use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// The `default` namespace is where everything without a home ends up.
    DefaultNamespace {
        id: "KG403",
        name: "default-namespace",
        title: "Objects should not be placed in the default namespace",
        severity: Low,
        category: Namespaces,
        scope: Object,
        since: "0.1.0",
        rationale: "Namespaces are the boundary for RBAC, NetworkPolicies, quotas and Pod Security \
levels. `default` is shared by everything deployed without a namespace, so policies scoped to \
it cannot fit any one application, and access granted there reaches all of them. CIS 5.7.4 \
says the default namespace should not be used. Only an explicit `metadata.namespace: default` \
is reported: objects without a namespace get one when they are applied (Helm, kustomize, \
`kubectl -n`). What Kubernetes itself keeps in `default` is not reported: the `kubernetes` \
Service, and the `default` ServiceAccount and `kube-root-ca.crt` ConfigMap that exist in every \
namespace (manifests often patch them, e.g. to turn off token automounting).",
        remediation: "Create a namespace for the application and set `metadata.namespace` to it, \
or leave the field out and choose the namespace at deploy time.",
        failing_example: r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: default
data:
  LOG_LEVEL: info
"#,
        passing_example: r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  LOG_LEVEL: info
"#,
    }
}

impl Rule for DefaultNamespace {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        if object.namespace.as_deref() != Some("default") {
            return;
        }
        // Objects Kubernetes creates in `default` itself: declaring them there is no choice.
        let builtin = object.group().is_empty()
            && matches!(
                (object.kind.as_str(), object.name.as_deref()),
                ("Service", Some("kubernetes"))
                    | ("ServiceAccount", Some("default"))
                    | ("ConfigMap", Some("kube-root-ca.crt"))
            );
        if builtin {
            return;
        }
        out.push(Violation {
            pointer: "/metadata/namespace".to_owned(),
            message: format!(
                "{} {:?} is placed in the default namespace, which every unscoped deployment \
shares; give the application its own namespace",
                object.kind,
                object.name.as_deref().unwrap_or("<unnamed>")
            ),
        });
    }
}
