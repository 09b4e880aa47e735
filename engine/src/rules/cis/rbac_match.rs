//! RBAC objects as the CIS rules read them: the rules of a Role or ClusterRole matched against
//! an [`Access`] ("may this rule get secrets in the core group?"), and the `roleRef` and
//! subjects of a RoleBinding or ClusterRoleBinding.
//!
//! Matching follows the API server's RBAC authorizer: a rule entry `*` matches every verb, API
//! group or resource, and a resource entry `*/sub` matches subresource `sub` of every resource.
//! Nothing else is a pattern (`nodes/*` grants nothing). Fields of the wrong shape (a string
//! where a list belongs, a number among the verbs) are skipped: the API server rejects such an
//! object anyway, and a rule must not panic on it.

use crate::model::manifest::Manifest;
use crate::model::position::{child_pointer, index_pointer};
use crate::vocab::Violation;
use serde_json::{Map, Value};
use std::fmt;

/// API group of Role, ClusterRole, RoleBinding and ClusterRoleBinding.
pub const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The core API group (`apiVersion: v1`): pods, secrets, nodes, service accounts.
pub const CORE_GROUP: &str = "";

/// The entry that matches everything in `verbs`, `apiGroups`, `resources` and `nonResourceURLs`.
pub const WILDCARD: &str = "*";

/// The list fields of a PolicyRule that may hold [`WILDCARD`], in the order rules report them.
pub const WILDCARD_FIELDS: [&str; 4] = ["verbs", "apiGroups", "resources", "nonResourceURLs"];

/// The string entries of a list field with their indices; anything that is not a list of
/// strings yields nothing for the bad parts.
fn string_entries<'a>(
    map: &'a Map<String, Value>,
    field: &str,
) -> impl Iterator<Item = (usize, &'a str)> + 'a {
    map.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| v.as_str().map(|s| (i, s)))
}

/// `get, list`, with `*` spelled out so a message never reads "grants * on *".
fn describe_entries(entries: &[&str], every: &str) -> String {
    entries
        .iter()
        .map(|e| {
            if *e == WILDCARD {
                format!("every {every} (\"*\")")
            } else {
                (*e).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verbs an [`Access`] asks about.
#[derive(Debug, Clone, Copy)]
pub enum Verbs {
    /// Any verb at all.
    Any,
    /// One of these verbs; a rule's `*` matches too.
    OneOf(&'static [&'static str]),
}

impl Verbs {
    fn matches(self, verb: &str) -> bool {
        match self {
            // An empty verb grants nothing (the API server matches verbs exactly).
            Verbs::Any => !verb.is_empty(),
            Verbs::OneOf(wanted) => verb == WILDCARD || wanted.contains(&verb),
        }
    }
}

/// A kind of request a rule may grant: one of `verbs` on one of `resources` in `group`.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub verbs: Verbs,
    pub group: &'static str,
    /// Resource names as RBAC spells them: `secrets`, `nodes/proxy` for a subresource.
    pub resources: &'static [&'static str],
}

/// Whether resource entry `entry` of a rule covers `wanted`.
fn resource_matches(entry: &str, wanted: &str) -> bool {
    if entry == WILDCARD || entry == wanted {
        return true;
    }
    match (entry.strip_prefix("*/"), wanted.split_once('/')) {
        (Some(sub), Some((_, wanted_sub))) => sub == wanted_sub,
        _ => false,
    }
}

/// The entries of one rule that together grant an [`Access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub verbs: Vec<&'a str>,
    pub resources: Vec<&'a str>,
    /// The access's group, or `None` when only `apiGroups: ["*"]` matched it.
    pub group: Option<&'static str>,
}

