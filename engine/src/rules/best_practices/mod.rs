//! The `best-practices` pack: workload hygiene that prevents outages and surprises.

pub(crate) mod deprecated_api_version;
pub(crate) mod image_pull_policy;
pub(crate) mod image_tag;
pub(crate) mod liveness_probe;
pub(crate) mod pdb_blocks_eviction;
pub(crate) mod read_only_root_filesystem;
pub(crate) mod readiness_probe;
pub(crate) mod recommended_labels;
pub(crate) mod resource_limits;
pub(crate) mod resource_requests;
pub(crate) mod service_exposed;
pub(crate) mod single_replica;
