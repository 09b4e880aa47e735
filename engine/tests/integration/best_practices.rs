//! The best-practices rules (KG201–KG224) on the fixtures under testdata/best-practices/: exact
//! positions of their findings and the cases they must leave alone. The checker runs only these
//! rules, so the assertions do not move when other packs grow.

use crate::common;

use common::positions;
use kubegate_engine::Catalog;
use kubegate_engine::{registry as rules, Checker, Input, Loader, Report, Settings, Severity};
use std::path::PathBuf;

const BEST_PRACTICES: [&str; 12] = [
    "KG201", "KG202", "KG203", "KG204", "KG205", "KG206", "KG207", "KG208", "KG209", "KG210",
    "KG211", "KG212",
];
const CONTAINER_RULES: [&str; 5] = ["KG203", "KG204", "KG205", "KG206", "KG207"];

fn check(rel: &str) -> Report {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/best-practices"
    ))
    .join(rel);
    let checker = Checker::with_rules(
        rules::builtin()
            .iter()
            .copied()
            .filter(|r| BEST_PRACTICES.contains(&r.meta().id))
            .collect(),
    );
    let report = checker.check(&Loader::default().load(&[Input::Path(path)]));
    // Neither load errors nor rule panics (both would be report errors).
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

/// `rule object pointer` of the findings of `rules`, in report order.
fn pointers(report: &Report, rules: &[&str]) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| rules.contains(&f.rule_id.as_ref()))
        .map(|f| format!("{} {} {}", f.rule_id.as_ref(), f.object, f.pointer))
        .collect()
}

fn messages<'r>(report: &'r Report, rule: &str) -> Vec<&'r str> {
    report
        .findings
        .iter()
        .filter(|f| f.rule_id == rule)
        .map(|f| f.message.as_str())
        .collect()
}

#[test]
fn container_rules_judge_each_container_list_as_documented() {
    let report = check("workloads.yaml");
    assert_eq!(
        positions(&report, &CONTAINER_RULES),
        vec![
            // storefront: the init container lacks a memory request; the native sidecar and the
            // web container (limits only, digest-pinned) pass; cache-warmer fails everything.
            ("KG203", 26, 13),
            ("KG203", 52, 11),
            ("KG204", 52, 11),
            ("KG205", 52, 11),
            ("KG207", 52, 11),
            ("KG206", 54, 11),
            // search: readiness but no liveness; readOnlyRootFilesystem: false.
            ("KG204", 74, 11),
            ("KG207", 81, 13),
            // log-agent: Windows, so no KG207; imagePullPolicy: Never.
            ("KG206", 104, 11),
            // toolbox: untagged image with IfNotPresent; the ephemeral container is judged by
            // KG206 only.
            ("KG206", 123, 7),
            ("KG206", 135, 7),
        ]
    );
    assert_eq!(
        pointers(&report, &["KG203", "KG207"]),
        vec![
            "KG203 Deployment/shop/storefront /spec/template/spec/initContainers/0/resources/requests",
            "KG203 Deployment/shop/storefront /spec/template/spec/containers/1/resources/requests",
            "KG207 Deployment/shop/storefront /spec/template/spec/containers/1/securityContext/readOnlyRootFilesystem",
            "KG207 StatefulSet/shop/search /spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
        ]
    );
    assert_eq!(
        messages(&report, "KG203"),
        vec![
            "init container \"migrate\" has no memory request",
            "container \"cache-warmer\" has no cpu or memory request",
        ]
    );
    assert_eq!(
        messages(&report, "KG204")[1],
        "container \"search\" has no livenessProbe, so the kubelet restarts it only when it \
exits, never when it hangs"
    );
    assert_eq!(
        messages(&report, "KG205"),
        vec![
            "container \"cache-warmer\" has no readinessProbe, so it is sent traffic as soon as \
it starts, ready or not"
        ]
    );
    assert_eq!(
        messages(&report, "KG206"),
        vec![
            "container \"cache-warmer\" pulls \"registry.example.com/cache-warmer:latest\" with \
imagePullPolicy: IfNotPresent, so each node keeps running whichever `latest` it pulled first",
            "container \"agent\" sets imagePullPolicy: Never, so it cannot start on a node that \
does not already have \"registry.example.com/log-agent-windows:3.1.0\" (ErrImageNeverPull)",
            "container \"toolbox\" pulls \"registry.example.com/toolbox\" with imagePullPolicy: \
IfNotPresent, so each node keeps running whichever `latest` it pulled first",
            "ephemeral container \"debugger\" sets imagePullPolicy: Never, so it cannot start on \
a node that does not already have \"busybox:1.36\" (ErrImageNeverPull)",
        ]
    );
    assert_eq!(
        messages(&report, "KG207"),
        vec![
            "container \"cache-warmer\" does not set securityContext.readOnlyRootFilesystem: \
true, so its root filesystem is writable",
            "container \"search\" sets securityContext.readOnlyRootFilesystem to false, so its \
root filesystem is writable",
        ]
    );
    // Run-to-completion pods (restartPolicy Never, a Job, a CronJob) need no probes.
    let probed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| ["KG204", "KG205"].contains(&f.rule_id.as_ref()))
        .map(|f| f.object.to_string())
        .collect();
    assert_eq!(
        probed,
        [
            "Deployment/shop/storefront",
            "Deployment/shop/storefront",
            "StatefulSet/shop/search",
        ]
    );
}

