use super::{quantity, shorten, syntax};
use crate::model::position::dotted;
use crate::model::workload::{pod_spec, Container, PodSpec};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// Pod specs the API server refuses although they pass schema validation.
    PodSpecValidation {
        id: "KG012",
        name: "invalid-pod-spec",
        title: "Pod specs must pass the API server's checks of containers, ports, volumes and probes",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "The API server validates pod specs (in Pods and in every workload's pod \
template) with rules no JSON schema carries, and refuses the object when one fails. Checked \
here, with the API server's wording (k8s.io/kubernetes `pkg/apis/core/validation`): container \
names are required, DNS-1123 labels and unique across init, regular and ephemeral containers; \
a Pod's containers need an `image` (a workload template may leave it to config management); \
`containerPort` is 1-65535 and `hostPort`, when set, too; port names are IANA service names \
(at most 15 lower-case alphanumerics or `-`, at least one letter) and unique within a \
container; environment variable names follow the rule of the target `--kube-version` \
(`[-._a-zA-Z][-._a-zA-Z0-9]*` before 1.32, where relaxed validation became the default: any \
printable ASCII but `=`); volume names are DNS-1123 labels, unique, and no volume has two \
sources (one without any is defaulted to `emptyDir`); each `volumeMounts[].name` is a volume \
of the pod (or, in a StatefulSet, one of its \
`volumeClaimTemplates`), `mountPath` is set and unique in \
the container, and `subPath` is relative without `..`; a probe has exactly one handler \
(`exec`, `httpGet`, `tcpSocket`, `grpc`); two `topologySpreadConstraints` do not share \
`topologyKey` and `whenUnsatisfiable`; resource quantities parse, are not negative, and a \
request is at most its limit; `restartPolicy` is `Always`, `OnFailure` or `Never` in a Pod, \
`Always` in Deployment, ReplicaSet, DaemonSet, StatefulSet and ReplicationController \
templates, `OnFailure` or `Never` in Jobs and CronJobs. See \
https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/.",
        remediation: "Fix the field named in the message; the message is the API server's own \
error for it.",
        failing_example: r#"apiVersion: batch/v1
kind: Job
metadata:
  name: report
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: Always
      containers:
        - name: report
          image: registry.example.com/report:2.0.1
          volumeMounts:
            - name: scratch
              mountPath: /tmp
"#,
        passing_example: r#"apiVersion: batch/v1
kind: Job
metadata:
  name: report
  namespace: shop
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: report
          image: registry.example.com/report:2.0.1
          volumeMounts:
            - name: scratch
              mountPath: /tmp
      volumes:
        - name: scratch
          emptyDir: {}
"#,
    }
}

/// The first kube-version with relaxed environment variable names by default.
const RELAXED_ENV_NAMES_SINCE: u32 = 32;

struct Errors<'o> {
    out: &'o mut Vec<Violation>,
}

impl Errors<'_> {
    fn push(&mut self, pointer: String, message: String) {
        self.out.push(Violation { pointer, message });
    }

    /// `field: Invalid value: "x": reasons`
    fn invalid(&mut self, pointer: String, value: &str, reasons: Vec<String>) {
        if !reasons.is_empty() {
            let message = format!(
                "{}: Invalid value: {:?}: {}",
                dotted(&pointer),
                shorten(value),
                reasons.join(", ")
            );
            self.push(pointer, message);
        }
    }

    /// `field: Invalid value: 70000: reasons` (a number is shown as it is, not quoted).
    fn invalid_number(&mut self, pointer: String, value: i64, reasons: Vec<String>) {
        if !reasons.is_empty() {
            let message = format!(
                "{}: Invalid value: {value}: {}",
                dotted(&pointer),
                reasons.join(", ")
            );
            self.push(pointer, message);
        }
    }

    fn required(&mut self, at: String, field: &str, why: &str) {
        let message = format!("{}: Required value{why}", dotted(&format!("{at}/{field}")));
        self.push(at, message);
    }
}

fn string_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values
        .into_iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The restart policies a kind's pods may have.
