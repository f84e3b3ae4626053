//! The CI output formats end to end: GitHub workflow commands follow the runner's grammar and
//! escaping, GitLab Code Quality issues carry the required fields with fingerprints that survive moved
//! lines, and the JUnit report counts files and failures right.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn lint_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CI_PROJECT_DIR")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// Undoes the runner's escaping; fails on a `%` that starts no escape the grammar allows.
fn unescape(text: &str, property: bool) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3).expect("two hex digits after %");
        out.push(match code {
            "25" => '%',
            "0D" => '\r',
            "0A" => '\n',
            "3A" if property => ':',
            "2C" if property => ',',
            other => panic!("`%{other}` is not an escape of a workflow command"),
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    out
}

/// One parsed workflow command: its name, properties (unescaped) and message (unescaped).
fn parse_command(line: &str) -> (String, Vec<(String, String)>, String) {
    let body = line.strip_prefix("::").expect("a command starts with ::");
    let (head, data) = body.split_once("::").expect("`::` before the message");
    assert!(!data.contains(['\r', '\n']), "raw line break in {line:?}");
    let (name, properties) = head.split_once(' ').unwrap_or((head, ""));
    let properties = properties
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (key, value) = p.split_once('=').expect("key=value");
            assert!(!value.contains([':', ',', '\r', '\n']), "unescaped {p:?}");
            (key.to_owned(), unescape(value, true))
        })
        .collect();
    (name.to_owned(), properties, unescape(data, false))
}

#[test]
fn github_lines_are_workflow_commands_with_escaped_properties() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A file name with every character the properties must escape.
    let name = "odd,name:50%.rs";
    std::fs::write(
        dir.path().join(name),
        "static mut HITS: u32 = 0;\n\n// vnet-lint: allow(static-mut)\nstatic mut SLOTS: u8 = 0;\n",
    )
    .unwrap();
    // The reasonless allow comment, reported as a warning: `::warning`.
    let levels = ["-W", "suppression-without-reason"];
    let output = lint_in(
        dir.path(),
        &[&["check", "--message-format", "github", name], &levels[..]].concat(),
    );
    assert_eq!(output.status.code(), Some(1));
    let json = lint_in(
        dir.path(),
        &[&["check", "--message-format", "json", name], &levels[..]].concat(),
    );
    let expected: Vec<Value> = stdout(&json)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let text = stdout(&output);
    let commands: Vec<_> = text.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), expected.len(), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("vnet-lint: 1 error, 1 warning in 1 file")
    );
    for (line, want) in commands.iter().zip(&expected) {
        let (command, properties, message) = parse_command(line);
        let get = |key: &str| {
            properties
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{key} missing in {line}"))
        };
        for (key, _) in &properties {
            assert!(
                ["file", "line", "col", "endLine", "endColumn", "title"].contains(&key.as_str()),
                "unknown property {key}"
            );
        }
        assert_eq!(
            command,
            match want["severity"].as_str() {
                Some("error") => "error",
                _ => "warning",
            }
        );
        assert_eq!(get("file"), name);
        assert_eq!(get("line"), want["line"].to_string());
        assert_eq!(get("col"), want["column"].to_string());
        assert_eq!(get("endLine"), want["end_line"].to_string());
        assert_eq!(get("endColumn"), want["end_column"].to_string());
        assert_eq!(
            get("title"),
            format!(
                "{} {}",
                want["code"].as_str().unwrap(),
                want["rule"].as_str().unwrap()
            )
        );
        let first = message.lines().next().unwrap();
        assert_eq!(first, want["message"].as_str().unwrap());
        if let Some(help) = want["help"].as_str() {
            assert_eq!(message, format!("{first}\nhelp: {help}"));
        }
    }
}

