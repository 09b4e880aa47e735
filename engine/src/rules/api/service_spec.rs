use super::{shorten, syntax};
use crate::model::position::dotted;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

declare_rule! {
    /// Services the API server refuses although they pass schema validation.
    ServiceValidation {
        id: "KG013",
        name: "invalid-service",
        title: "Services must pass the API server's validation of type, ports and traffic policy",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "The API server validates a Service's spec as a whole (k8s.io/kubernetes \
`pkg/apis/core/validation`, `ValidateService`), and refuses it when: `type` is not \
`ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`; it has no ports (unless headless or \
ExternalName); a Service with several ports leaves one unnamed, or names two alike (names are \
DNS-1123 labels); a `port` or numeric `targetPort` is outside 1-65535, or a named `targetPort` \
is not an IANA service name; two ports share protocol and port; a `nodePort` is set on a \
ClusterIP Service; `clusterIP: None` is given to a NodePort or LoadBalancer Service; \
`externalTrafficPolicy` is set on a Service that is not externally accessible (not NodePort or \
LoadBalancer and without `externalIPs`); `sessionAffinity` is not `ClientIP` or `None`; \
LoadBalancer-only fields (`loadBalancerSourceRanges`, `loadBalancerClass`, \
`allocateLoadBalancerNodePorts`) appear on another type; an ExternalName Service has no valid \
`externalName`. See https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/.",
        remediation: "Fix the field named in the message; the message is the API server's own \
error for it.",
        failing_example: r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  externalTrafficPolicy: Local
  ports:
    - port: 80
      targetPort: 8080
    - port: 443
      targetPort: 8443
"#,
        passing_example: r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: LoadBalancer
  selector: {app: web}
  externalTrafficPolicy: Local
  ports:
    - name: http
      port: 80
      targetPort: 8080
    - name: https
      port: 443
      targetPort: https
"#,
    }
}

const TYPES: [&str; 4] = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];

fn push(out: &mut Vec<Violation>, pointer: String, detail: String) {
    let message = format!("{}: {detail}", dotted(&pointer));
    out.push(Violation { pointer, message });
}

fn check_ports(out: &mut Vec<Violation>, spec: &Map<String, Value>, kind: &str) {
    let ports = spec.get("ports").and_then(Value::as_array);
    let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
    let Some(ports) = ports.filter(|p| !p.is_empty()) else {
        if !headless && kind != "ExternalName" && spec.get("ports").is_none_or(Value::is_array) {
            out.push(Violation {
                pointer: "/spec".to_owned(),
                message: "spec.ports: Required value".to_owned(),
            });
        }
        return;
    };
    let mut names = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = format!("/spec/ports/{i}");
        let Some(port) = port.as_object() else { continue };
        match port.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            None if ports.len() > 1 => out.push(Violation {
                message: format!(
                    "{}.name: Required value (a Service with several ports must name each)",
                    dotted(&at)
                ),
                pointer: at.clone(),
            }),
            None => {}
            Some(name) => {
                let reasons = syntax::dns1123_label(name);
                if !reasons.is_empty() {
                    push(
                        out,
                        format!("{at}/name"),
                        format!("Invalid value: {:?}: {}", shorten(name), reasons.join(", ")),
                    );
                }
                if !names.insert(name) {
                    push(out, format!("{at}/name"), format!("Duplicate value: {name:?}"));
                }
            }
        }
        let number = port.get("port").and_then(Value::as_i64);
        if let Some(n) = number {
            if !syntax::port_number(n).is_empty() {
                push(
                    out,
                    format!("{at}/port"),
                    format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
                );
            }
        }
        let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
        if let Some(n) = number {
            if !keys.insert((protocol, n)) {
                push(
                    out,
                    at.clone(),
                    format!(
                        "Duplicate value: {protocol}/{n} (another port has the same protocol \
and port)"
                    ),
                );
            }
        }
        match port.get("targetPort") {
            Some(Value::Number(n)) => {
                if let Some(n) = n.as_i64() {
                    if n != 0 && !syntax::port_number(n).is_empty() {
                        push(
                            out,
                            format!("{at}/targetPort"),
                            format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
                        );
                    }
                }
            }
            Some(Value::String(name)) => {
                let reasons = syntax::port_name(name);
                if !reasons.is_empty() {
                    push(
                        out,
                        format!("{at}/targetPort"),
                        format!("Invalid value: {:?}: {}", shorten(name), reasons.join(", ")),
                    );
                }
            }
            _ => {}
        }
        let node_port = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 && kind == "ClusterIP" {
            push(
                out,
                format!("{at}/nodePort"),
                "Forbidden: may not be used when `type` is 'ClusterIP'".to_owned(),
            );
        }
    }
}