#[test]
fn recommended_labels_on_workloads_pod_templates_and_services() {
    let report = check("workloads.yaml");
    assert_eq!(
        positions(&report, &["KG211"]),
        vec![("KG211", 71, 7), ("KG211", 116, 1), ("KG211", 189, 7)]
    );
    assert_eq!(
        pointers(&report, &["KG211"]),
        vec![
            "KG211 StatefulSet/shop/search /spec/template/metadata/labels/app.kubernetes.io~1name",
            "KG211 Pod/shop/toolbox /metadata/labels/app.kubernetes.io~1name",
            "KG211 CronJob/shop/sitemap /spec/jobTemplate/spec/template/metadata/labels/app.kubernetes.io~1name",
        ]
    );
    assert_eq!(
        messages(&report, "KG211"),
        vec![
            "the pod template of StatefulSet \"search\" has no app.kubernetes.io/name label",
            // A Pod is its own template: one finding.
            "Pod \"toolbox\" has no app.kubernetes.io/name label",
            "the pod template of CronJob \"sitemap\" has no app.kubernetes.io/name label",
        ]
    );
    let services = check("services.yaml");
    assert_eq!(
        pointers(&services, &["KG211"]),
        vec!["KG211 Service/shop/orders /metadata/labels/app.kubernetes.io~1name"]
    );
    assert_eq!(positions(&services, &["KG211"]), vec![("KG211", 47, 3)]);
}

#[test]
fn single_replicas_autoscalers_and_blocking_disruption_budgets() {
    let report = check("replicas.yaml");
    assert_eq!(
        positions(&report, &["KG208", "KG212"]),
        vec![
            ("KG208", 8, 1),
            ("KG212", 25, 3),
            ("KG212", 53, 3),
            ("KG208", 111, 1),
            ("KG208", 144, 3),
            ("KG212", 161, 3),
        ]
    );
    assert_eq!(
        pointers(&report, &["KG208", "KG212"]),
        vec![
            "KG208 Deployment/shop/orders /spec/replicas",
            "KG212 PodDisruptionBudget/shop/orders /spec/minAvailable",
            "KG212 PodDisruptionBudget/shop/payments /spec/minAvailable",
            "KG208 Deployment/shop/recommendations /spec/replicas",
            "KG208 StatefulSet/shop/ledger /spec/replicas",
            "KG212 PodDisruptionBudget/shop/backend /spec/maxUnavailable",
        ]
    );
    assert_eq!(
        messages(&report, "KG208"),
        vec![
            "Deployment \"orders\" does not set spec.replicas, so it runs a single replica: \
every node drain, eviction or crash leaves it with no pod",
            "Deployment \"recommendations\" is scaled by HorizontalPodAutoscaler \
\"recommendations\" with minReplicas 1, so it can run a single replica: every node drain, \
eviction or crash leaves it with no pod",
            "StatefulSet \"ledger\" runs a single replica (spec.replicas: 1): every node drain, \
eviction or crash leaves it with no pod",
        ]
    );
    let tail = "so it allows no voluntary eviction of its pods: node drains and cluster upgrades \
block";
    assert_eq!(
        messages(&report, "KG212"),
        vec![
            format!(
                "PodDisruptionBudget \"orders\" sets minAvailable: 1 while Deployment \"orders\" \
runs 1 replica, {tail}"
            ),
            // Selected through matchExpressions; percentages are rounded up.
            format!(
                "PodDisruptionBudget \"payments\" sets minAvailable: 100% while Deployment \
\"payments\" runs 2 replicas, {tail}"
            ),
            // The replicas of every selected workload count together.
            format!(
                "PodDisruptionBudget \"backend\" sets maxUnavailable: 0 while the workloads it \
selects run 7 replicas in all (Deployment \"orders\": 1, Deployment \"payments\": 2, Deployment \
\"cart\": 3 at minimum, StatefulSet \"ledger\": 1), {tail}"
            ),
        ]
    );
    // Not reported: cart (autoscaled from 3, budget of 2), legacy-export (replicas: 0), queue
    // (3 replicas, 50%), the staging budget (no workload there), the budget without a selector
    // and the policy/v1beta1 one, which KG210 reports instead.
    assert_eq!(
        pointers(&report, &["KG210"]),
        vec!["KG210 PodDisruptionBudget/shop/queue-legacy /apiVersion"]
    );
}

