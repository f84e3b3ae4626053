//! `--message-format junit`: a JUnit XML report, which CI dashboards (GitLab's test reports, Jenkins,
//! Azure Pipelines, test-reporter actions) read. One `testsuite`; one `testcase` per file checked, which
//! passes when the file has no finding and otherwise carries one `failure` listing its findings.

use crate::diag::{Diagnostic, Report};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Escapes text for an XML attribute or element, dropping the control characters XML 1.0 cannot hold.
///
/// ```
/// use vnet_lint::emit::junit::escape_xml;
/// assert_eq!(escape_xml("a < b && \"c\"\u{1}"), "a &lt; b &amp;&amp; &quot;c&quot;");
/// ```
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// One finding as a line of a failure's text: `path:line:col: error[VN101] static-mut: message`, then
/// its help.
fn finding_text(report: &Report, diagnostic: &Diagnostic) -> String {
    let finding = &diagnostic.finding;
    let name = &report.db.get(finding.file).name;
    let place = match super::positions(&report.db, diagnostic) {
        Some((start, _)) => format!("{name}:{}:{}", start.line, start.column),
        None => name.clone(),
    };
    let mut text = format!(
        "{place}: {}[{}] {}: {}",
        diagnostic.severity.as_str(),
        finding.rule.code,
        finding.rule.name,
        finding.message
    );
    if let Some(help) = &finding.help {
        text.push_str("\n  help: ");
        text.push_str(help);
    }
    text
}

/// The JUnit XML document of `report`.
pub fn to_junit(report: &Report) -> String {
    // Every file read, by shown name; a file with findings holds them.
    let mut files: BTreeMap<&str, Vec<&Diagnostic>> = BTreeMap::new();
    let mut id = 0;
    while let Ok(name) = codespan_reporting::files::Files::name(&report.db, id) {
        files.entry(name).or_default();
        id += 1;
    }
    for diagnostic in &report.diagnostics {
        files
            .entry(report.db.get(diagnostic.finding.file).name.as_str())
            .or_default()
            .push(diagnostic);
    }
    let tests = files.len();
    let failures = files.values().filter(|found| !found.is_empty()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str(&format!(
        "<testsuites name=\"vnet-lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n"
    ));
    xml.push_str(&format!(
        "  <testsuite name=\"vnet-lint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"0\">\n"
    ));
    for (name, found) in &files {
        let name = escape_xml(name);
        let open = format!(
            "    <testcase name=\"{name}\" classname=\"vnet-lint\" file=\"{name}\" time=\"0\""
        );
        let Some(first) = found.first() else {
            xml.push_str(&open);
            xml.push_str("/>\n");
            continue;
        };
        let message = match found.len() {
            1 => format!("{}: {}", first.finding.rule.code, first.finding.message),
            n => format!(
                "{n} findings; first {}: {}",
                first.finding.rule.code, first.finding.message
            ),
        };
        let text: Vec<String> = found.iter().map(|d| finding_text(report, d)).collect();
        xml.push_str(&open);
        xml.push_str(">\n");
        xml.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
            escape_xml(&message),
            first.finding.rule.code,
            escape_xml(&text.join("\n"))
        ));
        xml.push_str("    </testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Writes the JUnit XML document.
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(to_junit(report).as_bytes())
}
