use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// hostPath volumes mount a node directory into the pod.
    HostPathVolume {
        id: "KG103",
        name: "host-path-volume",
        title: "Pods must not mount hostPath volumes",
        severity: High,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "A hostPath volume exposes the node's filesystem: the container runtime socket, \
kubelet credentials or /etc can be read or changed from inside the pod. Pod Security Standards \
forbid hostPath volumes at the baseline level.",
        remediation: "Use an emptyDir, a ConfigMap/Secret, or a PersistentVolumeClaim instead. Node \
agents that truly need host access belong in a dedicated, exempted namespace.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: logs
spec:
  containers:
    - name: tail
      image: busybox:1.36
  volumes:
    - name: varlog
      hostPath:
        path: /var/log
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: logs
spec:
  containers:
    - name: tail
      image: busybox:1.36
  volumes:
    - name: scratch
      emptyDir: {}
"#,
    }
}

impl Rule for HostPathVolume {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        let Some(volumes) = spec.spec.get("volumes").and_then(Value::as_array) else {
            return;
        };
        for (i, volume) in volumes.iter().enumerate() {
            let Some(host_path) = volume.get("hostPath") else {
                continue;
            };
            if host_path.is_null() {
                continue;
            }
            let name = volume
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("<unnamed>");
            let path = host_path.get("path").and_then(Value::as_str).unwrap_or("?");
            out.push(Violation {
                pointer: format!("{}/volumes/{i}/hostPath", spec.pointer),
                message: format!(
                    "volume {name:?} must not use hostPath (mounts {path} from the node)"
                ),
            });
        }
    }
}
