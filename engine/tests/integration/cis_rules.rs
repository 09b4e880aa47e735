//! The CIS section 5 rules (KG301–KG314, KG401–KG403) on the fixtures under testdata/cis/:
//! exact positions of their findings, and the exemptions they must honour. Other rules' findings
//! on the same fixtures are filtered out, so these tests judge only the CIS rules.

use crate::common;

use common::{positions, testdata};
use kubegate_engine::Catalog;
use kubegate_engine::{Checker, Input, Loader, Report, Settings};

const RBAC_RULES: [&str; 13] = [
    "KG301", "KG302", "KG303", "KG304", "KG305", "KG306", "KG307", "KG308", "KG309", "KG310",
    "KG311", "KG312", "KG313",
];
const NAMESPACE_RULES: [&str; 2] = ["KG401", "KG403"];

fn check_all(rels: &[&str]) -> Report {
    let inputs: Vec<Input> = rels.iter().map(|r| Input::Path(testdata(r))).collect();
    let report = Checker::default().check(&Loader::default().load(&inputs));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

fn check(rel: &str) -> Report {
    check_all(&[rel])
}

/// `(rule, object, pointer)` of the findings of `rules`, in report order.
fn pointers(report: &Report, rules: &[&str]) -> Vec<(String, String, String)> {
    report
        .findings
        .iter()
        .filter(|f| rules.contains(&f.rule_id.as_ref()))
        .map(|f| {
            (
                f.rule_id.to_string(),
                f.object.to_string(),
                f.pointer.clone(),
            )
        })
        .collect()
}

fn message<'r>(report: &'r Report, rule: &str, object: &str) -> &'r str {
    report
        .findings
        .iter()
        .find(|f| f.rule_id == *rule && f.object.to_string() == object)
        .map(|f| f.message.as_str())
        .unwrap_or_else(|| panic!("no {rule} finding on {object}"))
}

#[test]
fn role_rules_are_reported_at_their_verbs_and_wildcards_at_the_star() {
    let report = check("cis/rbac-roles.yaml");
    assert_eq!(
        positions(&report, &RBAC_RULES),
        vec![
            ("KG302", 13, 5),
            // platform-operator: `*` everywhere grants every access the rules look for.
            ("KG303", 21, 17),
            ("KG303", 22, 17),
            ("KG302", 23, 5),
            ("KG304", 23, 5),
            ("KG309", 23, 5),
            ("KG310", 23, 5),
            ("KG311", 23, 5),
            ("KG312", 23, 5),
            ("KG313", 23, 5),
            ("KG303", 23, 13),
            // deploy-bot
            ("KG304", 32, 5),
            ("KG309", 35, 5),
            ("KG313", 38, 5),
            ("KG308", 41, 5),
            ("KG308", 44, 5),
            // node-debugger: `*/proxy` matches, `nodes/*` does not.
            ("KG310", 53, 5),
            // csr-and-webhooks: the approval subresource and the webhook group only.
            ("KG311", 66, 5),
            ("KG312", 72, 5),
        ]
    );
    let wildcards: Vec<_> = pointers(&report, &["KG303"])
        .into_iter()
        .map(|(_, _, p)| p)
        .collect();
    assert_eq!(
        wildcards,
        vec![
            "/rules/0/apiGroups/0",
            "/rules/0/resources/0",
            "/rules/0/verbs/0"
        ]
    );
    assert_eq!(
        message(&report, "KG302", "Role/shop/config-reader"),
        "Role \"config-reader\" rule 1 grants get, list on secrets in the core API group: \
subjects bound to it can read the Secrets in scope, service account tokens included"
    );
    let bind = message(&report, "KG308", "ClusterRole/deploy-bot");
    assert!(
        bind.starts_with(
            "ClusterRole \"deploy-bot\" rule 3 grants bind on rolebindings, clusterroles:"
        ),
        "{bind}"
    );
    let webhooks = message(&report, "KG312", "ClusterRole/csr-and-webhooks");
    assert!(
        webhooks.contains(
            "rule 2 grants delete on mutatingwebhookconfigurations in API group \
admissionregistration.k8s.io"
        ),
        "{webhooks}"
    );
}