impl fmt::Display for Grant<'_> {
    /// `get, list on secrets in the core API group`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = match self.group {
            None => "in every API group (\"*\")".to_owned(),
            Some(CORE_GROUP) => "in the core API group".to_owned(),
            Some(group) => format!("in API group {group}"),
        };
        write!(
            f,
            "{} on {} {group}",
            describe_entries(&self.verbs, "verb"),
            describe_entries(&self.resources, "resource"),
        )
    }
}

/// One entry of a Role's `rules`.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRule<'a> {
    /// Index in the role's `rules`.
    pub index: usize,
    rule: &'a Map<String, Value>,
}

impl<'a> PolicyRule<'a> {
    /// Pointer of `field` of this rule (`/rules/2/verbs`).
    pub fn pointer(&self, field: &str) -> String {
        child_pointer(&index_pointer("/rules", self.index), field)
    }

    /// Pointer of one entry of a list field (`/rules/2/resources/1`).
    pub fn entry_pointer(&self, field: &str, entry: usize) -> String {
        index_pointer(&self.pointer(field), entry)
    }

    /// The string entries of `field` (`verbs`, `resources`, …) with their indices.
    pub fn entries(&self, field: &str) -> impl Iterator<Item = (usize, &'a str)> + 'a {
        string_entries(self.rule, field)
    }

    fn matching(&self, field: &str, matches: impl Fn(&str) -> bool) -> Vec<&'a str> {
        self.entries(field)
            .map(|(_, e)| e)
            .filter(|e| matches(e))
            .collect()
    }

    /// What of `access` this rule grants, if it grants any of it.
    pub fn grants(&self, access: &Access) -> Option<Grant<'a>> {
        let verbs = self.matching("verbs", |v| access.verbs.matches(v));
        let groups = self.matching("apiGroups", |g| g == WILDCARD || g == access.group);
        let resources = self.matching("resources", |r| {
            access
                .resources
                .iter()
                .any(|wanted| resource_matches(r, wanted))
        });
        if verbs.is_empty() || groups.is_empty() || resources.is_empty() {
            return None;
        }
        let group = groups.contains(&access.group).then_some(access.group);
        Some(Grant {
            verbs,
            resources,
            group,
        })
    }

    /// The verbs of this rule that are literally one of `names` (a `*` does not count).
    pub fn explicit_verbs(&self, names: &[&str]) -> Vec<&'a str> {
        self.matching("verbs", |v| names.contains(&v))
    }

    /// Every `*` entry of the rule, as `(field, index in that field)`, in field order.
    pub fn wildcards(&self) -> Vec<(&'static str, usize)> {
        WILDCARD_FIELDS
            .into_iter()
            .flat_map(|field| {
                self.entries(field)
                    .filter(|(_, e)| *e == WILDCARD)
                    .map(move |(i, _)| (field, i))
            })
            .collect()
    }
}

/// A Role or ClusterRole in `rbac.authorization.k8s.io`.
#[derive(Debug, Clone, Copy)]
pub struct Role<'a> {
    /// `Role` or `ClusterRole`.
    pub kind: &'a str,
    pub name: &'a str,
    value: &'a Value,
}

impl<'a> Role<'a> {
    /// The role `manifest` is, if it is one.
    pub fn of(manifest: &'a Manifest) -> Option<Self> {
        let object = &manifest.object;
        if object.group() != RBAC_GROUP || !matches!(object.kind.as_str(), "Role" | "ClusterRole") {
            return None;
        }
        Some(Self {
            kind: &object.kind,
            name: object.name.as_deref().unwrap_or("<unnamed>"),
            value: &manifest.value,
        })
    }

    /// The ClusterRoles Kubernetes ships and reconciles itself: `cluster-admin` and `system:*`.
    pub fn is_builtin(&self) -> bool {
        self.kind == "ClusterRole"
            && (self.name == "cluster-admin" || self.name.starts_with("system:"))
    }

    /// `ClusterRole "ci-deployer"`, for messages.
    pub fn label(&self) -> String {
        format!("{} {:?}", self.kind, self.name)
    }

