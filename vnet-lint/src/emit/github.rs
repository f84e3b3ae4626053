//! `--message-format github`: one GitHub Actions workflow command per diagnostic
//! (`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`), which the runner turns into
//! an annotation on the pull request's diff.
//!
//! Escaping follows the runner's rules: in the message `%`, CR and LF become `%25`, `%0D` and `%0A`;
//! property values also escape `:` and `,` (`%3A`, `%2C`).

use crate::diag::{Diagnostic, Report, Severity};
use std::io::{self, Write};

/// Escapes the message part of a workflow command.
///
/// ```
/// use vnet_lint::emit::github::escape_data;
/// assert_eq!(escape_data("100% done\nnext"), "100%25 done%0Anext");
/// ```
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`) of a workflow command.
///
/// ```
/// use vnet_lint::emit::github::escape_property;
/// assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
/// ```
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The workflow command of one diagnostic, without the line ending.
pub fn to_command(report: &Report, diagnostic: &Diagnostic) -> String {
    let finding = &diagnostic.finding;
    let command = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut properties = vec![format!(
        "file={}",
        escape_property(&report.db.get(finding.file).name)
    )];
    if let Some((start, end)) = super::positions(&report.db, diagnostic) {
        properties.push(format!("line={}", start.line));
        properties.push(format!("col={}", start.column));
        properties.push(format!("endLine={}", end.line));
        properties.push(format!("endColumn={}", end.column));
    }
    properties.push(format!(
        "title={}",
        escape_property(&format!("{} {}", finding.rule.code, finding.rule.name))
    ));
    let mut message = finding.message.clone();
    if let Some(help) = &finding.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    format!(
        "::{command} {}::{}",
        properties.join(","),
        escape_data(&message)
    )
}

/// Writes one workflow command per diagnostic, then the summary line (plain log text).
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for diagnostic in &report.diagnostics {
        writeln!(out, "{}", to_command(report, diagnostic))?;
    }
    writeln!(out, "{}", super::human::summary(report))
}
