//! The registry of built-in rules, built once from the folders' `rules!` lists: every rule in id
//! order, and lookup by id or name without allocating (it runs per exemption annotation and per
//! configured exemption).

use crate::rules::Rule;
use crate::vocab::{RuleMeta, Scope, Status};
use std::cmp::Ordering;
use std::sync::OnceLock;

/// Rules that no longer exist. Their ids stay taken: `kubegate explain` still finds them and
/// selecting one is an error that says why it went.
pub static RETIRED: &[RuleMeta] = &[];

struct Registry {
    /// Rules that inspect objects (every scope but [`Scope::Exemptions`]), by id.
    inspecting: Vec<&'static dyn Rule>,
    /// Every rule's metadata, retired ones included, by id.
    metas: Vec<&'static RuleMeta>,
    /// Indices into `metas`, by name.
    by_name: Vec<usize>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        build(
            [
                super::kubegate::RULES,
                super::api::RULES,
                super::pss::RULES,
                super::best_practices::RULES,
                super::cis::RULES,
            ]
            .concat(),
            RETIRED,
        )
    })
}

fn build(mut rules: Vec<&'static dyn Rule>, retired: &'static [RuleMeta]) -> Registry {
    rules.sort_by_key(|r| r.meta().id);
    let mut metas: Vec<&'static RuleMeta> = rules.iter().map(|r| r.meta()).collect();
    metas.extend(retired);
    metas.sort_by_key(|m| m.id);
    let mut by_name: Vec<usize> = (0..metas.len()).collect();
    by_name.sort_by_key(|&i| metas[i].name);
    let inspecting = rules
        .into_iter()
        .filter(|r| r.meta().scope != Scope::Exemptions)
        .collect();
    Registry {
        inspecting,
        metas,
        by_name,
    }
}

/// Every built-in rule that inspects objects, in id order.
pub fn builtin() -> &'static [&'static dyn Rule] {
    &registry().inspecting
}

/// Ids of the built-in rules that need the other objects of the input ([`Scope::WholeInput`]),
/// sorted.
pub fn whole_input_ids() -> Vec<&'static str> {
    builtin()
        .iter()
        .map(|r| r.meta())
        .filter(|m| m.scope == Scope::WholeInput)
        .map(|m| m.id)
        .collect()
}

/// Metadata of every rule kubegate can report, including the engine's own (exemptions) and
/// retired ones, sorted by id.
pub fn all_metas() -> &'static [&'static RuleMeta] {
    &registry().metas
}

/// Looks a rule up by id (`KG101`, any case) or name (`privileged-container`).
pub fn find(id_or_name: &str) -> Option<&'static RuleMeta> {
    let r = registry();
    let by_id = |m: &&RuleMeta| -> Ordering {
        m.id.bytes()
            .map(|b| b.to_ascii_uppercase())
            .cmp(id_or_name.bytes().map(|b| b.to_ascii_uppercase()))
    };
    if let Ok(i) = r.metas.binary_search_by(by_id) {
        return Some(r.metas[i]);
    }
    r.by_name
        .binary_search_by(|&i| r.metas[i].name.cmp(id_or_name))
        .ok()
        .map(|i| r.metas[r.by_name[i]])
}

impl RuleMeta {
    /// Whether the rule is retired (kept only so its id is never reused).
    pub fn is_retired(&self) -> bool {
        matches!(self.status, Status::Retired { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The rules the webhook leaves out. A new rule that reads `cx.inventory` to decide (not
    /// only to find CRDs) belongs here; the webhook tests show the false positive otherwise.
    #[test]
    fn rules_that_need_the_whole_input() {
        assert_eq!(
            whole_input_ids(),
            [
                "KG208", "KG212", "KG213", "KG214", "KG215", "KG216", "KG217", "KG218", "KG219",
                "KG220", "KG221", "KG222", "KG306", "KG401"
            ]
        );
    }

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let metas = all_metas();
        let ids: BTreeSet<_> = metas.iter().map(|m| m.id).collect();
        let names: BTreeSet<_> = metas.iter().map(|m| m.name).collect();
        assert_eq!(ids.len(), metas.len(), "an id is declared twice");
        assert_eq!(names.len(), metas.len(), "a name is declared twice");
        for m in metas {
            assert!(
                m.id.len() == 5
                    && m.id.starts_with("KG")
                    && m.id[2..].bytes().all(|b| b.is_ascii_digit()),
                "{}",
                m.id
            );
            assert!(
                m.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{} is not kebab-case",
                m.name
            );
        }
    }

    #[test]
    fn lookup_by_id_in_any_case_and_by_name() {
        for m in all_metas() {
            assert_eq!(find(m.id).map(|f| f.id), Some(m.id));
            assert_eq!(find(&m.id.to_ascii_lowercase()).map(|f| f.id), Some(m.id));
            assert_eq!(find(m.name).map(|f| f.id), Some(m.id));
        }
        assert!(find("KG999").is_none());
        assert!(find("Privileged-Container").is_none(), "names are exact");
        assert!(find("").is_none());
    }

    #[test]
    fn a_retired_rule_keeps_its_id_and_does_not_run() {
        static GONE: [RuleMeta; 1] = [RuleMeta {
            id: "KG199",
            name: "gone-rule",
            title: "A rule that went away",
            severity: crate::vocab::Severity::Low,
            category: crate::vocab::Category::Kubegate,
            scope: Scope::Object,
            status: Status::Retired {
                since: "0.2.0",
                note: "replaced by KG101",
            },
            rationale: "",
            remediation: "",
            failing_example: "",
            passing_example: "",
            since: "0.1.0",
        }];
        let r = build(builtin().to_vec(), &GONE);
        assert!(r.metas.iter().any(|m| m.id == "KG199" && m.is_retired()));
        assert!(!r.inspecting.iter().any(|x| x.meta().id == "KG199"));
        assert_eq!(
            r.metas.len(),
            all_metas().len() - 2 + 1,
            "exemption rules are not inspecting"
        );
    }
}
