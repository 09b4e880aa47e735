use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// HorizontalPodAutoscalers the API server refuses although they pass schema validation.
    AutoscalerValidation {
        id: "KG017",
        name: "invalid-autoscaler",
        title: "A HorizontalPodAutoscaler's replica bounds and target must be valid",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "The API server validates a HorizontalPodAutoscaler (every `autoscaling` \
version) beyond its schema: `spec.minReplicas`, when set, must be at least 1 (0 only with the \
alpha `HPAScaleToZero` feature gate, off by default and in every managed offering kubegate \
knows of), `spec.maxReplicas` must be greater than 0 and not less than `minReplicas`, and \
`spec.scaleTargetRef` must name a `kind` and a `name` (a path segment: no `/` or `%`, not `.` \
or `..`). It refuses the whole object otherwise, with the messages kubegate repeats here: \
`spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas``. The \
schema only says the fields are integers.",
        remediation: "Set `minReplicas` to at least 1 and `maxReplicas` to at least \
`minReplicas`, and name the workload to scale in `scaleTargetRef` (`apiVersion`, `kind`, \
`name`).",
        failing_example: r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 4
  maxReplicas: 2
"#,
        passing_example: r#"apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
"#,
    }
}

impl Rule for AutoscalerValidation {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let object = &cx.manifest.object;
        if !(object.group() == "autoscaling" && object.kind == "HorizontalPodAutoscaler") {
            return;
        }
        let value = &cx.manifest.value;
        let Some(Value::Object(spec)) = value.get("spec") else {
            return;
        };
        // Wrong types are the schema's (KG005) to report.
        let min = match spec.get("minReplicas") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_i64() {
                Some(n) => Some(n),
                None => return,
            },
        };
        let max = spec.get("maxReplicas").and_then(Value::as_i64);
        let mut invalid = |pointer: &str, value: i64, reason: &str| {
            out.push(Violation {
                pointer: pointer.to_owned(),
                message: format!(
                    "{}: Invalid value: {value}: {reason}",
                    crate::model::position::dotted(pointer)
                ),
            })
        };
        if let Some(min) = min.filter(|m| *m < 1) {
            invalid("/spec/minReplicas", min, "must be greater than or equal to 1");
        }
        if let Some(max) = max {
            if max < 1 {
                invalid("/spec/maxReplicas", max, "must be greater than 0");
            }
            if min.is_some_and(|min| max < min) {
                invalid(
                    "/spec/maxReplicas",
                    max,
                    "must be greater than or equal to `minReplicas`",
                );
            }
        }
        let Some(Value::Object(target)) = spec.get("scaleTargetRef") else {
            return;
        };
        for field in ["kind", "name"] {
            match target.get(field) {
                Some(Value::String(s)) if !s.is_empty() => {
                    let reasons = super::syntax::path_segment(s);
                    if !reasons.is_empty() {
                        out.push(Violation {
                            pointer: format!("/spec/scaleTargetRef/{field}"),
                            message: format!(
                                "spec.scaleTargetRef.{field}: Invalid value: {:?}: {}",
                                super::shorten(s),
                                reasons.join(", ")
                            ),
                        });
                    }
                }
                Some(Value::String(_)) => out.push(Violation {
                    pointer: format!("/spec/scaleTargetRef/{field}"),
                    message: format!("spec.scaleTargetRef.{field}: Required value"),
                }),
                // Absent (the schema requires both) or not a string: the schema's (KG005).
                _ => {}
            }
        }
    }
}
