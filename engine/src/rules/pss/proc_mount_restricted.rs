use super::proc_mount::{unmasked, violation};
use super::{minor, PROC_MOUNT};
use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;

declare_rule! {
    /// PSA `procMount_restricted` (restricted, v1.35): the baseline relaxation for user-namespace
    /// pods does not apply at the restricted level.
    ProcMountRestricted {
        id: "KG127",
        name: "proc-mount-unmasked-userns",
        title: "Containers must use the default /proc mount, even in a user namespace",
        severity: Medium,
        category: PodSecurity,
        scope: Object,
        since: "0.1.0",
        rationale: "From policy v1.35 the baseline level lets pods with `hostUsers: false` unmask \
/proc; the restricted level keeps requiring the default mount for every pod.",
        remediation: "Remove `securityContext.procMount` or set it to `Default`.",
        failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: nested
spec:
  hostUsers: false
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0
      securityContext:
        procMount: Unmasked
"#,
        passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: nested
spec:
  hostUsers: false
  containers:
    - name: buildkit
      image: moby/buildkit:v0.16.0
"#,
    }
}

impl Rule for ProcMountRestricted {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        if minor(cx) < 35 {
            return;
        }
        let Some(spec) = pod_spec(cx.manifest) else {
            return;
        };
        // With the baseline rule active, only the pods it relaxes are left to report here.
        if cx.is_active(PROC_MOUNT) && !spec.uses_user_namespace() {
            return;
        }
        out.extend(unmasked(&spec).iter().map(|(c, v)| violation(c, v)));
    }
}
