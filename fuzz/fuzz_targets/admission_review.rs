//! An AdmissionReview body through the webhook's request path: `Request::parse` (what
//! `/validate` does with the bytes it read) and, when that succeeds, `admission::decide` with
//! the built-in rules, as the server's blocking task runs it. The property: no panic (a rule
//! panic the checker would catch counts too), an answer for every readable request, and
//! every answer carries the request's uid.
#![no_main]

use kubegate_engine::Budget;
use kubegate_webhook::admission::{self, Request};
use kubegate_webhook::{PolicySource, PolicyState};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The policy set the webhook loads with no configuration: every built-in rule and the
/// bundled schemas, compiled once.
fn state() -> &'static PolicyState {
    static STATE: OnceLock<PolicyState> = OnceLock::new();
    STATE.get_or_init(|| match PolicyState::load(&PolicySource::default()) {
        Ok(state) => state,
        Err(e) => panic!("built-in policy set does not load: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let state = state();
    let request = match Request::parse(data) {
        Ok(request) => request,
        Err(e) => {
            // The 400 answer is built from the error.
            let _ = admission::bad_request_body(&e);
            return;
        }
    };
    let _ = request.describe();
    // The bounds the server gives one request (defaults of `kubegate webhook serve`): its
    // evaluation deadline, 100 findings per rule, 1 KiB messages.
    let budget = Budget {
        deadline: Some(Instant::now() + Duration::from_secs(3)),
        cancel: None,
        max_findings_per_rule: Some(100),
        max_message_bytes: Some(1024),
    };
    let decision = match admission::decide(state, &request, &budget) {
        Ok(decision) => decision,
        // Interrupted at the deadline: the server answers by its failure mode.
        Err(_) => return,
    };
    for error in &decision.errors {
        assert!(
            !error.contains("please report this bug"),
            "evaluation failed on a request: {error}"
        );
    }
    let uid = decision
        .response
        .pointer("/response/uid")
        .and_then(serde_json::Value::as_str);
    assert_eq!(uid, Some(request.uid.as_str()), "answer without the uid");
    for judged in &decision.findings {
        let _ = admission::one_line(&judged.finding);
    }
    if let Some(warnings) = decision
        .response
        .pointer("/response/warnings")
        .and_then(serde_json::Value::as_array)
    {
        for w in warnings.iter().filter_map(serde_json::Value::as_str) {
            assert!(
                w.chars().count() <= admission::MAX_WARNING_CHARS,
                "warning longer than the API server keeps: {w:?}"
            );
        }
    }
});