#[test]
fn builtin_cluster_roles_lookalikes_and_malformed_rules() {
    let report = check("cis/rbac-exemptions.yaml");
    // KG303 skips cluster-admin and system:* ClusterRoles, but not a Role named system:….
    assert_eq!(
        pointers(&report, &["KG303"]),
        vec![(
            "KG303".to_owned(),
            "Role/shop/system:leader-locking".to_owned(),
            "/rules/0/verbs/0".to_owned()
        )]
    );
    assert_eq!(positions(&report, &["KG303"]), vec![("KG303", 34, 13)]);
    // The grant rules judge what cluster-admin grants; the non-RBAC lookalike and the
    // malformed roles produce nothing.
    let objects: Vec<_> = pointers(&report, &RBAC_RULES)
        .into_iter()
        .filter(|(rule, _, _)| rule != "KG303")
        .map(|(rule, object, _)| format!("{rule} {object}"))
        .collect();
    assert_eq!(
        objects,
        ["KG302", "KG304", "KG309", "KG310", "KG311", "KG312", "KG313"]
            .map(|r| format!("{r} ClusterRole/cluster-admin"))
    );
}

#[test]
fn bindings_to_cluster_admin_default_and_system_masters() {
    let report = check("cis/rbac-bindings.yaml");
    assert_eq!(
        positions(&report, &RBAC_RULES),
        vec![
            ("KG301", 25, 3),
            ("KG301", 42, 3),
            ("KG305", 58, 5),
            ("KG301", 72, 3),
            ("KG307", 74, 5),
        ]
    );
    let found: Vec<_> = pointers(&report, &RBAC_RULES)
        .into_iter()
        .map(|(rule, object, pointer)| format!("{rule} {object} {pointer}"))
        .collect();
    assert_eq!(
        found,
        vec![
            "KG301 ClusterRoleBinding/ci-deployer-admin /roleRef/name",
            "KG301 RoleBinding/shop/oncall-admin /roleRef/name",
            "KG305 RoleBinding/shop/app-view /subjects/0",
            "KG301 ClusterRoleBinding/break-glass /roleRef/name",
            "KG307 ClusterRoleBinding/break-glass /subjects/0",
        ]
    );
    assert_eq!(
        message(&report, "KG301", "ClusterRoleBinding/ci-deployer-admin"),
        "ClusterRoleBinding \"ci-deployer-admin\" gives ServiceAccount ci/deployer, User \
\"jenkins\" full control of every resource in the cluster through ClusterRole \"cluster-admin\""
    );
    assert!(message(&report, "KG301", "RoleBinding/shop/oncall-admin")
        .contains("every resource in namespace \"shop\""),);
}

#[test]
fn token_automount_follows_the_pod_spec_then_the_service_account() {
    let report = check("cis/service-accounts.yaml");
    let found: Vec<_> = report
        .findings
        .iter()
        .filter(|f| ["KG305", "KG306"].contains(&f.rule_id.as_ref()))
        .map(|f| {
            (
                f.rule_id.as_ref(),
                f.object.to_string(),
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
            )
        })
        .collect();
    let expected = [
        ("KG305", "ServiceAccount/payments/default", 6, 3),
        ("KG306", "Deployment/payments/api-debug", 74, 7),
        ("KG306", "StatefulSet/payments/worker", 92, 5),
        ("KG306", "CronJob/payments/settle", 109, 9),
        ("KG306", "Pod/payments/web", 122, 1),
        ("KG306", "Pod/payments/reporter", 144, 1),
        ("KG306", "Job/migrate-api", 184, 5),
    ]
    .map(|(rule, object, line, column)| (rule, object.to_owned(), line, column));
    assert_eq!(found, expected);
    assert_eq!(
        message(&report, "KG306", "Deployment/payments/api-debug"),
        "pod spec sets automountServiceAccountToken to true for ServiceAccount \"api\", so its \
API token is mounted into every container"
    );
    assert!(message(&report, "KG306", "StatefulSet/payments/worker")
        .contains("ServiceAccount \"worker\" sets it to true"));
    assert!(message(&report, "KG306", "CronJob/payments/settle")
        .contains("ServiceAccount \"batch\" does not set it to false either"));
    assert!(message(&report, "KG306", "Pod/payments/web")
        .contains("ServiceAccount \"default\" does not set it to false either"));
    assert!(message(&report, "KG306", "Pod/payments/reporter")
        .contains("ServiceAccount \"reporter\" is not in the input"));
}