#[test]
fn node_port_and_load_balancer_services_name_what_they_expose() {
    let report = check("services.yaml");
    assert_eq!(
        positions(&report, &["KG209"]),
        vec![("KG209", 10, 3), ("KG209", 29, 3)]
    );
    assert_eq!(
        messages(&report, "KG209"),
        vec![
            "Service \"admin\" has type NodePort: ports 80/TCP (node port 30080), 9090/TCP are \
open on every node's address",
            "Service \"storefront\" has type LoadBalancer: ports 443/TCP, 443/UDP are exposed \
through an external load balancer to 203.0.113.0/24",
        ]
    );
}

#[test]
fn removed_api_versions_name_the_release_and_the_replacement() {
    let report = check("api-versions.yaml");
    assert_eq!(
        positions(&report, &["KG210"]),
        vec![
            ("KG210", 2, 1),
            ("KG210", 34, 1),
            ("KG210", 53, 1),
            ("KG210", 75, 1),
            ("KG210", 92, 1),
        ]
    );
    assert_eq!(
        messages(&report, "KG210"),
        vec![
            "extensions/v1beta1 Ingress was removed in Kubernetes 1.22; use networking.k8s.io/v1",
            "batch/v1beta1 CronJob was removed in Kubernetes 1.25; use batch/v1",
            "policy/v1beta1 PodSecurityPolicy was removed in Kubernetes 1.25; it has no \
replacement; use Pod Security Admission or a third-party admission webhook",
            "flowcontrol.apiserver.k8s.io/v1beta2 FlowSchema was removed in Kubernetes 1.29; use \
flowcontrol.apiserver.k8s.io/v1 (v1beta3 on Kubernetes 1.26 to 1.28)",
            "apps/v1beta2 Deployment was removed in Kubernetes 1.16; use apps/v1",
        ]
    );
    // The networking.k8s.io/v1 Ingress, the rbac v1 Role and the apps/v1 Deployment pass.
    for clean in ["workloads.yaml", "services.yaml"] {
        assert!(pointers(&check(clean), &["KG210"]).is_empty(), "{clean}");
    }
}

#[test]
fn the_best_practices_pack_runs_every_rule_at_its_severity() {
    let catalog = Catalog::builtin().expect("valid policies/");
    let checker =
        Checker::builtin(&["best-practices".to_owned()], Settings::default()).expect("pack");
    let ids: Vec<_> = checker.rules().iter().map(|r| r.meta().id).collect();
    for id in BEST_PRACTICES {
        assert!(
            ids.contains(&id),
            "{id} is not in the best-practices pack: {ids:?}"
        );
    }
    let severities = [
        ("KG203", Severity::Medium),
        ("KG204", Severity::Low),
        ("KG205", Severity::Low),
        ("KG206", Severity::Low),
        ("KG207", Severity::Low),
        ("KG208", Severity::Low),
        ("KG209", Severity::Low),
        ("KG210", Severity::High),
        ("KG211", Severity::Low),
        ("KG212", Severity::Medium),
    ];
    for (id, severity) in severities {
        assert_eq!(catalog.severity(id), severity, "{id}");
    }
}

const CROSS_OBJECT: [&str; 7] = [
    "KG214", "KG215", "KG216", "KG217", "KG218", "KG219", "KG220",
];

