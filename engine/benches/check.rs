//! Throughput of load + built-in rules on the reproducible corpus (`kubegate_engine::corpus`).
//!
//! `cargo bench -p kubegate-engine` — items/s is resources per second.

use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;
use kubegate_engine::{corpus, Checker, Input, Loaded, Loader};

// The same allocator as the `kubegate` binary, so the figures are the shipped ones.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

const SEED: u64 = 42;

/// YAML → values + position index, one thread, one 2,000-object stream.
#[divan::bench(sample_count = 20)]
fn parse_only(bencher: Bencher) {
    let text = corpus::generate(2_000, SEED);
    let limits = kubegate_engine::Limits::default();
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| kubegate_engine::parse_stream(divan::black_box(&text), &limits));
}

/// Built-in rules and exemptions over already-loaded objects, parallel.
#[divan::bench(sample_count = 20)]
fn rules_only(bencher: Bencher) {
    let (manifests, _) = Loader::default().load_text("corpus.yaml", corpus::generate(10_000, SEED));
    let loaded = Loaded {
        manifests,
        errors: Vec::new(),
        files: 1,
        ..Default::default()
    };
    let checker = Checker::default();
    bencher
        .counter(ItemsCount::new(loaded.manifests.len()))
        .bench(|| checker.check(&loaded));
}

/// `count` corpus objects in files of 50 under a temporary directory (kept while the guard
/// lives), as `kubegate check DIR` inputs.
fn corpus_dir(count: usize) -> (tempfile::TempDir, [Input; 1]) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in corpus::generate_files(count, 50, SEED) {
        std::fs::write(dir.path().join(name), text).expect("write corpus");
    }
    let inputs = [Input::Path(dir.path().to_path_buf())];
    (dir, inputs)
}

/// The whole pipeline as `kubegate check DIR` runs it: walk, read, parse in parallel,
/// evaluate, sort. 20,000 objects in 400 files.
#[divan::bench(sample_count = 10)]
fn end_to_end_directory(bencher: Bencher) {
    let count = 20_000;
    let (_dir, inputs) = corpus_dir(count);
    let checker = Checker::default();
    bencher.counter(ItemsCount::new(count)).bench(|| {
        let loaded = Loader::default().load(&inputs);
        let report = checker.check(&loaded);
        assert_eq!(report.summary.objects, count);
        // Returned, so freeing it happens outside the timing, as in the CLI (which never frees).
        (loaded, report)
    });
}

/// The same pipeline without schema validation (KG005, KG006): what schemas cost.
#[divan::bench(sample_count = 10)]
fn end_to_end_directory_without_schema(bencher: Bencher) {
    let count = 20_000;
    let (_dir, inputs) = corpus_dir(count);
    let skip = ["KG005".to_owned(), "KG006".to_owned()];
    let checker = Checker::builtin_selection(&[], &[], &skip, Default::default()).expect("rules");
    bencher.counter(ItemsCount::new(count)).bench(|| {
        let loaded = Loader::default().load(&inputs);
        let report = checker.check(&loaded);
        assert_eq!(report.summary.objects, count);
        (loaded, report)
    });
}

/// Schema start-up: inflate and parse the bundle (once per process, so only the first sample
/// pays it), register the newest version's definitions, compile every kind's validator.
#[divan::bench(sample_count = 10)]
fn schema_compile_all_kinds(bencher: Bencher) {
    let version = kubegate_engine::schemas::newest().expect("bundle");
    bencher
        .bench(|| kubegate_engine::bench::compile_all_kinds(version).expect("every kind compiles"));
}

/// Inflating and parsing the bundle, which every process pays once.
#[divan::bench(sample_count = 10)]
fn schema_bundle_parse(bencher: Bencher) {
    bencher.bench(kubegate_engine::bench::parse_bundle_uncached);
}

/// Load + built-in rules + 30 Gatekeeper-style templates (each with a constraint matching every
/// workload): 5,000 objects in 100 files. Target (issue #4): ≥ 5,000 resources/s.
#[divan::bench(sample_count = 10)]
fn end_to_end_with_30_templates(bencher: Bencher) {
    end_to_end_with_policies(bencher, corpus::gatekeeper_policies(30), 5_000);
}

/// Load + built-in rules + 30 ValidatingAdmissionPolicies with Deny bindings (CEL, each
/// matching every workload), on the 20,000-object corpus. Target (issue #15): ≥ 20,000
/// resources/s.
#[divan::bench(sample_count = 5)]
fn end_to_end_with_30_vaps(bencher: Bencher) {
    end_to_end_with_policies(bencher, corpus::validating_admission_policies(30), 20_000);
}

/// Load + built-in rules + the policy files `policies` on `count` corpus objects (50 a file).
fn end_to_end_with_policies(bencher: Bencher, policies: Vec<(String, String)>, count: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy_dir = dir.path().join("policy");
    let input_dir = dir.path().join("input");
    std::fs::create_dir_all(&policy_dir).expect("mkdir");
    std::fs::create_dir_all(&input_dir).expect("mkdir");
    for (name, text) in policies {
        std::fs::write(policy_dir.join(name), text).expect("write policy");
    }
    for (name, text) in corpus::generate_files(count, 50, SEED) {
        std::fs::write(input_dir.join(name), text).expect("write corpus");
    }
    let policies =
        kubegate_engine::PolicySet::load(&[policy_dir], &Default::default()).expect("policies");
    let checker = Checker::default().with_policies(std::sync::Arc::new(policies));
    let inputs = [Input::Path(input_dir)];
    bencher.counter(ItemsCount::new(count)).bench(|| {
        let loaded = Loader::default().load(&inputs);
        let report = checker.check(&loaded);
        assert!(report.errors.is_empty(), "{:?}", report.errors.first());
        (loaded, report)
    });
}
