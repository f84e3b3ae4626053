//! Human output: codespan-reporting diagnostics and a summary line.

use crate::diag::{Diagnostic, Report, Severity};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::term::{self, Config};
use std::collections::HashSet;
use std::io;

/// The codespan form of one diagnostic. `first_of_rule` adds the note that names the rule.
pub fn to_codespan(diagnostic: &Diagnostic, first_of_rule: bool) -> CsDiagnostic<usize> {
    let finding = &diagnostic.finding;
    let severity = match diagnostic.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let mut out = CsDiagnostic::new(severity)
        .with_code(finding.rule.code)
        .with_message(&finding.message);
    if let Some(span) = &finding.span {
        let label = Label::primary(finding.file, span.clone());
        out = out.with_label(match &finding.label {
            Some(text) => label.with_message(text),
            None => label,
        });
    }
    let mut notes = Vec::new();
    if let Some(help) = &finding.help {
        notes.push(format!("help: {help}"));
    }
    notes.extend(finding.notes.iter().map(|note| format!("note: {note}")));
    if first_of_rule {
        notes.push(format!(
            "note: rule `{}`; `cargo vnet-lint explain {}` tells more",
            finding.rule.name, finding.rule.code
        ));
    }
    out.with_notes(notes)
}

/// Renders every diagnostic of `report` and the summary line into `out`.
pub fn render(report: &Report, out: &mut dyn term::WriteStyle) -> io::Result<()> {
    let config = Config::default();
    let mut seen = HashSet::new();
    for diagnostic in &report.diagnostics {
        let first = seen.insert(diagnostic.finding.rule.code);
        term::emit_to_write_style(out, &config, &report.db, &to_codespan(diagnostic, first))
            .map_err(|error| match error {
                codespan_reporting::files::Error::Io(io) => io,
                other => io::Error::other(other),
            })?;
    }
    writeln!(out, "{}", summary(report))
}

/// Renders `report` as plain text, as a terminal without colours shows it.
pub fn render_to_string(report: &Report) -> String {
    let mut out = term::termcolor::NoColor::new(Vec::new());
    // Writing into a Vec cannot fail.
    let _ = render(report, &mut out);
    String::from_utf8_lossy(&out.into_inner()).into_owned()
}

/// One diagnostic as plain text (cargo's `rendered` field).
pub fn render_one(report: &Report, diagnostic: &Diagnostic) -> String {
    let config = Config::default();
    term::emit_into_string(&config, &report.db, &to_codespan(diagnostic, false)).unwrap_or_default()
}

/// "vnet-lint: 3 errors, 1 warning in 12 files" or "vnet-lint: no findings in 12 files".
pub fn summary(report: &Report) -> String {
    let count = |severity| {
        report
            .diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let files = plural(report.files_checked, "file");
    match (count(Severity::Error), count(Severity::Warning)) {
        (0, 0) => format!("vnet-lint: no findings in {files}"),
        (errors, 0) => format!("vnet-lint: {} in {files}", plural(errors, "error")),
        (0, warnings) => format!("vnet-lint: {} in {files}", plural(warnings, "warning")),
        (errors, warnings) => {
            format!(
                "vnet-lint: {}, {} in {files}",
                plural(errors, "error"),
                plural(warnings, "warning")
            )
        }
    }
}
