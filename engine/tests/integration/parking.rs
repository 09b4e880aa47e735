//! A run parks objects as they load (whole objects kept as compact JSON, only a projection
//! parsed) and reads each back while it is judged. Parking must change nothing but memory: the
//! same findings, at the same positions, with the same errors, for every fixture directory —
//! including the whole-input rules that read other objects' projections, kustomize output
//! traced to its origins, and objects placed with `--default-namespace`.

use kubegate_engine::{corpus, Checker, Input, Loaded, Loader, RenderSettings, Report};

fn load(park: bool, inputs: &[Input], default_namespace: Option<&str>) -> Loaded {
    let mut loaded = Loader::default()
        .with_render(RenderSettings {
            helm: false,
            ..RenderSettings::default()
        })
        .parking(park)
        .load(inputs);
    if let Some(ns) = default_namespace {
        loaded.place_in_namespace(ns);
    }
    loaded
}

/// Everything a report says, as comparable text.
fn shown(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} {} {} {} {:?} {:?} {:?} advisory={} {:?}",
                f.rule_id,
                f.severity,
                f.object,
                f.pointer,
                f.location.file,
                f.location.line,
                f.location.column,
                f.message,
                f.advisory,
                f.details
            )
        })
        .collect();
    out.extend(report.errors.iter().map(|e| format!("error {e:?}")));
    out.push(format!("{:?}", report.summary));
    out
}

fn same_either_way(checker: &Checker, inputs: &[Input], default_namespace: Option<&str>) -> usize {
    let whole = load(false, inputs, default_namespace);
    let parked = load(true, inputs, default_namespace);
    assert!(whole.manifests.iter().all(|m| !m.is_parked()));
    let n = parked.manifests.iter().filter(|m| m.is_parked()).count();
    let (a, b) = (checker.check(&whole), checker.check(&parked));
    let (a, b) = (shown(&a), shown(&b));
    if let Some(i) = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)) {
        panic!(
            "{inputs:?} (namespace {default_namespace:?}): reports differ at line {i}\n  whole:  {:?}\n  parked: {:?}",
            a.get(i),
            b.get(i)
        );
    }
    n
}

#[test]
fn parking_changes_no_finding_on_any_fixture() {
    let checker = Checker::default();
    let root = crate::common::testdata("");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("testdata")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let mut parked = 0;
    for dir in &dirs {
        let inputs = [Input::Path(dir.clone())];
        parked += same_either_way(&checker, &inputs, None);
        parked += same_either_way(&checker, &inputs, Some("placed"));
    }
    // The comparison means something only if objects were parked.
    assert!(parked > 100, "only {parked} objects were parked");
}

/// The generated corpus: many namespaces of workloads, Services and ConfigMaps, so the
/// whole-input rules (dangling Services, PDBs, NetworkPolicies) read parked projections.
#[test]
fn parking_changes_no_finding_on_the_generated_corpus() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in corpus::generate_files(1_500, 50, 7) {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let parked = same_either_way(
        &Checker::default(),
        &[Input::Path(dir.path().to_path_buf())],
        None,
    );
    assert!(parked > 1_000, "only {parked} objects were parked");
}

/// Gatekeeper policies read other objects through `data.inventory` (whole objects, read back
/// from their parked form) and judge workloads through ExpansionTemplates.
#[test]
fn parking_changes_no_gatekeeper_verdict() {
    use kubegate_engine::{PolicyOptions, PolicySet};
    let policies = PolicySet::load(
        &[
            crate::common::testdata("gatekeeper/policy"),
            crate::common::testdata("gatekeeper/expansion/policy.yaml"),
        ],
        &PolicyOptions::default(),
    )
    .expect("policies load");
    let checker = Checker::default().with_policies(std::sync::Arc::new(policies));
    let inputs = [
        Input::Path(crate::common::testdata("gatekeeper/resources.yaml")),
        Input::Path(crate::common::testdata(
            "gatekeeper/expansion/workloads.yaml",
        )),
        Input::Path(crate::common::testdata("gatekeeper/namespaces")),
    ];
    assert!(same_either_way(&checker, &inputs, None) > 0);
}
