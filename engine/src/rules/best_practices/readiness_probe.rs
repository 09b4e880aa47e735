use super::liveness_probe::check_probe;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// Long-running containers without a readiness probe.
    ReadinessProbe {
        id: "KG205",
        name: "readiness-probe-missing",
        title: "Long-running containers should have a readiness probe",
        severity: Low,
        category: Reliability,
        scope: Object,
        since: "0.1.0",
        rationale: "Without a readiness probe a pod counts as ready as soon as its containers have \
started: Services send it requests while it is still loading, and a rolling update removes \
old pods as soon as new ones start, so a release that starts but cannot serve replaces every \
replica. A readiness probe also takes a pod out of its Services while it is overloaded, without \
restarting it. kubegate judges the same containers as KG204: the regular containers of Pods \
(unless their `restartPolicy` is `Never` or `OnFailure`), Deployments, StatefulSets, \
DaemonSets, ReplicaSets, ReplicationControllers and OpenShift DeploymentConfigs; not Jobs, CronJobs or native sidecars \
(init containers with `restartPolicy: Always`).",
        remediation: "Add a `readinessProbe` to each container that checks the container can serve \
now (an HTTP or gRPC endpoint, a TCP port), separate from the liveness check.",
        failing_example: r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: search
spec:
  serviceName: search
  replicas: 3
  selector:
    matchLabels: {app: search}
  template:
    metadata:
      labels: {app: search}
    spec:
      containers:
        - name: search
          image: registry.example.com/search:8.14.1
          livenessProbe:
            tcpSocket: {port: 9200}
"#,
        passing_example: r#"apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: search
spec:
  serviceName: search
  replicas: 3
  selector:
    matchLabels: {app: search}
  template:
    metadata:
      labels: {app: search}
    spec:
      containers:
        - name: search
          image: registry.example.com/search:8.14.1
          livenessProbe:
            tcpSocket: {port: 9200}
          readinessProbe:
            httpGet: {path: /_cluster/health, port: 9200}
"#,
    }
}

impl Rule for ReadinessProbe {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        check_probe(
            cx,
            "readinessProbe",
            "it is sent traffic as soon as it starts, ready or not",
            out,
        );
    }
}
