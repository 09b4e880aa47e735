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

pub(crate) mod best_practices;
pub mod catalog;
pub(crate) mod cis;
pub mod docs;
pub(crate) mod kubegate;
pub mod pss;
mod rule;

pub use rule::{Context, Rule, Settings};

use crate::vocab::RuleMeta;

/// The rule that needs the bundled Kubernetes schemas (and the target version to be bundled).
pub const KUBERNETES_SCHEMA_ID: &str = kubegate::kubernetes_schema::META.id;

static BUILTIN: &[&dyn Rule] = &[
    &kubegate::workload_structure::WorkloadStructure,
    &kubegate::custom_resource_schema::CustomResourceSchema,
    &kubegate::kubernetes_schema::KubernetesSchema,
    &kubegate::unknown_kind::UnknownKind,
    &pss::privileged_container::PrivilegedContainer,
    &pss::host_namespaces::HostNamespaces,
    &pss::host_path_volume::HostPathVolume,
    &best_practices::image_tag::ImageTag,
    &best_practices::resource_limits::ResourceLimits,
    &best_practices::resource_requests::ResourceRequests,
    &best_practices::liveness_probe::LivenessProbe,
    &best_practices::readiness_probe::ReadinessProbe,
    &best_practices::image_pull_policy::ImagePullPolicy,
    &best_practices::read_only_root_filesystem::ReadOnlyRootFilesystem,
    &best_practices::single_replica::SingleReplica,
    &best_practices::service_exposed::ServiceExposed,
    &best_practices::deprecated_api_version::DeprecatedApiVersion,
    &best_practices::recommended_labels::RecommendedLabels,
    &best_practices::pdb_blocks_eviction::PdbBlocksEviction,
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
    &cis::cluster_admin_binding::ClusterAdminBinding,
    &cis::secrets_access::SecretsAccess,
    &cis::rbac_wildcard::RbacWildcard,
    &cis::pod_create_access::PodCreateAccess,
    &cis::default_service_account::DefaultServiceAccount,
    &cis::service_account_token_automount::ServiceAccountTokenAutomount,
    &cis::system_masters_binding::SystemMastersBinding,
    &cis::rbac_escalation_verbs::RbacEscalationVerbs,
    &cis::persistent_volume_create::PersistentVolumeCreate,
    &cis::node_proxy_access::NodeProxyAccess,
    &cis::csr_approval_access::CsrApprovalAccess,
    &cis::webhook_config_access::WebhookConfigAccess,
    &cis::service_account_token_create::ServiceAccountTokenCreate,
    &cis::namespace_without_network_policy::NamespaceWithoutNetworkPolicy,
    &cis::secret_in_env::SecretInEnv,
    &cis::default_namespace::DefaultNamespace,
    &cis::net_raw_capability::NetRawCapability,
    &cis::added_capabilities::AddedCapabilities,
    &cis::security_context_missing::SecurityContextMissing,
    &cis::namespace_without_pod_security::NamespaceWithoutPodSecurity,
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
    metas.extend(crate::check::exemption::METAS);
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
