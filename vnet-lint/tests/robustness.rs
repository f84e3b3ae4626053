//! Bad input gets a diagnostic, never a panic, and the run goes on. Large inputs are generated here,
//! never committed.

use std::path::Path;
use vnet_lint::diag::Report;
use vnet_lint::engine::{check_paths, Options};

const GOOD: &str =
    "static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);\n";

/// Lints `dir`, which also holds `good.rs` with one finding, and returns the report.
fn lint_with_good_file(dir: &Path, options: &Options) -> Report {
    std::fs::write(dir.join("good.rs"), GOOD).unwrap();
    let report = check_paths(&[dir.to_path_buf()], options);
    let good = report
        .diagnostics
        .iter()
        .filter(|d| d.finding.rule.code == "VN102")
        .count();
    assert_eq!(good, 1, "the run went on to the good file");
    report
}

fn codes(report: &Report) -> Vec<&'static str> {
    let mut codes: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| d.finding.rule.code)
        .collect();
    codes.sort_unstable();
    codes
}

#[test]
fn unparsable_rust_is_a_parse_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.rs"), "static X: u8 = ;\nfn f() {}\n").unwrap();
    let report = lint_with_good_file(dir.path(), &Options::default());
    assert_eq!(codes(&report), ["VN002", "VN102"]);
    assert_eq!(report.exit_code(), 2);
    let parse_error = &report.diagnostics[0].finding;
    assert_eq!(
        report
            .db
            .line_col(parse_error.file, parse_error.span.clone().unwrap().start)
            .line,
        1
    );
}

#[test]
fn non_utf8_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("latin1.rs"),
        b"static NAME: &str = \"caf\xe9\";\n",
    )
    .unwrap();
    let report = lint_with_good_file(dir.path(), &Options::default());
    assert_eq!(codes(&report), ["VN001", "VN102"]);
    let io_error = report
        .diagnostics
        .iter()
        .find(|d| d.finding.rule.code == "VN001")
        .unwrap();
    assert!(
        io_error.finding.message.contains("not UTF-8"),
        "{}",
        io_error.finding.message
    );
}

#[test]
fn empty_file_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.rs"), "").unwrap();
    let report = lint_with_good_file(dir.path(), &Options::default());
    assert_eq!(codes(&report), ["VN102"]);
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn fifty_megabyte_file() {
    let dir = tempfile::tempdir().unwrap();
    let line = "// generated table row, nothing to port here ..................................\n";
    let big = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    std::fs::write(dir.path().join("big.rs"), &big).unwrap();
    let report = lint_with_good_file(dir.path(), &Options::default());
    assert_eq!(
        codes(&report),
        ["VN001", "VN102"],
        "over the default size limit"
    );
    assert!(report.diagnostics[0]
        .finding
        .message
        .contains("larger than"));

    let raised = Options {
        max_file_size: 64 << 20,
        ..Options::default()
    };
    let report = lint_with_good_file(dir.path(), &raised);
    assert_eq!(codes(&report), ["VN102"], "read, skipped by the prefilter");
}

#[test]
fn ten_thousand_deep_nesting() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!(
        "static DEEP: u32 = {}1{};\n",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    std::fs::write(dir.path().join("deep.rs"), deep).unwrap();
    let unary = format!("static NOT: bool = {}true;\n", "!".repeat(10_000));
    std::fs::write(dir.path().join("unary.rs"), unary).unwrap();
    let blocks = format!(
        "fn f() {}static mut X: u8 = 0;{}\n",
        "{".repeat(10_000),
        "}".repeat(10_000)
    );
    std::fs::write(dir.path().join("blocks.rs"), blocks).unwrap();
    let report = lint_with_good_file(dir.path(), &Options::default());
    assert_eq!(codes(&report), ["VN002", "VN002", "VN002", "VN102"]);
}

