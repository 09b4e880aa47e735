//! The shipped policy library (`policies/library`): every gator suite passes, and the whole
//! library loads as one policy set, as `--policy policies/library` would load it.

use kubegate_engine::policy_tests::{run, TestStatus};
use kubegate_engine::{PolicyOptions, PolicySet};
use std::path::PathBuf;

fn library() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/library"))
}

#[test]
fn every_library_suite_passes() {
    let results = run(&[library()]);
    let failures: Vec<_> = results
        .iter()
        .filter(|r| r.status != TestStatus::Pass)
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        results.len() >= 17,
        "only {} library cases ran",
        results.len()
    );
    for policy in [
        "required-labels",
        "allowed-registries",
        "required-resources",
        "allowed-service-types",
        "seccomp-runtime-default",
        "forbidden-host-devices",
        "replicas-integer",
    ] {
        let cases = results
            .iter()
            .filter(|r| r.name.starts_with(&format!("{policy} /")))
            .count();
        assert!(
            cases >= 2,
            "{policy} has {cases} cases; every policy needs an allowed and a disallowed sample"
        );
    }
}

#[test]
fn the_whole_library_loads_as_one_policy_set() {
    let set = PolicySet::load(&[library()], &PolicyOptions::default()).expect("library loads");
    assert_eq!(set.rules().len(), 7, "one example constraint per policy");
}
