use super::shorten;
use crate::model::position::{dotted, lookup};
use crate::rules::{Context, Rule};
use crate::vocab::Violation;
use serde_json::Value;

declare_rule! {
    /// Jobs and CronJobs the API server refuses although they pass schema validation.
    JobValidation {
        id: "KG014",
        name: "invalid-job-spec",
        title: "CronJob schedules, time zones and Job settings must be valid",
        severity: High,
        category: ApiServer,
        scope: Object,
        since: "0.2.0",
        rationale: "The API server parses a CronJob's `schedule` as standard cron (five fields: \
minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT; \
`*`, `?`, lists, ranges and `/step`; or a descriptor such as `@daily` or `@every 1h`) and \
refuses a schedule that does not parse or that carries `TZ=`/`CRON_TZ=` (the `timeZone` field \
replaced them). `timeZone` must be an explicit IANA zone name (not empty, not `Local`); \
`concurrencyPolicy` is `Allow`, `Forbid` or `Replace`; history limits and \
`startingDeadlineSeconds` are not negative; a CronJob's job template may not carry a selector \
(it is generated). A Job's `parallelism`, `completions` and `backoffLimit` are not negative. \
(`restartPolicy` is KG012's.) See \
https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax.",
        remediation: "Write the schedule as five cron fields (`30 2 * * *`) or a descriptor, and \
set `timeZone: Europe/Berlin` instead of a `CRON_TZ=` prefix.",
        failing_example: r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: shop
spec:
  schedule: "CRON_TZ=Europe/Berlin 30 2 * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example.com/report:2.0.1
"#,
        passing_example: r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: shop
spec:
  schedule: "30 2 * * *"
  timeZone: Europe/Berlin
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example.com/report:2.0.1
"#,
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// One cron field's bounds and names (names map to `first + index`).
struct Field {
    what: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    first: u32,
}

const FIELDS: [Field; 5] = [
    Field { what: "minute", min: 0, max: 59, names: &[], first: 0 },
    Field { what: "hour", min: 0, max: 23, names: &[], first: 0 },
    Field { what: "day of month", min: 1, max: 31, names: &[], first: 0 },
    Field { what: "month", min: 1, max: 12, names: &MONTHS, first: 1 },
    Field { what: "day of week", min: 0, max: 6, names: &DAYS, first: 0 },
];

fn number(field: &Field, text: &str) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(field.first + i as u32);
    }
    text.parse::<u32>()
        .map_err(|_| format!("failed to parse int from {text:?} in the {} field", field.what))
}

fn parse_field(field: &Field, text: &str) -> Result<(), String> {
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        let (low, high) = if range == "*" || range == "?" {
            (field.min, field.max)
        } else if let Some((a, b)) = range.split_once('-') {
            (number(field, a)?, number(field, b)?)
        } else {
            let n = number(field, range)?;
            (n, if step.is_some() { field.max } else { n })
        };
        if low < field.min {
            return Err(format!(
                "beginning of range ({low}) below minimum ({}) in the {} field: {part}",
                field.min, field.what
            ));
        }
        if high > field.max {
            return Err(format!(
                "end of range ({high}) above maximum ({}) in the {} field: {part}",
                field.max, field.what
            ));
        }
        if low > high {
            return Err(format!(
                "beginning of range ({low}) beyond end of range ({high}) in the {} field: {part}",
                field.what
            ));
        }
        if let Some(step) = step {
            if step.parse::<u32>().map_or(true, |s| s == 0) {
                return Err(format!(
                    "step of range should be a positive number in the {} field: {part}",
                    field.what
                ));
            }
        }
    }
    Ok(())
}

/// Whether a Go duration (`1h30m`, `90s`, `1.5h`) parses, for `@every`.
fn is_go_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            .filter(|u| rest.starts_with(u))
            .max_by_key(|u| u.len());
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// Why a schedule does not parse as standard cron, if it does not.
pub(crate) fn schedule_error(schedule: &str) -> Option<String> {
    if schedule.contains("TZ") {
        return Some("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".to_owned());
    }
    let trimmed = schedule.trim();
    if let Some(descriptor) = trimmed.strip_prefix('@') {
        return match descriptor {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => None,
            _ => match descriptor.strip_prefix("every ") {
                Some(d) if is_go_duration(d.trim()) => None,
                Some(d) => Some(format!("failed to parse duration @every {}", d.trim())),
                None => Some(format!("unrecognized descriptor: {trimmed}")),
            },
        };
    }
    let fields: Vec<&str> = trimmed.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "expected exactly 5 fields, found {}: {fields:?}",
            fields.len()
        ));
    }
    FIELDS
        .iter()
        .zip(&fields)
        .find_map(|(field, text)| parse_field(field, text).err())
}