    /// The entries of `rules` that are mappings.
    pub fn rules(&self) -> impl Iterator<Item = PolicyRule<'a>> + 'a {
        self.value
            .get("rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, rule)| rule.as_object().map(|rule| PolicyRule { index, rule }))
    }
}

/// Reports, at its `verbs`, every rule of the Role or ClusterRole `manifest` that grants
/// `access`. `why` says in a few words what that access allows.
pub fn report_grants(manifest: &Manifest, access: &Access, why: &str, out: &mut Vec<Violation>) {
    let Some(role) = Role::of(manifest) else {
        return;
    };
    for rule in role.rules() {
        if let Some(grant) = rule.grants(access) {
            out.push(Violation {
                pointer: rule.pointer("verbs"),
                message: format!("{} rule {} grants {grant}: {why}", role.label(), rule.index),
            });
        }
    }
}

/// One entry of a binding's `subjects` that has a kind and a name.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Index in the binding's `subjects`.
    pub index: usize,
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
}

impl Subject<'_> {
    /// Pointer of this subject (`/subjects/1`).
    pub fn pointer(&self) -> String {
        index_pointer("/subjects", self.index)
    }

    pub fn is(&self, kind: &str, name: &str) -> bool {
        self.kind == kind && self.name == name
    }
}

impl fmt::Display for Subject<'_> {
    /// `ServiceAccount shop/default`, `Group "system:masters"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.kind, self.namespace) {
            ("ServiceAccount", Some(ns)) => write!(f, "ServiceAccount {ns}/{}", self.name),
            _ => write!(f, "{} {:?}", self.kind, self.name),
        }
    }
}

/// What a binding binds: `roleRef.kind` and `roleRef.name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleRef<'a> {
    pub kind: &'a str,
    pub name: &'a str,
}

impl fmt::Display for RoleRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.kind, self.name)
    }
}

/// A RoleBinding or ClusterRoleBinding in `rbac.authorization.k8s.io`.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub kind: &'a str,
    pub name: &'a str,
    pub namespace: Option<&'a str>,
    value: &'a Value,
}

impl<'a> Binding<'a> {
    /// The binding `manifest` is, if it is one.
    pub fn of(manifest: &'a Manifest) -> Option<Self> {
        let object = &manifest.object;
        if object.group() != RBAC_GROUP
            || !matches!(object.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
        {
            return None;
        }
        Some(Self {
            kind: &object.kind,
            name: object.name.as_deref().unwrap_or("<unnamed>"),
            namespace: object.namespace.as_deref(),
            value: &manifest.value,
        })
    }

    /// The ClusterRoleBinding Kubernetes ships: `cluster-admin` to group `system:masters`.
    pub fn is_builtin_cluster_admin(&self) -> bool {
        self.kind == "ClusterRoleBinding" && self.name == "cluster-admin"
    }

    /// `ClusterRoleBinding "ci-admin"`, for messages.
    pub fn label(&self) -> String {
        format!("{} {:?}", self.kind, self.name)
    }

    /// `roleRef`, when it has a string kind and name.
    pub fn role_ref(&self) -> Option<RoleRef<'a>> {
        let role_ref = self.value.get("roleRef")?;
        Some(RoleRef {
            kind: role_ref.get("kind")?.as_str()?,
            name: role_ref.get("name")?.as_str()?,
        })
    }

