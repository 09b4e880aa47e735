//! Schema validation: the bundled Kubernetes API schemas of built-in kinds ([`builtin`]) and the
//! schemas of CustomResourceDefinitions ([`crd`]).

pub mod builtin;
pub mod crd;
pub(crate) mod crd_rules;
pub(crate) mod list_type;
