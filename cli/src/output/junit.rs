//! `--format junit`: JUnit XML, one testsuite per file and one testcase per object × rule.
//! Findings that never fail the run (advisory, existing at the diff base) are not failures.

use kubegate_engine::Report;
use std::fmt::Write;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render(report: &Report) -> String {
    let mut files: Vec<&str> = report.objects.iter().map(|(f, _)| f.as_str()).collect();
    files.extend(report.errors.iter().map(|e| e.file.as_str()));
    files.sort_unstable();
    files.dedup();
    let mut suites = String::new();
    let (mut total_tests, mut total_failures, mut total_errors) = (0, 0, 0);
    for file in files {
        let mut cases = String::new();
        let (mut tests, mut failures, mut errors) = (0, 0, 0);
        for e in report.errors.iter().filter(|e| e.file == file) {
            tests += 1;
            errors += 1;
            let at = e.position.map(|p| format!(":{p}")).unwrap_or_default();
            let _ = writeln!(
                cases,
                "    <testcase name=\"load\" classname=\"{}\">\n      <error message=\"{}\">{}{}: {}</error>\n    </testcase>",
                escape(file),
                escape(&e.kind.to_string()),
                escape(file),
                at,
                escape(&e.kind.to_string())
            );
        }
        for (_, object) in report.objects.iter().filter(|(f, _)| f == file) {
            let class = escape(&format!("{object}"));
            for rule in &report.rules_run {
                tests += 1;
                let found: Vec<_> = report
                    .findings
                    .iter()
                    .filter(|f| {
                        f.location.file == file
                            && f.object == *object
                            && f.rule_id == *rule
                            && !f.advisory
                            && !f.existing
                    })
                    .collect();
                if found.is_empty() {
                    let _ = writeln!(
                        cases,
                        "    <testcase name=\"{}\" classname=\"{class}\"/>",
                        escape(rule)
                    );
                    continue;
                }
                failures += 1;
                let details: Vec<String> = found
                    .iter()
                    .map(|f| {
                        let at = match (f.location.line, f.location.column) {
                            (Some(l), Some(c)) => format!("{}:{l}:{c}", f.location.file),
                            _ => f.location.file.clone(),
                        };
                        format!("{at}: {} [{}]", f.message, f.pointer)
                    })
                    .collect();
                let _ = writeln!(
                    cases,
                    "    <testcase name=\"{} {}\" classname=\"{class}\">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    escape(rule),
                    escape(&found[0].rule_name),
                    escape(&found[0].message),
                    found[0].severity,
                    escape(&details.join("\n"))
                );
            }
        }
        total_tests += tests;
        total_failures += failures;
        total_errors += errors;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">\n{cases}  </testsuite>\n",
            escape(file)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kubegate\" tests=\"{total_tests}\" failures=\"{total_failures}\" errors=\"{total_errors}\">\n{suites}</testsuites>\n"
    )
}
