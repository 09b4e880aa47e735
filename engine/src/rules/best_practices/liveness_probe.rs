use crate::model::manifest::Manifest;
use crate::model::workload::{pod_spec, PodSpec};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Long-running containers without a liveness probe.
    LivenessProbe {
        id: "KG204",
        name: "liveness-probe-missing",
        title: "Long-running containers should have a liveness probe",
        severity: Low,
        category: Reliability,
        scope: Object,
        since: "0.1.0",
        rationale: "The kubelet restarts a container when its process exits, but not when it hangs: \
a deadlocked server or an exhausted worker pool keeps running, and keeps its place, until \
someone notices. A liveness probe lets the kubelet detect that and restart the container. \
kubegate judges the regular containers of pods that run until stopped: Pods (unless their \
`restartPolicy` is `Never` or `OnFailure`), Deployments, StatefulSets, DaemonSets, ReplicaSets, \
ReplicationControllers and OpenShift DeploymentConfigs. Jobs and CronJobs run to completion and \
are not judged. Init \
containers with `restartPolicy: Always` (native sidecars) are not judged either: they are \
helpers such as proxies and log shippers, usually supplied and health-checked by the tool that \
provides them; Kubernetes does run their probes, so add one if a sidecar of your own can hang.",
        remediation: "Add a `livenessProbe` to each container: an HTTP, gRPC, TCP or exec check that \
fails only when a restart would help (not when a dependency is down), with an \
`initialDelaySeconds` or a `startupProbe` that covers the slowest start.",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  replicas: 3
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      containers:
        - name: checkout
          image: registry.example.com/checkout:2.3.0
          ports:
            - containerPort: 8080
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
spec:
  replicas: 3
  selector:
    matchLabels: {app: checkout}
  template:
    metadata:
      labels: {app: checkout}
    spec:
      containers:
        - name: checkout
          image: registry.example.com/checkout:2.3.0
          ports:
            - containerPort: 8080
          livenessProbe:
            httpGet: {path: /healthz, port: 8080}
            periodSeconds: 10
"#,
    }
}

/// The pod spec of an object whose pods run until they are stopped; `None` for Jobs,
/// CronJobs, run-to-completion Pods and kinds without pods.
fn long_running_pod_spec(manifest: &Manifest) -> Option<PodSpec<'_>> {
    let object = &manifest.object;
    let long_running = matches!(
        (object.group(), object.kind.as_str()),
        ("", "Pod" | "ReplicationController")
            | (
                "apps" | "extensions",
                "Deployment" | "DaemonSet" | "ReplicaSet"
            )
            | ("apps", "StatefulSet")
            | ("apps.openshift.io", "DeploymentConfig")
    );
    if !long_running {
        return None;
    }
    let spec = pod_spec(manifest)?;
    let restart = spec.spec.get("restartPolicy").and_then(Value::as_str);
    if matches!(restart, Some("Never" | "OnFailure")) {
        return None;
    }
    Some(spec)
}

/// Reports the regular containers of long-running pods that lack `probe`; `consequence`
/// completes the message.
pub(super) fn check_probe(
    cx: &Context<'_>,
    probe: &str,
    consequence: &str,
    out: &mut Vec<Violation>,
) {
    let Some(spec) = long_running_pod_spec(cx.manifest) else {
        return;
    };
    for c in spec.containers().filter(|c| c.field == "containers") {
        if matches!(c.value.get(probe), None | Some(Value::Null)) {
            out.push(Violation {
                pointer: c.pointer(probe),
                message: format!("{} has no {probe}, so {consequence}", c.label()),
            });
        }
    }
}

impl Rule for LivenessProbe {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        check_probe(
            cx,
            "livenessProbe",
            "the kubelet restarts it only when it exits, never when it hangs",
            out,
        );
    }
}
