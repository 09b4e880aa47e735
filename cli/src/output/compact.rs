//! `--format compact`: one line per finding, `file:line:column: severity[rule] message`, as
//! compilers and linters print them (editors and terminals make the location a link), then
//! the summary.

use super::style::Palette;
use super::{human, summary, RunInfo};
use kubegate_engine::Report;
use std::fmt::Write;

pub fn render(report: &Report, info: &RunInfo, palette: Palette) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let header = human::header(f, palette);
        let _ = match (f.location.line, f.location.column) {
            (Some(line), Some(column)) => {
                writeln!(out, "{}:{line}:{column}: {header}", f.location.file)
            }
            _ => writeln!(out, "{}: {header} ({})", f.location.file, f.pointer),
        };
    }
    for line in summary::lines(report, info, palette) {
        let _ = writeln!(out, "{line}");
    }
    out
}
