//! The hold-out workspace (`tests/holdout/ws`): ordering and context cases in shapes the rule fixtures do
//! not have — calls across modules and crates, keys through `const`s of other modules, `SI_*` names the
//! attributes resolve without an import, spawns and guards however imported, foreign statics written by
//! Rust. Each expected finding is marked `// EXPECT CODE` on its line; `expected.txt` lists them, and
//! any other finding of these rules is a false positive.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The rules the hold-out is about (the others, such as `VN205` on hooks with no teardown, are out of it).
const RULES: &[&str] = &[
    "VN107", "VN201", "VN206", "VN207", "VN210", "VN301", "VN302", "VN303",
];

fn findings(selection: &[&str]) -> BTreeSet<String> {
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/holdout/ws");
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .arg("check")
        .args(selection)
        .args(["--message-format", "json"])
        .current_dir(&ws)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON lines"))
        .filter(|d| d["type"] == "diagnostic")
        .filter(|d| RULES.contains(&d["code"].as_str().unwrap_or_default()))
        .map(|d| {
            format!(
                "{}:{} {}",
                d["file"].as_str().unwrap_or_default(),
                d["line"],
                d["code"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// The findings of the hold-out's rules are exactly the lines marked `// EXPECT`.
fn assert_marked(selection: &[&str]) {
    let expected: BTreeSet<String> = include_str!("holdout/expected.txt")
        .lines()
        .map(str::to_owned)
        .collect();
    let actual = findings(selection);
    let missed: Vec<&String> = expected.difference(&actual).collect();
    let extra: Vec<&String> = actual.difference(&expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed: {missed:#?}\nfalse positives: {extra:#?}"
    );
}

#[test]
fn holdout_findings_are_exactly_the_marked_lines() {
    assert_marked(&["--workspace"]);
}

/// The same sources given as paths: crates, renamed dependencies and the runtime's rename are found
/// from the manifests beside the files.
#[test]
fn holdout_by_paths_finds_the_same() {
    assert_marked(&["ifnet/src", "route/src"]);
}
