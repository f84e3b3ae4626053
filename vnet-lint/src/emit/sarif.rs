//! `--message-format sarif`: one SARIF 2.1.0 log, with every rule's metadata.

use crate::diag::{Report, Severity};
use crate::rules::{Level, RULES};
use serde_json::{json, Value};
use std::io::{self, Write};

/// The SARIF schema this output follows.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The SARIF log of `report`.
pub fn to_sarif(report: &Report) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|rule| {
            json!({
                "id": rule.code,
                "name": rule.name,
                "shortDescription": { "text": rule.summary },
                "fullDescription": { "text": rule.summary },
                "help": { "text": rule.doc_text(), "markdown": rule.doc_text() },
                "defaultConfiguration": {
                    "level": match rule.default_level { Level::Deny => "error", Level::Warn => "warning", Level::Allow => "none" },
                    "enabled": rule.default_level != Level::Allow,
                },
                "properties": { "since": rule.since },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let finding = &diagnostic.finding;
            let index = RULES.iter().position(|rule| rule.code == finding.rule.code);
            let mut text = finding.message.clone();
            if let Some(help) = &finding.help {
                text.push_str("\nhelp: ");
                text.push_str(help);
            }
            let mut location = json!({
                "physicalLocation": { "artifactLocation": { "uri": artifact_uri(&report.db.get(finding.file).path) } }
            });
            if let Some((start, end)) = super::positions(&report.db, diagnostic) {
                location["physicalLocation"]["region"] = json!({
                    "startLine": start.line,
                    "startColumn": start.column,
                    "endLine": end.line,
                    "endColumn": end.column,
                });
            }
            json!({
                "ruleId": finding.rule.code,
                "ruleIndex": index,
                "level": level(diagnostic.severity),
                "message": { "text": text },
                "locations": [location],
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "vnet-lint",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/vnet",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// A file's `artifactLocation.uri`: relative to the current directory when below it, else a `file://`
/// URI, with every byte other than unreserved characters and `/` percent-encoded, so that spaces and
/// non-UTF-8 names make valid URIs that name the file exactly.
fn artifact_uri(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().ok();
    let relative = cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok());
    let shown = relative.unwrap_or(path);
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        shown.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = shown.to_string_lossy().replace('\\', "/").into_bytes();
    let mut uri = String::with_capacity(bytes.len());
    if relative.is_none() && shown.is_absolute() {
        uri.push_str("file://");
    }
    for byte in bytes {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri.strip_prefix("./").map(str::to_owned).unwrap_or(uri)
}

/// Writes the SARIF log, pretty-printed.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_sarif(report))?;
    writeln!(out)
}

/// Adds to each result of `sarif` (made by [`to_sarif`] from `report`) the `fixes` of `plan`: one fix per
/// ported static, its replacements as byte regions of the original files.
pub fn add_fixes(sarif: &mut Value, plan: &crate::fix::Plan) {
    for ported in &plan.ported {
        let Some(index) = ported.diagnostic else {
            continue;
        };
        let mut by_file: Vec<(&std::path::Path, Vec<Value>)> = Vec::new();
        for (path, edit) in &ported.edits {
            let replacement = json!({
                "deletedRegion": {
                    "byteOffset": edit.range.start,
                    "byteLength": edit.range.len(),
                },
                "insertedContent": { "text": edit.text },
            });
            match by_file.iter_mut().find(|(p, _)| p == path) {
                Some((_, list)) => list.push(replacement),
                None => by_file.push((path, vec![replacement])),
            }
        }
        let changes: Vec<Value> = by_file
            .into_iter()
            .map(|(path, replacements)| {
                json!({
                    "artifactLocation": { "uri": artifact_uri(path) },
                    "replacements": replacements,
                })
            })
            .collect();
        let fix = json!({
            "description": {
                "text": format!(
                    "port `{}` to `#[vnet]` and its `V_{}` accessor ({} fix)",
                    ported.name,
                    ported.name,
                    ported.applicability.as_str()
                )
            },
            "artifactChanges": changes,
            "properties": { "applicability": ported.applicability.as_str() },
        });
        if let Some(result) = sarif["runs"][0]["results"].get_mut(index) {
            result["fixes"] = json!([fix]);
        }
    }
}
