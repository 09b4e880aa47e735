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

/// Every verdict label, for the series that exist from the start.
pub const VERDICTS: [&str; 6] = [
    "allowed",
    "denied",
    "skipped",
    "error_denied",
    "error_allowed",
    "invalid",
];
/// Why requests are refused before evaluation.
pub const REJECT_REASONS: [&str; 4] = ["too_large", "malformed", "body_timeout", "overloaded"];
/// Why evaluations fail.
pub const ERROR_CAUSES: [&str; 4] = ["error", "timeout", "panic", "undecided"];
const ENFORCEMENTS: [&str; 3] = ["deny", "warn", "dryrun"];
const OPERATIONS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];
/// Distinct (verdict, kind, operation) series before new kinds are counted as `other`: the
/// kind label comes from the request, which a hostile client chooses.
const MAX_REQUEST_SERIES: usize = 500;

#[derive(Debug)]
pub struct Metrics {
    /// (verdict, kind, operation) → count.
    requests: Mutex<BTreeMap<(String, String, String), u64>>,
    /// Verdict → count (all verdicts present from the start).
    verdicts: Mutex<BTreeMap<&'static str, u64>>,
    /// Bad requests by reason (`malformed`, `too_large`, …).
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    /// Findings by rule id and enforcement (`deny`, `warn`, `dryrun`).
    findings: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Findings not kept because of the per-rule cap.
    findings_cut: AtomicU64,
    /// Connections closed by the server, by reason (`write_stall`).
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
    open_connections: AtomicU64,
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

fn zeros<K: Ord + Clone>(keys: impl IntoIterator<Item = K>) -> Mutex<BTreeMap<K, u64>> {
    Mutex::new(keys.into_iter().map(|k| (k, 0)).collect())
}

impl Default for Metrics {
    /// Every counter whose labels are known in advance starts at 0, so `increase()` alerts
    /// see the first event.
    fn default() -> Self {
        Metrics {
            requests: Mutex::default(),
            verdicts: zeros(VERDICTS),
            rejected: zeros(REJECT_REASONS),
            findings: Mutex::default(),
            findings_cut: AtomicU64::new(0),
            connections_closed: zeros(["evicted", "limit", "write_stall"]),
            open_connections: AtomicU64::new(0),
            evaluation_errors: zeros(ERROR_CAUSES),
            reloads: zeros([
                ("certificate", "failure"),
                ("certificate", "mismatch"),
                ("certificate", "success"),
                ("policies", "failure"),
                ("policies", "success"),
            ]),
            latency_buckets: Default::default(),
            latency_count: AtomicU64::new(0),
            latency_sum_micros: AtomicU64::new(0),
            rules_loaded: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        }
    }
}

/// A label value from the request that is safe to keep: a kind is a short identifier.
fn kind_label(kind: &str) -> &str {
    let plausible =
        !kind.is_empty() && kind.len() <= 63 && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    if plausible {
        kind
    } else {
        "invalid"
    }
}

impl Metrics {
    pub fn request(&self, verdict: &'static str, kind: &str, operation: &str, elapsed: Duration) {
        bump(&self.verdicts, verdict);
        let operation = OPERATIONS
            .iter()
            .find(|o| **o == operation)
            .copied()
            .unwrap_or("other");
        if let Ok(mut m) = self.requests.lock() {
            let mut key = (
                verdict.to_owned(),
                kind_label(kind).to_owned(),
                operation.to_owned(),
            );
            if m.len() >= MAX_REQUEST_SERIES && !m.contains_key(&key) {
                key.1 = "other".to_owned();
            }
            *m.entry(key).or_default() += 1;
        }
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

    pub fn finding(&self, rule: &str, enforcement: &'static str) {
        if let Ok(mut m) = self.findings.lock() {
            match m.get_mut(&(rule.to_owned(), enforcement)) {
                Some(n) => *n += 1,
                None => {
                    m.insert((rule.to_owned(), enforcement), 1);
                }
            }
        }
    }

    /// Starts the findings series of these rules at 0 (a reload adds new rules' series; a
    /// counter never disappears).
    pub fn register_rules<'a>(&self, rules: impl IntoIterator<Item = &'a str>) {
        if let Ok(mut m) = self.findings.lock() {
            for rule in rules {
                for e in ENFORCEMENTS {
                    m.entry((rule.to_owned(), e)).or_default();
                }
            }
        }
    }

