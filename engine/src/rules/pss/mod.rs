//! Pod Security Standards checks, decided exactly as the upstream Pod Security Admission
//! library (`k8s.io/pod-security-admission/policy`) decides them, for every policy version.
//!
//! Upstream evaluates the restricted level with some baseline checks *overridden* by stricter
//! restricted variants (seccomp from v1.19, capabilities from v1.22, hostPath volumes always,
//! procMount from v1.35). kubegate runs both so that a baseline violation keeps its higher
//! severity: the baseline rule reports what violates baseline, and the overriding restricted
//! rule reports only the rest while the baseline rule is active. Where the restricted variant
//! allows a pod outright (Windows pods, from v1.25), the baseline rule stands down when the
//! restricted rule is active, so verdicts match upstream at both levels.

rules! {
    allow_privilege_escalation::AllowPrivilegeEscalation,
    apparmor_profile::AppArmorProfile,
    capabilities_baseline::CapabilitiesBaseline,
    capabilities_restricted::CapabilitiesRestricted,
    host_namespaces::HostNamespaces,
    host_path_volume::HostPathVolume,
    host_ports::HostPorts,
    privileged_container::PrivilegedContainer,
    probe_host::ProbeHost,
    proc_mount::ProcMount,
    proc_mount_restricted::ProcMountRestricted,
    restricted_volumes::RestrictedVolumes,
    run_as_non_root::RunAsNonRoot,
    run_as_user::RunAsUser,
    seccomp_baseline::SeccompBaseline,
    seccomp_restricted::SeccompRestricted,
    selinux_options::SeLinuxOptions,
    sysctls::Sysctls,
    windows_host_process::WindowsHostProcess,
}

mod settings;

pub use settings::{PssError, PssLevel, PssSettings, PssVersion, NEWEST_MINOR};

use crate::model::workload::Container;
use crate::rules::Context;
use serde_json::Value;

pub(crate) const HOST_PATH_VOLUMES: &str = host_path_volume::META.id;
pub(crate) const CAPABILITIES_BASELINE: &str = capabilities_baseline::META.id;
pub(crate) const PROC_MOUNT: &str = proc_mount::META.id;
pub(crate) const SECCOMP_BASELINE: &str = seccomp_baseline::META.id;
pub(crate) const SECCOMP_RESTRICTED: &str = seccomp_restricted::META.id;
pub(crate) const CAPABILITIES_RESTRICTED: &str = capabilities_restricted::META.id;

/// The policy minor version being judged (`latest` is the newest known).
pub(crate) fn minor(cx: &Context<'_>) -> u32 {
    cx.settings.pss.version.minor()
}

/// `"a", "b"`, as PSA quotes lists in its messages.
pub(crate) fn join_quote<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> String {
    items
        .into_iter()
        .map(|s| format!("\"{}\"", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The violation for the capabilities a container may not add (`bad`: index and name in
/// `securityContext.capabilities.add`), at the first of them, naming each once; none when
/// `bad` is empty.
pub(crate) fn added_capabilities(
    c: &Container<'_>,
    bad: &[(usize, &str)],
) -> Option<crate::vocab::Violation> {
    let &(first, _) = bad.first()?;
    let mut names: Vec<&str> = bad.iter().map(|(_, cap)| *cap).collect();
    names.sort_unstable();
    names.dedup();
    Some(crate::vocab::Violation {
        pointer: c.pointer(&format!("securityContext/capabilities/add/{first}")),
        message: format!(
            "{} must not include {} in securityContext.capabilities.add",
            c.label(),
            join_quote(names)
        ),
    })
}

/// A field inside a container's `securityContext`.
pub(crate) fn container_sc<'a>(c: &Container<'a>, path: &[&str]) -> Option<&'a Value> {
    crate::model::workload::get_path(c.value.get("securityContext")?, path)
}

/// The strings of a JSON list (other entries are not strings the API would accept; skipped).
pub(crate) fn strings(value: Option<&Value>) -> impl Iterator<Item = (usize, &str)> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
}
