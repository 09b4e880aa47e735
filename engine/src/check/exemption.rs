//! Exemptions, applied by the checker: per-object annotations
//! (`exempt.kubegate.io/<rule id or name>: "<reason>"`) and the configuration's `exemptions`
//! section (namespaces, paths, objects), each tracked so an unused one can be reported.
//!
//! The reason is required, so every exemption documents why it exists. An exemption that
//! names no known rule or gives no reason is reported (`KG001`) and not applied; one that
//! suppresses nothing is reported too (`KG002`), so stale exemptions do not pile up.

use crate::model::manifest::Manifest;
use crate::model::manifest::ObjectRef;
use crate::model::pattern::glob;
use crate::model::position::child_pointer;
use crate::vocab::Violation;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

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

/// The configuration's `exemptions` section.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Exemptions {
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub objects: Vec<ObjectExemption>,
}

/// One entry of `exemptions.objects`: every field given must match; no `rules` means all.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ObjectExemption {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub rules: Vec<String>,
    pub reason: String,
}

/// The configuration's exemptions with the directory its relative paths start from.
#[derive(Debug, Clone, Default)]
pub struct ConfigExemptions {
    pub exemptions: Exemptions,
    /// The configuration file's directory (absolute).
    pub base: PathBuf,
}

/// Which configuration exemption suppressed a finding: `namespaces[i]`, `paths[i]` or
/// `objects[i]`, numbered in that order (see [`ConfigExemptions::describe`]).
pub(crate) type ExemptionIndex = usize;

impl ConfigExemptions {
    pub fn is_empty(&self) -> bool {
        let e = &self.exemptions;
        e.namespaces.is_empty() && e.paths.is_empty() && e.objects.is_empty()
    }

    /// The exemption that suppresses a finding of `rule_id` (`rule_name`) on `object` from
    /// `file`, if any; the first that applies, in configuration order.
    pub(crate) fn find(
        &self,
        object: &ObjectRef,
        file: &str,
        rule_id: &str,
        rule_name: &str,
    ) -> Option<ExemptionIndex> {
        let e = &self.exemptions;
        let ns = object.namespace.as_deref();
        if let Some(i) = ns.and_then(|ns| e.namespaces.iter().position(|p| glob(p, ns))) {
            return Some(i);
        }
        if let Some(i) = self.file_exemption(file) {
            return Some(e.namespaces.len() + i);
        }
        let names_rule = |r: &String| {
            r == rule_id || r == rule_name || crate::rules::find(r).is_some_and(|m| m.id == rule_id)
        };
        e.objects
            .iter()
            .position(|x| {
                x.kind.as_deref().is_none_or(|k| k == object.kind)
                    && x.name
                        .as_deref()
                        .is_none_or(|n| object.name.as_deref().is_some_and(|on| glob(n, on)))
                    && x.namespace
                        .as_deref()
                        .is_none_or(|n| ns.is_some_and(|on| glob(n, on)))
                    && (x.rules.is_empty() || x.rules.iter().any(names_rule))
            })
            .map(|i| e.namespaces.len() + e.paths.len() + i)
    }

    /// The `exemptions.paths` entry that exempts a file (see [`path_exemption`]).
    pub fn file_exemption(&self, file: &str) -> Option<usize> {
        path_exemption(&self.exemptions.paths, &self.base, file)
    }

    /// Every exemption, described for people (`exemptions.objects[1] (kind: Deployment, name:
    /// legacy-*)`), by [`ExemptionIndex`].
    pub fn describe(&self, index: ExemptionIndex) -> String {
        let e = &self.exemptions;
        let (n, p) = (e.namespaces.len(), e.paths.len());
        if let Some(ns) = e.namespaces.get(index) {
            return format!("exemptions.namespaces[{index}] ({ns})");
        }
        if let Some(path) = index.checked_sub(n).and_then(|i| e.paths.get(i)) {
            return format!("exemptions.paths[{}] ({path})", index - n);
        }
        let i = index.saturating_sub(n + p);
        let Some(o) = e.objects.get(i) else {
            return format!("exemption {index}");
        };
        let mut parts = Vec::new();
        for (key, value) in [
            ("kind", &o.kind),
            ("namespace", &o.namespace),
            ("name", &o.name),
        ] {
            if let Some(v) = value {
                parts.push(format!("{key}: {v}"));
            }
        }
        if !o.rules.is_empty() {
            parts.push(format!("rules: {}", o.rules.join(", ")));
        }
        format!("exemptions.objects[{i}] ({})", parts.join(", "))
    }

    /// Whether the exemption is an `exemptions.paths` entry (those act when files are read:
    /// the front end does not load the files, so the checker never sees them used).
    pub(crate) fn is_path(&self, index: ExemptionIndex) -> bool {
        let n = self.exemptions.namespaces.len();
        (n..n + self.exemptions.paths.len()).contains(&index)
    }

    /// How many exemptions there are ([`ExemptionIndex`] runs below this).
    pub(crate) fn len(&self) -> usize {
        let e = &self.exemptions;
        e.namespaces.len() + e.paths.len() + e.objects.len()
    }
}

/// The `paths` entry (globs relative to `base`) that exempts a file: its objects are not
/// judged, and it is not even loaded (it may not be a manifest at all).
pub(crate) fn path_exemption(paths: &[String], base: &Path, file: &str) -> Option<usize> {
    if paths.is_empty() {
        return None;
    }
    let file = absolute(Path::new(file));
    let relative = file
        .strip_prefix(base)
        .unwrap_or(&file)
        .to_string_lossy()
        .replace('\\', "/");
    paths.iter().position(|p| path_glob(p, &relative))
}

/// `path` made absolute against the working directory (components like `.` are dropped when
/// paths are compared).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Path globs with `*` (within a segment) and `**` (any number of segments).
pub(crate) fn path_glob(pattern: &str, path: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher().is_match(path))
        .unwrap_or(false)
}
