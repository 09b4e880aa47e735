//! Exact positions of the Pod Security and CIS pod rules, and how the CIS pod rules defer to
//! the Pod Security rules that cover the same field.

use crate::common;

use common::{only, positions_all};
use kubegate_engine::{Checker, Input, Loaded, Loader, Report};

fn run(checker: &Checker, report: impl FnOnce() -> Loaded) -> Report {
    checker.check(&report())
}

#[test]
fn every_pod_security_finding_points_at_its_field() {
    let path = common::testdata("pod-security/node-agent.yaml");
    let checker =
        Checker::builtin(&["pss".into(), "cis".into()], Default::default()).expect("checker");
    let report = run(&checker, || Loader::default().load(&[Input::Path(path)]));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(
        positions_all(&report),
        vec![
            ("KG401", 6, 3),   // namespace without NetworkPolicy
            ("KG106", 16, 9),  // AppArmor annotation unconfined
            ("KG306", 17, 5),  // service account token automounted
            ("KG102", 18, 7),  // hostNetwork
            ("KG124", 20, 9),  // runAsUser: 0
            ("KG107", 22, 11), // seLinuxOptions.type
            ("KG110", 24, 13), // sysctl name
            ("KG109", 27, 11), // seccomp Unconfined (baseline, not KG125)
            ("KG123", 31, 11), // init container: runAsNonRoot missing
            ("KG108", 32, 13), // procMount Unmasked
            ("KG104", 41, 15), // hostPort
            ("KG112", 44, 15), // probe host
            ("KG123", 47, 11), // container: runAsNonRoot missing
            ("KG122", 48, 13), // allowPrivilegeEscalation: true
            ("KG105", 50, 21), // SYS_ADMIN (baseline)
            ("KG126", 50, 32), // CHOWN (restricted only)
            ("KG111", 53, 15), // hostProcess
            ("KG103", 56, 11), // hostPath (baseline, not KG121)
            ("KG121", 59, 11), // nfs
        ]
    );
}

const BARE_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: app\n      image: registry.example.com/app:1.0.0\n      securityContext:\n        capabilities:\n          add: [NET_BIND_SERVICE, SYS_TIME]\n    - name: side\n      image: registry.example.com/side:1.0.0\n";

fn check_bare(checker: &Checker) -> Vec<(&'static str, String)> {
    let (manifests, errors) = Loader::default().load_text("p.yaml", BARE_POD.to_owned());
    checker
        .check(&Loaded {
            manifests,
            errors,
            files: 1,
            ..Default::default()
        })
        .findings
        .into_iter()
        .map(|f| {
            let id = kubegate_engine::registry::find(&f.rule_id).map_or("?", |m| m.id);
            (id, f.pointer)
        })
        .collect()
}

#[test]
fn cis_pod_rules_report_alone_what_pod_security_rules_would() {
    let found = check_bare(&only(&["KG131", "KG132", "KG133"]));
    assert_eq!(
        found,
        vec![
            (
                "KG131",
                "/spec/containers/0/securityContext/capabilities/drop".to_owned()
            ),
            (
                "KG132",
                "/spec/containers/0/securityContext/capabilities/add/0".to_owned()
            ),
            (
                "KG131",
                "/spec/containers/1/securityContext/capabilities/drop".to_owned()
            ),
            ("KG133", "/spec/containers/1/securityContext".to_owned()),
        ]
    );
}

#[test]
fn cis_pod_rules_stay_silent_where_pod_security_rules_report() {
    let found = check_bare(&only(&[
        "KG105", "KG122", "KG126", "KG131", "KG132", "KG133",
    ]));
    let ids: Vec<&str> = found.iter().map(|(id, _)| *id).collect();
    // SYS_TIME is KG105's, dropping ALL is KG126's, the security context is KG122's; only the
    // NET_BIND_SERVICE the restricted level tolerates is left for CIS 5.2.9.
    assert!(
        !ids.contains(&"KG131") && !ids.contains(&"KG133"),
        "{found:?}"
    );
    assert_eq!(
        ids.iter().filter(|id| **id == "KG132").count(),
        1,
        "{found:?}"
    );
    assert!(found.contains(&(
        "KG132",
        "/spec/containers/0/securityContext/capabilities/add/0".to_owned()
    )));
    assert!(found.contains(&(
        "KG105",
        "/spec/containers/0/securityContext/capabilities/add/1".to_owned()
    )));
}

#[test]
fn user_namespace_relaxation_moves_proc_mount_from_baseline_to_restricted() {
    use kubegate_engine::Settings;
    use kubegate_engine::{PssSettings, PssVersion};
    let path = common::testdata("pod-security/user-namespace.yaml");
    let at = |version: PssVersion| {
        let settings = Settings {
            pss: PssSettings {
                level: None,
                version,
            },
            ..Settings::default()
        };
        let checker = Checker::builtin(&["pss".into(), "cis".into()], settings).expect("checker");
        let report = checker.check(&Loader::default().load(&[Input::Path(path.clone())]));
        positions_all(&report)
            .into_iter()
            .map(|(id, l, c)| (id.to_owned(), l, c))
            .collect::<Vec<_>>()
    };
    let owned = |v: &[(&str, u32, u32)]| {
        v.iter()
            .map(|(id, l, c)| (id.to_string(), *l, *c))
            .collect::<Vec<_>>()
    };
    // v1.35+: baseline allows Unmasked /proc in a user namespace; restricted (KG127) does not.
    assert_eq!(
        at(PssVersion::LATEST),
        owned(&[("KG404", 7, 3), ("KG125", 30, 7), ("KG127", 31, 9)])
    );
    // v1.34: no relaxation, so it is a baseline violation.
    let v134 = PssVersion::v1(34).expect("v1.34");
    assert_eq!(
        at(v134),
        owned(&[("KG404", 7, 3), ("KG125", 30, 7), ("KG108", 31, 9)])
    );
}

#[test]
fn severities_can_be_overridden_per_rule() {
    use kubegate_engine::Severity;
    let (manifests, errors) = Loader::default().load_text("p.yaml", BARE_POD.to_owned());
    let loaded = Loaded {
        manifests,
        errors,
        files: 1,
        ..Default::default()
    };
    let checker = only(&["KG133"])
        .with_severity("security-context-missing", Severity::Critical)
        .expect("known rule");
    let report = checker.check(&loaded);
    assert!(!report.findings.is_empty());
    assert!(report
        .findings
        .iter()
        .all(|f| f.severity == Severity::Critical));
    assert!(only(&[]).with_severity("KG999", Severity::Low).is_err());
}
