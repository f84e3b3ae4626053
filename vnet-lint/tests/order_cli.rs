//! `cargo vnet-lint order` end to end (every format), the README's main command, and levels, flags and
//! configuration for the ordering and context rules.

mod common;

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

const MYMOD: &[&str] = &["fixtures/mymod/src", "fixtures/ipfw/src"];

fn order(format: &str) -> Output {
    let mut args = vec!["order", "--format", format];
    args.extend(MYMOD);
    lint(&args)
}

#[test]
fn json_has_the_issue_fields_and_the_runtime_event_words() {
    let output = order("json");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let events = [
        "MODEVENT(load)",
        "MODEVENT(quiesce)",
        "MODEVENT(unload)",
        "MODEVENT(shutdown)",
        "SYSINIT",
        "SYSUNINIT",
        "VNET_SYSINIT",
        "VNET_SYSUNINIT",
    ];
    let mut sequences: Vec<String> = Vec::new();
    for line in &lines {
        let object = line.as_object().expect("an object");
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "sequence",
                "step",
                "event",
                "name",
                "module",
                "subsystem",
                "subsystem_value",
                "order",
                "order_value",
                "file",
                "line"
            ]
        );
        assert!(events.contains(&line["event"].as_str().unwrap()), "{line}");
        let sequence = line["sequence"].as_str().unwrap().to_owned();
        if !sequences.contains(&sequence) {
            assert_eq!(line["step"], 1, "steps are 1-based within a sequence");
            sequences.push(sequence);
        }
    }
    assert_eq!(
        sequences,
        [
            "boot",
            "create",
            "destroy",
            "load:ipfw",
            "unload:ipfw",
            "load:mymod",
            "unload:mymod",
            "shutdown"
        ]
    );
    let first = &lines[0];
    assert_eq!(first["name"], "mymod");
    assert_eq!(first["subsystem"], "SI_SUB_PROTO_BEGIN");
    assert_eq!(first["subsystem_value"], 0x800_0000);
    assert_eq!(first["order"], "SI_ORDER_ANY+64");
    assert_eq!(first["order_value"], 0xfff_ffff + 64);
    assert_eq!(first["file"], "fixtures/mymod/src/lib.rs");
}

#[test]
fn table_is_aligned_and_snapshotted() {
    let output = order("table");
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("order_table_mymod", stdout(&output));
}

#[test]
fn dot_renders_with_graphviz() {
    let output = order("dot");
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    insta::assert_snapshot!("order_dot_mymod", text);
    let mut dot = match Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        // A fresh machine may lack Graphviz: the README's test command still
        // runs; `.ci/run` installs it and sets VNET_REQUIRE_GRAPHVIZ=1.
        Err(e) if std::env::var_os("VNET_REQUIRE_GRAPHVIZ").is_none() => {
            eprintln!(
                "SKIPPED rendering: Graphviz `dot` not found ({e}); apt-get install graphviz"
            );
            return;
        }
        Err(e) => panic!("Graphviz `dot` is needed for this test (apt-get install graphviz): {e}"),
    };
    use std::io::Write;
    dot.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let rendered = dot.wait_with_output().unwrap();
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let svg = String::from_utf8_lossy(&rendered.stdout);
    assert!(svg.contains("<svg") && svg.contains("mymod_vnet_init"));
}

#[test]
fn mermaid_has_clusters_sequences_and_dependencies() {
    let output = order("mermaid");
    assert_eq!(output.status.code(), Some(0));
    let text = stdout(&output);
    assert!(text.starts_with("flowchart TD\n"));
    assert!(text.contains("subgraph cluster_1 [\"module mymod\"]"));
    assert!(text.contains("-.->|depends on|"));
    insta::assert_snapshot!("order_mermaid_mymod", text);
}

#[test]
fn order_takes_the_selection_flags() {
    let output = lint(&[
        "order",
        "--manifest-path",
        "fixtures/mymod/Cargo.toml",
        "--format",
        "json",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // ipfw, a path dependency that uses the runtime, is read too.
    assert!(stdout(&output).contains("\"name\":\"vnet_ipfw_init\""));
    let output = lint(&["order", "-p", "mymod", "--format", "json"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("\"sequence\":\"load:ipfw\""));
}

/// The README's main command, as `.ci/run` runs it: globals, ordering and context diagnostics, and the
/// order table.
#[test]
fn readme_main_command() {
    let output = lint(&[
        "check",
        "--show-order",
        "fixtures/unported-netstack",
        "fixtures/seed-mistakes",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    for code in [
        "VN101", "VN102", "VN203", "VN204", "VN205", "VN301", "VN302",
    ] {
        assert!(text.contains(&format!("[{code}]")), "{code} missing");
    }
    assert!(text.contains("init order (cargo vnet-lint order):\nboot (3 steps)"));
    assert!(text.contains("not loaded: module `mymod`"));
    insta::assert_snapshot!("readme_main_command", text);
}

#[test]
fn levels_flags_and_configuration_apply_to_the_new_rules() {
    let file = "fixtures/seed-mistakes/mymod/src/lib.rs";
    let codes = |output: &Output| -> Vec<(String, String)> {
        stdout(output)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| {
                Some((
                    v["code"].as_str()?.to_owned(),
                    v["severity"].as_str()?.to_owned(),
                ))
            })
            .collect()
    };
    let all = codes(&lint(&["check", "--message-format", "json", file]));
    assert!(all.contains(&("VN204".into(), "error".into())), "{all:?}");
    assert!(all.contains(&("VN205".into(), "warning".into())), "{all:?}");
    let allowed = codes(&lint(&[
        "check",
        "--message-format",
        "json",
        "-A",
        "module-dependency",
        "-A",
        "VN302",
        file,
    ]));
    assert!(
        !allowed.iter().any(|(c, _)| c == "VN204" || c == "VN302"),
        "{allowed:?}"
    );
    let warned = codes(&lint(&[
        "check",
        "--message-format",
        "json",
        "-W",
        "VN301",
        "-D",
        "init-without-uninit",
        file,
    ]));
    assert!(
        warned.contains(&("VN301".into(), "warning".into())),
        "{warned:?}"
    );
    assert!(
        warned.contains(&("VN205".into(), "error".into())),
        "{warned:?}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::copy(
        common::fixtures().join("seed-mistakes/mymod/src/lib.rs"),
        dir.path().join("src/lib.rs"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vnet-lint.toml"),
        "[levels]\nvnet-sysinit-before-module = \"allow\"\nguard-dropped-at-once = \"warn\"\n",
    )
    .unwrap();
    let configured = codes(&lint(&[
        "check",
        "--message-format",
        "json",
        dir.path().to_str().unwrap(),
    ]));
    assert!(
        !configured.iter().any(|(c, _)| c == "VN203"),
        "{configured:?}"
    );
    assert!(
        configured.contains(&("VN301".into(), "warning".into())),
        "{configured:?}"
    );
}
