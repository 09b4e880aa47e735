//! The built-in rule catalogue. Codes are never reused: a retired rule keeps its id here.

mod host_namespaces;
mod host_path_volume;
mod image_tag;
mod privileged_container;
mod resource_limits;
mod workload_structure;

use crate::rule::{Rule, RuleMeta};

static BUILTIN: &[&dyn Rule] = &[
    &workload_structure::WorkloadStructure,
    &privileged_container::PrivilegedContainer,
    &host_namespaces::HostNamespaces,
    &host_path_volume::HostPathVolume,
    &image_tag::ImageTag,
    &resource_limits::ResourceLimits,
    // Pod Security Standards checks.
    // CIS checks that are not pod security.
];

/// Every built-in rule that inspects objects.
pub fn builtin() -> &'static [&'static dyn Rule] {
    BUILTIN
}

/// Metadata of every rule kubegate can report, including the engine's own (exemptions),
/// sorted by id.
pub fn all_metas() -> Vec<&'static RuleMeta> {
    let mut metas: Vec<&'static RuleMeta> = BUILTIN.iter().map(|r| r.meta()).collect();
    metas.extend(crate::exemption::METAS);
    metas.sort_by_key(|m| m.id);
    metas
}

/// Looks a rule up by id (`KG101`, any case) or name (`privileged-container`).
pub fn find(id_or_name: &str) -> Option<&'static RuleMeta> {
    all_metas()
        .into_iter()
        .find(|m| m.id.eq_ignore_ascii_case(id_or_name) || m.name == id_or_name)
}
