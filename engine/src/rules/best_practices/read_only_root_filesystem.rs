use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Containers whose root filesystem is writable.
    ReadOnlyRootFilesystem {
        id: "KG207",
        name: "read-only-root-filesystem",
        title: "Containers should run with a read-only root filesystem",
        severity: Low,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "With a writable root filesystem, an attacker who gets code execution in a \
container can drop tools and binaries into it, replace the application's files or plant a \
backdoor that survives until the container is recreated; a buggy application can fill the \
node's disk through it. A read-only root filesystem confines writes to the volumes the pod \
declares. Containers and init containers are judged; ephemeral debugging containers are not. \
Windows pods are skipped: Kubernetes does not allow the field there.",
        remediation: "Set `securityContext.readOnlyRootFilesystem: true` on every container and \
mount an `emptyDir` volume at each path the application must write (`/tmp`, caches, PID \
files).",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 2
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      containers:
        - name: frontend
          image: registry.example.com/frontend:5.0.3
          securityContext:
            allowPrivilegeEscalation: false
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  replicas: 2
  selector:
    matchLabels: {app: frontend}
  template:
    metadata:
      labels: {app: frontend}
    spec:
      containers:
        - name: frontend
          image: registry.example.com/frontend:5.0.3
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir: {}
"#,
    }
}

impl Rule for ReadOnlyRootFilesystem {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        if spec.is_windows() {
            return;
        }
        for c in spec
            .containers()
            .filter(|c| c.field != "ephemeralContainers")
        {
            let what = match c.get(&["securityContext", "readOnlyRootFilesystem"]) {
                Some(Value::Bool(true)) => continue,
                Some(Value::Bool(false)) => "sets securityContext.readOnlyRootFilesystem to false",
                None | Some(Value::Null) => {
                    "does not set securityContext.readOnlyRootFilesystem: true"
                }
                // Not a boolean: the API server rejects it; nothing to judge.
                Some(_) => continue,
            };
            out.push(Violation {
                pointer: c.pointer("securityContext/readOnlyRootFilesystem"),
                message: format!("{} {what}, so its root filesystem is writable", c.label()),
            });
        }
    }
}
