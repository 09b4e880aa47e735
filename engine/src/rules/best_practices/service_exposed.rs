use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Services reachable from outside the cluster network.
    ServiceExposed {
        id: "KG209",
        name: "service-exposed",
        title: "NodePort and LoadBalancer Services expose workloads outside the cluster",
        severity: Low,
        category: Exposure,
        scope: Object,
        since: "0.1.0",
        rationale: "A NodePort Service opens its port on every node's address, whichever nodes run \
its pods, and bypasses the Ingress or gateway where TLS, authentication and rate limits usually \
live. A LoadBalancer Service asks the cloud provider for a load balancer, often with a public \
address, and by default opens node ports as well (unless `allocateLoadBalancerNodePorts: \
false`). That is often intended, so this finding is for awareness: each one should be a \
decision. kubegate does not interpret provider annotations that make a load balancer internal; \
exempt such a Service with the reason.",
        remediation: "Use a ClusterIP Service behind an Ingress or Gateway for HTTP traffic. Where a \
NodePort or LoadBalancer Service is needed, restrict it (`loadBalancerSourceRanges`, an internal \
load balancer, firewall rules) and record the decision with an exemption annotation.",
        failing_example: r#"apiVersion: v1
kind: Service
metadata:
  name: admin
  namespace: shop
spec:
  type: NodePort
  selector: {app: admin}
  ports:
    - name: http
      port: 80
      targetPort: 8080
      nodePort: 30080
"#,
        passing_example: r#"apiVersion: v1
kind: Service
metadata:
  name: admin
  namespace: shop
spec:
  type: ClusterIP
  selector: {app: admin}
  ports:
    - name: http
      port: 80
      targetPort: 8080
"#,
    }
}

/// `80/TCP`, with ` (node port 30080)` when `node_ports` and one is given.
fn describe_port(port: &Value, node_ports: bool) -> Option<String> {
    let number = port.get("port")?.as_u64()?;
    let protocol = port
        .get("protocol")
        .and_then(Value::as_str)
        .unwrap_or("TCP");
    let node_port = port
        .get("nodePort")
        .and_then(Value::as_u64)
        .filter(|_| node_ports);
    Some(match node_port {
        Some(n) => format!("{number}/{protocol} (node port {n})"),
        None => format!("{number}/{protocol}"),
    })
}

impl Rule for ServiceExposed {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        if !object.group().is_empty() || object.kind != "Service" {
            return;
        }
        let Some(spec) = manifest.value.get("spec") else {
            return;
        };
        let Some(service_type @ ("NodePort" | "LoadBalancer")) =
            spec.get("type").and_then(Value::as_str)
        else {
            return;
        };
        let node_port = service_type == "NodePort";
        let ports: Vec<String> = spec
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| describe_port(p, node_port))
            .collect();
        let ports = match ports.as_slice() {
            [] => "its ports are".to_owned(),
            [one] => format!("port {one} is"),
            many => format!("ports {} are", many.join(", ")),
        };
        let how = if node_port {
            "open on every node's address".to_owned()
        } else {
            let ranges: Vec<&str> = spec
                .get("loadBalancerSourceRanges")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if ranges.is_empty() {
                "exposed through an external load balancer".to_owned()
            } else {
                format!(
                    "exposed through an external load balancer to {}",
                    ranges.join(", ")
                )
            }
        };
        out.push(Violation {
            pointer: "/spec/type".to_owned(),
            message: format!(
                "Service {:?} has type {service_type}: {ports} {how}",
                object.name.as_deref().unwrap_or("<unnamed>")
            ),
        });
    }
}
