//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use kubegate_engine::{registry as rules, Checker, Report};
use std::path::PathBuf;

/// A path under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata")).join(rel)
}

/// A checker running only the built-in rules with these ids.
pub fn only(ids: &[&str]) -> Checker {
    Checker::with_rules(
        rules::builtin()
            .iter()
            .copied()
            .filter(|r| ids.contains(&r.meta().id))
            .collect(),
    )
}

/// `(rule, line, column)` of every finding, in report order.
pub fn positions_all(report: &Report) -> Vec<(&str, u32, u32)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.as_ref(),
                f.location.line.unwrap_or(0),
                f.location.column.unwrap_or(0),
            )
        })
        .collect()
}

/// `(rule, line, column)` of the findings of `rules`, in report order.
pub fn positions<'r>(report: &'r Report, rules: &[&str]) -> Vec<(&'r str, u32, u32)> {
    positions_all(report)
        .into_iter()
        .filter(|(id, ..)| rules.contains(id))
        .collect()
}
