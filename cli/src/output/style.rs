//! Colour for the human and compact formats: `--color`, resolved once into a [`Palette`].
//! The other formats are read by programs and never coloured.

use anstyle::{AnsiColor, Style};
use kubegate_engine::Severity;
use std::fmt::Display;

/// The styles of one run: real ones, or none at all ([`Palette::plain`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Palette {
    on: bool,
}

impl Palette {
    pub fn new(on: bool) -> Self {
        Palette { on }
    }

    /// No colour.
    pub fn plain() -> Self {
        Palette { on: false }
    }

    pub fn severity(self, severity: Severity) -> Style {
        match severity {
            Severity::Critical => AnsiColor::Red.on_default().bold(),
            Severity::High => AnsiColor::Red.on_default(),
            Severity::Medium => AnsiColor::Yellow.on_default(),
            Severity::Low => AnsiColor::Cyan.on_default(),
        }
    }

    /// The rule id.
    pub fn rule(self) -> Style {
        Style::new().bold()
    }

    /// The `-->` arrow, the excerpt's gutter and line number.
    pub fn gutter(self) -> Style {
        AnsiColor::Blue.on_default().bold()
    }

    /// Labels like `(dry run: never fails)`.
    pub fn note(self) -> Style {
        Style::new().dimmed()
    }

    /// The number of findings in the summary.
    pub fn total(self) -> Style {
        Style::new().bold()
    }

    /// `No findings`.
    pub fn clean(self) -> Style {
        AnsiColor::Green.on_default().bold()
    }

    /// Error counts.
    pub fn error(self) -> Style {
        AnsiColor::Red.on_default().bold()
    }

    /// `text` in `style`, or as it is without colour.
    pub fn paint(self, style: Style, text: impl Display) -> String {
        if self.on {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palette_writes_no_escape_codes() {
        let plain = Palette::plain();
        assert_eq!(
            plain.paint(plain.severity(Severity::Critical), "critical"),
            "critical"
        );
        let on = Palette::new(true);
        assert_eq!(
            on.paint(on.severity(Severity::Medium), "medium"),
            "\u{1b}[33mmedium\u{1b}[0m"
        );
    }
}