impl Rule for ServiceValidation {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if !(object.api_version == "v1" && object.kind == "Service") {
            return;
        }
        let Some(spec) = manifest.value.get("spec").and_then(Value::as_object) else {
            return;
        };
        let kind = match spec.get("type") {
            None | Some(Value::Null) => "ClusterIP",
            Some(Value::String(t)) if TYPES.contains(&t.as_str()) => t.as_str(),
            Some(Value::String(t)) => {
                push(
                    out,
                    "/spec/type".to_owned(),
                    format!(
                        "Unsupported value: {:?}: supported values: {}",
                        shorten(t),
                        TYPES.map(|t| format!("{t:?}")).join(", ")
                    ),
                );
                return;
            }
            Some(_) => return, // a wrong type is KG005's
        };
        check_ports(out, spec, kind);
        let str_field = |key: &str| spec.get(key).and_then(Value::as_str);
        if str_field("clusterIP") == Some("None") && matches!(kind, "NodePort" | "LoadBalancer") {
            push(
                out,
                "/spec/clusterIP".to_owned(),
                format!("Invalid value: \"None\": may not be set to 'None' for {kind} services"),
            );
        }
        let external_ips = spec
            .get("externalIPs")
            .and_then(Value::as_array)
            .is_some_and(|ips| !ips.is_empty());
        let externally_accessible =
            matches!(kind, "NodePort" | "LoadBalancer") || external_ips;
        if let Some(policy) = str_field("externalTrafficPolicy").filter(|p| !p.is_empty()) {
            if !externally_accessible {
                push(
                    out,
                    "/spec/externalTrafficPolicy".to_owned(),
                    format!(
                        "Invalid value: {:?}: may only be set for externally-accessible services \
(type NodePort or LoadBalancer, or with externalIPs; this Service is {kind})",
                        shorten(policy)
                    ),
                );
            } else if !matches!(policy, "Cluster" | "Local") {
                push(
                    out,
                    "/spec/externalTrafficPolicy".to_owned(),
                    format!(
                        "Unsupported value: {:?}: supported values: \"Cluster\", \"Local\"",
                        shorten(policy)
                    ),
                );
            }
        }
        if let Some(affinity) = str_field("sessionAffinity") {
            if !matches!(affinity, "ClientIP" | "None") {
                push(
                    out,
                    "/spec/sessionAffinity".to_owned(),
                    format!(
                        "Unsupported value: {:?}: supported values: \"ClientIP\", \"None\"",
                        shorten(affinity)
                    ),
                );
            }
        }
        if kind != "LoadBalancer" {
            for field in [
                "loadBalancerSourceRanges",
                "loadBalancerClass",
                "allocateLoadBalancerNodePorts",
            ] {
                if spec.get(field).is_some_and(|v| !v.is_null()) {
                    push(
                        out,
                        format!("/spec/{field}"),
                        "Forbidden: may only be used when `type` is 'LoadBalancer'".to_owned(),
                    );
                }
            }
        }
        if kind == "ExternalName" {
            match str_field("externalName") {
                None | Some("") => out.push(Violation {
                    pointer: "/spec".to_owned(),
                    message: "spec.externalName: Required value (an ExternalName Service names \
the host)"
                        .to_owned(),
                }),
                Some(name) => {
                    let host = name.strip_suffix('.').unwrap_or(name);
                    let reasons = syntax::dns1123_subdomain(host);
                    if !reasons.is_empty() {
                        push(
                            out,
                            "/spec/externalName".to_owned(),
                            format!("Invalid value: {:?}: {}", shorten(name), reasons.join(", ")),
                        );
                    }
                }
            }
        }
    }
}
