//! The CIS Kubernetes Benchmark section 5 checks that are not Pod Security Standards checks
//! (RBAC, network policies, secrets, namespaces, capabilities); the PSS rules the benchmark maps
//! to live in `pss/`.

pub(crate) mod rbac_match;

rules! {
    added_capabilities::AddedCapabilities,
    cluster_admin_binding::ClusterAdminBinding,
    csr_approval_access::CsrApprovalAccess,
    default_namespace::DefaultNamespace,
    default_service_account::DefaultServiceAccount,
    namespace_without_network_policy::NamespaceWithoutNetworkPolicy,
    namespace_without_pod_security::NamespaceWithoutPodSecurity,
    net_raw_capability::NetRawCapability,
    node_proxy_access::NodeProxyAccess,
    persistent_volume_create::PersistentVolumeCreate,
    pod_exec_access::PodExecAccess,
    pod_create_access::PodCreateAccess,
    rbac_escalation_verbs::RbacEscalationVerbs,
    rbac_wildcard::RbacWildcard,
    secret_in_env::SecretInEnv,
    secrets_access::SecretsAccess,
    security_context_missing::SecurityContextMissing,
    service_account_token_automount::ServiceAccountTokenAutomount,
    service_account_token_create::ServiceAccountTokenCreate,
    system_masters_binding::SystemMastersBinding,
    webhook_config_access::WebhookConfigAccess,
}
