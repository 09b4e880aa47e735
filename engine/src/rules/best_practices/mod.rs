//! The `best-practices` pack: workload hygiene that prevents outages and surprises.

rules! {
    dangling_service::DanglingService,
    deprecated_api_version::DeprecatedApiVersion,
    image_pull_policy::ImagePullPolicy,
    image_tag::ImageTag,
    liveness_probe::LivenessProbe,
    pdb_blocks_eviction::PdbBlocksEviction,
    read_only_root_filesystem::ReadOnlyRootFilesystem,
    readiness_probe::ReadinessProbe,
    recommended_labels::RecommendedLabels,
    resource_limits::ResourceLimits,
    resource_requests::ResourceRequests,
    service_exposed::ServiceExposed,
    single_replica::SingleReplica,
}
