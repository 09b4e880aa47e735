//! The always-on pack: problems with kubegate's own inputs (malformed workloads, schemas,
//! unknown kinds, exemption annotations).

pub(crate) mod custom_resource_schema;
pub(crate) mod kubernetes_schema;
pub(crate) mod unknown_kind;
pub(crate) mod workload_structure;
