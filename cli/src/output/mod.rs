//! Printers. Each renders a whole report to a `String`; `main` writes it out once.

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
