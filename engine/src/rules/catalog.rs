//! The rule catalogue as data: packs and profiles
//! (`policies/packs.yaml`) and benchmark mappings (`policies/benchmarks/*.yaml`), embedded at
//! build time and checked against the rules compiled into the engine.

use crate::rules::pss::{PssLevel, PssSettings};
use crate::rules::Rule;
use crate::vocab::{Category, RuleMeta, Severity, Status};
use serde::Deserialize;
use serde::Serialize;
use std::sync::OnceLock;
use thiserror::Error;

const PACKS_YAML: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../policies/packs.yaml"
));
const BENCHMARK_FILES: [(&str, &str); 1] = [(
    "policies/benchmarks/cis.yaml",
    include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/benchmarks/cis.yaml"
    )),
)];

/// The pack that implements the Pod Security Standards; its profiles are the PSS levels.
pub const PSS_PACK: &str = "pss";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    /// Another profile of the same pack whose rules this one runs too.
    #[serde(default)]
    pub extends: Option<String>,
    /// The benchmark reference this profile's own rules carry (`PSS baseline`).
    #[serde(default)]
    pub benchmark: Option<String>,
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub always_on: bool,
    /// Runs only when named (`--packs`); a run without `--packs` leaves it out.
    #[serde(default)]
    pub opt_in: bool,
    pub profiles: Vec<Profile>,
}

