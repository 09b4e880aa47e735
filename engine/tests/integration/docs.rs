//! docs/rules.md is generated from the rule metadata; this fails when it is stale.

#[test]
fn rules_reference_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md");
    let expected = kubegate_engine::registry::rules_markdown();
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    if std::env::var_os("KUBEGATE_UPDATE_DOCS").is_some() {
        std::fs::write(path, &expected).expect("write docs/rules.md");
        return;
    }
    assert!(
        actual == expected,
        "docs/rules.md is stale: regenerate it with \
         `cargo run -p kubegate -- rules --format markdown > docs/rules.md` \
         (or KUBEGATE_UPDATE_DOCS=1 cargo test -p kubegate-engine --test integration docs::)"
    );
}
