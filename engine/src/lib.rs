//! kubegate's engine: loads Kubernetes manifests with exact positions, evaluates rules on
//! them and produces a deterministic report. It knows nothing of command lines or servers.
//!
//! The modules follow the pipeline (see `docs/architecture.md`): [`source`] (where text comes
//! from) → [`load`] (how it is read) → [`model`] (what an object is) → [`rules`], [`schema`]
//! and [`policy`] (what judges it) → [`check`] (the run and its report), configured by
//! [`config`]. [`vocab`] is the vocabulary all of them share.

pub mod check;
pub mod config;
pub mod corpus;
pub mod load;
pub mod model;
pub mod policy;
pub mod rules;
pub mod schema;
pub mod source;
pub mod vocab;

pub use check::{Checker, Finding, Location, Report, Summary};
pub use load::yaml::Limits;
pub use load::{Input, LoadError, LoadErrorKind, Loaded, Loader};
pub use model::manifest::{Manifest, ObjectRef, SourceFile};
pub use model::position::Position;
pub use rules::{Context, Rule, Settings};
pub use vocab::{Category, RuleMeta, Severity, Violation};
