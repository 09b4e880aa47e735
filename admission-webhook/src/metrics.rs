//! Prometheus metrics in the text exposition format (version 0.0.4), kept by hand: a few
//! counters and one histogram do not justify a metrics framework in the dependency tree.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets, in seconds (admission budgets are milliseconds to a few seconds).
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    /// (verdict, kind, operation) → count.
    requests: Mutex<BTreeMap<(String, String, String), u64>>,
    /// Bad requests by reason (`malformed`, `too_large`).
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Findings by enforcement (`deny`, `warn`, `dryrun`).
    findings: Mutex<BTreeMap<&'static str, u64>>,
    /// Evaluation errors by cause (`error`, `timeout`, `panic`).
    evaluation_errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Reloads by what and result.
    reloads: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    rules_loaded: AtomicU64,
    in_flight: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_default() += 1;
    }
}

impl Metrics {
    pub fn request(&self, verdict: &str, kind: &str, operation: &str, elapsed: Duration) {
        bump(
            &self.requests,
            (verdict.to_owned(), kind.to_owned(), operation.to_owned()),
        );
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn rejected(&self, reason: &'static str) {
        bump(&self.rejected, reason);
    }

    pub fn finding(&self, enforcement: &'static str) {
        bump(&self.findings, enforcement);
    }

    pub fn evaluation_error(&self, cause: &'static str) {
        bump(&self.evaluation_errors, cause);
    }

    pub fn reload(&self, what: &'static str, result: &'static str) {
        bump(&self.reloads, (what, result));
    }

    pub fn set_rules_loaded(&self, n: usize) {
        self.rules_loaded
            .store(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn in_flight(&self, delta: i64) {
        if delta >= 0 {
            self.in_flight
                .fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
        } else {
            self.in_flight
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let header = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        header(
            &mut out,
            "kubegate_webhook_requests_total",
            "counter",
            "Admission reviews answered, by verdict, object kind and operation.",
        );
        if let Ok(m) = self.requests.lock() {
            for ((verdict, kind, operation), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "kubegate_webhook_requests_total{{verdict=\"{}\",kind=\"{}\",operation=\"{}\"}} {n}",
                    escape(verdict),
                    escape(kind),
                    escape(operation)
                );
            }
        }
        header(
            &mut out,
            "kubegate_webhook_rejected_requests_total",
            "counter",
            "Requests refused before evaluation (malformed or too large).",
        );
        counters(
            &mut out,
            "kubegate_webhook_rejected_requests_total",
            "reason",
            &self.rejected,
        );
        header(
            &mut out,
            "kubegate_webhook_findings_total",
            "counter",
            "Findings, by enforcement (deny, warn, dryrun).",
        );
        counters(
            &mut out,
            "kubegate_webhook_findings_total",
            "enforcement",
            &self.findings,
        );
        header(
            &mut out,
            "kubegate_webhook_evaluation_errors_total",
            "counter",
            "Evaluations that failed, by cause; answered by the failure mode.",
        );
        counters(
            &mut out,
            "kubegate_webhook_evaluation_errors_total",
            "cause",
            &self.evaluation_errors,
        );
        header(
            &mut out,
            "kubegate_webhook_reloads_total",
            "counter",
            "Reloads of policies and TLS certificates, by result.",
        );
        if let Ok(m) = self.reloads.lock() {
            for ((what, result), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "kubegate_webhook_reloads_total{{what=\"{what}\",result=\"{result}\"}} {n}"
                );
            }
        }
        header(
            &mut out,
            "kubegate_webhook_rules_loaded",
            "gauge",
            "Rules in force: built-in rules, Rego rules and Gatekeeper constraints.",
        );
        let _ = writeln!(
            out,
            "kubegate_webhook_rules_loaded {}",
            self.rules_loaded.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "kubegate_webhook_in_flight_requests",
            "gauge",
            "Reviews being evaluated now.",
        );
        let _ = writeln!(
            out,
            "kubegate_webhook_in_flight_requests {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "kubegate_webhook_request_duration_seconds",
            "histogram",
            "Time from the request's arrival (headers read) to the answer, reading the body included.",
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "kubegate_webhook_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "kubegate_webhook_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        #[allow(clippy::cast_precision_loss)]
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "kubegate_webhook_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "kubegate_webhook_request_duration_seconds_count {count}"
        );
        out
    }
}

fn counters(out: &mut String, name: &str, label: &str, map: &Mutex<BTreeMap<&'static str, u64>>) {
    if let Ok(m) = map.lock() {
        for (key, n) in m.iter() {
            let _ = writeln!(out, "{name}{{{label}=\"{key}\"}} {n}");
        }
    }
}

/// Label values are escaped as the exposition format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::default();
        m.request("allowed", "Pod", "CREATE", Duration::from_micros(800));
        m.request("denied", "Pod", "CREATE", Duration::from_millis(30));
        let text = m.render();
        assert!(text.contains("kubegate_webhook_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("kubegate_webhook_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("kubegate_webhook_request_duration_seconds_count 2"));
        assert!(text.contains(
            "kubegate_webhook_requests_total{verdict=\"denied\",kind=\"Pod\",operation=\"CREATE\"} 1"
        ));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
