//! kubegate's engine: loads Kubernetes manifests with exact positions, evaluates rules on
//! them and produces a deterministic report. It knows nothing of command lines or servers.
//!
//! The modules follow the pipeline (see `docs/architecture.md`): `source` (where text comes
//! from) → `load` (how it is read) → `model` (what an object is) → `rules`, `schema` and
//! `policy` (what judges it) → `check` (the evaluation and its report), configured by `config`;
//! `vocab` is the vocabulary all of them share. They are private: this file is the API, the
//! few dozen names the command line and the admission webhook use.

pub(crate) mod check;
pub(crate) mod config;
#[cfg(feature = "bench")]
pub mod corpus;
pub(crate) mod load;
pub(crate) mod model;
pub(crate) mod policy;
pub(crate) mod rules;
pub(crate) mod schema;
pub(crate) mod source;
pub(crate) mod vocab;

// Evaluation and its report.
pub use check::exemption::{ConfigExemptions, Exemptions, ObjectExemption};
pub use check::{Budget, Checker, Finding, Interrupted, Location, Report, Subject, Summary, Walk};
// Configuration, shared by both front ends.
pub use config::setup::{Setup, SetupError, DEFAULT_FAIL_ON};
pub use config::{Config, ConfigError, Enforcement, FailOn, FailureMode, OutputFormat};
// Reading manifests.
pub use load::yaml::Limits;
pub use load::{Input, LoadError, LoadErrorKind, Loaded, Loader};
pub use model::manifest::{Manifest, ObjectError, ObjectRef};
pub use model::position::{dotted, Position};
#[cfg(feature = "git")]
pub use source::git::{GitError, Repo};
pub use source::render::{RenderSettings, KUSTOMIZATION_FILES};
pub use source::{Source, SourceFile};
// Rules, policies and schemas.
pub use policy::rego::{
    PolicyError, PolicyOptions, PolicyRule, PolicySet, RegoTooDeep, MAX_REGO_NESTING,
};
pub use rules::catalog::{Catalog, CatalogError, RuleInfo};
pub use rules::pss::{
    PssError, PssLevel, PssSettings, PssVersion, NEWEST_MINOR as PSS_NEWEST_MINOR,
};
pub use rules::{Rule, Settings};
pub use schema::builtin::{KubeVersion, SchemaError, UnknownKinds};
pub use vocab::{Category, RuleMeta, Scope, Severity, Status};

/// The built-in rules: lookup, the whole-input ones, the generated reference.
pub mod registry {
    pub use crate::rules::docs::rules_markdown;
    pub use crate::rules::{all_metas, builtin, find, whole_input_ids, KUBERNETES_SCHEMA_ID};
}

/// The bundled Kubernetes API schemas: which versions and kinds, and where they came from.
pub mod schemas {
    pub use crate::schema::builtin::{bundled_versions, kinds, newest, provenance};
}

/// Rego unit tests and gator suites (`kubegate test`).
pub mod policy_tests {
    pub use crate::policy::verify::{
        run, run_with_data, run_with_options, TestKind, TestResult, TestStatus,
    };
}

/// Namespace and object-name patterns (`kube-*`, `*-system`), as Gatekeeper and the
/// configuration write them.
pub use model::pattern::glob as name_matches;

/// Every file under a directory (or the file itself), sorted, as kubegate walks trees:
/// `.gitignore` and hidden-file rules honoured, links followed. Returns the files and the
/// problems met.
pub fn files_under(root: &std::path::Path) -> (Vec<std::path::PathBuf>, Vec<String>) {
    let walked = source::walk::walk(root, &source::walk::everything());
    (walked.files, walked.errors)
}

/// The YAML reader on its own (value and position index per document), for tools and tests
/// that read text without judging it.
pub use load::yaml::parse_stream;

/// Start-up measurements for the benchmark (feature `bench`).
#[cfg(feature = "bench")]
pub mod bench {
    pub use crate::schema::builtin::parse_bundle_uncached;

    /// Compiles every kind's schema of `version` from scratch; returns how many compiled.
    pub fn compile_all_kinds(version: crate::KubeVersion) -> Result<usize, String> {
        let schemas = crate::schema::builtin::BuiltinSchemas::new(version, true)
            .map_err(|e| e.to_string())?;
        schemas
            .compile_all()
            .map_err(|failed| format!("{failed:?}"))
    }
}
