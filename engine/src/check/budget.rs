//! Bounds on one evaluation: a deadline and a cancellation flag checked between rules, and
//! caps on how many findings a rule keeps and how long a message may be. The admission
//! webhook evaluates under a budget so a hostile request cannot run (or grow) past its answer;
//! `kubegate check` uses none.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;
use thiserror::Error;

/// What one evaluation may spend. The default bounds nothing.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    /// Stop at the first check after this instant.
    pub deadline: Option<Instant>,
    /// Stop at the first check after this is set (the caller gave up: its own timeout, a
    /// client gone, shutdown).
    pub cancel: Option<Arc<AtomicBool>>,
    /// Findings one rule keeps on one object; the rest are counted in
    /// [`Report::findings_cut`](crate::Report::findings_cut). At least one per rule is always
    /// kept, so a verdict decided per rule is the same as without the cap.
    pub max_findings_per_rule: Option<usize>,
    /// Longest finding message, in bytes; longer ones are cut at a character boundary and end
    /// with `…`. Values a rule echoes (names, images) can be as long as the input.
    pub max_message_bytes: Option<usize>,
}

/// Why an evaluation stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Interrupted {
    #[error("evaluation passed its deadline")]
    Deadline,
    #[error("evaluation was cancelled")]
    Cancelled,
}

impl Budget {
    /// `Err` once the deadline has passed or the evaluation was cancelled.
    pub fn check(&self) -> Result<(), Interrupted> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(Interrupted::Cancelled);
        }
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(Interrupted::Deadline),
            _ => Ok(()),
        }
    }

    /// Keeps at most `max_findings_per_rule` of one rule's findings (never fewer than one);
    /// returns how many were dropped.
    pub(crate) fn cap<T>(&self, found: &mut Vec<T>) -> usize {
        match self.max_findings_per_rule {
            Some(max) if found.len() > max.max(1) => {
                let cut = found.len() - max.max(1);
                found.truncate(max.max(1));
                cut
            }
            _ => 0,
        }
    }

    /// Cuts `message` to `max_message_bytes`.
    pub(crate) fn trim(&self, message: &mut String) {
        if let Some(max) = self.max_message_bytes {
            truncate(message, max);
        }
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary, marking the cut with `…`
/// (which counts toward `max` when there is room for it).
pub fn truncate(text: &mut String, max: usize) {
    if text.len() <= max {
        return;
    }
    const MARK: &str = "…";
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(MARK);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn truncation_respects_characters_and_marks_the_cut() {
        let mut s = "é".repeat(100);
        truncate(&mut s, 11);
        assert!(s.len() <= 11, "{s}");
        assert!(s.ends_with('…'));
        assert_eq!(s.trim_end_matches('…'), "é".repeat(4));
        let mut short = "short".to_owned();
        truncate(&mut short, 10);
        assert_eq!(short, "short");
    }

    #[test]
    fn a_budget_stops_at_its_deadline_or_when_cancelled() {
        assert_eq!(Budget::default().check(), Ok(()));
        let past = Budget {
            deadline: Instant::now().checked_sub(Duration::from_millis(1)),
            ..Budget::default()
        };
        assert_eq!(past.check(), Err(Interrupted::Deadline));
        let flag = Arc::new(AtomicBool::new(false));
        let cancellable = Budget {
            cancel: Some(Arc::clone(&flag)),
            ..Budget::default()
        };
        assert_eq!(cancellable.check(), Ok(()));
        flag.store(true, Ordering::Relaxed);
        assert_eq!(cancellable.check(), Err(Interrupted::Cancelled));
        let capped = Budget {
            max_findings_per_rule: Some(0),
            ..Budget::default()
        };
        let mut v = vec![1, 2, 3];
        assert_eq!(capped.cap(&mut v), 2);
        assert_eq!(v, [1]);
    }
}
