//! Printers. Each renders a whole report to a `String`; `main` writes it out once.

pub mod compact;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod style;
pub mod summary;

use kubegate_engine::{Finding, Severity};

/// What the printers say about a run besides its report.
#[derive(Debug, Clone, Default)]
pub struct RunInfo {
    /// The configuration file in use, as shown to the user; `None`: the built-in defaults.
    pub config: Option<String>,
    /// The lowest severity that fails the run (`--fail-on`); `None`: findings never fail.
    pub fail_on: Option<Severity>,
    /// `--fail-on-warn`: every policy finding fails the run as well.
    pub fail_on_warn: bool,
    /// `--min-severity`: findings below it are left out of the report.
    pub min_severity: Option<Severity>,
    /// How many findings `min_severity` left out.
    pub hidden: usize,
    /// How many findings were left out because the diff base has them too (`--diff-base`
    /// without `--show-existing`).
    pub existing_hidden: usize,
    /// Whether this is a `--diff-base` run (SARIF says which results are new).
    pub diff_base: bool,
}

/// KG006 (unknown-kind): its advisory findings are objects that nothing validated.
const UNKNOWN_KIND: &str = "KG006";

/// Why a finding never fails the run, as the human and compact formats label it.
pub fn never_fails(f: &Finding) -> Option<&'static str> {
    match (f.advisory, f.existing) {
        // A conftest rule value conftest does not count (a bare `deny if`, a number).
        (true, _) if f.details.contains_key("conftest") => {
            Some("advisory: conftest does not count it, never fails")
        }
        // What a policy cannot judge offline (a namespace not in the input, `authorizer`).
        (true, _) if f.details.get("undecided") == Some(&serde_json::Value::Bool(true)) => {
            Some("cannot be judged: never fails")
        }
        // A ValidatingAdmissionPolicyBinding whose validationActions are Audit only.
        (true, _) if f.policy.is_some() && f.details.contains_key("binding") => {
            Some("audit: never fails")
        }
        // Otherwise only Gatekeeper constraints in `dryrun` make a policy's findings advisory.
        (true, _) if f.policy.is_some() => Some("dry run: never fails"),
        // Its message says the object was not validated; the label says why that passes.
        (true, _) if f.rule_id == UNKNOWN_KIND => {
            Some("advisory: never fails under --unknown-kinds skip")
        }
        (true, _) => Some("advisory: never fails"),
        (false, true) => Some("existing: also at the diff base"),
        (false, false) => None,
    }
}

/// `1 finding`, `2 findings`.
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
