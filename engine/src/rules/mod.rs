//! The built-in rules: the [`Rule`] trait, the registry of every rule kubegate can report, the
//! catalogue (packs, profiles, benchmark mappings, as data under `policies/`) and the rules
//! themselves, one file each, in a folder per pack: `kubegate/` (always on), `pss/`,
//! `best_practices/`, `cis/`.
//!
//! Adding a rule: write its file with one [`declare_rule!`] (id, name, title, default severity,
//! category, scope, since, rationale, remediation, examples) and its `impl Rule`, name it once in
//! its folder's `rules!` list, and add it to a pack in `policies/packs.yaml`. The registry, the
//! lookup table, `kubegate rules`, `docs/rules.md` and the tests' id lists all derive from that.
//! Ids are never reused: a rule that goes away moves to [`RETIRED`].

/// Declares a built-in rule: its unit struct and its [`RuleMeta`], the one place the rule's
/// identity and documentation are written. The folder's `rules!` list registers it.
macro_rules! declare_rule {
    (
        $(#[$attr:meta])*
        $rule:ident {
            id: $id:literal,
            name: $name:literal,
            title: $title:expr,
            severity: $severity:ident,
            category: $category:ident,
            scope: $scope:ident,
            since: $since:literal,
            rationale: $rationale:expr,
            remediation: $remediation:expr,
            failing_example: $failing:expr,
            passing_example: $passing:expr $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug)]
        pub struct $rule;

        pub static META: $crate::vocab::RuleMeta = $crate::vocab::RuleMeta {
            id: $id,
            name: $name,
            title: $title,
            severity: $crate::vocab::Severity::$severity,
            category: $crate::vocab::Category::$category,
            scope: $crate::vocab::Scope::$scope,
            status: $crate::vocab::Status::Active,
            rationale: $rationale,
            remediation: $remediation,
            failing_example: $failing,
            passing_example: $passing,
            since: $since,
        };

        impl $crate::rules::Declared for $rule {
            fn meta(&self) -> &'static $crate::vocab::RuleMeta {
                &META
            }
        }
    };
}

/// Declares a folder's rule modules and lists their rules for the registry, in one line each:
/// `module::Rule`.
macro_rules! rules {
    ($($module:ident :: $rule:ident),* $(,)?) => {
        $(pub(crate) mod $module;)*

        /// The rules of this folder.
        pub(crate) static RULES: &[&dyn $crate::rules::Rule] = &[$(&$module::$rule),*];
    };
}

/// The CustomResourceDefinition the schema rules' examples carry (a rule example must stand
/// alone): KG004's two, and KG006's passing one.
macro_rules! backup_crd {
    () => {
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.ops.example.com
spec:
  group: ops.example.com
  scope: Namespaced
  names: {kind: Backup, plural: backups, singular: backup}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [schedule]
              properties:
                schedule: {type: string}
                retain: {type: integer}
---
"#
    };
}

pub(crate) mod api;
pub(crate) mod best_practices;
pub mod catalog;
pub(crate) mod cis;
pub mod docs;
pub(crate) mod kubegate;
pub mod pss;
mod registry;
mod rule;

pub use registry::{all_metas, builtin, find, whole_input_ids};
pub use rule::{Context, Declared, Rule, Settings};

/// The rule that needs the bundled Kubernetes schemas (and the target version to be bundled).
pub const KUBERNETES_SCHEMA_ID: &str = kubegate::kubernetes_schema::META.id;
