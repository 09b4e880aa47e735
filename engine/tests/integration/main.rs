//! kubegate-engine's integration tests, as one test binary.
//!
//! Each module was its own `tests/*.rs` binary until the debug build of
//! twelve binaries, each linking regorus, jsonschema and git2, filled a CI
//! machine's disk (docs/decisions.md §13). One binary links once; run a
//! module's tests with a filter, e.g. `cargo test -p kubegate-engine --test
//! integration pss_conformance::`.

mod api_server;
mod best_practices;
mod cis_rules;
mod common;
mod conftest;
mod docs;
mod evaluation;
mod fixtures;
mod gatekeeper;
mod gatekeeper_library_check;
mod loader_properties;
mod parking;
mod pod_security_positions;
mod policy_library;
mod pss_conformance;
mod rego_policies;
mod rule_examples;
mod schema;
mod vap;
mod yaml_reference;
