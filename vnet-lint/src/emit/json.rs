//! `--message-format json`: one object per diagnostic, one per line.

use crate::diag::{Diagnostic, Report};
use serde_json::{json, Value};
use std::io::{self, Write};

/// The JSON object of one diagnostic.
pub fn to_json(report: &Report, diagnostic: &Diagnostic) -> Value {
    let finding = &diagnostic.finding;
    let positions = super::positions(&report.db, diagnostic);
    json!({
        "type": "diagnostic",
        "code": finding.rule.code,
        "rule": finding.rule.name,
        "severity": diagnostic.severity.as_str(),
        "message": finding.message,
        "file": report.db.get(finding.file).name,
        "line": positions.map(|(start, _)| start.line),
        "column": positions.map(|(start, _)| start.column),
        "end_line": positions.map(|(_, end)| end.line),
        "end_column": positions.map(|(_, end)| end.column),
        "label": finding.label,
        "help": finding.help,
        "notes": finding.notes,
        "fix_applicability": crate::fix::applicability_of(finding.rule).as_str(),
    })
}

/// Writes every diagnostic as a JSON line, with the applicability of its own fix (`applicability`,
/// one per diagnostic, from [`crate::fix::applicability_per_diagnostic`]).
pub fn render_with_fixes(
    report: &Report,
    applicability: &[crate::fix::Applicability],
    out: &mut dyn Write,
) -> io::Result<()> {
    for (i, diagnostic) in report.diagnostics.iter().enumerate() {
        let mut value = to_json(report, diagnostic);
        if let Some(a) = applicability.get(i) {
            value["fix_applicability"] = json!(a.as_str());
        }
        writeln!(out, "{value}")?;
    }
    Ok(())
}

/// Writes every diagnostic as a JSON line.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for diagnostic in &report.diagnostics {
        writeln!(out, "{}", to_json(report, diagnostic))?;
    }
    Ok(())
}