fn restart_policies(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("batch", "Job" | "CronJob") => &["OnFailure", "Never"],
        ("", "Pod" | "PodTemplate") => &["Always", "OnFailure", "Never"],
        _ => &["Always"],
    }
}

fn check_names(errors: &mut Errors<'_>, spec: &PodSpec<'_>) {
    let mut seen = BTreeSet::new();
    for c in spec.containers() {
        match c.value.get("name").and_then(Value::as_str) {
            // A missing name is the schema's finding (KG005).
            None => {}
            Some("") => errors.required(c.pointer(""), "name", ""),
            Some(name) => {
                errors.invalid(c.pointer("name"), name, syntax::dns1123_label(name));
                if !seen.insert(name) {
                    errors.push(
                        c.pointer("name"),
                        format!(
                            "{}: Duplicate value: {name:?} (container names must be unique \
across init, regular and ephemeral containers)",
                            dotted(&c.pointer("name"))
                        ),
                    );
                }
            }
        }
    }
}

fn check_ports(errors: &mut Errors<'_>, c: &Container<'_>) {
    let Some(ports) = c.value.get("ports").and_then(Value::as_array) else {
        return;
    };
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let at = c.pointer(&format!("ports/{i}"));
        let Some(port) = port.as_object() else { continue };
        if let Some(name) = port.get("name").and_then(Value::as_str) {
            if !name.is_empty() {
                errors.invalid(format!("{at}/name"), name, syntax::port_name(name));
                if !names.insert(name) {
                    let field = dotted(&format!("{at}/name"));
                    let message = format!("{field}: Duplicate value: {name:?}");
                    errors.push(format!("{at}/name"), message);
                }
            }
        }
        match port.get("containerPort").and_then(Value::as_i64) {
            Some(0) => errors.required(at.clone(), "containerPort", ""),
            Some(n) => {
                errors.invalid_number(format!("{at}/containerPort"), n, syntax::port_number(n))
            }
            None => {} // missing or mistyped: KG005's
        }
        if let Some(n) = port.get("hostPort").and_then(Value::as_i64) {
            if n != 0 {
                errors.invalid_number(format!("{at}/hostPort"), n, syntax::port_number(n));
            }
        }
    }
}

fn check_env(errors: &mut Errors<'_>, c: &Container<'_>, relaxed: bool) {
    let Some(env) = c.value.get("env").and_then(Value::as_array) else {
        return;
    };
    for (i, var) in env.iter().enumerate() {
        let at = c.pointer(&format!("env/{i}"));
        match var.get("name").and_then(Value::as_str) {
            None => {}
            Some("") => errors.required(at, "name", ""),
            Some(name) => {
                let reasons = if relaxed {
                    syntax::env_var_name_relaxed(name)
                } else {
                    syntax::env_var_name_strict(name)
                };
                errors.invalid(format!("{at}/name"), name, reasons);
            }
        }
    }
}

fn check_mounts(errors: &mut Errors<'_>, c: &Container<'_>, volumes: &BTreeSet<&str>) {
    let Some(mounts) = c.value.get("volumeMounts").and_then(Value::as_array) else {
        return;
    };
    let mut paths = BTreeSet::new();
    for (i, mount) in mounts.iter().enumerate() {
        let at = c.pointer(&format!("volumeMounts/{i}"));
        let Some(mount) = mount.as_object() else { continue };
        match mount.get("name").and_then(Value::as_str) {
            None => {}
            Some("") => errors.required(at.clone(), "name", ""),
            Some(name) if !volumes.contains(name) => {
                let message = format!(
                    "{}: Not found: {name:?} (the pod has no volume of that name)",
                    dotted(&format!("{at}/name"))
                );
                errors.push(format!("{at}/name"), message);
            }
            Some(_) => {}
        }
        match mount.get("mountPath").and_then(Value::as_str) {
            None => {}
            Some("") => errors.required(at.clone(), "mountPath", ""),
            Some(path) if !paths.insert(path) => errors.invalid(
                format!("{at}/mountPath"),
                path,
                vec!["must be unique".to_owned()],
            ),
            Some(_) => {}
        }
        if let Some(sub) = mount.get("subPath").and_then(Value::as_str) {
            let mut reasons = Vec::new();
            if sub.starts_with('/') {
                reasons.push("must be a relative path".to_owned());
            }
            if sub.split(['/', '\\']).any(|part| part == "..") {
                reasons.push("must not contain '..'".to_owned());
            }
            errors.invalid(format!("{at}/subPath"), sub, reasons);
        }
    }
}

