use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Pull policies that leave nodes without the image or with a stale one.
    ImagePullPolicy {
        id: "KG206",
        name: "image-pull-policy",
        title: "Pull policies must not strand nodes without the image or with a stale `latest`",
        severity: Low,
        category: Images,
        scope: Object,
        since: "0.1.0",
        rationale: "Two explicit settings are reported, in every container list. \
`imagePullPolicy: Never` makes the kubelet use only images already on the node: on any node \
that was not preloaded, which in a cluster with autoscaled or replaced nodes is most of them, \
the pod fails with `ErrImageNeverPull`. `imagePullPolicy: IfNotPresent` on an image tagged \
`latest`, or untagged (which means `latest`), pins each node to whichever `latest` it pulled \
first: nodes run different code and a new push never arrives. A digest-pinned image is never \
reported, and neither is an unset policy: Kubernetes then defaults to `Always` for `latest` and \
untagged images and to `IfNotPresent` otherwise. The `latest` tag itself is KG201's concern.",
        remediation: "Remove `imagePullPolicy: Never` (keep it for local development clusters that \
load images into their nodes). For `IfNotPresent`, pin the image to a version tag or a digest, \
or drop the field so Kubernetes pulls `latest` every time.",
        failing_example: r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
spec:
  selector:
    matchLabels: {app: node-exporter}
  template:
    metadata:
      labels: {app: node-exporter}
    spec:
      containers:
        - name: node-exporter
          image: quay.io/prometheus/node-exporter:latest
          imagePullPolicy: IfNotPresent
"#,
        passing_example: r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
spec:
  selector:
    matchLabels: {app: node-exporter}
  template:
    metadata:
      labels: {app: node-exporter}
    spec:
      containers:
        - name: node-exporter
          image: quay.io/prometheus/node-exporter:v1.8.2
          imagePullPolicy: IfNotPresent
"#,
    }
}

/// Whether `image` names the moving `latest`: tagged `latest` (or with an empty tag) or
/// untagged, and not pinned by digest.
fn is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    // A registry port (`host:5000/app`) has a colon too; the tag is after the last slash.
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => tag.is_empty() || tag == "latest",
        None => true,
    }
}

impl Rule for ImagePullPolicy {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        for c in spec.containers() {
            let Some(policy) = c.value.get("imagePullPolicy").and_then(Value::as_str) else {
                continue;
            };
            let image = c.value.get("image").and_then(Value::as_str);
            let message = match (policy, image) {
                ("Never", Some(image)) => format!(
                    "{} sets imagePullPolicy: Never, so it cannot start on a node that does not \
already have {image:?} (ErrImageNeverPull)",
                    c.label()
                ),
                ("Never", None) => format!(
                    "{} sets imagePullPolicy: Never, so it cannot start on a node that does not \
already have its image (ErrImageNeverPull)",
                    c.label()
                ),
                ("IfNotPresent", Some(image)) if is_latest(image) => format!(
                    "{} pulls {image:?} with imagePullPolicy: IfNotPresent, so each node keeps \
running whichever `latest` it pulled first",
                    c.label()
                ),
                _ => continue,
            };
            out.push(Violation {
                pointer: c.pointer("imagePullPolicy"),
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_latest;

    #[test]
    fn latest_images() {
        for image in [
            "nginx",
            "nginx:latest",
            "nginx:",
            "localhost:5000/nginx",
            "registry.example.com:5000/team/app:latest",
        ] {
            assert!(is_latest(image), "{image}");
        }
        for image in [
            "nginx:1.27.2",
            "localhost:5000/nginx:1.2",
            "nginx@sha256:0123",
            "nginx:latest@sha256:0123",
        ] {
            assert!(!is_latest(image), "{image}");
        }
    }
}
