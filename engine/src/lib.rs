//! kubegate's engine: loads Kubernetes manifests with exact positions, evaluates rules on
//! them and produces a deterministic report. It knows nothing of command lines or servers.

pub mod catalog;
pub mod check;
pub mod config;
pub mod corpus;
pub mod docs;
pub mod exemption;
pub mod gatekeeper;
#[cfg(feature = "git")]
pub mod git;
pub mod inventory;
pub mod kube_schema;
pub mod load;
pub mod manifest;
pub mod policy_test;
pub mod position;
pub mod pss;
pub mod rego;
pub mod render;
pub mod rule;
pub mod rules;
pub mod scalar;
pub mod schema;
pub mod setup;
pub mod workload;
pub mod yaml;

pub use check::{Checker, Finding, Location, Report, Summary};
pub use load::{Input, LoadError, LoadErrorKind, Loaded, Loader};
pub use manifest::{Manifest, ObjectRef, SourceFile};
pub use position::Position;
pub use rule::{Category, Context, Rule, RuleMeta, Settings, Severity, Violation};
pub use yaml::Limits;