    /// The subjects that have a string kind and name.
    pub fn subjects(&self) -> impl Iterator<Item = Subject<'a>> + 'a {
        self.value
            .get("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(index, s)| {
                Some(Subject {
                    index,
                    kind: s.get("kind")?.as_str()?,
                    name: s.get("name")?.as_str()?,
                    namespace: s.get("namespace").and_then(Value::as_str),
                })
            })
    }

    /// `User "jenkins", ServiceAccount ci/deployer`, or `no subjects`.
    pub fn subjects_summary(&self) -> String {
        let subjects: Vec<String> = self.subjects().map(|s| s.to_string()).collect();
        if subjects.is_empty() {
            "no subjects".to_owned()
        } else {
            subjects.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    const READ_SECRETS: Access = Access {
        verbs: Verbs::OneOf(&["get", "list", "watch"]),
        group: CORE_GROUP,
        resources: &["secrets"],
    };

    const NODE_PROXY: Access = Access {
        verbs: Verbs::Any,
        group: CORE_GROUP,
        resources: &["nodes/proxy"],
    };

    fn grants(value: Value, access: &Access) -> Option<(Vec<String>, Vec<String>, bool)> {
        let map = rule(value);
        let r = PolicyRule {
            index: 0,
            rule: &map,
        };
        r.grants(access).map(|g| {
            (
                g.verbs.iter().map(|s| s.to_string()).collect(),
                g.resources.iter().map(|s| s.to_string()).collect(),
                g.group.is_some(),
            )
        })
    }

    #[test]
    fn exact_entries_and_wildcards_match() {
        let found = grants(
            json!({"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "create"]}),
            &READ_SECRETS,
        );
        assert_eq!(
            found,
            Some((vec!["get".into()], vec!["secrets".into()], true))
        );
        let found = grants(
            json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
            &READ_SECRETS,
        );
        assert_eq!(found, Some((vec!["*".into()], vec!["*".into()], false)));
    }

    #[test]
    fn every_part_must_match() {
        for value in [
            json!({"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["get"]}),
            json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}),
            json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}),
            json!({"resources": ["secrets"], "verbs": ["get"]}),
            json!({"nonResourceURLs": ["*"], "verbs": ["get"]}),
        ] {
            assert_eq!(grants(value.clone(), &READ_SECRETS), None, "{value}");
        }
    }

    #[test]
    fn subresources_match_exactly_or_through_star_slash() {
        let yes = |resources: Value| {
            grants(
                json!({"apiGroups": [""], "resources": resources, "verbs": ["get"]}),
                &NODE_PROXY,
            )
            .is_some()
        };
        assert!(yes(json!(["nodes/proxy"])));
        assert!(yes(json!(["*/proxy"])));
        assert!(yes(json!(["*"])));
        assert!(!yes(json!(["nodes"])));
        assert!(!yes(json!(["nodes/*"])));
        assert!(!yes(json!(["*/status"])));
        assert!(!yes(json!(["services/proxy"])));
    }

    #[test]
    fn malformed_fields_are_skipped() {
        for value in [
            json!({"apiGroups": "", "resources": ["secrets"], "verbs": ["get"]}),
            json!({"apiGroups": [""], "resources": {"secrets": true}, "verbs": ["get"]}),
            json!({"apiGroups": [""], "resources": ["secrets"], "verbs": [1, null, ["get"]]}),
            json!({"apiGroups": [""], "resources": ["secrets"], "verbs": null}),
        ] {
            assert_eq!(grants(value.clone(), &READ_SECRETS), None, "{value}");
        }
        let map = rule(json!({"verbs": [7, "*"], "resources": "*"}));
        let r = PolicyRule {
            index: 3,
            rule: &map,
        };
        assert_eq!(r.wildcards(), vec![("verbs", 1)]);
        assert_eq!(r.entry_pointer("verbs", 1), "/rules/3/verbs/1");
    }

    #[test]
    fn grants_read_well() {
        let grant = Grant {
            verbs: vec!["get", "*"],
            resources: vec!["secrets"],
            group: Some(CORE_GROUP),
        };
        assert_eq!(
            grant.to_string(),
            "get, every verb (\"*\") on secrets in the core API group"
        );
        let grant = Grant {
            verbs: vec!["update"],
            resources: vec!["*"],
            group: None,
        };
        assert_eq!(
            grant.to_string(),
            "update on every resource (\"*\") in every API group (\"*\")"
        );
    }
}
