//! The `best-practices` pack: workload hygiene that prevents outages and surprises.

pub(crate) mod selection;

rules! {
    autoscaler_target::AutoscalerTarget,
    dangling_service::DanglingService,
    deprecated_api_version::DeprecatedApiVersion,
    image_pull_policy::ImagePullPolicy,
    image_tag::ImageTag,
    ingress_backend::IngressBackend,
    liveness_probe::LivenessProbe,
    low_user_id::LowUserId,
    missing_pdb::MissingPdb,
    missing_reference::MissingReference,
    network_policy_selects_nothing::NetworkPolicySelectsNothing,
    pdb_blocks_eviction::PdbBlocksEviction,
    pdb_selects_nothing::PdbSelectsNothing,
    plaintext_credential::PlaintextCredential,
    pod_without_network_policy::PodWithoutNetworkPolicy,
    read_only_root_filesystem::ReadOnlyRootFilesystem,
    readiness_probe::ReadinessProbe,
    replicas_not_spread::ReplicasNotSpread,
    rollout_strategy::RolloutStrategy,
    recommended_labels::RecommendedLabels,
    resource_limits::ResourceLimits,
    resource_requests::ResourceRequests,
    service_exposed::ServiceExposed,
    single_replica::SingleReplica,
}