#[test]
fn nesting_just_under_the_limit_parses() {
    let depth = vnet_lint::parse::prefilter::MAX_NESTING - 1;
    let text = format!(
        "static mut X: u32 = {}1{};\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let report = vnet_lint::engine::check_source("x.rs", &text, &Options::default());
    assert_eq!(codes(&report), ["VN101"]);
}

/// Found by fuzzing: chains that are not bracket nesting but that the parser, the
/// visitors and the drops of the tree still handle by recursion overflowed the worker's stack and
/// aborted the whole run. Now each is a parse error for that file, and the run goes on.
#[test]
fn deep_generics_pointer_types_and_keyword_chains_are_parse_errors_not_crashes() {
    let shapes = [
        (
            "generics",
            format!(
                "static X: {}u8{} = 0;",
                "Vec<".repeat(3000),
                ">".repeat(3000)
            ),
        ),
        (
            "pointers",
            format!("static X: {}u8 = 0;", "*const ".repeat(3000)),
        ),
        (
            "references",
            format!("static X: {}u8 = 0;", "&'static ".repeat(3000)),
        ),
        (
            "closures",
            format!("const X: i32 = {}1;", "|| ".repeat(10_000)),
        ),
        (
            "returns",
            format!("fn f() {{ {}1; }}", "return ".repeat(10_000)),
        ),
    ];
    for (name, text) in shapes {
        let text = format!("{text}\nstatic mut Y: u8 = 0;\n");
        let report = vnet_lint::engine::check_source("deep.rs", &text, &Options::default());
        assert_eq!(codes(&report), ["VN002"], "{name}");
        let report = vnet_lint::check_source("deep.rs", text.as_bytes());
        assert_eq!(codes(&report), ["VN002"], "{name}");
    }
}

#[test]
fn generics_pointers_and_closures_just_under_the_limit_parse() {
    let depth = vnet_lint::parse::prefilter::MAX_NESTING - 1;
    let text = format!(
        "static mut X: {}{}u32{} = 0;\nconst F: i32 = {}1;\n",
        "Vec<".repeat(depth),
        "*const ".repeat(depth),
        ">".repeat(depth),
        "|| ".repeat(depth)
    );
    let report = vnet_lint::engine::check_source("x.rs", &text, &Options::default());
    assert_eq!(codes(&report), ["VN101"]);
}

#[cfg(unix)]
#[test]
fn symlink_loop_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("sub/loop")).unwrap();
    let report = lint_with_good_file(dir.path(), &Options::default());
    assert_eq!(codes(&report), ["VN001", "VN102"]);
    assert!(report
        .diagnostics
        .iter()
        .any(|d| d.finding.message.contains("symbolic link loop")));
}

#[cfg(unix)]
#[test]
fn unreadable_files_are_io_errors() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("missing.rs"),
        dir.path().join("dangling.rs"),
    )
    .unwrap();
    let locked = dir.path().join("locked.rs");
    std::fs::write(&locked, "static LOCKED: u8 = 0;\n").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let root_can_read = std::fs::read(&locked).is_ok();
    let report = lint_with_good_file(dir.path(), &Options::default());
    let io_errors = codes(&report).iter().filter(|&&c| c == "VN001").count();
    assert_eq!(
        io_errors,
        if root_can_read { 1 } else { 2 },
        "{:?}",
        codes(&report)
    );
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn directory_without_rust_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "# no code").unwrap();
    let report = check_paths(&[dir.path().to_path_buf()], &Options::default());
    assert_eq!(codes(&report), ["VN001"]);
    assert!(report.diagnostics[0]
        .finding
        .message
        .starts_with("no Rust source files"));
    assert_eq!(report.exit_code(), 2);
}

#[test]
fn binary_reports_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.rs"), "static X: u8 = (;\n").unwrap();
    std::fs::write(dir.path().join("good.rs"), GOOD).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--message-format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("\"VN002\"") && text.contains("\"VN102\""),
        "{text}"
    );
    for line in text.lines() {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            json["help"].is_string(),
            "every diagnostic says what to do: {line}"
        );
    }
}

#[test]
fn truncated_and_garbled_sources_never_panic() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rules");
    let mut texts = Vec::new();
    for folder in std::fs::read_dir(fixtures).unwrap() {
        let folder = folder.unwrap().path();
        if folder.is_dir() {
            for file in std::fs::read_dir(folder).unwrap() {
                texts.push(std::fs::read_to_string(file.unwrap().path()).unwrap());
            }
        }
    }
    let options = Options::default();
    for text in &texts {
        let cuts = text.char_indices().map(|(i, _)| i).step_by(13);
        for cut in cuts {
            let prefix = &text[..cut];
            vnet_lint::engine::check_source("cut.rs", prefix, &options);
            let garbled = format!("{prefix}\"'/*r#\"{}", &text[cut..]);
            vnet_lint::engine::check_source("garbled.rs", &garbled, &options);
        }
    }
}

#[test]
fn parse_errors_before_multibyte_characters_render() {
    for text in [
        "static X: u8 = 0; €",
        "static X: &str = \"é\"; fn (",
        "static X: u8 = 1 é;",
    ] {
        let report = vnet_lint::engine::check_source("utf8.rs", text, &Options::default());
        assert_eq!(codes(&report), ["VN002"], "{text}");
        let rendered = vnet_lint::emit::human::render_to_string(&report);
        assert!(rendered.contains("error[VN002]"), "{rendered}");
        for diagnostic in &report.diagnostics {
            vnet_lint::emit::cargo::to_cargo(&report, diagnostic);
            vnet_lint::emit::json::to_json(&report, diagnostic);
        }
        vnet_lint::emit::sarif::to_sarif(&report);
    }
}

#[cfg(unix)]
#[test]
fn non_utf8_and_spaced_file_names_in_every_format() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"bad \xff name.rs");
    std::fs::write(dir.path().join(name), "static mut X: u8 = 0;\n").unwrap();
    for format in ["human", "json", "sarif", "cargo"] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
            .args(["check", "--message-format", format])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{format}: {stderr}");
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        if format == "sarif" {
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains("bad%20%FF%20name.rs"), "{stdout}");
        }
    }
}
