use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Images must name a fixed version: a tag other than `latest`, or a digest.
    ImageTag {
        id: "KG201",
        name: "image-tag-not-pinned",
        title: "Images must be pinned to a tag other than `latest` or to a digest",
        severity: Medium,
        category: Images,
        scope: Object,
        since: "0.1.0",
        rationale: "An image without a tag means `:latest`, which moves: two replicas of the same \
Deployment can run different code, a rollback redeploys whatever is newest, and a review of the \
manifest says nothing about what runs.",
        remediation: "Reference a versioned tag (`nginx:1.27.2`) or, better, a digest \
(`nginx@sha256:...`).",
        failing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:latest
"#,
        passing_example: r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com:5000/nginx:1.27.2
"#,
    }
}

/// The tag of an image reference, `None` if it has none; digests count as pinned.
enum ImagePin<'a> {
    Digest,
    Tag(&'a str),
    Untagged,
}

fn image_pin(image: &str) -> ImagePin<'_> {
    if image.contains('@') {
        return ImagePin::Digest;
    }
    // A registry port (`host:5000/app`) has a colon too; the tag is after the last slash.
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) => ImagePin::Tag(tag),
        None => ImagePin::Untagged,
    }
}

impl Rule for ImageTag {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        for c in spec.containers() {
            let Some(image) = c.value.get("image").and_then(Value::as_str) else {
                continue;
            };
            let problem = match image_pin(image) {
                ImagePin::Digest => continue,
                ImagePin::Tag(tag) if tag != "latest" && !tag.is_empty() => continue,
                ImagePin::Tag(_) => "uses the tag `latest`",
                ImagePin::Untagged => "has no tag (which means `latest`)",
            };
            out.push(Violation {
                pointer: c.pointer("image"),
                message: format!(
                    "{} image {image:?} {problem}; pin a version tag or digest",
                    c.label()
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins() {
        assert!(matches!(image_pin("nginx"), ImagePin::Untagged));
        assert!(matches!(
            image_pin("localhost:5000/nginx"),
            ImagePin::Untagged
        ));
        assert!(matches!(
            image_pin("localhost:5000/nginx:1.2"),
            ImagePin::Tag("1.2")
        ));
        assert!(matches!(image_pin("nginx:latest"), ImagePin::Tag("latest")));
        assert!(matches!(image_pin("nginx@sha256:abc"), ImagePin::Digest));
        assert!(matches!(
            image_pin("nginx:1.2@sha256:abc"),
            ImagePin::Digest
        ));
    }
}
