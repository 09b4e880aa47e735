//! A reproducible corpus of realistic manifests for benchmarks: the same `(count, seed)`
//! always gives the same text. About one object in five breaks a rule.

use std::fmt::Write;

/// SplitMix64: tiny, fast, and stable across platforms and crate versions.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const APPS: [&str; 8] = [
    "web", "api", "worker", "cache", "auth", "billing", "search", "gateway",
];
const IMAGES: [&str; 6] = [
    "nginx:1.27.2",
    "registry.example.com/api:4.2.0",
    "redis:7.4.1",
    "example.com/worker@sha256:0f4c9a6ab7e0e3cfd0dc8b1b7f8d1b8a5a4e1c2d3f4a5b6c7d8e9f0a1b2c3d4e",
    "postgres:16.4",
    "busybox:1.36",
];

/// `count` objects of mixed kinds as one multi-document YAML stream.
pub fn generate(count: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut out = String::with_capacity(count * 900);
    for i in 0..count {
        out.push_str("---\n");
        let app = APPS[rng.below(APPS.len() as u64) as usize];
        let name = format!("{app}-{i}");
        let ns = ["prod", "staging", "team-a", "team-b"][rng.below(4) as usize];
        match rng.below(10) {
            0..=3 => workload(&mut out, &mut rng, "apps/v1", "Deployment", &name, ns, app),
            4 => workload(&mut out, &mut rng, "apps/v1", "StatefulSet", &name, ns, app),
            5 => workload(&mut out, &mut rng, "batch/v1", "CronJob", &name, ns, app),
            6 => service(&mut out, &name, ns, app),
            7 => config_map(&mut out, &mut rng, &name, ns),
            8 => workload(&mut out, &mut rng, "apps/v1", "DaemonSet", &name, ns, app),
            _ => workload(&mut out, &mut rng, "v1", "Pod", &name, ns, app),
        }
    }
    out
}

/// The same corpus split into files of `per_file` objects: `(file name, text)` pairs.
pub fn generate_files(count: usize, per_file: usize, seed: u64) -> Vec<(String, String)> {
    let per_file = per_file.max(1);
    let files = count.div_ceil(per_file);
    (0..files)
        .map(|f| {
            let n = per_file.min(count - f * per_file);
            (
                format!("manifests-{f:05}.yaml"),
                generate(n, seed.wrapping_add(f as u64)),
            )
        })
        .collect()
}

fn container(out: &mut String, rng: &mut Rng, indent: &str, app: &str) {
    let image = if rng.chance(5) {
        "nginx:latest"
    } else {
        IMAGES[rng.below(IMAGES.len() as u64) as usize]
    };
    let _ = write!(
        out,
        "{indent}- name: {app}\n{indent}  image: {image}\n{indent}  imagePullPolicy: IfNotPresent\n{indent}  ports:\n{indent}    - containerPort: {port}\n{indent}      protocol: TCP\n{indent}  env:\n{indent}    - name: LOG_LEVEL\n{indent}      value: info\n{indent}    - name: POD_NAME\n{indent}      valueFrom:\n{indent}        fieldRef:\n{indent}          fieldPath: metadata.name\n",
        port = 8000 + rng.below(1000),
    );
    if !rng.chance(5) {
        let _ = write!(
            out,
            "{indent}  resources:\n{indent}    requests:\n{indent}      cpu: 100m\n{indent}      memory: 128Mi\n{indent}    limits:\n{indent}      cpu: 500m\n{indent}      memory: 256Mi\n",
        );
    }
    let _ = write!(
        out,
        "{indent}  readinessProbe:\n{indent}    httpGet:\n{indent}      path: /healthz\n{indent}      port: 8080\n{indent}    periodSeconds: 10\n{indent}  securityContext:\n{indent}    allowPrivilegeEscalation: false\n{indent}    readOnlyRootFilesystem: true\n{indent}    privileged: {privileged}\n{indent}    capabilities:\n{indent}      drop: [ALL]\n",
        privileged = if rng.chance(3) { "yes" } else { "false" },
    );
}