fn check_probes(errors: &mut Errors<'_>, c: &Container<'_>) {
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(p) = c.value.get(probe).and_then(Value::as_object) else {
            continue;
        };
        let handlers: Vec<&str> = ["exec", "httpGet", "tcpSocket", "grpc"]
            .into_iter()
            .filter(|h| p.get(*h).is_some_and(|v| !v.is_null()))
            .collect();
        let at = c.pointer(probe);
        match handlers.len() {
            0 => {
                let field = dotted(&at);
                let message = format!("{field}: Required value: must specify a handler type");
                errors.push(at, message);
            }
            1 => {}
            _ => {
                let second = format!("{at}/{}", handlers[1]);
                let message = format!(
                    "{}: Forbidden: may not specify more than 1 handler type (found {})",
                    dotted(&second),
                    handlers.join(", ")
                );
                errors.push(second, message);
            }
        }
    }
}

fn check_resources(errors: &mut Errors<'_>, c: &Container<'_>) {
    let Some(resources) = c.value.get("resources").and_then(Value::as_object) else {
        return;
    };
    let mut parsed: [BTreeMap<&str, quantity::Quantity>; 2] = Default::default();
    for (slot, list) in ["limits", "requests"].into_iter().enumerate() {
        let Some(map) = resources.get(list).and_then(Value::as_object) else {
            continue;
        };
        for (name, value) in map {
            let at = c.pointer(&format!(
                "resources/{list}/{}",
                crate::model::position::escape_token(name)
            ));
            match quantity::parse(value) {
                None if value.is_string() => {
                    let text = value.as_str().unwrap_or_default();
                    errors.invalid(at, text, vec![quantity::FORMAT_MESSAGE.to_owned()]);
                }
                None => {} // a wrong type is KG005's
                Some(q) if q.is_negative() => errors.invalid(
                    at,
                    &value.to_string(),
                    vec!["must be greater than or equal to 0".to_owned()],
                ),
                Some(q) => {
                    parsed[slot].insert(name.as_str(), q);
                }
            }
        }
    }
    let [limits, requests] = &parsed;
    for (name, request) in requests {
        if let Some(limit) = limits.get(name) {
            if request > limit {
                let shown = |list: &str| {
                    resources
                        .get(list)
                        .and_then(|m| m.get(*name))
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .unwrap_or_default()
                };
                let at = c.pointer(&format!(
                    "resources/requests/{}",
                    crate::model::position::escape_token(name)
                ));
                let message = format!(
                    "{}: Invalid value: {:?}: must be less than or equal to {name} limit of {}",
                    dotted(&c.pointer("resources/requests")),
                    shown("requests"),
                    shown("limits")
                );
                errors.push(at, message);
            }
        }
    }
}

/// Volume names (required, DNS-1123 labels, unique) and one source per volume; returns the
/// names.
fn check_volumes<'a>(errors: &mut Errors<'_>, spec: &PodSpec<'a>) -> BTreeSet<&'a str> {
    let mut names = BTreeSet::new();
    let Some(volumes) = spec.spec.get("volumes").and_then(Value::as_array) else {
        return names;
    };
    for (i, volume) in volumes.iter().enumerate() {
        let at = spec.field_pointer(&format!("volumes/{i}"));
        let Some(volume) = volume.as_object() else { continue };
        match volume.get("name").and_then(Value::as_str) {
            None => {}
            Some("") => errors.required(at.clone(), "name", ""),
            Some(name) => {
                errors.invalid(format!("{at}/name"), name, syntax::dns1123_label(name));
                if !names.insert(name) {
                    let field = dotted(&format!("{at}/name"));
                    let message = format!("{field}: Duplicate value: {name:?}");
                    errors.push(format!("{at}/name"), message);
                }
            }
        }
        let sources: Vec<&str> = volume
            .iter()
            .filter(|(k, v)| k.as_str() != "name" && !v.is_null())
            .map(|(k, _)| k.as_str())
            .collect();
        // No source at all is defaulted to `emptyDir: {}` by the API server.
        match sources.len() {
            0 | 1 => {}
            _ => {
                let message = format!(
                    "{}: Forbidden: may not specify more than 1 volume type (found {})",
                    dotted(&at),
                    sources.join(", ")
                );
                errors.push(at, message);
            }
        }
    }
    names
}

