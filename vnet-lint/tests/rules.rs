//! Every rule fixture: the diagnostics match the fixture's `// Expect:` header, and the human, JSON and
//! SARIF renderings of the fixtures with findings match their snapshots. `INSTA_GLOB_FILTER=static_mut/*` selects one rule.

mod common;

use vnet_lint::diag::Report;
use vnet_lint::emit;
use vnet_lint::engine::{check_source, Options};

fn lint(path: &std::path::Path) -> (String, Report) {
    let text = std::fs::read_to_string(path).expect("fixture is readable");
    let rule = path
        .parent()
        .and_then(|p| p.file_name())
        .expect("rule folder")
        .to_string_lossy();
    let name = format!(
        "fixtures/rules/{rule}/{}",
        path.file_name().expect("file").to_string_lossy()
    );
    let report = check_source(&name, &text, &Options::default());
    (text, report)
}

#[test]
fn fixtures_match_their_headers_and_snapshots() {
    // `fixed.rs` is what `--fix` makes of `flagged.rs` (tests/fix.rs), not a case of its own.
    insta::glob!(
        "../../fixtures/rules",
        "*/{allowed,flagged,suppressed}.rs",
        |path| {
            let (text, report) = lint(path);
            let mut actual: Vec<(String, usize)> = report
                .diagnostics
                .iter()
                .map(|d| {
                    let line = d
                        .finding
                        .span
                        .as_ref()
                        .map_or(0, |s| report.db.line_col(d.finding.file, s.start).line);
                    (d.finding.rule.code.to_owned(), line)
                })
                .collect();
            actual.sort();
            assert_eq!(actual, common::expected(&text), "{}", path.display());
            // A fixture without findings has nothing to render: its `// Expect:` header says so.
            if report.diagnostics.is_empty() {
                return;
            }

            insta::assert_snapshot!("human", emit::human::render_to_string(&report));
            let json: Vec<String> = report
                .diagnostics
                .iter()
                .map(|d| emit::json::to_json(&report, d).to_string())
                .collect();
            insta::assert_snapshot!("json", json.join("\n"));
            let mut sarif = emit::sarif::to_sarif(&report);
            // The rule table is the same for every fixture and is checked by the catalog test.
            sarif["runs"][0]["tool"]["driver"]["rules"] = serde_json::json!("<RULES>");
            sarif["runs"][0]["tool"]["driver"]["version"] = serde_json::json!("<VERSION>");
            insta::assert_snapshot!("sarif", serde_json::to_string_pretty(&sarif).expect("json"));
        }
    );
}
