//! The CIS Kubernetes Benchmark section 5 checks that are not Pod Security Standards checks
//! (RBAC, network policies, secrets, namespaces, capabilities); the PSS rules the benchmark maps
//! to live in `pss/`.

pub(crate) mod added_capabilities;
pub(crate) mod cluster_admin_binding;
pub(crate) mod csr_approval_access;
pub(crate) mod default_namespace;
pub(crate) mod default_service_account;
pub(crate) mod namespace_without_network_policy;
pub(crate) mod namespace_without_pod_security;
pub(crate) mod net_raw_capability;
pub(crate) mod node_proxy_access;
pub(crate) mod persistent_volume_create;
pub(crate) mod pod_create_access;
pub(crate) mod rbac_escalation_verbs;
pub(crate) mod rbac_match;
pub(crate) mod rbac_wildcard;
pub(crate) mod secret_in_env;
pub(crate) mod secrets_access;
pub(crate) mod security_context_missing;
pub(crate) mod service_account_token_automount;
pub(crate) mod service_account_token_create;
pub(crate) mod system_masters_binding;
pub(crate) mod webhook_config_access;
