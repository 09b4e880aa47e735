//! `AdmissionReview` in and out: from the API server's request to kubegate's verdict. Pure
//! (no I/O), so every decision is testable without a server.

use crate::namespaces::Lookup;
use crate::policy::PolicyState;
use kubegate_engine::{Budget, Interrupted};
use kubegate_engine::{Enforcement, FailureMode, LoadErrorKind};
use kubegate_engine::{Finding, Manifest, Source};
use serde_json::{json, Value};
use std::fmt::Write as _;
use thiserror::Error;

/// The API server drops warnings longer than this (and truncates their count); see
/// `k8s.io/apiserver/pkg/admission/plugin/webhook`: each warning must be ≤ 120 characters.
pub const MAX_WARNING_CHARS: usize = 120;

/// How many violations a denial message lists before summarising the rest.
const MAX_LISTED: usize = 20;

/// JSON values (objects, arrays, scalars) a request body may hold. A legitimate review of the
/// largest object etcd stores (1.5 MiB) has far fewer; a body of 4 MiB of `[0,0,0,…]` would
/// otherwise parse into some 2 million values (64 MB) before anything could refuse it.
pub const DEFAULT_MAX_JSON_VALUES: usize = 250_000;

/// Kubernetes names: a namespace is a DNS label (63 characters), most other names DNS
/// subdomains (253). The API server never sends longer ones; a request that does is refused
/// without evaluation, so a multi-megabyte "name" is never copied into every finding.
pub const MAX_NAMESPACE_BYTES: usize = 63;
pub const MAX_NAME_BYTES: usize = 253;

/// Longest value echoed into logs and messages from request identity fields.
const MAX_ECHOED_CHARS: usize = 64;

