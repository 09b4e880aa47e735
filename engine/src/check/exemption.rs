//! Per-object exemptions: `exempt.kubegate.io/<rule id or name>: "<reason>"` annotations.
//!
//! The reason is required, so every exemption documents why it exists. An exemption that
//! names no known rule or gives no reason is reported (`KG001`) and not applied; one that
//! suppresses nothing is reported too (`KG002`), so stale exemptions do not pile up.

use crate::load::position::child_pointer;
use crate::model::manifest::Manifest;
use crate::vocab::{Category, RuleMeta, Violation};
use serde_json::Value;

/// Annotation key prefix; the rest of the key names the rule.
pub const ANNOTATION_PREFIX: &str = "exempt.kubegate.io/";

pub static INVALID: RuleMeta = RuleMeta {
    id: "KG001",
    name: "invalid-exemption",
    title: "Exemption annotations must name a known rule and give a reason",
    category: Category::Kubegate,
    rationale: "An exemption without a reason cannot be reviewed, and one that names an unknown \
rule (a typo, a retired id) exempts nothing while looking as if it did. kubegate does not apply \
such an annotation and reports it instead.",
    remediation: "Write the annotation as `exempt.kubegate.io/<rule id or name>: \"<why this \
object needs it, and who approved it>\"` with a rule listed by `kubegate rules`.",
    failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: cni
  annotations:
    exempt.kubegate.io/privileged-container: ""
spec:
  containers:
    - name: cni
      image: example.com/cni:1.4.0
      securityContext:
        privileged: true
"#,
    passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: cni
  annotations:
    exempt.kubegate.io/privileged-container: "CNI plugin must configure host networking; SEC-1423"
spec:
  containers:
    - name: cni
      image: example.com/cni:1.4.0
      securityContext:
        privileged: true
"#,
    since: "0.1.0",
};

pub static UNUSED: RuleMeta = RuleMeta {
    id: "KG002",
    name: "unused-exemption",
    title: "Exemption annotations must suppress a finding",
    category: Category::Kubegate,
    rationale: "An exemption that suppresses nothing is stale: the object was fixed, or the \
annotation sits on the wrong object. Left in place it would silently exempt a future regression.",
    remediation: "Remove the annotation.",
    failing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    exempt.kubegate.io/KG101: "was privileged during the migration; SEC-1001"
spec:
  containers:
    - name: web
      image: nginx:1.27.2
"#,
    passing_example: r#"apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27.2
"#,
    since: "0.1.0",
};

/// The engine's own rules, reported by the exemption machinery rather than by a [`crate::Rule`].
pub static METAS: [&RuleMeta; 2] = [&INVALID, &UNUSED];

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
            (Some(id), _) if METAS.iter().any(|m| m.id == id) => {
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
