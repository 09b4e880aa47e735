use crate::model::manifest::Manifest;
use crate::vocab::{RuleMeta, Violation};
use std::fmt;

/// Settings that change what rules decide (not which rules run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    pub pss: crate::rules::pss::PssSettings,
}

/// What a rule sees: one object, every object of the run, and the run's settings.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub manifest: &'a Manifest,
    pub inventory: &'a crate::model::inventory::Inventory<'a>,
    pub settings: &'a Settings,
    /// The rules of this run, so a rule can defer to another that covers part of its ground.
    pub active: &'a [&'static dyn Rule],
    /// The run's schema settings and schemas (target Kubernetes version, strictness, `--crd`).
    pub schema: &'a crate::schema::builtin::SchemaContext,
}

impl Context<'_> {
    /// Whether the rule with this id runs in this run.
    pub fn is_active(&self, rule_id: &str) -> bool {
        self.active.iter().any(|r| r.meta().id == rule_id)
    }
}

/// A built-in check. Rules get the parsed object once and report by JSON pointer; they never
/// re-parse and never compute positions.
pub trait Rule: Send + Sync + 'static {
    fn meta(&self) -> &'static RuleMeta;
    fn check(&self, cx: &Context<'_>, out: &mut Vec<Violation>);

    /// Whether the verdict on an object depends on *other* objects of the input (through
    /// [`Context::inventory`]), so that judging the object alone gives a wrong answer: a
    /// Namespace without its NetworkPolicies, a Deployment without its autoscaler. Front ends
    /// that see one object at a time (the admission webhook) do not run these rules.
    ///
    /// Rules that only *add* schemas from the input (CRDs, KG004/KG006) are not such rules:
    /// they get the same schemas from `--crd`.
    fn needs_whole_input(&self) -> bool {
        false
    }

    /// Whether this run reports the rule's findings as advisory notes (shown, never failing
    /// the run, dry-run in the webhook) rather than at their severity. Asked only when the
    /// rule found something.
    fn advisory(&self, _cx: &Context<'_>) -> bool {
        false
    }
}

impl fmt::Debug for dyn Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.meta().id)
    }
}
