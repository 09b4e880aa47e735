//! Per-object exemptions: `exempt.kubegate.io/<rule id or name>: "<reason>"` annotations.
//!
//! The reason is required, so every exemption documents why it exists. An exemption that
//! names no known rule or gives no reason is reported (`KG001`) and not applied; one that
//! suppresses nothing is reported too (`KG002`), so stale exemptions do not pile up.

use crate::model::manifest::Manifest;
use crate::model::position::child_pointer;
use crate::vocab::Violation;
use serde_json::Value;

/// Annotation key prefix; the rest of the key names the rule.
pub const ANNOTATION_PREFIX: &str = "exempt.kubegate.io/";

/// The rules this module reports (their declarations live with the other rules).
pub(crate) use crate::rules::kubegate::invalid_exemption::META as INVALID;
pub(crate) use crate::rules::kubegate::unused_exemption::META as UNUSED;

/// A valid exemption on one object.
#[derive(Debug)]
pub(crate) struct Exemption {
    pub rule_id: String,
    pub pointer: String,
    pub used: bool,
}

/// Reads an object's exemption annotations. `known` maps a rule id or name to the rule's id
/// (built-in rules and loaded policies). Invalid annotations come back as `KG001` violations.
pub(crate) fn read(
    manifest: &Manifest,
    known: &dyn Fn(&str) -> Option<String>,
) -> (Vec<Exemption>, Vec<Violation>) {
    let mut exemptions = Vec::new();
    let mut invalid = Vec::new();
    let Some(annotations) = manifest.annotations() else {
        return (exemptions, invalid);
    };
    for (key, value) in annotations {
        let Some(rule) = key.strip_prefix(ANNOTATION_PREFIX) else {
            continue;
        };
        let pointer = child_pointer("/metadata/annotations", key);
        let problem = match (known(rule), value) {
            (None, _) => Some(format!(
                "exemption {key:?} names no known rule (see `kubegate rules`)"
            )),
            (Some(id), _) if [&INVALID, &UNUSED].iter().any(|m| m.id == id) => {
                Some(format!("exemption {key:?}: {id} cannot be exempted"))
            }
            (Some(id), Value::String(reason)) if !reason.trim().is_empty() => {
                exemptions.push(Exemption {
                    rule_id: id,
                    pointer: pointer.clone(),
                    used: false,
                });
                None
            }
            (Some(_), _) => Some(format!("exemption {key:?} needs a reason as its value")),
        };
        if let Some(message) = problem {
            invalid.push(Violation { pointer, message });
        }
    }
    (exemptions, invalid)
}
