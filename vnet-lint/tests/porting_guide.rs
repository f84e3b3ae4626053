//! `docs/porting.md` quotes what the lint prints; every quoted line must still be printed by the
//! commands the guide shows, so the guide never drifts from the tool.

use std::path::Path;
use std::process::Command;

fn lint(root: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    // `--diff` prints its summary on standard error.
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The lines of the guide's ```text and ```diff blocks (without elisions and blank lines).
fn quoted(guide: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in guide.lines() {
        if let Some(info) = line.strip_prefix("```") {
            inside = !inside && (info == "text" || info == "diff");
            continue;
        }
        let line = line.trim_end();
        if inside && !line.trim().is_empty() && line.trim() != "…" {
            out.push(line.to_owned());
        }
    }
    out
}

#[test]
fn every_output_the_porting_guide_quotes_is_printed_by_its_commands() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let guide = std::fs::read_to_string(root.join("docs/porting.md")).expect("docs/porting.md");
    let printed = [
        lint(&root, &["check", "fixtures/unported-netstack"]),
        lint(&root, &["check", "--diff", "fixtures/unported-netstack"]),
        lint(&root, &["check", "fixtures/seed-mistakes"]),
        lint(&root, &["order", "-p", "mymod"]),
    ]
    .join("\n");
    let lines: Vec<&str> = printed.lines().map(str::trim_end).collect();
    let quoted = quoted(&guide);
    assert!(quoted.len() > 40, "the guide quotes output");
    let missing: Vec<&String> = quoted
        .iter()
        .filter(|line| !lines.contains(&line.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/porting.md quotes lines the lint no longer prints; update the guide from the commands \
         it shows:\n{}",
        missing
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