/// Why a `timeZone` is refused, if it is (the name's syntax; whether the zone exists is the
/// API server's time zone database's business).
fn time_zone_error(zone: &str) -> Option<String> {
    if zone.is_empty() {
        return Some("timeZone must be nil or non-empty string".to_owned());
    }
    if zone.eq_ignore_ascii_case("local") {
        return Some(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .to_owned(),
        );
    }
    let part_ok = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    };
    if zone.split('/').all(part_ok) {
        None
    } else {
        Some(format!("unknown time zone {zone}"))
    }
}

fn non_negative(out: &mut Vec<Violation>, value: &Value, pointer: String) {
    if let Some(n) = lookup(value, &pointer).and_then(Value::as_i64) {
        if n < 0 {
            out.push(Violation {
                message: format!(
                    "{}: Invalid value: {n}: must be greater than or equal to 0",
                    dotted(&pointer)
                ),
                pointer,
            });
        }
    }
}

impl Rule for JobValidation {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>) {
        let manifest = cx.manifest;
        let object = &manifest.object;
        let value = &manifest.value;
        if object.group() != "batch" {
            return;
        }
        let job_spec = match object.kind.as_str() {
            "Job" => "/spec",
            "CronJob" => "/spec/jobTemplate/spec",
            _ => return,
        };
        for field in ["parallelism", "completions", "backoffLimit"] {
            non_negative(out, value, format!("{job_spec}/{field}"));
        }
        if object.kind != "CronJob" {
            return;
        }
        match lookup(value, "/spec/schedule").and_then(Value::as_str) {
            Some("") => out.push(Violation {
                pointer: "/spec/schedule".to_owned(),
                message: "spec.schedule: Required value".to_owned(),
            }),
            Some(schedule) => {
                if let Some(why) = schedule_error(schedule) {
                    out.push(Violation {
                        pointer: "/spec/schedule".to_owned(),
                        message: format!(
                            "spec.schedule: Invalid value: {:?}: {why}",
                            shorten(schedule)
                        ),
                    });
                }
            }
            None => {} // missing or mistyped: KG005's
        }
        if let Some(zone) = lookup(value, "/spec/timeZone").and_then(Value::as_str) {
            if let Some(why) = time_zone_error(zone) {
                out.push(Violation {
                    pointer: "/spec/timeZone".to_owned(),
                    message: format!("spec.timeZone: Invalid value: {:?}: {why}", shorten(zone)),
                });
            }
        }
        if let Some(policy) = lookup(value, "/spec/concurrencyPolicy").and_then(Value::as_str) {
            if !matches!(policy, "Allow" | "Forbid" | "Replace") {
                out.push(Violation {
                    pointer: "/spec/concurrencyPolicy".to_owned(),
                    message: format!(
                        "spec.concurrencyPolicy: Unsupported value: {:?}: supported values: \
\"Allow\", \"Forbid\", \"Replace\"",
                        shorten(policy)
                    ),
                });
            }
        }
        for field in [
            "startingDeadlineSeconds",
            "successfulJobsHistoryLimit",
            "failedJobsHistoryLimit",
        ] {
            non_negative(out, value, format!("/spec/{field}"));
        }
        if lookup(value, "/spec/jobTemplate/spec/selector").is_some_and(|s| !s.is_null()) {
            out.push(Violation {
                pointer: "/spec/jobTemplate/spec/selector".to_owned(),
                message: "spec.jobTemplate.spec.selector: Invalid value: `selector` will be \
auto-generated"
                    .to_owned(),
            });
        }
        if lookup(value, "/spec/jobTemplate/spec/manualSelector") == Some(&Value::Bool(true)) {
            out.push(Violation {
                pointer: "/spec/jobTemplate/spec/manualSelector".to_owned(),
                message: "spec.jobTemplate.spec.manualSelector: Unsupported value: true: \
supported values: \"nil\", \"false\""
                    .to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        for ok in [
            "30 2 * * *",
            "*/15 * * * *",
            "0 0 1,15 * MON-FRI",
            "0 9-17/2 * JAN,jul sun",
            "@daily",
            "@every 1h30m",
            "5 4 ? * *",
            "0 0 * * 6",
        ] {
            assert_eq!(schedule_error(ok), None, "{ok}");
        }
        for bad in [
            "30 2 * *",
            "60 * * * *",
            "0 24 * * *",
            "0 0 0 * *",
            "0 0 * 13 *",
            "0 0 * * 7",
            "5-1 * * * *",
            "*/0 * * * *",
            "CRON_TZ=UTC 0 0 * * *",
            "TZ=UTC 0 0 * * *",
            "@fortnightly",
            "@every tomorrow",
            "a b c d e",
        ] {
            assert!(schedule_error(bad).is_some(), "{bad}");
        }
        assert_eq!(time_zone_error("Europe/Berlin"), None);
        assert_eq!(time_zone_error("America/Argentina/Buenos_Aires"), None);
        assert_eq!(time_zone_error("Etc/GMT+5"), None);
        assert!(time_zone_error("Local").is_some());
        assert!(time_zone_error("").is_some());
        assert!(time_zone_error("Europe/Berlin Time").is_some());
        assert!(time_zone_error("../etc/passwd").is_some());
    }
}
