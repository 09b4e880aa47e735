use crate::model::workload::pod_spec;
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Containers without CPU and memory limits.
    ResourceLimits {
        id: "KG202",
        name: "resource-limits-missing",
        title: "Containers must set CPU and memory limits",
        severity: Medium,
        category: Resources,
        scope: Object,
        since: "0.1.0",
        rationale: "Without a memory limit one leaking container can push the node into memory \
pressure and get its neighbours evicted; without a CPU limit a busy container starves them. \
Limits also make a namespace's ResourceQuota enforceable.",
        remediation: "Set `resources.limits.cpu` and `resources.limits.memory` on every container \
and init container, sized from observed usage.",
        failing_example: r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: example.com/report:3.2.1
              resources:
                limits:
                  cpu: 500m
"#,
        passing_example: r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: example.com/report:3.2.1
              resources:
                limits:
                  cpu: 500m
                  memory: 256Mi
"#,
    }
}

impl Rule for ResourceLimits {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let Some(spec) = pod_spec(manifest) else {
            return;
        };
        // Ephemeral containers cannot have resources; only the other two lists are judged.
        for c in spec
            .containers()
            .filter(|c| c.field != "ephemeralContainers")
        {
            let limits = c.get(&["resources", "limits"]);
            let has = |name: &str| {
                limits
                    .and_then(|l| l.get(name))
                    .is_some_and(|v| !v.is_null())
            };
            let missing: Vec<&str> = ["cpu", "memory"].into_iter().filter(|r| !has(r)).collect();
            if missing.is_empty() {
                continue;
            }
            let pointer = match (limits, c.value.get("resources")) {
                (Some(Value::Object(_)), _) => c.pointer("resources/limits"),
                (_, Some(Value::Object(_))) => c.pointer("resources"),
                _ => c.pointer(""),
            };
            out.push(Violation {
                pointer,
                message: format!("{} has no {} limit", c.label(), missing.join(" or ")),
            });
        }
    }
}
