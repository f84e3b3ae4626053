//! The rule catalog itself: unique codes and names, the documentation template, a fixture folder per
//! rule, and the message style of everything the fixtures produce.

mod common;

use vnet_lint::engine::{check_source, Options};
use vnet_lint::rules::{Family, RULES};

#[test]
fn codes_and_names_are_unique_and_well_formed() {
    let mut codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
    let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
    codes.sort_unstable();
    codes.dedup();
    names.sort_unstable();
    names.dedup();
    assert_eq!(codes.len(), RULES.len(), "codes are unique");
    assert_eq!(names.len(), RULES.len(), "names are unique");
    for rule in RULES {
        let family_digit = match rule.family {
            Family::Input => '0',
            Family::Globals => '1',
            Family::Ordering => '2',
            Family::Context => '3',
        };
        assert!(
            rule.code.starts_with("VN") && rule.code.len() == 5,
            "{}",
            rule.code
        );
        assert_eq!(
            rule.code.as_bytes()[2] as char,
            family_digit,
            "{} is in the wrong family",
            rule.code
        );
        assert!(
            rule.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{} is kebab-case",
            rule.name
        );
        assert!(
            !rule.name.starts_with("no-") && !rule.name.starts_with("disallow-"),
            "{}",
            rule.name
        );
    }
    let table: Vec<String> = RULES
        .iter()
        .map(|r| {
            format!(
                "{} {} {} since {}",
                r.code, r.name, r.default_level, r.since
            )
        })
        .collect();
    insta::assert_snapshot!("codes", table.join("\n"));
}

#[test]
fn every_rule_has_the_documentation_template() {
    for rule in RULES {
        let doc = rule.doc_text();
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
        ] {
            assert!(doc.contains(heading), "{} lacks `{heading}`", rule.code);
        }
        assert!(
            !rule.summary.ends_with('.'),
            "{} summary ends with a period",
            rule.code
        );
    }
}

#[test]
fn every_rule_has_a_fixture_folder_and_snapshots() {
    let snapshots = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    for rule in RULES.iter().filter(|r| r.family != Family::Input) {
        let folder = common::fixtures().join("rules").join(rule.file_stem());
        for case in ["flagged.rs", "allowed.rs", "suppressed.rs"] {
            assert!(
                folder.join(case).is_file(),
                "{} lacks {}",
                rule.code,
                folder.join(case).display()
            );
        }
        // Only fixtures with findings have snapshots (the `// Expect:` header covers the others).
        let snapshot = snapshots.join(format!(
            "rules__human@{}__flagged.rs.snap",
            rule.file_stem()
        ));
        assert!(
            snapshot.is_file(),
            "{} lacks {}",
            rule.code,
            snapshot.display()
        );
        let flagged = std::fs::read_to_string(folder.join("flagged.rs")).expect("readable");
        assert!(
            common::expected(&flagged)
                .iter()
                .any(|(code, _)| code == rule.code),
            "{}: flagged.rs must expect the rule",
            rule.code
        );
    }
}

#[test]
fn messages_are_lowercase_without_final_period() {
    let folders = std::fs::read_dir(common::fixtures().join("rules")).expect("fixtures");
    let mut seen = 0;
    for folder in folders {
        let folder = folder.expect("entry").path();
        if !folder.is_dir() {
            continue;
        }
        for case in std::fs::read_dir(&folder).expect("folder") {
            let path = case.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            let report = check_source("fixture.rs", &text, &Options::default());
            for diagnostic in &report.diagnostics {
                let finding = &diagnostic.finding;
                seen += 1;
                for text in std::iter::once(&finding.message)
                    .chain(&finding.help)
                    .chain(&finding.notes)
                {
                    let first = text.chars().next().expect("not empty");
                    assert!(!first.is_uppercase(), "starts with a capital: {text}");
                    assert!(!text.ends_with('.'), "ends with a period: {text}");
                }
            }
        }
    }
    assert!(seen > 20, "the fixtures produce diagnostics");
}
