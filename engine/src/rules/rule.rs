use crate::model::manifest::Manifest;
use crate::vocab::{RuleMeta, Violation};
use std::fmt;

/// Settings that change what rules decide (not which rules run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    pub pss: crate::rules::pss::PssSettings,
    /// The input holds every object of the namespaces it names (`--complete-input`): rules
    /// that report what the input does not define (KG220) report at their severity instead
    /// of as advisory notes.
    pub complete_input: bool,
}

/// What a rule sees: one object, every object of the run, and the run's settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub manifest: &'a Manifest,
    pub inventory: &'a crate::model::inventory::Inventory<'a>,
    /// The CustomResourceDefinitions among the objects, compiled when first asked for.
    pub crds: &'a crate::schema::crd::InputCrds<'a>,
    pub settings: &'a Settings,
    /// The rules of this run, so a rule can defer to another that covers part of its ground.
    pub active: &'a [&'static dyn Rule],
    /// The run's schema settings and schemas (target Kubernetes version, strictness, `--crd`).
    pub schema: &'a crate::schema::builtin::SchemaContext,
    /// The object as stored before this change: set only when judging an UPDATE admission
    /// request (rules that compare with the stored object, such as CRD transition rules, need
    /// it; a run has none).
    pub old_object: Option<&'a serde_json::Value>,
}

impl Context<'_> {
    /// Whether the rule with this id runs in this run.
    pub fn is_active(&self, rule_id: &str) -> bool {
        self.active.iter().any(|r| r.meta().id == rule_id)
    }
}

/// What a rule declares about itself; `declare_rule!` implements it.
pub trait Declared {
    fn meta(&self) -> &'static RuleMeta;
}

/// A built-in check. Rules get the parsed object once and report by JSON pointer; they never
/// re-parse and never compute positions. What a rule needs to see is its declared
/// [`crate::vocab::Scope`]: the checker runs a whole-input rule only where it has the whole input.
pub trait Rule: Declared + Send + Sync + 'static {
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>);

    /// Whether this run reports the rule's findings as advisory notes (shown, never failing
    /// the run, dry-run in the webhook) rather than at their severity. Asked only when the
    /// rule found something.
    fn advisory(&self, _cx: &Context<'_>) -> bool {
        false
    }

    /// Whether this one violation is a note (advisory) even when the rule's findings are
    /// otherwise not: for a rule that reports both what it found and what it could not judge.
    fn is_note(&self, _violation: &Violation) -> bool {
        false
    }
}

impl fmt::Debug for dyn Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.meta().id)
    }
}
