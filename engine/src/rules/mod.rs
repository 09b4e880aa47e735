//! The built-in rule catalogue. Codes are never reused: a retired rule keeps its id here.

/// The CustomResourceDefinition the schema rules' examples carry (a rule example must stand
/// alone): KG004's two, and KG006's passing one.
macro_rules! backup_crd {
    () => {
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.ops.example.com
spec:
  group: ops.example.com
  scope: Namespaced
  names: {kind: Backup, plural: backups, singular: backup}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [schedule]
              properties:
                schedule: {type: string}
                retain: {type: integer}
---
"#
    };
}

mod added_capabilities;
mod cluster_admin_binding;
mod csr_approval_access;
mod custom_resource_schema;
mod default_namespace;
mod default_service_account;
mod deprecated_api_version;
mod host_namespaces;
mod host_path_volume;
mod image_pull_policy;
mod image_tag;
mod kubernetes_schema;
mod liveness_probe;
mod namespace_without_network_policy;
mod namespace_without_pod_security;
mod net_raw_capability;
mod node_proxy_access;
mod pdb_blocks_eviction;
mod persistent_volume_create;
mod pod_create_access;
mod privileged_container;
mod pss;
mod rbac_escalation_verbs;
mod rbac_match;
mod rbac_wildcard;
mod read_only_root_filesystem;
mod readiness_probe;
mod recommended_labels;
mod resource_limits;
mod resource_requests;
mod secret_in_env;
mod secrets_access;
mod security_context_missing;
mod service_account_token_automount;
mod service_account_token_create;
mod service_exposed;
mod single_replica;
mod system_masters_binding;
mod unknown_kind;
mod webhook_config_access;
mod workload_structure;

use crate::rule::{Rule, RuleMeta};

/// The rule that needs the bundled Kubernetes schemas (and the target version to be bundled).
pub const KUBERNETES_SCHEMA_ID: &str = kubernetes_schema::META.id;

static BUILTIN: &[&dyn Rule] = &[
    &workload_structure::WorkloadStructure,
    &custom_resource_schema::CustomResourceSchema,
    &kubernetes_schema::KubernetesSchema,
    &unknown_kind::UnknownKind,
    &privileged_container::PrivilegedContainer,
    &host_namespaces::HostNamespaces,
    &host_path_volume::HostPathVolume,
    &image_tag::ImageTag,
    &resource_limits::ResourceLimits,
    &resource_requests::ResourceRequests,
    &liveness_probe::LivenessProbe,
    &readiness_probe::ReadinessProbe,
    &image_pull_policy::ImagePullPolicy,
    &read_only_root_filesystem::ReadOnlyRootFilesystem,
    &single_replica::SingleReplica,
    &service_exposed::ServiceExposed,
    &deprecated_api_version::DeprecatedApiVersion,
    &recommended_labels::RecommendedLabels,
    &pdb_blocks_eviction::PdbBlocksEviction,
    // Pod Security Standards checks.
    &pss::host_ports::HostPorts,
    &pss::capabilities_baseline::CapabilitiesBaseline,
    &pss::apparmor_profile::AppArmorProfile,
    &pss::selinux_options::SeLinuxOptions,
    &pss::proc_mount::ProcMount,
    &pss::seccomp_baseline::SeccompBaseline,
    &pss::sysctls::Sysctls,
    &pss::windows_host_process::WindowsHostProcess,
    &pss::probe_host::ProbeHost,
    &pss::restricted_volumes::RestrictedVolumes,
    &pss::allow_privilege_escalation::AllowPrivilegeEscalation,
    &pss::run_as_non_root::RunAsNonRoot,
    &pss::run_as_user::RunAsUser,
    &pss::seccomp_restricted::SeccompRestricted,
    &pss::capabilities_restricted::CapabilitiesRestricted,
    &pss::proc_mount_restricted::ProcMountRestricted,
    // CIS checks that are not pod security.
    &cluster_admin_binding::ClusterAdminBinding,
    &secrets_access::SecretsAccess,
    &rbac_wildcard::RbacWildcard,
    &pod_create_access::PodCreateAccess,
    &default_service_account::DefaultServiceAccount,
    &service_account_token_automount::ServiceAccountTokenAutomount,
    &system_masters_binding::SystemMastersBinding,
    &rbac_escalation_verbs::RbacEscalationVerbs,
    &persistent_volume_create::PersistentVolumeCreate,
    &node_proxy_access::NodeProxyAccess,
    &csr_approval_access::CsrApprovalAccess,
    &webhook_config_access::WebhookConfigAccess,
    &service_account_token_create::ServiceAccountTokenCreate,
    &namespace_without_network_policy::NamespaceWithoutNetworkPolicy,
    &secret_in_env::SecretInEnv,
    &default_namespace::DefaultNamespace,
    &net_raw_capability::NetRawCapability,
    &added_capabilities::AddedCapabilities,
    &security_context_missing::SecurityContextMissing,
    &namespace_without_pod_security::NamespaceWithoutPodSecurity,
];

/// Every built-in rule that inspects objects.
pub fn builtin() -> &'static [&'static dyn Rule] {
    BUILTIN
}

/// Ids of the built-in rules whose verdict needs the other objects of the input
/// ([`Rule::needs_whole_input`]), sorted.
pub fn whole_input_ids() -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = BUILTIN
        .iter()
        .filter(|r| r.needs_whole_input())
        .map(|r| r.meta().id)
        .collect();
    ids.sort_unstable();
    ids
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules the webhook leaves out. A new rule that reads `cx.inventory` to decide (not
    /// only to find CRDs) belongs here; the webhook tests show the false positive otherwise.
    #[test]
    fn rules_that_need_the_whole_input() {
        assert_eq!(whole_input_ids(), ["KG208", "KG212", "KG306", "KG401"]);
    }
}
