//! Pod Security Standards settings: which level and which policy version to judge by.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// The newest policy version kubegate knows. `latest` means this one.
pub const NEWEST_MINOR: u32 = 37;

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PssLevel {
    Baseline,
    Restricted,
}

impl PssLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

impl fmt::Display for PssLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PssError {
    #[error("unknown Pod Security level {0:?} (expected baseline or restricted)")]
    Level(String),
    #[error(
        "unknown Pod Security policy version {0:?} (expected latest or v1.0 … v1.{NEWEST_MINOR})"
    )]
    Version(String),
}

impl FromStr for PssLevel {
    type Err = PssError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "baseline" => Ok(PssLevel::Baseline),
            "restricted" => Ok(PssLevel::Restricted),
            _ => Err(PssError::Level(s.to_owned())),
        }
    }
}

/// A policy version: `v1.N` or `latest`. Checks use the newest variant at or below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PssVersion {
    /// `None` is `latest`.
    minor: Option<u32>,
}

impl PssVersion {
    pub const LATEST: PssVersion = PssVersion { minor: None };

    pub fn v1(minor: u32) -> Result<Self, PssError> {
        if minor > NEWEST_MINOR {
            return Err(PssError::Version(format!("v1.{minor}")));
        }
        Ok(Self { minor: Some(minor) })
    }

    /// The minor version this resolves to (`latest` is the newest known).
    pub fn minor(self) -> u32 {
        self.minor.unwrap_or(NEWEST_MINOR)
    }

    /// Whether a check variant introduced at `v1.{minor}` applies.
    pub fn at_least(self, minor: u32) -> bool {
        self.minor() >= minor
    }
}

impl fmt::Display for PssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            None => f.write_str("latest"),
            Some(m) => write!(f, "v1.{m}"),
        }
    }
}

impl FromStr for PssVersion {
    type Err = PssError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("latest") {
            return Ok(Self::LATEST);
        }
        let bad = || PssError::Version(s.to_owned());
        let rest = s.strip_prefix('v').unwrap_or(s);
        let (major, minor) = rest.split_once('.').ok_or_else(bad)?;
        if major != "1" || minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Self::v1(minor.parse().map_err(|_| bad())?).map_err(|_| bad())
    }
}

/// Which Pod Security checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PssSettings {
    /// `None`: every check of both levels (the default); `Baseline`: baseline checks only;
    /// `Restricted`: baseline and restricted checks.
    pub level: Option<PssLevel>,
    pub version: PssVersion,
}

impl PssSettings {
    /// Whether checks of `level` run under these settings.
    pub fn includes(&self, level: PssLevel) -> bool {
        match self.level {
            None | Some(PssLevel::Restricted) => true,
            Some(PssLevel::Baseline) => level == PssLevel::Baseline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!("latest".parse::<PssVersion>(), Ok(PssVersion::LATEST));
        assert_eq!("v1.25".parse::<PssVersion>().map(PssVersion::minor), Ok(25));
        assert_eq!("1.0".parse::<PssVersion>().map(PssVersion::minor), Ok(0));
        assert!("v1.38".parse::<PssVersion>().is_err());
        assert!("v2.1".parse::<PssVersion>().is_err());
        assert!("v1.x".parse::<PssVersion>().is_err());
        assert!("v1.".parse::<PssVersion>().is_err());
        assert!(PssVersion::LATEST.at_least(NEWEST_MINOR));
        assert!(!PssVersion::v1(18).expect("v1.18").at_least(19));
        assert_eq!(PssVersion::v1(3).expect("v1.3").to_string(), "v1.3");
    }

    #[test]
    fn levels_include_lower_levels() {
        let baseline = PssSettings {
            level: Some(PssLevel::Baseline),
            ..PssSettings::default()
        };
        assert!(baseline.includes(PssLevel::Baseline));
        assert!(!baseline.includes(PssLevel::Restricted));
        assert!(PssSettings::default().includes(PssLevel::Restricted));
        assert_eq!("Restricted".parse::<PssLevel>(), Ok(PssLevel::Restricted));
    }
}
