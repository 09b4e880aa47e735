//! User policies: Rego modules with conftest conventions ([`rego`]), Gatekeeper
//! ConstraintTemplates and Constraints ([`gatekeeper`]), and their tests — Rego unit tests and
//! gator suites ([`verify`]).

pub(crate) mod annotations;
pub(crate) mod cel;
pub(crate) mod cel_k8s;
pub(crate) mod cel_k8s_types;
pub mod gatekeeper;
pub mod rego;
pub(crate) mod v0_compat;
pub(crate) mod vap;
pub mod verify;
