use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Containers without CPU and memory requests.
    ResourceRequests {
        id: "KG203",
        name: "resource-requests-missing",
        title: "Containers must set CPU and memory requests",
        severity: Medium,
        category: Resources,
        scope: Object,
        since: "0.1.0",
        rationale: "The scheduler places pods by their requests, not by what they use. A container \
without requests reserves nothing, so it lands on nodes that are already full; under memory \
pressure the kubelet evicts first the pods whose usage exceeds their requests, and a missing \
request counts as zero. A pod without any request or limit gets the BestEffort QoS class, the \
first to go. The HorizontalPodAutoscaler measures utilization as a share of the request and \
cannot scale on a resource that has none. A resource whose limit is set is not reported: \
Kubernetes then uses the limit as the request.",
        remediation: "Set `resources.requests.cpu` and `resources.requests.memory` on every container \
and init container, sized from observed usage (a limit alone also works: the request then \
equals it).",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:4.1.0
          resources:
            requests:
              cpu: 250m
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/api:4.1.0
          resources:
            requests:
              cpu: 250m
              memory: 256Mi
"#,
    }
}

impl Rule for ResourceRequests {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        // Ephemeral containers cannot have resources; only the other two lists are judged.
        for c in spec
            .containers()
            .filter(|c| c.field != "ephemeralContainers")
        {
            let set = |kind: &str, name: &str| {
                c.get(&["resources", kind, name])
                    .is_some_and(|v| !v.is_null())
            };
            // Without a request, Kubernetes copies the limit into it.
            let missing: Vec<&str> = ["cpu", "memory"]
                .into_iter()
                .filter(|r| !set("requests", r) && !set("limits", r))
                .collect();
            if missing.is_empty() {
                continue;
            }
            out.push(Violation {
                pointer: c.pointer("resources/requests"),
                message: format!("{} has no {} request", c.label(), missing.join(" or ")),
            });
        }
    }
}
