use crate::model::workload::{pod_spec, CONTAINER_FIELDS};
use crate::rules::best_practices::selection::{kind_name, namespace_phrase};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::{Map, Value};

declare_rule! {
    /// A workload that names a ServiceAccount, ConfigMap or Secret the input does not define.
    MissingReference {
        id: "KG220",
        name: "missing-reference",
        title: "ServiceAccounts, ConfigMaps and Secrets a workload names should be in the input",
        severity: Medium,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "The API server accepts a pod that names a ServiceAccount, ConfigMap or \
Secret that does not exist; the failure comes later and elsewhere: a missing ServiceAccount \
stops the ReplicaSet from creating pods at all (`FailedCreate`), a missing ConfigMap or Secret \
leaves the pod in `CreateContainerConfigError` or `ContainerCreating`, a missing image pull \
secret in `ImagePullBackOff` for private images. kubegate follows every reference of the pod \
template: `serviceAccountName` (and the deprecated `serviceAccount`), `env[].valueFrom` \
`configMapKeyRef`/`secretKeyRef`, `envFrom[]` `configMapRef`/`secretRef`, `configMap`, \
`secret` and `projected` volumes, and `imagePullSecrets`, to the objects of the input in the \
same namespace. Not reported: references marked `optional: true`, the `default` \
ServiceAccount and the `kube-root-ca.crt` ConfigMap (Kubernetes creates both in every \
namespace), and Secrets a `SealedSecret` (bitnami.com) or `ExternalSecret` \
(external-secrets.io) of the input with the same name produces. Most repositories hold only \
part of what runs (Secrets in particular are usually created elsewhere), so by default these \
findings are advisory notes: shown, never failing the run. Declare that the input is complete \
(`--complete-input`, or `completeInput: true` in the configuration) to report them at their \
severity.",
        remediation: "Add the object to the input, fix the name, or mark the reference \
`optional: true` when the pod can run without it.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: registry.example.com/api:2.1.0
          envFrom:
            - configMapRef: {name: api-settings}
"#,
        passing_example: r#"apiVersion: v1
kind: ServiceAccount
metadata:
  name: api
  namespace: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-settings
  namespace: shop
data:
  LOG_LEVEL: info
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: registry.example.com/api:2.1.0
          envFrom:
            - configMapRef: {name: api-settings}
"#,
    }
}

/// What a reference names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    ServiceAccount,
    ConfigMap,
    Secret,
}

impl Target {
    fn kind(self) -> &'static str {
        match self {
            Target::ServiceAccount => "ServiceAccount",
            Target::ConfigMap => "ConfigMap",
            Target::Secret => "Secret",
        }
    }
}

/// One reference of a pod template: what it names, where.
struct Reference<'a> {
    target: Target,
    name: &'a str,
    pointer: String,
}

/// Pushes the reference at `object`'s `name_key` unless it is `optional: true`.
fn push<'a>(
    out: &mut Vec<Reference<'a>>,
    target: Target,
    object: Option<&'a Value>,
    name_key: &str,
    pointer: String,
) {
    let Some(object) = object.and_then(Value::as_object) else {
        return;
    };
    if object.get("optional") == Some(&Value::Bool(true)) {
        return;
    }
    if let Some(name) = object.get(name_key).and_then(Value::as_str) {
        out.push(Reference {
            target,
            name,
            pointer: format!("{pointer}/{name_key}"),
        });
    }
}

/// Every reference of a pod spec, in document order.
fn references<'a>(spec: &'a Map<String, Value>, at: &str) -> Vec<Reference<'a>> {
    let mut out = Vec::new();
    for key in ["serviceAccountName", "serviceAccount"] {
        if let Some(name) = spec.get(key).and_then(Value::as_str) {
            out.push(Reference {
                target: Target::ServiceAccount,
                name,
                pointer: format!("{at}/{key}"),
            });
            // The API server keeps the two equal; one finding is enough.
            break;
        }
    }
    let array = |value: Option<&'a Value>| value.and_then(Value::as_array).into_iter().flatten();
    for (i, secret) in array(spec.get("imagePullSecrets")).enumerate() {
        push(&mut out, Target::Secret, Some(secret), "name", format!("{at}/imagePullSecrets/{i}"));
    }
    for field in CONTAINER_FIELDS {
        for (c, container) in array(spec.get(field)).enumerate() {
            let base = format!("{at}/{field}/{c}");
            for (e, env) in array(container.get("env")).enumerate() {
                let from = env.get("valueFrom");
                let here = format!("{base}/env/{e}/valueFrom");
                push(&mut out, Target::ConfigMap, from.and_then(|f| f.get("configMapKeyRef")), "name", format!("{here}/configMapKeyRef"));
                push(&mut out, Target::Secret, from.and_then(|f| f.get("secretKeyRef")), "name", format!("{here}/secretKeyRef"));
            }
            for (e, from) in array(container.get("envFrom")).enumerate() {
                let here = format!("{base}/envFrom/{e}");
                push(&mut out, Target::ConfigMap, from.get("configMapRef"), "name", format!("{here}/configMapRef"));
                push(&mut out, Target::Secret, from.get("secretRef"), "name", format!("{here}/secretRef"));
            }
        }
    }
    for (v, volume) in array(spec.get("volumes")).enumerate() {
        let here = format!("{at}/volumes/{v}");
        push(&mut out, Target::ConfigMap, volume.get("configMap"), "name", format!("{here}/configMap"));
        push(&mut out, Target::Secret, volume.get("secret"), "secretName", format!("{here}/secret"));
        let sources = volume.get("projected").and_then(|p| p.get("sources"));
        for (s, source) in array(sources).enumerate() {
            let here = format!("{here}/projected/sources/{s}");
            push(&mut out, Target::ConfigMap, source.get("configMap"), "name", format!("{here}/configMap"));
            push(&mut out, Target::Secret, source.get("secret"), "name", format!("{here}/secret"));
        }
    }
    out
}

/// Whether Kubernetes itself creates the object in every namespace.
fn built_in(target: Target, name: &str) -> bool {
    matches!(
        (target, name),
        (Target::ServiceAccount, "default") | (Target::ConfigMap, "kube-root-ca.crt")
    )
}

impl Rule for MissingReference {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        // A PodTemplate describes pods; it runs none.
        if manifest.object.kind == "PodTemplate" {
            return;
        }
        let namespace = manifest.object.namespace.as_deref();
        let defined = |target: Target, name: &str| {
            let find = |group: &str, kind: &str| cx.inventory.find(group, kind, namespace, name).is_some();
            built_in(target, name)
                || find("", target.kind())
                || (target == Target::Secret
                    && (find("bitnami.com", "SealedSecret")
                        || find("external-secrets.io", "ExternalSecret")))
        };
        let mut reported: Vec<(Target, &str)> = Vec::new();
        for reference in references(spec.spec, spec.pointer) {
            if defined(reference.target, reference.name)
                || reported.contains(&(reference.target, reference.name))
            {
                continue;
            }
            reported.push((reference.target, reference.name));
            out.push(Violation {
                pointer: reference.pointer,
                message: format!(
                    "{} uses {} {:?}, which {} of the input does not define",
                    kind_name(manifest),
                    reference.target.kind(),
                    reference.name,
                    namespace_phrase(namespace),
                ),
            });
        }
    }

    fn advisory(&self, cx: &Context<'_>) -> bool {
        !cx.settings.complete_input
    }
}