fn workload(
    out: &mut String,
    rng: &mut Rng,
    api_version: &str,
    kind: &str,
    name: &str,
    ns: &str,
    app: &str,
) {
    let _ = write!(
        out,
        "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {app}\n    app.kubernetes.io/part-of: shop\n  annotations:\n    example.com/owner: team-{app}\n"
    );
    let indent = match kind {
        "Pod" => {
            out.push_str("spec:\n");
            "  "
        }
        "CronJob" => {
            out.push_str("spec:\n  schedule: \"*/15 * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n");
            "          "
        }
        _ => {
            let replicas = if kind == "DaemonSet" {
                String::new()
            } else {
                format!("  replicas: {}\n", 2 + rng.below(3))
            };
            let _ = write!(
                out,
                "spec:\n{replicas}  selector:\n    matchLabels:\n      app.kubernetes.io/name: {app}\n  template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: {app}\n    spec:\n"
            );
            "      "
        }
    };
    let _ = write!(
        out,
        "{indent}serviceAccountName: {app}\n{indent}automountServiceAccountToken: false\n"
    );
    if rng.chance(3) {
        let _ = writeln!(out, "{indent}hostNetwork: true");
    }
    let _ = write!(
        out,
        "{indent}securityContext:\n{indent}  runAsNonRoot: true\n{indent}  seccompProfile:\n{indent}    type: RuntimeDefault\n{indent}containers:\n"
    );
    let containers = 1 + rng.below(2);
    for _ in 0..containers {
        container(out, rng, &format!("{indent}  "), app);
    }
    let _ = write!(
        out,
        "{indent}volumes:\n{indent}  - name: tmp\n{indent}    emptyDir: {{}}\n"
    );
    if rng.chance(3) {
        let _ = write!(
            out,
            "{indent}  - name: host\n{indent}    hostPath:\n{indent}      path: /var/run\n"
        );
    }
}

fn service(out: &mut String, name: &str, ns: &str, app: &str) {
    let _ = write!(
        out,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app.kubernetes.io/name: {app}\nspec:\n  type: ClusterIP\n  selector:\n    app.kubernetes.io/name: {app}\n  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n      protocol: TCP\n"
    );
}

fn config_map(out: &mut String, rng: &mut Rng, name: &str, ns: &str) {
    let _ = write!(
        out,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n"
    );
    for k in 0..(3 + rng.below(5)) {
        let _ = writeln!(out, "  key-{k}: \"value {k} {}\"", rng.next());
    }
    out.push_str("  config.yaml: |\n    server:\n      port: 8080\n      debug: false\n");
}

