//! `--message-format cargo`: the `compiler-message` lines `cargo check --message-format json` prints, so
//! rust-analyzer's check override and existing converters (clippy-sarif, CI annotators) read the lint.

use crate::diag::{Diagnostic, Report};
use serde_json::{json, Value};
use std::io::{self, Write};

/// The cargo message of one diagnostic.
pub fn to_cargo(report: &Report, diagnostic: &Diagnostic) -> Value {
    let finding = &diagnostic.finding;
    let file = report.db.get(finding.file);
    let spans: Vec<Value> = match (&finding.span, super::positions(&report.db, diagnostic)) {
        (Some(span), Some((start, end))) => {
            let text = report.db.line_text(finding.file, start.line);
            let highlight_end = if end.line == start.line {
                end.column
            } else {
                text.chars().count() + 1
            };
            vec![json!({
                "file_name": file.name,
                "byte_start": span.start,
                "byte_end": span.end,
                "line_start": start.line,
                "line_end": end.line,
                "column_start": start.column,
                "column_end": end.column,
                "is_primary": true,
                "text": [{ "text": text, "highlight_start": start.column, "highlight_end": highlight_end }],
                "label": finding.label,
                "suggested_replacement": null,
                "suggestion_applicability": null,
                "expansion": null,
            })]
        }
        _ => Vec::new(),
    };
    let child = |level: &str, message: &str| json!({ "message": message, "code": null, "level": level, "spans": [], "children": [], "rendered": null });
    let mut children: Vec<Value> = finding
        .help
        .iter()
        .map(|help| child("help", help))
        .collect();
    children.extend(finding.notes.iter().map(|note| child("note", note)));
    let src_path = crate::discover::normalize(&file.path);
    json!({
        "reason": "compiler-message",
        "package_id": format!("path+file://{}#vnet-lint-input", src_path.parent().unwrap_or(&src_path).display()),
        "manifest_path": "",
        "target": {
            "kind": ["lib"],
            "crate_types": ["lib"],
            "name": "vnet-lint-input",
            "src_path": src_path.to_string_lossy(),
            "edition": "2021",
            "doc": false,
            "doctest": false,
            "test": false,
        },
        "message": {
            "$message_type": "diagnostic",
            "message": finding.message,
            "code": { "code": format!("vnet_lint::{}", finding.rule.name), "explanation": null },
            "level": diagnostic.severity.as_str(),
            "spans": spans,
            "children": children,
            "rendered": super::human::render_one(report, diagnostic),
        },
    })
}

/// Writes every diagnostic as a cargo message line.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for diagnostic in &report.diagnostics {
        writeln!(out, "{}", to_cargo(report, diagnostic))?;
    }
    Ok(())
}
