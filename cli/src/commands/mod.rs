//! One module per subcommand. Each resolves its parsed arguments (`crate::args`), over the
//! configuration file where it has one, into engine calls, and returns the exit code.

pub mod check;
pub mod init;
pub mod rules;
pub mod schemas;
pub mod test;
pub mod webhook;