/// A request that is not a readable `AdmissionReview` (answered with 400).
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BadReview {
    #[error("request body is not JSON: {0}")]
    NotJson(String),
    #[error("expected an AdmissionReview of admission.k8s.io/v1 or v1beta1, got apiVersion {api_version:?} kind {kind:?}")]
    NotAdmissionReview { api_version: String, kind: String },
    #[error("AdmissionReview has no request")]
    NoRequest,
    #[error("request.uid is missing or not a string")]
    NoUid,
    #[error("request.{0} is missing or not an object")]
    NoObject(&'static str),
    #[error("request body holds more than {0} JSON values")]
    TooManyValues(usize),
}

/// The parts of a request the decision needs.
#[derive(Debug, Clone)]
pub struct Request {
    pub api_version: String,
    pub uid: String,
    pub operation: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub dry_run: bool,
    /// `request` as sent: it is Gatekeeper's `input.review`.
    pub raw: Value,
}

impl Request {
    /// Reads an `AdmissionReview` body of at most [`DEFAULT_MAX_JSON_VALUES`] values.
    pub fn parse(body: &[u8]) -> Result<Self, BadReview> {
        Self::parse_limited(body, DEFAULT_MAX_JSON_VALUES)
    }

    /// Reads an `AdmissionReview` body holding at most `max_values` JSON values (counted
    /// before parsing, so the limit bounds the parsed size as well as the text does).
    pub fn parse_limited(body: &[u8], max_values: usize) -> Result<Self, BadReview> {
        if json_values_exceed(body, max_values) {
            return Err(BadReview::TooManyValues(max_values));
        }
        let review: Value =
            serde_json::from_slice(body).map_err(|e| BadReview::NotJson(e.to_string()))?;
        let text =
            |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_owned();
        let api_version = text(&review, "apiVersion");
        let kind = text(&review, "kind");
        if kind != "AdmissionReview"
            || !matches!(
                api_version.as_str(),
                "admission.k8s.io/v1" | "admission.k8s.io/v1beta1"
            )
        {
            return Err(BadReview::NotAdmissionReview { api_version, kind });
        }
        let raw = match review {
            Value::Object(mut map) => map.remove("request"),
            _ => None,
        }
        .filter(Value::is_object)
        .ok_or(BadReview::NoRequest)?;
        let uid = raw
            .get("uid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .ok_or(BadReview::NoUid)?
            .to_owned();
        Ok(Request {
            api_version,
            uid,
            operation: text(&raw, "operation"),
            kind: raw.get("kind").map(|k| text(k, "kind")).unwrap_or_default(),
            namespace: text(&raw, "namespace"),
            name: text(&raw, "name"),
            dry_run: raw.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
            raw,
        })
    }

    /// `kind namespace/name` for messages and logs, each part cut to 64 characters.
    pub fn describe(&self) -> String {
        let name = if self.name.is_empty() {
            self.raw
                .pointer("/object/metadata/generateName")
                .and_then(Value::as_str)
                .map(|g| format!("{}*", echo(g)))
                .unwrap_or_else(|| "(unnamed)".to_owned())
        } else {
            echo(&self.name)
        };
        let kind = echo(&self.kind);
        if self.namespace.is_empty() {
            format!("{kind} {name}")
        } else {
            format!("{kind} {}/{name}", echo(&self.namespace))
        }
    }

    /// The first identity field longer than Kubernetes allows, with its length and limit.
    fn invalid_identity(&self, object: &serde_json::Map<String, Value>) -> Option<String> {
        let metadata = object.get("metadata");
        let field = |key: &str| metadata.and_then(|m| m.get(key)).and_then(Value::as_str);
        [
            (
                "request.namespace",
                Some(self.namespace.as_str()),
                MAX_NAMESPACE_BYTES,
            ),
            ("request.name", Some(self.name.as_str()), MAX_NAME_BYTES),
            (
                "metadata.namespace",
                field("namespace"),
                MAX_NAMESPACE_BYTES,
            ),
            ("metadata.name", field("name"), MAX_NAME_BYTES),
            (
                "metadata.generateName",
                field("generateName"),
                MAX_NAME_BYTES,
            ),
        ]
        .into_iter()
        .find_map(|(what, value, max)| {
            let len = value.map_or(0, str::len);
            (len > max).then(|| format!("{what} is {len} bytes long; Kubernetes allows {max}"))
        })
    }
}

/// A request value as logs and messages show it: at most 64 characters, control characters
/// replaced.
pub fn echo(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(MAX_ECHOED_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if value.chars().nth(MAX_ECHOED_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// Whether `body` holds more than `max` JSON values, counted from its structure (each `{`,
/// `[` and `,` outside strings begins one more) without parsing it.
fn json_values_exceed(body: &[u8], max: usize) -> bool {
    let mut values = 1usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' | b',' => {
                values += 1;
                if values > max {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Denied,
    /// Not evaluated: an operation not configured, or an excluded namespace.
    Skipped,
    /// Evaluation failed or timed out; the failure mode decided.
    Failed(FailureMode),
    /// Refused without evaluation: the object's name or namespace is longer than Kubernetes
    /// allows (the API server never sends one).
    Invalid,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Denied => "denied",
            Verdict::Skipped => "skipped",
            Verdict::Failed(FailureMode::Deny) => "error_denied",
            Verdict::Failed(FailureMode::Allow) => "error_allowed",
            Verdict::Invalid => "invalid",
        }
    }
}

/// One finding with what the webhook does with it.
#[derive(Debug, Clone)]
pub struct Judged {
    pub finding: Finding,
    pub enforcement: Enforcement,
}

/// The full outcome: the response body plus what logs and metrics need.
#[derive(Debug, Clone)]
pub struct Decision {
    pub verdict: Verdict,
    pub findings: Vec<Judged>,
    /// Evaluation errors (rule panics, policy failures), already answered per failure mode.
    pub errors: Vec<String>,
    /// Whether one of the errors is a rule or policy that panicked.
    pub panicked: bool,
    /// Whether the failure is a constraint that could not be decided (it depends on a
    /// namespace whose labels the webhook does not know).
    pub undecided: bool,
    /// Findings the per-rule cap dropped (counted in the message, not listed).
    pub findings_cut: usize,
    pub response: Value,
}

/// How one request is decided; [`decide`] in production, replaceable for fault injection.
pub type Evaluate = fn(&PolicyState, &Request, &Budget) -> Result<Decision, Interrupted>;

/// Decides a request with the loaded policies within `budget`. Never panics on request
/// content; `Err` when the budget's deadline passed or it was cancelled first.
pub fn decide(
    state: &PolicyState,
    request: &Request,
    budget: &Budget,
) -> Result<Decision, Interrupted> {
    let settings = &state.webhook;
    if !settings.operations.contains(&request.operation) {
        return Ok(skipped(request, "operation not evaluated"));
    }
    if !request.namespace.is_empty()
        && settings
            .exclude_namespaces
            .iter()
            .any(|p| kubegate_engine::name_matches(p, &request.namespace))
    {
        return Ok(skipped(request, "namespace excluded"));
    }
    // DELETE (when configured) judges the object being deleted.
    let field = if request.operation == "DELETE" {
        "oldObject"
    } else {
        "object"
    };
    let Some(Value::Object(object)) = request.raw.get(field) else {
        return Ok(failed(
            state,
            request,
            vec![BadReview::NoObject(field).to_string()],
            Vec::new(),
        ));
    };
    if let Some(why) = request.invalid_identity(object) {
        return Ok(invalid(request, &why));
    }
    let mut object = object.clone();
    // At admission the request names the namespace; the object may not repeat it.
    if !request.namespace.is_empty() {
        if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
            metadata
                .entry("namespace")
                .or_insert_with(|| Value::String(request.namespace.clone()));
        }
    }
    let source = Source::Admission(request.describe());
    let manifest = match Manifest::from_value(Value::Object(object), source) {
        Ok(m) => m,
        Err(e) => return Ok(failed(state, request, vec![e.to_string()], Vec::new())),
    };
    // The namespace's labels, from the webhook's cache of the cluster's Namespaces.
    let namespace = match &state.namespaces {
        Some(cache) if !request.namespace.is_empty() => match cache.lookup(&request.namespace) {
            Lookup::Found(ns) => Some(ns),
            Lookup::Absent | Lookup::Unsynced => None,
        },
        _ => None,
    };
    let report = state.evaluate_within(&manifest, &request.raw, namespace.as_deref(), budget)?;
    let findings_cut = report.findings_cut;
    let errors = report.errors;
    let panicked = errors.iter().any(|e| {
        matches!(
            e.kind,
            LoadErrorKind::RulePanicked { .. } | LoadErrorKind::PolicyPanicked { .. }
        )
    });
    let findings: Vec<Judged> = report
        .findings
        .into_iter()
        .map(|finding| Judged {
            enforcement: enforcement_once_decided(state, &finding),
            finding,
        })
        .collect();
    if !errors.is_empty() {
        let mut decision = failed(
            state,
            request,
            errors.iter().map(|e| e.kind.to_string()).collect(),
            findings,
        );
        decision.panicked = panicked;
        return Ok(decision);
    }
    // A constraint that cannot be decided (its namespaceSelector needs labels the webhook does
    // not know) is never a silent non-match: the failure mode answers, as for an error.
    // Only a constraint that would deny does: an undecided warn constraint is a warning, an
    // undecided dry-run one is logged and counted like any dry-run finding.
    let undecided: Vec<String> = findings
        .iter()
        .filter(|j| is_undecided(&j.finding) && j.enforcement == Enforcement::Deny)
        .map(|j| format!("[{}] {}", j.finding.rule_id, j.finding.message))
        .collect();
    if !undecided.is_empty() {
        let mut decision = failed(state, request, undecided, findings);
        decision.undecided = true;
        return Ok(decision);
    }
    let denied: Vec<&Judged> = findings
        .iter()
        .filter(|j| j.enforcement == Enforcement::Deny)
        .collect();
    let warnings: Vec<String> = findings
        .iter()
        .filter(|j| j.enforcement == Enforcement::Warn)
        .map(|j| warning(&format!("[{}] {}", j.finding.rule_id, one_line(&j.finding))))
        .collect();
    let (verdict, mut response) = if denied.is_empty() {
        (
            Verdict::Allowed,
            json!({"uid": request.uid, "allowed": true}),
        )
    } else {
        let message = denial_message(request, &denied, findings_cut);
        (
            Verdict::Denied,
            json!({
                "uid": request.uid,
                "allowed": false,
                "status": {"code": 403, "reason": "Forbidden", "message": message},
            }),
        )
    };
    if !warnings.is_empty() {
        response["warnings"] = json!(warnings);
    }
    Ok(Decision {
        verdict,
        findings,
        errors: Vec::new(),
        panicked: false,
        undecided: false,
        findings_cut,
        response: envelope(request, response),
    })
}

/// Whether a finding is a constraint that could not be decided (it depends on a namespace's
/// labels the webhook does not know).
fn is_undecided(finding: &Finding) -> bool {
    finding.details.get("undecided") == Some(&Value::Bool(true))
}

/// A finding's enforcement; for an undecided one (advisory until decided), the enforcement it
/// would have once decided.
fn enforcement_once_decided(state: &PolicyState, finding: &Finding) -> Enforcement {
    if !is_undecided(finding) {
        return state.enforcement(finding);
    }
    let mut decided = finding.clone();
    decided.advisory = finding
        .details
        .get("advisoryIfDecided")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    state.enforcement(&decided)
}

/// The answer when evaluation could not finish (errors, a timeout, a panic): the failure mode
/// decides. Findings found before the failure are kept for logs.
pub fn failed(
    state: &PolicyState,
    request: &Request,
    errors: Vec<String>,
    findings: Vec<Judged>,
) -> Decision {
    let mode = state.webhook.failure_mode;
    let cause = errors
        .first()
        .map(String::as_str)
        .unwrap_or("unknown error");
    let response = match mode {
        FailureMode::Deny => json!({
            "uid": request.uid,
            "allowed": false,
            "status": {
                "code": 403,
                "reason": "Forbidden",
                "message": format!(
                    "kubegate could not evaluate {} and denies it (failureMode: deny): {cause}",
                    request.describe()
                ),
            },
        }),
        FailureMode::Allow => json!({
            "uid": request.uid,
            "allowed": true,
            "warnings": [warning(&format!("kubegate did not evaluate this object (failureMode: allow): {cause}"))],
        }),
    };
    Decision {
        verdict: Verdict::Failed(mode),
        findings,
        errors,
        panicked: false,
        undecided: false,
        findings_cut: 0,
        response: envelope(request, response),
    }
}

/// The answer to an object whose identity Kubernetes would never accept: denied, whatever
/// the failure mode (no such object can exist), without evaluation.
fn invalid(request: &Request, why: &str) -> Decision {
    let message = format!("kubegate refuses {}: {why}", request.describe());
    Decision {
        verdict: Verdict::Invalid,
        findings: Vec::new(),
        errors: vec![why.to_owned()],
        panicked: false,
        undecided: false,
        findings_cut: 0,
        response: envelope(
            request,
            json!({
                "uid": request.uid,
                "allowed": false,
                "status": {"code": 400, "reason": "BadRequest", "message": message},
            }),
        ),
    }
}

fn skipped(request: &Request, why: &str) -> Decision {
    tracing::debug!(uid = %request.uid, why, "not evaluated");
    Decision {
        verdict: Verdict::Skipped,
        findings: Vec::new(),
        errors: Vec::new(),
        panicked: false,
        undecided: false,
        findings_cut: 0,
        response: envelope(request, json!({"uid": request.uid, "allowed": true})),
    }
}

/// The response in the version the request came in.
fn envelope(request: &Request, response: Value) -> Value {
    json!({
        "apiVersion": request.api_version,
        "kind": "AdmissionReview",
        "response": response,
    })
}

/// `kubegate denied Deployment shop/web: 2 violations` and one line per violation.
fn denial_message(request: &Request, denied: &[&Judged], cut: usize) -> String {
    let mut message = format!(
        "kubegate denied {}: {} violation{}",
        request.describe(),
        denied.len(),
        if denied.len() == 1 { "" } else { "s" }
    );
    for j in denied.iter().take(MAX_LISTED) {
        let _ = write!(
            message,
            "\n[{}] {}",
            j.finding.rule_id,
            one_line(&j.finding)
        );
    }
    if denied.len() > MAX_LISTED {
        let _ = write!(message, "\n… and {} more", denied.len() - MAX_LISTED);
    }
    if cut > 0 {
        let _ = write!(
            message,
            "\n({cut} more findings of the same rules were not kept: a rule reports at most a bounded number per request)"
        );
    }
    message
}

/// `field: message` (the field in kubectl's dotted form), or only the message when it has no
/// field or already starts with it (schema findings name their field themselves).
pub fn one_line(finding: &Finding) -> String {
    let field = dotted(&finding.pointer);
    let named = finding
        .message
        .strip_prefix(field.as_str())
        .is_some_and(|rest| rest.starts_with(':'));
    if field.is_empty() || named {
        finding.message.clone()
    } else {
        format!("{field}: {}", finding.message)
    }
}

pub use kubegate_engine::dotted;

/// A warning the API server accepts: one line, at most [`MAX_WARNING_CHARS`] characters.
pub fn warning(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.chars().count() <= MAX_WARNING_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(MAX_WARNING_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The JSON error body of a 400 answer.
pub fn bad_request_body(error: &BadReview) -> Value {
    json!({"error": error.to_string()})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_fit_the_api_server_limit() {
        let long = "x".repeat(500);
        let w = warning(&long);
        assert_eq!(w.chars().count(), MAX_WARNING_CHARS);
        assert!(w.ends_with('…'));
        assert_eq!(warning("a\nb"), "a b");
        let multibyte = "é".repeat(200);
        assert_eq!(warning(&multibyte).chars().count(), MAX_WARNING_CHARS);
    }

    #[test]
    fn unreadable_reviews_are_named() {
        assert!(matches!(Request::parse(b"{"), Err(BadReview::NotJson(_))));
        assert!(matches!(
            Request::parse(br#"{"apiVersion":"v1","kind":"Pod"}"#),
            Err(BadReview::NotAdmissionReview { .. })
        ));
        assert_eq!(
            Request::parse(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#)
                .err(),
            Some(BadReview::NoRequest)
        );
        assert_eq!(
            Request::parse(
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}"#
            )
            .err(),
            Some(BadReview::NoUid)
        );
    }

    #[test]
    fn values_are_counted_outside_strings_only() {
        assert!(!json_values_exceed(br#"{"a":[1,2,3]}"#, 5));
        assert!(json_values_exceed(br#"{"a":[1,2,3,4]}"#, 5));
        // Commas and brackets inside strings (escaped quotes too) are text.
        assert!(!json_values_exceed(br#"{"a":"[,,,{\",,,"}"#, 2));
        let flat = format!("[{}0]", "0,".repeat(1000));
        assert_eq!(
            Request::parse_limited(flat.as_bytes(), 1000).err(),
            Some(BadReview::TooManyValues(1000))
        );
    }

    #[test]
    fn echoed_values_are_short_and_on_one_line() {
        assert_eq!(echo("shop"), "shop");
        let long = echo(&"n".repeat(2_000_000));
        assert_eq!(long.chars().count(), 65);
        assert!(long.ends_with('…'));
        assert_eq!(echo("a\nb"), "a b");
    }
}
