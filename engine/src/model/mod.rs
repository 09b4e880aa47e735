//! What a loaded object is: a [`manifest::Manifest`] (value, identity, origin, positions), views of
//! the pod spec it may carry ([`workload`]) and the index over every object of a run
//! ([`inventory`]).

pub mod inventory;
pub mod manifest;
pub mod origin;
pub mod pattern;
pub mod position;
pub mod selector;
pub mod workload;