/// Two spread constraints for the same topology key and action are refused.
fn check_spread(errors: &mut Errors<'_>, spec: &PodSpec<'_>) {
    let Some(list) = spec.spec.get("topologySpreadConstraints").and_then(Value::as_array) else {
        return;
    };
    let mut seen = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let key = c.get("topologyKey").and_then(Value::as_str);
        let when = c.get("whenUnsatisfiable").and_then(Value::as_str);
        if let (Some(key), Some(when)) = (key, when) {
            if !seen.insert((key, when)) {
                let at = spec.field_pointer(&format!(
                    "topologySpreadConstraints/{i}/whenUnsatisfiable"
                ));
                let message = format!(
                    "{}: Duplicate value: {{topologyKey: {key:?}, whenUnsatisfiable: {when:?}}}",
                    dotted(&at)
                );
                errors.push(at, message);
            }
        }
    }
}

fn check_restart_policy(errors: &mut Errors<'_>, spec: &PodSpec<'_>, allowed: &[&str]) {
    let Some(policy) = spec.spec.get("restartPolicy").and_then(Value::as_str) else {
        // Unset defaults to Always, which a Job refuses.
        if !allowed.contains(&"Always") && !spec.spec.contains_key("restartPolicy") {
            let at = spec.pointer.to_owned();
            let message = format!(
                "{}: Required value: valid values: {} (unset means \"Always\")",
                dotted(&spec.field_pointer("restartPolicy")),
                string_list(allowed.iter().copied())
            );
            errors.push(at, message);
        }
        return;
    };
    if !allowed.contains(&policy) {
        let at = spec.field_pointer("restartPolicy");
        let message = format!(
            "{}: Unsupported value: {policy:?}: supported values: {}",
            dotted(&at),
            string_list(allowed.iter().copied())
        );
        errors.push(at, message);
    }
}

impl Rule for PodSpecValidation {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        let object = &manifest.object;
        let relaxed = cx
            .schema
            .version()
            .is_none_or(|v| v.minor >= RELAXED_ENV_NAMES_SINCE);
        let mut errors = Errors { out };
        check_names(&mut errors, &spec);
        let mut volumes = check_volumes(&mut errors, &spec);
        // A StatefulSet's volumeClaimTemplates are volumes of its pods, by their names.
        if object.group() == "apps" && object.kind == "StatefulSet" {
            let claims = manifest.value.pointer("/spec/volumeClaimTemplates");
            for claim in claims.and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = claim.pointer("/metadata/name").and_then(Value::as_str) {
                    volumes.insert(name);
                }
            }
        }
        let is_pod = object.group().is_empty() && object.kind == "Pod";
        for c in spec.containers() {
            if is_pod && c.field != "ephemeralContainers" {
                let image = c.value.get("image");
                if image.is_none_or(|i| i.as_str() == Some("")) {
                    errors.required(c.pointer(""), "image", "");
                }
            }
            if let Some(image) = c.value.get("image").and_then(Value::as_str).filter(|_| is_pod) {
                if image.trim() != image {
                    errors.invalid(
                        c.pointer("image"),
                        image,
                        vec!["must not have leading or trailing whitespace".to_owned()],
                    );
                }
            }
            check_ports(&mut errors, &c);
            check_env(&mut errors, &c, relaxed);
            check_mounts(&mut errors, &c, &volumes);
            if c.field != "ephemeralContainers" {
                check_probes(&mut errors, &c);
            }
            check_resources(&mut errors, &c);
        }
        check_spread(&mut errors, &spec);
        check_restart_policy(
            &mut errors,
            &spec,
            restart_policies(object.group(), &object.kind),
        );
    }
}
