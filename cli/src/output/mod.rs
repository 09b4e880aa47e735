//! Printers. Each renders a whole report to a `String`; `main` writes it out once.

pub mod human;
pub mod json;