/// `count` Gatekeeper-style ConstraintTemplates, each with one Constraint, as `(file name,
/// YAML)` pairs: six families of checks (required labels, allowed repositories, resource limits,
/// disallowed tags, replica bounds in Rego v1, probes) with different parameters, so a policy
/// benchmark evaluates `count` distinct templates on every workload.
pub fn gatekeeper_policies(count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let kind = format!("KgBench{i}");
            let package = format!("kgbench{i}");
            let (rego, schema, parameters, v1) = match i % 6 {
                0 => (
                    format!("package {package}\n\nviolation[{{\"msg\": msg}}] {{\n  required := input.parameters.labels[_]\n  not input.review.object.metadata.labels[required]\n  msg := sprintf(\"missing label %v\", [required])\n}}\n"),
                    "{type: object, properties: {labels: {type: array, items: {type: string}}}}",
                    format!("{{labels: [\"app.kubernetes.io/name\", \"team-{i}\"]}}"),
                    false,
                ),
                1 => (
                    format!("package {package}\n\nviolation[{{\"msg\": msg}}] {{\n  c := input.review.object.spec.template.spec.containers[_]\n  not allowed(c.image)\n  msg := sprintf(\"image %v is not from an allowed repo\", [c.image])\n}}\n\nallowed(image) {{\n  startswith(image, input.parameters.repos[_])\n}}\n"),
                    "{type: object, properties: {repos: {type: array, items: {type: string}}}}",
                    format!("{{repos: [\"registry.example.com/\", \"nginx\", \"redis\", \"postgres\", \"busybox\", \"mirror-{i}.example.com/\"]}}"),
                    false,
                ),
                2 => (
                    format!("package {package}\n\nviolation[{{\"msg\": msg}}] {{\n  c := input.review.object.spec.template.spec.containers[_]\n  not c.resources.limits[input.parameters.resource]\n  msg := sprintf(\"container %v has no %v limit\", [c.name, input.parameters.resource])\n}}\n"),
                    "{type: object, properties: {resource: {type: string}}}",
                    format!("{{resource: {}}}", if i % 2 == 0 { "cpu" } else { "memory" }),
                    false,
                ),
                3 => (
                    format!("package {package}\n\nviolation[{{\"msg\": msg}}] {{\n  c := input.review.object.spec.template.spec.containers[_]\n  tag := input.parameters.tags[_]\n  endswith(c.image, concat(\":\", [\"\", tag]))\n  msg := sprintf(\"image %v uses disallowed tag %v\", [c.image, tag])\n}}\n"),
                    "{type: object, properties: {tags: {type: array, items: {type: string}}}}",
                    format!("{{tags: [latest, dev, \"canary-{i}\"]}}"),
                    false,
                ),
                4 => (
                    format!("package {package}\n\nviolation contains {{\"msg\": msg}} if {{\n  replicas := object.get(input.review.object, [\"spec\", \"replicas\"], 1)\n  replicas < input.parameters.min\n  msg := sprintf(\"replicas %v below %v\", [replicas, input.parameters.min])\n}}\n"),
                    "{type: object, properties: {min: {type: integer}}}",
                    format!("{{min: {}}}", 1 + i % 3),
                    true,
                ),
                _ => (
                    format!("package {package}\n\nviolation[{{\"msg\": msg}}] {{\n  c := input.review.object.spec.template.spec.containers[_]\n  not c[input.parameters.probe]\n  msg := sprintf(\"container %v has no %v\", [c.name, input.parameters.probe])\n}}\n"),
                    "{type: object, properties: {probe: {type: string}}}",
                    format!("{{probe: {}}}", if i % 2 == 0 { "readinessProbe" } else { "livenessProbe" }),
                    false,
                ),
            };
            let indented: String = rego.lines().map(|l| format!("              {l}\n")).collect();
            let target = if v1 {
                format!("      code:\n        - engine: Rego\n          source:\n            version: \"v1\"\n            rego: |\n{indented}")
            } else {
                format!("      rego: |\n{}", rego.lines().map(|l| format!("        {l}\n")).collect::<String>())
            };
            let yaml = format!(
                "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: {package}\nspec:\n  crd:\n    spec:\n      names:\n        kind: {kind}\n      validation:\n        openAPIV3Schema: {schema}\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n{target}---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: bench-{i}\nspec:\n  match:\n    kinds:\n      - apiGroups: [apps]\n        kinds: [Deployment, StatefulSet, DaemonSet]\n    excludedNamespaces: [\"kube-*\"]\n  parameters: {parameters}\n"
            );
            (format!("template-{i:02}.yaml"), yaml)
        })
        .collect()
}

