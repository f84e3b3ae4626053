//! `--message-format sarif` validates against the SARIF 2.1.0 JSON schema published with the OASIS
//! standard (`tests/schemas/sarif-schema-2.1.0.json`), with results of every rule and the `--fix`
//! proposals SARIF carries.

use serde_json::Value;
use std::process::Command;

mod common;

fn schema() -> jsonschema::Validator {
    let text = include_str!("schemas/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(text).expect("the schema is JSON");
    jsonschema::draft4::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

fn sarif(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--message-format", "sarif"])
        .args(args)
        .current_dir(common::fixtures().join(".."))
        .output()
        .expect("the binary runs");
    assert!(matches!(output.status.code(), Some(0..=2)), "{output:?}");
    serde_json::from_slice(&output.stdout).expect("one JSON document")
}

fn assert_valid(log: &Value) {
    let validator = schema();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn sarif_of_every_rule_fixture_validates_against_the_2_1_0_schema() {
    let mut fixes = 0;
    for rule in vnet_lint::rules::RULES {
        let flagged = format!("fixtures/rules/{}/flagged.rs", rule.file_stem());
        if !common::fixtures().join("..").join(&flagged).exists() {
            continue;
        }
        let log = sarif(&["--include-tests", &flagged]);
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert!(
            results.iter().any(|r| r["ruleId"] == rule.code),
            "{} has no result in {flagged}",
            rule.code
        );
        fixes += results.iter().filter(|r| r.get("fixes").is_some()).count();
        assert_valid(&log);
    }
    assert!(fixes > 0, "some log carries fixes");
}

#[test]
fn sarif_of_unreadable_and_unparsable_input_validates() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken file.rs"), "static X: u8 = ;").unwrap();
    let missing = dir.path().join("missing.rs");
    let log = sarif(&[
        dir.path().join("broken file.rs").to_str().unwrap(),
        missing.to_str().unwrap(),
    ]);
    let ids: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"VN001") && ids.contains(&"VN002"), "{ids:?}");
    assert_valid(&log);
}

#[test]
fn the_schema_rejects_what_is_not_sarif() {
    // The validator really checks: a log without `runs` and one with a bad level are refused.
    let validator = schema();
    assert!(!validator.is_valid(&serde_json::json!({ "version": "2.1.0" })));
    let mut log = sarif(&["fixtures/rules/static_mut/flagged.rs"]);
    assert!(validator.is_valid(&log));
    log["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&log));
}