#[test]
fn namespaces_without_network_policies_and_the_default_namespace() {
    let report = check("cis/namespaces.yaml");
    assert_eq!(
        pointers(&report, &NAMESPACE_RULES),
        [
            (
                "KG403",
                "ConfigMap/default/legacy-config",
                "/metadata/namespace"
            ),
            (
                "KG401",
                "Deployment/billing/invoicing",
                "/metadata/namespace"
            ),
            ("KG401", "CronJob/reports/nightly", "/metadata/namespace"),
        ]
        .map(|(r, o, p)| (r.to_owned(), o.to_owned(), p.to_owned()))
    );
    assert_eq!(
        positions(&report, &NAMESPACE_RULES),
        vec![("KG403", 81, 3), ("KG401", 114, 3), ("KG401", 133, 3)]
    );
    // shop has its policy, kube-system is skipped, analytics and default hold no pods (only
    // ConfigMaps and Services), the second workload of reports is not its first, and
    // portable-config (no namespace) is not judged.
    assert_eq!(
        message(&report, "KG401", "CronJob/reports/nightly"),
        "namespace \"reports\" runs pods but has no NetworkPolicy in the input, so its pods \
accept traffic from every pod in the cluster"
    );
}

#[test]
fn network_policies_count_across_the_whole_input() {
    let report = check_all(&["cis/namespaces.yaml", "cis/billing-network-policy.yaml"]);
    let found: Vec<_> = pointers(&report, &["KG401"])
        .into_iter()
        .map(|(_, object, _)| object)
        .collect();
    assert_eq!(found, vec!["CronJob/reports/nightly"]);
}

#[test]
fn secrets_in_env_in_every_container_list() {
    let report = check("cis/secret-env.yaml");
    assert_eq!(
        positions(&report, &["KG402"]),
        vec![("KG402", 20, 17), ("KG402", 30, 15), ("KG402", 64, 13)]
    );
    let found: Vec<_> = pointers(&report, &["KG402"])
        .into_iter()
        .map(|(_, _, p)| p)
        .collect();
    assert_eq!(
        found,
        vec![
            "/spec/template/spec/initContainers/0/env/0/valueFrom/secretKeyRef",
            "/spec/template/spec/containers/0/envFrom/1/secretRef",
            "/spec/ephemeralContainers/0/env/0/valueFrom/secretKeyRef",
        ]
    );
    assert_eq!(
        message(&report, "KG402", "Deployment/shop/checkout"),
        "init container \"migrate\" puts key \"url\" of Secret \"checkout-db\" into environment \
variable \"DATABASE_URL\"; mount the Secret as a file instead"
    );
}

