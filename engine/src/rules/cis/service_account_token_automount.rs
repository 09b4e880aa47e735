use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// A mounted service account token is an API credential in every container's filesystem.
    ServiceAccountTokenAutomount {
        id: "KG306",
        name: "service-account-token-automount",
        title: "Pods should mount a service account token only when they use the API",
        severity: Low,
        category: Rbac,
        scope: WholeInput,
        since: "0.1.0",
        rationale: "Unless told otherwise, Kubernetes mounts the pod's service account token into \
every container. Most applications never call the Kubernetes API, yet anyone who gets code \
execution in them can use the token with all of the account's permissions. The pod spec's \
`automountServiceAccountToken` decides when set; when it is unset, the ServiceAccount's field \
decides. A ServiceAccount that is not in the input is assumed to mount (the Kubernetes default). \
CIS 5.1.6 asks to mount tokens only where necessary.",
        remediation: "Set `automountServiceAccountToken: false` in the pod spec, or on the \
ServiceAccount the pod uses. Pods that do call the API keep the token and run as their own \
ServiceAccount with a narrow role.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27.2
"#,
        passing_example: r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: nginx:1.27.2
"#,
    }
}

const FIELD: &str = "automountServiceAccountToken";

impl Rule for ServiceAccountTokenAutomount {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        // `serviceAccount` is the deprecated spelling Kubernetes still honours.
        let account = ["serviceAccountName", "serviceAccount"]
            .into_iter()
            .filter_map(|f| spec.spec.get(f).and_then(Value::as_str))
            .find(|name| !name.is_empty())
            .unwrap_or("default");
        let consequence = "its API token is mounted into every container";
        match spec.spec.get(FIELD) {
            Some(Value::Bool(false)) => {}
            None | Some(Value::Null) => {
                let found = cx.inventory.find(
                    "",
                    "ServiceAccount",
                    manifest.object.namespace.as_deref(),
                    account,
                );
                let why = match found.map(|sa| sa.value.get(FIELD)) {
                    Some(Some(Value::Bool(false))) => return,
                    None => format!("ServiceAccount {account:?} is not in the input"),
                    Some(None | Some(Value::Null)) => {
                        format!("ServiceAccount {account:?} does not set it to false either")
                    }
                    Some(Some(value)) => format!("ServiceAccount {account:?} sets it to {value}"),
                };
                out.push(Violation {
                    pointer: spec.pointer.to_owned(),
                    message: format!(
                        "pod spec does not set {FIELD}: false and {why}, so {consequence}"
                    ),
                });
            }
            Some(value) => out.push(Violation {
                pointer: spec.field_pointer(FIELD),
                message: format!(
                    "pod spec sets {FIELD} to {value} for ServiceAccount {account:?}, so \
{consequence}"
                ),
            }),
        }
    }
}