impl Pack {
    /// Every rule of the pack, in every profile.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.profiles
            .iter()
            .flat_map(|p| p.rules.iter().map(String::as_str))
    }

    /// The rules of `profile` and of the profiles it extends.
    pub fn profile_rule_ids(&self, profile: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut next = Some(profile);
        let mut seen = 0;
        while let (Some(name), true) = (next, seen <= self.profiles.len()) {
            seen += 1;
            let Some(p) = self.profiles.iter().find(|p| p.name == name) else {
                break;
            };
            out.extend(p.rules.iter().map(String::as_str));
            next = p.extends.as_deref();
        }
        out
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub v1_9: Option<String>,
    #[serde(default)]
    pub level: Option<u8>,
    #[serde(default)]
    pub assessment: Option<String>,
    /// Rules judging the control; empty where manifests cannot show it (see `note`).
    pub rules: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub benchmark: String,
    pub short: String,
    pub version: String,
    pub controls: Vec<Control>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PacksFile {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    kind: String,
    packs: Vec<Pack>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error("unknown pack {name:?}; known packs: {known}")]
    UnknownPack { name: String, known: String },
    #[error("unknown rule {0:?} (see `kubegate rules`)")]
    UnknownRule(String),
    #[error("rule {id} was retired in kubegate {since}: {note}")]
    RetiredRule {
        id: &'static str,
        since: &'static str,
        note: &'static str,
    },
    #[error("{file} is invalid: {message}")]
    Invalid { file: &'static str, message: String },
}

/// Everything the policy files say, validated.
#[derive(Debug)]
pub struct Catalog {
    pub packs: Vec<Pack>,
    pub benchmarks: Vec<Benchmark>,
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, CatalogError> {
    let invalid = |message: String| CatalogError::Invalid { file, message };
    let stream = crate::load::yaml::parse_stream(text, &crate::load::yaml::Limits::default());
    if let Some(e) = stream.error {
        return Err(invalid(format!("{}: {e}", e.position)));
    }
    let doc = stream
        .documents
        .into_iter()
        .next()
        .ok_or_else(|| invalid("empty".into()))?;
    serde_json::from_value(doc.value).map_err(|e| invalid(e.to_string()))
}

impl Catalog {
    fn parse(packs: &str, benchmarks: &[(&'static str, &str)]) -> Result<Self, CatalogError> {
        let packs_file: PacksFile = parse("policies/packs.yaml", packs)?;
        let invalid = |file, message: String| CatalogError::Invalid { file, message };
        if packs_file.kind != "RulePacks" {
            return Err(invalid(
                "policies/packs.yaml",
                "unexpected `kind` (expected RulePacks)".into(),
            ));
        }
        // Packs and benchmarks name active rules by id; a retired id is an error too.
        let known =
            |id: &str| crate::rules::find(id).is_some_and(|m| m.id == id && !m.is_retired());
        for pack in &packs_file.packs {
            for profile in &pack.profiles {
                if let Some(base) = &profile.extends {
                    if !pack.profiles.iter().any(|p| &p.name == base) {
                        return Err(invalid(
                            "policies/packs.yaml",
                            format!(
                                "profile {}/{} extends unknown profile {base:?}",
                                pack.name, profile.name
                            ),
                        ));
                    }
                }
            }
            for id in pack.rule_ids() {
                if !known(id) {
                    return Err(invalid(
                        "policies/packs.yaml",
                        format!("pack {:?} names unknown rule {id:?}", pack.name),
                    ));
                }
            }
        }
        let mut parsed_benchmarks = Vec::new();
        for (file, text) in benchmarks {
            let b: Benchmark = parse(file, text)?;
            for control in &b.controls {
                for id in &control.rules {
                    if !known(id) {
                        return Err(invalid(
                            file,
                            format!("control {} names unknown rule {id:?}", control.id),
                        ));
                    }
                }
            }
            parsed_benchmarks.push(b);
        }
        Ok(Self {
            packs: packs_file.packs,
            benchmarks: parsed_benchmarks,
        })
    }

    /// The catalogue compiled into kubegate. The test suite validates the embedded files, so
    /// an error here is a build defect; it is still returned rather than a panic.
    pub fn builtin() -> Result<&'static Catalog, CatalogError> {
        static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
        CATALOG
            .get_or_init(|| Catalog::parse(PACKS_YAML, &BENCHMARK_FILES))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Default severity of a rule, as its declaration gives it (`Medium` for an unknown id).
    pub fn severity(&self, rule_id: &str) -> Severity {
        crate::rules::find(rule_id).map_or(Severity::Medium, |m| m.severity)
    }

    /// Benchmark references of a rule: from the profiles that hold it and from benchmark
    /// mappings (`PSS baseline`, `CIS 5.2.2`).
    pub fn benchmarks(&self, rule_id: &str) -> Vec<String> {
        let mut out = Vec::new();
        for pack in &self.packs {
            for profile in &pack.profiles {
                if let (Some(b), true) = (
                    &profile.benchmark,
                    profile.rules.iter().any(|r| r == rule_id),
                ) {
                    out.push(b.clone());
                }
            }
        }
        for b in &self.benchmarks {
            for control in &b.controls {
                if control.rules.iter().any(|r| r == rule_id) {
                    out.push(format!("{} {}", b.short, control.id));
                }
            }
        }
        out
    }

    /// The packs a rule belongs to.
    pub fn packs_of(&self, rule_id: &str) -> Vec<&str> {
        self.packs
            .iter()
            .filter(|p| p.rule_ids().any(|r| r == rule_id))
            .map(|p| p.name.as_str())
            .collect()
    }

    fn pack(&self, name: &str) -> Result<&Pack, CatalogError> {
        self.packs
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| CatalogError::UnknownPack {
                name: name.to_owned(),
                known: self
                    .packs
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The built-in rules that run for the named packs (every pack but the opt-in ones when
    /// `names` is empty) under
    /// the given Pod Security settings: `--pss-level baseline` runs the pod-security pack's
    /// baseline profile only. Always-on packs always run.
    pub fn select(
        &self,
        names: &[String],
        pss: &PssSettings,
    ) -> Result<Vec<&'static dyn Rule>, CatalogError> {
        for name in names {
            self.pack(name)?;
        }
        let mut wanted: Vec<&str> = Vec::new();
        for pack in &self.packs {
            let named = names.contains(&pack.name);
            if !(pack.always_on || named || (names.is_empty() && !pack.opt_in)) {
                continue;
            }
            if pack.name == PSS_PACK && !pss.includes(PssLevel::Restricted) {
                wanted.extend(pack.profile_rule_ids(PssLevel::Baseline.as_str()));
            } else {
                wanted.extend(pack.rule_ids());
            }
        }
        Ok(crate::rules::builtin()
            .iter()
            .copied()
            .filter(|r| wanted.contains(&r.meta().id))
            .collect())
    }

    /// The benchmark controls a rule implements, with their level and assessment.
    pub fn controls(&self, rule_id: &str) -> Vec<ControlRef> {
        let mut out = Vec::new();
        for b in &self.benchmarks {
            for c in b
                .controls
                .iter()
                .filter(|c| c.rules.iter().any(|r| r == rule_id))
            {
                out.push(ControlRef {
                    benchmark: format!("{} {}", b.benchmark, b.version),
                    id: format!("{} {}", b.short, c.id),
                    title: c.title.clone(),
                    level: c.level,
                    assessment: c.assessment.clone(),
                });
            }
        }
        out
    }

    /// A rule's metadata together with what the data says about it.
    pub fn info(&self, meta: &'static RuleMeta) -> RuleInfo {
        RuleInfo {
            id: meta.id,
            name: meta.name,
            title: meta.title,
            severity: self.severity(meta.id),
            category: meta.category,
            packs: self
                .packs_of(meta.id)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            benchmarks: self.benchmarks(meta.id),
            controls: self.controls(meta.id),
            rationale: meta.rationale,
            remediation: meta.remediation,
            failing_example: meta.failing_example,
            passing_example: meta.passing_example,
            since: meta.since,
        }
    }

    /// Every rule, sorted by id, with its data.
    pub fn infos(&self) -> Vec<RuleInfo> {
        crate::rules::all_metas()
            .iter()
            .map(|&m| self.info(m))
            .collect()
    }

    /// What runs for a full selection: `rules` (ids or names), when given, replaces the packs;
    /// `skip` removes rules from whatever was selected. Always-on packs run regardless, unless
    /// skipped rule by rule.
    pub fn select_rules(
        &self,
        packs: &[String],
        rules: &[String],
        skip: &[String],
        pss: &PssSettings,
    ) -> Result<Vec<&'static dyn Rule>, CatalogError> {
        let resolve = |names: &[String]| -> Result<Vec<&'static str>, CatalogError> {
            names
                .iter()
                .map(|n| {
                    let meta = crate::rules::find(n)
                        .ok_or_else(|| CatalogError::UnknownRule(n.clone()))?;
                    match meta.status {
                        Status::Active => Ok(meta.id),
                        Status::Retired { since, note } => Err(CatalogError::RetiredRule {
                            id: meta.id,
                            since,
                            note,
                        }),
                    }
                })
                .collect()
        };
        let only = resolve(rules)?;
        let skip = resolve(skip)?;
        let mut selected = if only.is_empty() {
            self.select(packs, pss)?
        } else {
            let always: Vec<&str> = self
                .packs
                .iter()
                .filter(|p| p.always_on)
                .flat_map(Pack::rule_ids)
                .collect();
            crate::rules::builtin()
                .iter()
                .copied()
                .filter(|r| only.contains(&r.meta().id) || always.contains(&r.meta().id))
                .collect()
        };
        selected.retain(|r| !skip.contains(&r.meta().id));
        Ok(selected)
    }

    /// Whether `name` is a pack.
    pub fn has_pack(&self, name: &str) -> Result<(), CatalogError> {
        self.pack(name).map(|_| ())
    }
}

/// One benchmark control a rule implements.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ControlRef {
    /// `CIS Kubernetes Benchmark v1.10`.
    pub benchmark: String,
    /// `CIS 5.2.2`.
    pub id: String,
    pub title: String,
    /// Profile level (1 or 2).
    pub level: Option<u8>,
    /// `automated` or `manual`, as the benchmark scores it.
    pub assessment: Option<String>,
}

impl ControlRef {
    /// `CIS 5.2.2 (Level 1, manual): Minimize the admission of privileged containers`.
    pub fn describe(&self) -> String {
        let mut facts = Vec::new();
        if let Some(level) = self.level {
            facts.push(format!("Level {level}"));
        }
        if let Some(a) = &self.assessment {
            facts.push(a.clone());
        }
        if facts.is_empty() {
            format!("{}: {}", self.id, self.title)
        } else {
            format!("{} ({}): {}", self.id, facts.join(", "), self.title)
        }
    }
}

/// Everything `kubegate rules`, `explain` and the generated docs show about a rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub category: Category,
    pub packs: Vec<String>,
    pub benchmarks: Vec<String>,
    pub controls: Vec<ControlRef>,
    pub rationale: &'static str,
    pub remediation: &'static str,
    pub failing_example: &'static str,
    pub passing_example: &'static str,
    pub since: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_is_valid_and_covers_every_rule() {
        let catalog = Catalog::builtin().expect("valid policies/");
        for meta in crate::rules::all_metas() {
            assert!(
                !catalog.packs_of(meta.id).is_empty(),
                "{} is in no pack",
                meta.id
            );
        }
        assert!(catalog
            .packs
            .iter()
            .any(|p| p.name == "kubegate" && p.always_on));
        assert_eq!(catalog.severity("KG101"), Severity::Critical);
        assert_eq!(
            catalog.benchmarks("KG101"),
            vec!["PSS baseline", "CIS 5.2.2"]
        );
    }

    #[test]
    fn selecting_packs() {
        let catalog = Catalog::builtin().expect("valid policies/");
        let ids = |names: &[&str]| -> Vec<&str> {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            catalog
                .select(&names, &PssSettings::default())
                .expect("select")
                .iter()
                .map(|r| r.meta().id)
                .collect()
        };
        // The always-on packs' inspecting rules (KG003 to KG006, KG010 to KG018, KG210) plus the
        // KG2xx rules but the opt-in hardening pack's KG224, derived from the registry.
        let expected: Vec<&str> = crate::rules::builtin()
            .iter()
            .map(|r| r.meta().id)
            .filter(|id| {
                ("KG003"..="KG006").contains(id)
                    || ("KG010"..="KG018").contains(id)
                    || (id.starts_with("KG2") && *id != "KG224")
            })
            .collect();
        assert_eq!(ids(&["best-practices"]), expected);
        assert!(expected.len() >= 16);
        assert_eq!(
            ids(&["pss"]).len(),
            5 + 9 + 12 + 7,
            "kubegate pack (KG003 to KG006, KG210), api-server pack (KG010 to KG018) plus both \
PSS profiles"
        );
        let baseline = PssSettings {
            level: Some(PssLevel::Baseline),
            ..PssSettings::default()
        };
        let only_baseline = catalog
            .select(&["pss".to_string()], &baseline)
            .expect("select");
        assert_eq!(only_baseline.len(), 5 + 9 + 12);
        assert!(only_baseline
            .iter()
            .all(|r| r.meta().id < "KG120" || r.meta().id == "KG210"));
        // The opt-in hardening pack runs only when named.
        let default_run = ids(&[]);
        assert!(!default_run.contains(&"KG224") && default_run.contains(&"KG223"));
        assert_eq!(ids(&["hardening"]).last(), Some(&"KG224"));
        assert!(ids(&["hardening", "cis"]).contains(&"KG224"));
        let err = catalog.select(&["nope".to_string()], &PssSettings::default());
        assert!(matches!(err, Err(CatalogError::UnknownPack { .. })));
    }

    #[test]
    fn invalid_policy_files_are_reported() {
        let packs = "apiVersion: v\nkind: RulePacks\npacks:\n  - name: x\n    description: d\n    profiles:\n      - name: p\n        rules: [KG999]\n";
        let err = Catalog::parse(packs, &[]);
        assert!(
            matches!(&err, Err(CatalogError::Invalid { message, .. }) if message.contains("KG999")),
            "{err:?}"
        );
        let err = Catalog::parse("packs: [\n", &[]);
        assert!(matches!(err, Err(CatalogError::Invalid { .. })));
        let err = Catalog::parse(PACKS_YAML, &[("b.yaml", "apiVersion: v\nkind: BenchmarkMapping\nbenchmark: b\nshort: B\nversion: v1\ncontrols: [{id: '1', title: t, rules: [KG998]}]\n")]);
        assert!(
            matches!(&err, Err(CatalogError::Invalid { message, .. }) if message.contains("KG998")),
            "{err:?}"
        );
    }
}
