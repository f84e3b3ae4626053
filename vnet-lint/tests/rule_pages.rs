//! The rule pages in `docs/rules` are generated from the rule catalog and must be current; every
//! rule's example really produces the rule's diagnostic; `explain` prints the page.
//!
//! After adding or changing a rule, regenerate the pages with
//! `cargo run -p vnet-lint -- docs --write docs/rules` (or run this test with `UPDATE_RULE_DOCS=1`).

use std::path::PathBuf;
use std::process::Command;
use vnet_lint::docs;
use vnet_lint::rules::RULES;

fn pages_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/rules")
}

#[test]
fn rule_pages_are_current() {
    let write = std::env::var_os("UPDATE_RULE_DOCS").is_some();
    let stale = docs::sync(&pages_dir(), write).expect("the pages directory is readable");
    assert!(
        write || stale.is_empty(),
        "stale rule pages in docs/rules: {stale:?}\n\
         regenerate them with: cargo run -p vnet-lint -- docs --write docs/rules"
    );
}

#[test]
fn every_example_produces_its_rules_diagnostic() {
    for rule in RULES {
        let (command, printed) = docs::example_run(rule)
            .unwrap_or_else(|| panic!("{}: the `## Example` has no Rust code to run", rule.code));
        assert!(
            printed.contains(&format!("[{}]:", rule.code)),
            "{}: `{command}` on the rule's example does not report the rule; make the example a \
             whole file the lint reports (add the `use` lines and items it needs):\n{printed}",
            rule.code
        );
    }
}

#[test]
fn the_index_links_every_rule_and_pages_have_the_sections() {
    let index = docs::index();
    for rule in RULES {
        assert!(index.contains(&format!("[{}]({}.md)", rule.code, rule.code)));
        let page = docs::page(rule);
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Example",
            "## Use instead",
            "## Fix safety",
            "## How to allow it",
        ] {
            assert_eq!(
                page.matches(&format!("{heading}\n")).count(),
                1,
                "{} has one `{heading}`",
                rule.code
            );
        }
        assert!(
            page.contains("```text\n"),
            "{} shows what the lint prints",
            rule.code
        );
        assert!(!page.contains("rust,ignore"), "{}", rule.code);
    }
}

#[test]
fn explain_prints_the_page_and_the_docs_command_checks_them() {
    let lint = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .expect("the binary runs")
    };
    for code in ["VN101", "VN207", "VN302"] {
        let rule = vnet_lint::rules::find(code).unwrap();
        let output = lint(&["explain", code]);
        assert_eq!(output.status.code(), Some(0));
        assert_eq!(String::from_utf8_lossy(&output.stdout), docs::page(rule));
    }
    // `docs DIR` without --write: exit 1 and the stale names for a directory of old pages.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("VN101.md"), "old\n").unwrap();
    std::fs::write(dir.path().join("VN999.md"), "a removed rule\n").unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let check = lint(&["docs", dir_arg]);
    assert_eq!(check.status.code(), Some(1));
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("VN101.md") && text.contains("VN999.md") && text.contains("README.md"));
    assert_eq!(lint(&["docs", "--write", dir_arg]).status.code(), Some(0));
    assert!(!dir.path().join("VN999.md").exists());
    assert_eq!(lint(&["docs", dir_arg]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        RULES.len() + 1
    );
}
