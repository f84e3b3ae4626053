//! The binary end to end: exit statuses, the cargo argument convention, every output format, `list`,
//! `explain`, level flags and configuration.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn lint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(args)
        .current_dir(common::fixtures().join(".."))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

#[test]
fn exit_status_is_0_clean_1_findings_2_usage() {
    assert_eq!(
        lint(&["check", "fixtures/rules/static_mut/allowed.rs"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        lint(&["check", "fixtures/rules/static_mut/flagged.rs"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(lint(&["check", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        lint(&["check", "--deny", "VN999", "fixtures/rules"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        lint(&["check", "fixtures/does-not-exist"]).status.code(),
        Some(2)
    );
}

#[test]
fn cargo_passes_the_subcommand_name_first() {
    let output = lint(&["vnet-lint", "check", "fixtures/rules/static_mut/flagged.rs"]);
    assert_eq!(output.status.code(), Some(1));
    let default_is_check = lint(&["vnet-lint", "fixtures/rules/static_mut/flagged.rs"]);
    assert_eq!(stdout(&default_is_check), stdout(&output));
}

#[test]
fn human_output_ends_with_a_summary() {
    let output = lint(&["check", "fixtures/rules/static_mut"]);
    let text = stdout(&output);
    assert!(
        text.contains("error[VN101]: `static mut PACKETS_IN`"),
        "{text}"
    );
    assert!(
        text.trim_end().ends_with("vnet-lint: 6 errors in 4 files"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour when not on a terminal");
}

#[test]
fn json_has_the_documented_fields() {
    let output = lint(&[
        "check",
        "--message-format",
        "json",
        "fixtures/rules/interior_mutable_static/flagged.rs",
    ]);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 15);
    for line in &lines {
        for field in [
            "code",
            "rule",
            "severity",
            "message",
            "file",
            "line",
            "column",
            "end_line",
            "end_column",
            "help",
        ] {
            assert!(!line[field].is_null(), "{field} in {line}");
        }
    }
    assert_eq!(lines[0]["code"], "VN102");
    assert_eq!(lines[0]["rule"], "interior-mutable-static");
    assert_eq!(
        lines[0]["file"],
        "fixtures/rules/interior_mutable_static/flagged.rs"
    );
}

#[test]
fn sarif_is_a_2_1_0_log_with_rule_metadata() {
    let output = lint(&[
        "check",
        "--message-format",
        "sarif",
        "fixtures/rules/static_mut/flagged.rs",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), vnet_lint::rules::RULES.len());
    for result in run["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().expect("line") >= 1);
    }
}

#[test]
fn cargo_format_parses_as_cargo_compiler_messages() {
    let output = lint(&[
        "check",
        "--message-format",
        "cargo",
        "fixtures/rules/lazy_static_global/flagged.rs",
    ]);
    let messages: Vec<_> = cargo_metadata::Message::parse_stream(&output.stdout[..])
        .map(|m| m.expect("parses"))
        .collect();
    assert_eq!(messages.len(), 4);
    for message in messages {
        let cargo_metadata::Message::CompilerMessage(message) = message else {
            panic!("compiler message")
        };
        let diagnostic = message.message;
        assert_eq!(
            diagnostic.code.expect("code").code,
            "vnet_lint::lazy-static-global"
        );
        assert_eq!(
            diagnostic.spans[0].file_name,
            "fixtures/rules/lazy_static_global/flagged.rs"
        );
        assert!(diagnostic
            .rendered
            .expect("rendered")
            .contains("error[VN103]"));
    }
}

#[test]
fn level_flags_change_severity_and_exit_status() {
    let path = "fixtures/rules/thread_local_global/flagged.rs";
    assert_eq!(lint(&["check", path]).status.code(), Some(1));
    let warned = lint(&["check", "--warn", "thread-local-global", path]);
    assert_eq!(warned.status.code(), Some(0));
    assert!(stdout(&warned).contains("warning[VN104]"));
    let allowed = lint(&["check", "-A", "VN104", "--message-format", "json", path]);
    assert_eq!(allowed.status.code(), Some(0));
    assert!(stdout(&allowed).is_empty());
}

#[test]
fn explain_prints_the_rule_documentation() {
    let output = lint(&["explain", "VN102"]);
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(
        text.starts_with("# VN102 interior-mutable-static"),
        "{text}"
    );
    assert!(text.contains("## Why is this bad?") && text.contains("## Use instead"));
    assert_eq!(stdout(&lint(&["explain", "interior-mutable-static"])), text);
    let all = stdout(&lint(&["explain"]));
    assert_eq!(all.lines().count(), vnet_lint::rules::RULES.len());
    assert_eq!(lint(&["explain", "VN999"]).status.code(), Some(2));
}

#[test]
fn list_prints_vnet_statics_with_module_paths() {
    let output = lint(&[
        "list",
        "--message-format",
        "json",
        "fixtures/unported-netstack",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    let names: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{}::{}",
                l["module"].as_str().unwrap(),
                l["name"].as_str().unwrap()
            )
        })
        .collect();
    insta::assert_snapshot!("list_unported_netstack", names.join("\n"));
}

#[test]
fn unported_netstack_main_command() {
    let output = lint(&["check", "fixtures/unported-netstack"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("check_unported_netstack", stdout(&output));
}

#[test]
fn configuration_levels_and_global_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/drivers")).unwrap();
    std::fs::write(root.join("src/lib.rs"), "static A: std::sync::Mutex<u8> = std::sync::Mutex::new(0);\nthread_local! { static T: u8 = 0; }\n").unwrap();
    std::fs::write(
        root.join("src/drivers/nic.rs"),
        "static REGS: AtomicU32 = AtomicU32::new(0);\n",
    )
    .unwrap();
    std::fs::write(
        root.join("vnet-lint.toml"),
        "[levels]\nthread-local-global = \"allow\"\n[paths]\nglobal = [\"src/drivers\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
            .args(args)
            .current_dir(root)
            .output()
            .expect("runs")
    };
    let output = run(&["check", "--message-format", "json", "src"]);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "{}", stdout(&output));
    assert_eq!(lines[0]["file"], "src/lib.rs");
    assert_eq!(lines[0]["code"], "VN102");

    std::fs::write(
        root.join("vnet-lint.toml"),
        "[levels]\nVN102 = \"warn\"\n[paths]\nglobals = []\n",
    )
    .unwrap();
    let output = run(&["check", "src"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("globals"),
        "the unknown key is named"
    );
}

#[test]
fn cargo_metadata_mode_finds_the_package_sources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"tiny-stack\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.vnet-lint.levels]\nstatic-mut = \"warn\"\n\n[workspace]\n").unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "static mut COUNT: u32 = 0;\n#[vnet] static IFNET: u8 = 0;\n",
    )
    .unwrap();
    let manifest = root.join("Cargo.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--message-format", "json", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["severity"], "warning",
        "package metadata sets the level"
    );
    let list = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["list", "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("runs");
    assert!(
        stdout(&list).starts_with("IFNET\ttiny_stack\t"),
        "{}",
        stdout(&list)
    );
    assert!(Path::new(&manifest).exists());
}

#[test]
fn include_tests_reads_test_code_and_macro_rules_bodies() {
    let path = "fixtures/rules/interior_mutable_static/allowed.rs";
    assert_eq!(lint(&["check", path]).status.code(), Some(0));
    let output = lint(&["check", "--include-tests", "--message-format", "json", path]);
    let messages: Vec<String> = json_lines(&output)
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        messages,
        [
            "`static IN_TEST` has interior mutability and is shared by every instance",
            "`static $name` has interior mutability and is shared by every instance",
            "`static REGEX` has interior mutability and is shared by every instance",
            "`static IN_TEST_ON_UNIX` has interior mutability and is shared by every instance",
        ]
    );
}

#[test]
fn explicit_config_applies_to_every_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("strict.toml");
    std::fs::write(&config, "[levels]\nstatic-mut = \"warn\"\n").unwrap();
    let output = lint(&[
        "check",
        "--config",
        config.to_str().unwrap(),
        "fixtures/rules/static_mut/flagged.rs",
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("warning[VN101]"));
}

#[test]
fn build_scripts_and_declared_test_targets_are_not_the_program() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let counter =
        "static HITS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);\n";
    write(
        "Cargo.toml",
        "[package]\nname = \"p\"\nversion = \"0.1.0\"\n\n[[test]]\nname = \"t\"\npath = \"test/test.rs\"\n",
    );
    write("build.rs", counter);
    write("test/test.rs", "mod sys;\n");
    write("test/sys.rs", counter);
    write("src/lib.rs", counter);
    let files = |args: &[&str]| -> Vec<String> {
        let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
            .args(args)
            .arg(root)
            .output()
            .expect("runs");
        let mut files: Vec<String> = json_lines(&output)
            .iter()
            .map(|l| {
                let file = l["file"].as_str().unwrap_or_default();
                Path::new(file)
                    .strip_prefix(root)
                    .unwrap_or(Path::new(file))
                    .display()
                    .to_string()
            })
            .collect();
        files.sort();
        files
    };
    assert_eq!(
        files(&["check", "--message-format", "json"]),
        ["src/lib.rs"]
    );
    assert_eq!(
        files(&["check", "--include-tests", "--message-format", "json"]),
        ["build.rs", "src/lib.rs", "test/sys.rs"]
    );
}

#[test]
fn test_modules_are_found_through_cfg_all_path_attributes_and_their_children() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let write = |path: &str, text: &str| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let counter =
        "static HITS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);\n";
    write(
        "src/lib.rs",
        "#[cfg(all(test, unix))]\nmod tests;\n#[cfg(test)]\n#[path = \"custom_tests.rs\"]\nmod custom;\n\
         #[path = \"other_name.rs\"]\nmod other;\n#[cfg_attr(test, path = \"x.rs\")]\nmod real;\n",
    );
    write("src/tests.rs", "mod helper;\n");
    write("src/tests/helper.rs", counter);
    write("src/custom_tests.rs", counter);
    // A file loaded with `#[path]` owns its directory: its `mod t;` is `src/t.rs`.
    write("src/other_name.rs", "#[cfg(test)] mod t;\n");
    write("src/t.rs", counter);
    write("src/real.rs", counter);
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--message-format", "json"])
        .arg(root.join("src"))
        .output()
        .expect("runs");
    let files: Vec<String> = json_lines(&output)
        .iter()
        .map(|l| l["file"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("real.rs"), "{files:?}");
}
