//! `kubegate schemas`: the bundled Kubernetes API schemas.

/// `kubegate schemas`: the bundled versions and where they come from, or one version's kinds.
pub fn text(args: &crate::args::SchemasArgs) -> anyhow::Result<String> {
    use kubegate_engine::schemas as builtin;
    let mut text = String::new();
    if let Some(version) = args.kube_version {
        for (api_version, kind) in builtin::kinds(version)? {
            text.push_str(&format!("{api_version} {kind}\n"));
        }
        return Ok(text);
    }
    let versions = builtin::bundled_versions()?;
    let newest = builtin::newest()?;
    for v in &versions {
        let count = builtin::kinds(*v)?.len();
        let mark = if *v == newest { " (default)" } else { "" };
        text.push_str(&format!("Kubernetes {v}: {count} kinds{mark}\n"));
    }
    let source = builtin::provenance()?;
    text.push_str("\nsource:\n");
    for (key, value) in source {
        text.push_str(&format!("  {key}: {value}\n"));
    }
    Ok(text)
}
