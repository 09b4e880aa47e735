//! Rule packs, declared as data in `policies/packs.yaml` and embedded at build time.

use crate::rule::Rule;
use serde::Deserialize;
use std::sync::OnceLock;
use thiserror::Error;

const PACKS_YAML: &str = include_str!("../../policies/packs.yaml");

/// The pack whose rules always run.
pub const ALWAYS_ON: &str = "kubegate";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Pack {
    pub name: String,
    pub description: String,
    pub rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PackFile {
    packs: Vec<Pack>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackError {
    #[error("unknown pack {name:?}; known packs: {known}")]
    UnknownPack { name: String, known: String },
    #[error("policies/packs.yaml is invalid: {0}")]
    Invalid(String),
}

fn parse(text: &str) -> Result<Vec<Pack>, PackError> {
    let stream = crate::yaml::parse_stream(text, &crate::yaml::Limits::default());
    if let Some(e) = stream.error {
        return Err(PackError::Invalid(format!("{}: {e}", e.position)));
    }
    let doc = stream
        .documents
        .into_iter()
        .next()
        .ok_or_else(|| PackError::Invalid("empty".into()))?;
    let file: PackFile =
        serde_json::from_value(doc.value).map_err(|e| PackError::Invalid(e.to_string()))?;
    for pack in &file.packs {
        for id in &pack.rules {
            if crate::rules::find(id).is_none() {
                return Err(PackError::Invalid(format!(
                    "pack {:?} names unknown rule {id:?}",
                    pack.name
                )));
            }
        }
    }
    Ok(file.packs)
}

/// The built-in packs. The embedded file is checked by the test suite, so an error here is
/// a build defect; it is still reported rather than panicking.
pub fn builtin() -> Result<&'static [Pack], PackError> {
    static PACKS: OnceLock<Result<Vec<Pack>, PackError>> = OnceLock::new();
    PACKS
        .get_or_init(|| parse(PACKS_YAML))
        .as_deref()
        .map_err(Clone::clone)
}

/// The names of the packs a rule belongs to.
pub fn packs_of(rule_id: &str) -> Vec<&'static str> {
    builtin()
        .unwrap_or_default()
        .iter()
        .filter(|p| p.rules.iter().any(|r| r == rule_id))
        .map(|p| p.name.as_str())
        .collect()
}

/// The built-in rules of the named packs, plus the always-on pack.
pub fn select(names: &[String]) -> Result<Vec<&'static dyn Rule>, PackError> {
    let packs = builtin()?;
    for name in names {
        if !packs.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = packs.iter().map(|p| p.name.as_str()).collect();
            return Err(PackError::UnknownPack {
                name: name.clone(),
                known: known.join(", "),
            });
        }
    }
    let wanted = |id: &str| {
        packs
            .iter()
            .filter(|p| p.name == ALWAYS_ON || names.contains(&p.name))
            .any(|p| p.rules.iter().any(|r| r == id))
    };
    Ok(crate::rules::builtin()
        .iter()
        .copied()
        .filter(|r| wanted(r.meta().id))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_packs_are_valid_and_cover_every_rule() {
        let packs = builtin().expect("valid packs.yaml");
        for meta in crate::rules::all_metas() {
            assert!(!packs_of(meta.id).is_empty(), "{} is in no pack", meta.id);
        }
        assert!(packs.iter().any(|p| p.name == ALWAYS_ON));
    }

    #[test]
    fn selecting_packs() {
        let ids = |names: &[&str]| -> Vec<&str> {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            select(&names)
                .expect("select")
                .iter()
                .map(|r| r.meta().id)
                .collect()
        };
        assert_eq!(ids(&["best-practices"]), vec!["KG003", "KG201", "KG202"]);
        assert_eq!(
            ids(&["pod-security"]),
            vec!["KG003", "KG101", "KG102", "KG103"]
        );
        assert!(matches!(
            select(&["nope".to_string()]),
            Err(PackError::UnknownPack { .. })
        ));
    }

    #[test]
    fn invalid_pack_files_are_reported() {
        assert!(
            matches!(parse("packs:\n  - name: x\n    description: d\n    rules: [KG999]\n"), Err(PackError::Invalid(m)) if m.contains("KG999"))
        );
        assert!(matches!(parse("packs: [\n"), Err(PackError::Invalid(_))));
    }
}
