use crate::model::manifest::Manifest;
use crate::rules::best_practices::selection::namespace_phrase;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// An Ingress backend naming a Service, or a Service port, that the input does not define.
    IngressBackend {
        id: "KG214",
        name: "ingress-backend-missing",
        title: "An Ingress backend should name a Service and port of the input",
        severity: Medium,
        category: Reliability,
        scope: WholeInput,
        since: "0.2.0",
        rationale: "An Ingress routes each path to a backend Service and one of its ports. When the \
Service does not exist, or has no such port, the ingress controller answers 503 (or 404) for \
that path, and the API server accepted the Ingress without complaint: it does not check \
references. The usual causes are a Service renamed on one side only, a port referred to by a \
number while the Service exposes another, or a port name that differs. kubegate follows every \
backend of `networking.k8s.io/v1` Ingresses (`spec.defaultBackend` and each \
`spec.rules[].http.paths[].backend`; `service.port.number` against the Service's \
`spec.ports[].port`, `service.port.name` against its port names) and of the removed \
`v1beta1` versions (`serviceName`/`servicePort`) to the Services of the input in the same \
namespace. `resource` backends are not judged. A Service deployed elsewhere is not visible: \
exempt the Ingress. kube-linter calls this check `non-existent-service` (for Ingresses).",
        remediation: "Point the backend at the Service's name and at a port the Service \
exposes (`spec.ports[].port`, or its `name`), or add the Service to the input.",
        failing_example: r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port: {number: 8080}
"#,
        passing_example: r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports:
    - name: http
      port: 80
      targetPort: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port: {name: http}
"#,
    }
}

/// How a backend refers to its Service's port.
enum PortRef<'a> {
    Number(u64),
    Name(&'a str),
    Unset,
}

/// One backend: where its Service reference is, the name, and the port.
struct Backend<'a> {
    /// Pointer of the backend object.
    at: String,
    service: &'a str,
    /// Field names under `at` for the name and the port (they differ by version).
    name_field: &'static str,
    port_field: &'static str,
    port: PortRef<'a>,
}

fn backend_at<'a>(value: &'a Value, at: String) -> Option<Backend<'a>> {
    let backend = crate::model::position::lookup(value, &at)?;
    if let Some(service) = backend.get("service") {
        // networking.k8s.io/v1
        let name = service.get("name")?.as_str()?;
        let port = service.get("port");
        let port = match (
            port.and_then(|p| p.get("number")).and_then(Value::as_u64),
            port.and_then(|p| p.get("name")).and_then(Value::as_str),
        ) {
            (Some(n), _) => PortRef::Number(n),
            (None, Some(n)) => PortRef::Name(n),
            (None, None) => PortRef::Unset,
        };
        let port_field = match port {
            PortRef::Number(_) => "/service/port/number",
            PortRef::Name(_) => "/service/port/name",
            PortRef::Unset => "/service",
        };
        return Some(Backend {
            at,
            service: name,
            name_field: "/service/name",
            port_field,
            port,
        });
    }
    // extensions/v1beta1 and networking.k8s.io/v1beta1: servicePort is an int-or-string.
    let name = backend.get("serviceName")?.as_str()?;
    let port = match backend.get("servicePort") {
        Some(Value::Number(n)) => n.as_u64().map_or(PortRef::Unset, PortRef::Number),
        Some(Value::String(s)) => match s.parse::<u64>() {
            Ok(n) => PortRef::Number(n),
            Err(_) => PortRef::Name(s),
        },
        _ => PortRef::Unset,
    };
    Some(Backend {
        at,
        service: name,
        name_field: "/serviceName",
        port_field: "/servicePort",
        port,
    })
}

/// Every Service backend of an Ingress, in document order.
fn backends(value: &Value) -> Vec<Backend<'_>> {
    let mut out = Vec::new();
    // v1 `defaultBackend`, v1beta1 `backend`.
    for field in ["defaultBackend", "backend"] {
        out.extend(backend_at(value, format!("/spec/{field}")));
    }
    let rules = value
        .get("spec")
        .and_then(|s| s.get("rules"))
        .and_then(Value::as_array);
    for (r, rule) in rules.into_iter().flatten().enumerate() {
        let paths = rule
            .get("http")
            .and_then(|h| h.get("paths"))
            .and_then(Value::as_array);
        for (p, _) in paths.into_iter().flatten().enumerate() {
            out.extend(backend_at(
                value,
                format!("/spec/rules/{r}/http/paths/{p}/backend"),
            ));
        }
    }
    out
}

/// `80 (http), 443` — a Service's ports for messages.
fn ports_phrase(ports: &[(Option<u64>, Option<&str>)]) -> String {
    if ports.is_empty() {
        return "no ports".to_owned();
    }
    let listed: Vec<String> = ports
        .iter()
        .map(|(number, name)| match (number, name) {
            (Some(n), Some(name)) => format!("{n} ({name})"),
            (Some(n), None) => n.to_string(),
            (None, Some(name)) => format!("({name})"),
            (None, None) => "?".to_owned(),
        })
        .collect();
    format!("ports {}", listed.join(", "))
}

impl Rule for IngressBackend {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest: &Manifest = cx.manifest;
        let object = &manifest.object;
        if object.kind != "Ingress" || !matches!(object.group(), "networking.k8s.io" | "extensions")
        {
            return;
        }
        let namespace = object.namespace.as_deref();
        for backend in backends(&manifest.value) {
            let Some(service) = cx.inventory.find("", "Service", namespace, backend.service) else {
                out.push(Violation {
                    pointer: format!("{}{}", backend.at, backend.name_field),
                    message: format!(
                        "the backend names Service {:?}, but {} of the input has no such \
                         Service, so the ingress controller cannot route this traffic",
                        backend.service,
                        namespace_phrase(namespace),
                    ),
                });
                continue;
            };
            let ports: Vec<(Option<u64>, Option<&str>)> = service
                .value
                .get("spec")
                .and_then(|s| s.get("ports"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p.get("port").and_then(Value::as_u64),
                        p.get("name").and_then(Value::as_str),
                    )
                })
                .collect();
            let (found, wanted) = match backend.port {
                PortRef::Number(n) => (ports.iter().any(|(p, _)| *p == Some(n)), n.to_string()),
                PortRef::Name(name) => (
                    ports.iter().any(|(_, p)| *p == Some(name)),
                    format!("{name:?}"),
                ),
                // The schema (KG005) reports a backend without a port.
                PortRef::Unset => continue,
            };
            if !found {
                out.push(Violation {
                    pointer: format!("{}{}", backend.at, backend.port_field),
                    message: format!(
                        "the backend sends traffic to port {wanted} of Service {:?}, which has \
                         {}",
                        backend.service,
                        ports_phrase(&ports),
                    ),
                });
            }
        }
    }
}