fn gitlab(dir: &Path, path: &str) -> Vec<Value> {
    let output = lint_in(dir, &["check", "--message-format", "gitlab", path]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let report: Value = serde_json::from_str(&stdout(&output)).expect("one JSON document");
    report.as_array().expect("a JSON array").clone()
}

const SOURCE: &str = "use std::sync::Mutex;\n\
static mut HITS: u32 = 0;\n\
pub static TABLE: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
fn a() { static mut N: u8 = 0; }\n\
fn b() { static mut N: u8 = 0; }\n";

#[test]
fn gitlab_issues_have_the_code_quality_fields_and_stable_unique_fingerprints() {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(repo.path().join(".git")).unwrap();
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    let file = repo.path().join("src/lib.rs");
    std::fs::write(&file, SOURCE).unwrap();
    // Run from below the root: paths are still from the repository root.
    let before = gitlab(&repo.path().join("src"), "lib.rs");
    assert_eq!(before.len(), 4);
    for issue in &before {
        for field in ["description", "check_name", "fingerprint", "severity"] {
            assert!(issue[field].is_string(), "{field} in {issue}");
        }
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&issue["severity"].as_str().unwrap()));
        assert_eq!(issue["location"]["path"], "src/lib.rs");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    let lines: Vec<u64> = before
        .iter()
        .map(|i| i["location"]["lines"]["begin"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [2, 3, 4, 5]);
    let fingerprints = |issues: &[Value]| -> Vec<String> {
        issues
            .iter()
            .map(|i| i["fingerprint"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut unique = fingerprints(&before);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "fingerprints are unique: {before:#?}");
    // The same run again gives the same report.
    assert_eq!(gitlab(&repo.path().join("src"), "lib.rs"), before);

    // A line inserted above every finding moves them, not their fingerprints.
    std::fs::write(&file, format!("//! The crate.\n{SOURCE}")).unwrap();
    let after = gitlab(repo.path(), "src/lib.rs");
    assert_eq!(fingerprints(&after), fingerprints(&before));
    let moved: Vec<u64> = after
        .iter()
        .map(|i| i["location"]["lines"]["begin"].as_u64().unwrap())
        .collect();
    assert_eq!(moved, [3, 4, 5, 6]);

    // Changing the flagged line changes that finding's fingerprint only.
    std::fs::write(
        &file,
        format!("//! The crate.\n{}", SOURCE.replace("HITS", "MISSES")),
    )
    .unwrap();
    let renamed = gitlab(repo.path(), "src/lib.rs");
    assert_ne!(renamed[0]["fingerprint"], before[0]["fingerprint"]);
    assert_eq!(fingerprints(&renamed)[1..], fingerprints(&before)[1..]);
}

#[test]
fn gitlab_paths_follow_ci_project_dir() {
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(repo.path().join("crates/net")).unwrap();
    std::fs::write(repo.path().join("crates/net/lib.rs"), SOURCE).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--message-format", "gitlab", "lib.rs"])
        .current_dir(repo.path().join("crates/net"))
        .env("CI_PROJECT_DIR", repo.path())
        .output()
        .unwrap();
    let issues: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(issues[0]["location"]["path"], "crates/net/lib.rs");
}

#[test]
fn gitlab_report_of_a_clean_run_is_an_empty_array() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lib.rs"), "const N: u8 = 0;\n").unwrap();
    let output = lint_in(
        dir.path(),
        &["check", "--message-format", "gitlab", "lib.rs"],
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output).trim(), "[]");
}

/// The value of `attribute` in the first element opening with `tag`.
fn attribute(xml: &str, tag: &str, attribute: &str) -> String {
    let start = xml.find(&format!("<{tag} ")).expect(tag);
    let element = &xml[start..start + xml[start..].find('>').unwrap()];
    let key = format!(" {attribute}=\"");
    let at = element.find(&key).expect(attribute) + key.len();
    element[at..at + element[at..].find('"').unwrap()].to_owned()
}

#[test]
fn junit_has_one_test_case_per_file_and_a_failure_per_file_with_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("clean.rs"), "const N: u8 = 0;\n").unwrap();
    std::fs::write(dir.path().join("dirty.rs"), SOURCE).unwrap();
    std::fs::write(
        dir.path().join("amp.rs"),
        "static mut A_B: u8 = 0; // <&>\n",
    )
    .unwrap();
    let output = lint_in(dir.path(), &["check", "--message-format", "junit", "."]);
    assert_eq!(output.status.code(), Some(1));
    let xml = stdout(&output);
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    assert_eq!(xml.matches("<testsuite ").count(), 1);
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("<failure ").count(), 2);
    assert_eq!(attribute(&xml, "testsuite", "tests"), "3");
    assert_eq!(attribute(&xml, "testsuite", "failures"), "2");
    assert_eq!(attribute(&xml, "testsuites", "failures"), "2");
    assert!(xml.contains(
        "<testcase name=\"clean.rs\" classname=\"vnet-lint\" file=\"clean.rs\" time=\"0\"/>"
    ));
    let dirty = &xml[xml.find("name=\"dirty.rs\"").unwrap()..];
    let failure = &dirty[..dirty.find("</failure>").unwrap()];
    assert!(failure.contains("message=\"4 findings; first VN101: "));
    assert_eq!(failure.matches("dirty.rs:").count(), 4);
    // Text is escaped, never raw markup.
    assert!(!xml.contains("<&>"));
}