    pub fn findings_cut(&self, n: usize) {
        self.findings_cut
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub fn connection_closed(&self, reason: &'static str) {
        bump(&self.connections_closed, reason);
    }

    pub fn open_connections(&self, delta: i64) {
        if delta >= 0 {
            self.open_connections
                .fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
        } else {
            self.open_connections
                .fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
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
            "kubegate_webhook_verdicts_total",
            "counter",
            "Admission reviews answered, by verdict (every verdict present from the start).",
        );
        counters(
            &mut out,
            "kubegate_webhook_verdicts_total",
            "verdict",
            &self.verdicts,
        );
        header(
            &mut out,
            "kubegate_webhook_rejected_requests_total",
            "counter",
            "Requests refused before evaluation (malformed, too large, too slow to arrive, overloaded).",
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
            "Findings, by rule id and enforcement (deny, warn, dryrun).",
        );
        if let Ok(m) = self.findings.lock() {
            for ((rule, enforcement), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "kubegate_webhook_findings_total{{rule=\"{}\",enforcement=\"{enforcement}\"}} {n}",
                    escape(rule)
                );
            }
        }
        header(
            &mut out,
            "kubegate_webhook_findings_cut_total",
            "counter",
            "Findings not kept because a rule reported more than the per-request cap.",
        );
        let _ = writeln!(
            out,
            "kubegate_webhook_findings_cut_total {}",
            self.findings_cut.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "kubegate_webhook_connections_closed_total",
            "counter",
            "Connections the server closed, by reason (evicted: idle longest at the connection limit; limit: no slot came free in time; write_stall: the client stopped reading).",
        );
        counters(
            &mut out,
            "kubegate_webhook_connections_closed_total",
            "reason",
            &self.connections_closed,
        );
        header(
            &mut out,
            "kubegate_webhook_open_connections",
            "gauge",
            "TLS connections open now.",
        );
        let _ = writeln!(
            out,
            "kubegate_webhook_open_connections {}",
            self.open_connections.load(Ordering::Relaxed)
        );
        header(
            &mut out,
            "kubegate_webhook_evaluation_errors_total",
            "counter",
            "Evaluations that failed, by cause (undecided: a constraint depends on a namespace the cache does not hold); answered by the failure mode.",
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
    fn counters_start_at_zero_and_request_labels_stay_bounded() {
        let m = Metrics::default();
        m.register_rules(["KG101"]);
        let text = m.render();
        for line in [
            "kubegate_webhook_evaluation_errors_total{cause=\"panic\"} 0",
            "kubegate_webhook_evaluation_errors_total{cause=\"timeout\"} 0",
            "kubegate_webhook_rejected_requests_total{reason=\"malformed\"} 0",
            "kubegate_webhook_reloads_total{what=\"policies\",result=\"failure\"} 0",
            "kubegate_webhook_reloads_total{what=\"certificate\",result=\"failure\"} 0",
            "kubegate_webhook_verdicts_total{verdict=\"error_denied\"} 0",
            "kubegate_webhook_findings_total{rule=\"KG101\",enforcement=\"deny\"} 0",
            "kubegate_webhook_findings_cut_total 0",
        ] {
            assert!(text.contains(line), "missing {line}:\n{text}");
        }
        m.request("denied", &"K".repeat(100_000), "CRE\"ATE", Duration::ZERO);
        for i in 0..2 * MAX_REQUEST_SERIES {
            m.request("allowed", &format!("Kind{i}"), "CREATE", Duration::ZERO);
        }
        let text = m.render();
        assert!(text.contains(
            "kubegate_webhook_requests_total{verdict=\"denied\",kind=\"invalid\",operation=\"other\"} 1"
        ));
        assert!(text.contains(
            "kubegate_webhook_requests_total{verdict=\"allowed\",kind=\"other\",operation=\"CREATE\"}"
        ));
        let series = text
            .lines()
            .filter(|l| l.starts_with("kubegate_webhook_requests_total{"))
            .count();
        assert!(series <= MAX_REQUEST_SERIES + 1, "{series}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