#[test]
fn the_cis_pack_runs_every_cis_rule_and_maps_it_to_its_control() {
    let catalog = Catalog::builtin().expect("valid policies/");
    let checker = Checker::builtin(&["cis".to_owned()], Settings::default()).expect("cis pack");
    let ids: Vec<_> = checker.rules().iter().map(|r| r.meta().id).collect();
    for id in RBAC_RULES
        .iter()
        .chain(&["KG101", "KG102", "KG103", "KG401", "KG402", "KG403"])
    {
        assert!(ids.contains(id), "{id} is not in the cis pack: {ids:?}");
    }
    let controls = [
        ("KG301", "5.1.1"),
        ("KG302", "5.1.2"),
        ("KG303", "5.1.3"),
        ("KG304", "5.1.4"),
        ("KG305", "5.1.5"),
        ("KG306", "5.1.6"),
        ("KG307", "5.1.7"),
        ("KG308", "5.1.8"),
        ("KG309", "5.1.9"),
        ("KG310", "5.1.10"),
        ("KG311", "5.1.11"),
        ("KG312", "5.1.12"),
        ("KG313", "5.1.13"),
        ("KG401", "5.3.2"),
        ("KG402", "5.4.1"),
        ("KG403", "5.7.4"),
    ];
    for (id, control) in controls {
        assert_eq!(
            catalog.benchmarks(id),
            vec![format!("CIS {control}")],
            "{id}"
        );
    }
    let cis = &catalog.benchmarks[0];
    let mapped: Vec<&str> = controls
        .iter()
        .map(|(_, c)| *c)
        .chain(["5.2.2", "5.2.3", "5.2.4", "5.2.5", "5.2.12"])
        .collect();
    let judged: Vec<_> = cis
        .controls
        .iter()
        .filter(|c| mapped.contains(&c.id.as_str()))
        .collect();
    assert_eq!(judged.len(), mapped.len());
    for control in judged {
        assert!(
            matches!(control.level, Some(1 | 2)),
            "{}: level",
            control.id
        );
        assert!(
            matches!(control.assessment.as_deref(), Some("automated" | "manual")),
            "{}: assessment",
            control.id
        );
    }
}

#[test]
fn every_cis_fixture_loads_and_no_rule_fails() {
    // check_all asserts there are no load errors and no rule panics (both are report errors).
    let report = check_all(&["cis"]);
    assert!(report.findings.iter().any(|f| f.rule_id == "KG301"));
}

/// Regressions for the defects issue #16 lists: KG403 on the built-in `default`
/// ServiceAccount, KG310 on a rule whose only verb is empty, and KG131's message (run alone,
/// as with `--only KG131`) when a drop differs from `ALL` only in case.
#[test]
fn defects_found_against_the_peers_stay_fixed() {
    let report = check("cis/issue16-defects.yaml");
    assert_eq!(
        pointers(&report, &["KG403", "KG310", "KG308"]),
        [(
            "KG403".to_owned(),
            "ServiceAccount/default/web".to_owned(),
            "/metadata/namespace".to_owned()
        )]
    );
    let inputs = [Input::Path(testdata("cis/issue16-defects.yaml"))];
    let alone = common::only(&["KG131"]).check(&Loader::default().load(&inputs));
    assert_eq!(
        pointers(&alone, &["KG131"]),
        [(
            "KG131".to_owned(),
            "Pod/shop/lower-case-drop".to_owned(),
            "/spec/containers/0/securityContext/capabilities/drop".to_owned()
        )]
    );
    let kg131 = message(&alone, "KG131", "Pod/shop/lower-case-drop");
    assert!(
        kg131.contains("it drops \"all\"") && kg131.contains("write \"ALL\""),
        "{kg131}"
    );
}

#[test]
fn pod_exec_attach_portforward_and_proxy_grants_are_reported_at_the_rule() {
    let report = check("cis/pod-access.yaml");
    assert_eq!(
        positions(&report, &["KG314"]),
        vec![
            ("KG314", 12, 5),
            ("KG314", 15, 5),
            // `*` and `*/proxy`; not `pods/*`.
            ("KG314", 26, 5),
            ("KG314", 29, 5),
            // get on pods/exec (WebSocket exec); not pods/log, not another group's pods/exec.
            ("KG314", 49, 5),
        ]
    );
    assert_eq!(
        message(&report, "KG314", "Role/shop/debugger"),
        "Role \"debugger\" rule 0 grants get, create on pods/exec in the core API group: \
         subjects bound to it can run commands in, attach to or open connections into the pods \
         in scope"
    );
}