/// The cross-object rules alone on one input, with or without `--complete-input`.
fn check_cross_object(complete_input: bool) -> Report {
    let settings = Settings {
        complete_input,
        ..Settings::default()
    };
    let checker = Checker::with_rules(
        rules::builtin()
            .iter()
            .copied()
            .filter(|r| CROSS_OBJECT.contains(&r.meta().id))
            .collect(),
    )
    .with_settings(settings);
    let path = common::testdata("best-practices/cross-object.yaml");
    let report = checker.check(&Loader::default().load(&[Input::Path(path)]));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

#[test]
fn cross_object_rules_follow_references_and_selectors_through_the_input() {
    let report = check_cross_object(false);
    assert_eq!(
        positions(&report, &CROSS_OBJECT),
        vec![
            // worker: two replicas and no budget; only an egress policy selects it.
            ("KG218", 34, 3),
            ("KG219", 39, 7),
            // worker's references: the ServiceAccount, the pull secret, the envFrom secret and
            // the ConfigMap (once, though two volumes use it). Not: the secret the SealedSecret
            // produces, the optional ConfigMap; nor web's default ServiceAccount and
            // kube-root-ca.crt.
            ("KG220", 41, 7),
            ("KG220", 43, 11),
            ("KG220", 56, 27),
            ("KG220", 59, 23),
            // The Ingress: port 8080 that Service web does not expose, Service admin that is
            // not in the input; the port by name and the resource backend pass.
            ("KG214", 103, 43),
            ("KG214", 107, 25),
            // HPA ghost; HPA web (no apiVersion) finds its Deployment.
            ("KG215", 126, 59),
            // NetworkPolicy stale; the empty egress-only selector is not judged by KG216.
            ("KG216", 144, 3),
            // PDB stale, and the one without a selector.
            ("KG217", 176, 3),
            ("KG217", 184, 1),
        ]
    );
    let advisory: Vec<bool> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "KG220")
        .map(|f| f.advisory)
        .collect();
    assert_eq!(advisory, [true; 4], "partial input: notes only");
    assert!(report
        .findings
        .iter()
        .filter(|f| f.rule_id != "KG220")
        .all(|f| !f.advisory));
    assert_eq!(
        messages(&report, "KG214")[0],
        "the backend sends traffic to port 8080 of Service \"web\", which has ports 80 (http)"
    );
    let complete = check_cross_object(true);
    assert_eq!(
        positions(&complete, &CROSS_OBJECT),
        positions(&report, &CROSS_OBJECT)
    );
    assert!(complete.findings.iter().all(|f| !f.advisory));
}

const HYGIENE: [&str; 4] = ["KG221", "KG222", "KG223", "KG224"];

#[test]
fn availability_and_hygiene_rules_judge_replicas_rollouts_credentials_and_ids() {
    let checker = Checker::with_rules(
        rules::builtin()
            .iter()
            .copied()
            .filter(|r| HYGIENE.contains(&r.meta().id))
            .collect(),
    );
    let path = common::testdata("best-practices/availability-hygiene.yaml");
    let report = checker.check(&Loader::default().load(&[Input::Path(path)]));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        positions(&report, &HYGIENE),
        vec![
            // crowded: maxUnavailable 3 of 3; an empty spread list spreads nothing; runAsUser
            // 1000 (runAsGroup 10001 passes); the literal password and the password in a URL,
            // not the *_FILE path, the $(VAR) reference or the TTL setting.
            ("KG222", 13, 21),
            ("KG221", 19, 5),
            ("KG224", 22, 9),
            ("KG223", 29, 15),
            ("KG223", 35, 15),
            // spread: anti-affinity spreads, 50% of 4 leaves two up; the container's own
            // runAsGroup 999 overrides the pod's 10001.
            ("KG224", 69, 13),
            // batch: the autoscaler's two replicas count; Recreate is a note; no runAsGroup.
            ("KG222", 80, 5),
            ("KG221", 86, 5),
            ("KG224", 90, 11),
            // The ConfigMap: a password by key, a PEM key by form, a password line in a
            // properties file; not the token URL or the log level.
            ("KG223", 110, 3),
            ("KG223", 111, 3),
            ("KG223", 115, 3),
        ]
    );
    let advisory: Vec<(&str, u32)> = report
        .findings
        .iter()
        .filter(|f| f.advisory)
        .map(|f| (f.rule_id.as_ref(), f.location.line.unwrap_or(0)))
        .collect();
    assert_eq!(advisory, [("KG222", 80)], "only Recreate is a note");
    assert_eq!(
        messages(&report, "KG223")[1],
        "env var \"GIT_REMOTE\" of container \"api\" has a literal value and the value holds a \
         URL with a password; use valueFrom.secretKeyRef so the credential stays in a Secret"
    );
    assert!(messages(&report, "KG223")[4].starts_with(
        "ConfigMap \"settings\": line 2 of key \"app.properties\" sets \"db.password\""
    ));
}
