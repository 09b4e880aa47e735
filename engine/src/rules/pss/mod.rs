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

pub(crate) mod allow_privilege_escalation;
pub(crate) mod apparmor_profile;
pub(crate) mod capabilities_baseline;
pub(crate) mod capabilities_restricted;
pub(crate) mod host_namespaces;
pub(crate) mod host_path_volume;
pub(crate) mod host_ports;
pub(crate) mod privileged_container;
pub(crate) mod probe_host;
pub(crate) mod proc_mount;
pub(crate) mod proc_mount_restricted;
pub(crate) mod restricted_volumes;
pub(crate) mod run_as_non_root;
pub(crate) mod run_as_user;
pub(crate) mod seccomp_baseline;
pub(crate) mod seccomp_restricted;
pub(crate) mod selinux_options;
mod settings;
pub(crate) mod sysctls;
pub(crate) mod windows_host_process;

pub use settings::{PssError, PssLevel, PssSettings, PssVersion, NEWEST_MINOR};

use crate::model::workload::Container;
use crate::rules::Context;
use serde_json::Value;

pub(crate) const HOST_PATH_VOLUMES: &str = "KG103";
pub(crate) const CAPABILITIES_BASELINE: &str = "KG105";
pub(crate) const PROC_MOUNT: &str = "KG108";
pub(crate) const SECCOMP_BASELINE: &str = "KG109";
pub(crate) const SECCOMP_RESTRICTED: &str = "KG125";
pub(crate) const CAPABILITIES_RESTRICTED: &str = "KG126";

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
    let mut value = c.value.get("securityContext")?;
    for key in path {
        value = value.get(key)?;
    }
    Some(value)
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