/// `count` ValidatingAdmissionPolicies, each with a Deny binding, as `(file name, YAML)`
/// pairs: the six families of [`gatekeeper_policies`] written in CEL (required labels, allowed
/// repositories, resource limits compared as quantities, disallowed tags, replica bounds,
/// probes), with `variables` and `matchConditions` as real policies use them, so a benchmark
/// evaluates `count` distinct policies on every workload.
pub fn validating_admission_policies(count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let name = format!("kg-bench-{i:02}");
            let (variables, validation) = match i % 6 {
                0 => (
                    String::new(),
                    format!("- expression: \"has(object.metadata.labels) && ['app.kubernetes.io/name', 'team-{i}'].all(l, l in object.metadata.labels)\"\n      message: missing a required label"),
                ),
                1 => (
                    "- name: containers\n      expression: \"object.spec.template.spec.containers\"\n".to_owned(),
                    format!("- expression: \"variables.containers.all(c, ['registry.example.com/', 'nginx', 'redis', 'postgres', 'busybox', 'mirror-{i}.example.com/'].exists(r, c.image.startsWith(r)))\"\n      messageExpression: \"'images must come from an allowed repository'\""),
                ),
                2 => (
                    String::new(),
                    format!("- expression: \"object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits) && '{res}' in c.resources.limits && quantity(string(c.resources.limits['{res}'])).compareTo(quantity('{max}')) <= 0)\"\n      message: containers need a {res} limit of at most {max}",
                        res = if i % 2 == 0 { "cpu" } else { "memory" },
                        max = if i % 2 == 0 { "4" } else { "8Gi" }),
                ),
                3 => (
                    String::new(),
                    format!("- expression: \"!object.spec.template.spec.containers.exists(c, ['latest', 'dev', 'canary-{i}'].exists(t, c.image.endsWith(':' + t)))\"\n      message: images must not use a moving tag"),
                ),
                4 => (
                    String::new(),
                    format!("- expression: \"!has(object.spec.replicas) || object.spec.replicas >= {min}\"\n      messageExpression: \"'replicas ' + string(object.spec.replicas) + ' below {min}'\"", min = 1 + i % 3),
                ),
                _ => (
                    String::new(),
                    format!("- expression: \"object.spec.template.spec.containers.all(c, has(c.{probe}))\"\n      message: containers need a {probe}",
                        probe = if i % 2 == 0 { "readinessProbe" } else { "livenessProbe" }),
                ),
            };
            let variables = if variables.is_empty() {
                String::new()
            } else {
                format!("  variables:\n    {variables}")
            };
            let yaml = format!(
                "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata:\n  name: {name}\nspec:\n  failurePolicy: Fail\n  matchConstraints:\n    resourceRules:\n    - apiGroups: [apps]\n      apiVersions: [v1]\n      operations: [CREATE, UPDATE]\n      resources: [deployments, statefulsets, daemonsets]\n  matchConditions:\n  - name: not-kube-system\n    expression: \"!object.metadata.namespace.startsWith('kube-')\"\n{variables}  validations:\n    {validation}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: {name}\nspec:\n  policyName: {name}\n  validationActions: [Deny]\n"
            );
            (format!("vap-{i:02}.yaml"), yaml)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validating_admission_policies_load_and_judge() {
        let dir = std::env::temp_dir().join(format!("kubegate-vap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (name, text) in validating_admission_policies(30) {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let set =
            crate::policy::rego::PolicySet::load(std::slice::from_ref(&dir), &Default::default());
        let _ = std::fs::remove_dir_all(&dir);
        let set = set.expect("generated policies load");
        assert_eq!(set.rules().len(), 30);
        let loaded =
            crate::Loader::default().load_texts(vec![(crate::Source::Stdin, generate(300, 42))]);
        let report = crate::Checker::default()
            .with_policies(std::sync::Arc::new(set))
            .check(&loaded);
        let from_vaps: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.rule_id.starts_with("kg-bench-"))
            .map(|f| f.message.as_str())
            .collect();
        assert!(from_vaps.len() > 30, "{}", from_vaps.len());
        // Every finding is a verdict: no expression fails on the corpus's objects.
        for m in &from_vaps {
            assert!(m.contains("denied request: "), "{m}");
            assert!(!m.contains("expression") && !m.contains("evaluat"), "{m}");
        }
        let mut rules: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.rule_id.starts_with("kg-bench-"))
            .map(|f| f.rule_id.as_ref())
            .collect();
        rules.sort_unstable();
        rules.dedup();
        assert!(rules.len() >= 20, "{rules:?}");
    }

    #[test]
    fn gatekeeper_policies_load() {
        let dir = std::env::temp_dir().join(format!("kubegate-gk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        for (name, text) in gatekeeper_policies(30) {
            std::fs::write(dir.join(name), text).expect("write");
        }
        let set =
            crate::policy::rego::PolicySet::load(std::slice::from_ref(&dir), &Default::default());
        let _ = std::fs::remove_dir_all(&dir);
        let set = set.expect("generated templates load");
        assert_eq!(set.rules().len(), 30);
    }

    #[test]
    fn corpus_is_reproducible_and_loads_cleanly() {
        let a = generate(200, 7);
        assert_eq!(a, generate(200, 7));
        assert_ne!(a, generate(200, 8));
        let (manifests, errors) = crate::Loader::default().load_text("corpus.yaml", a);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(manifests.len(), 200);
    }
}
