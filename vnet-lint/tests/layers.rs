//! The lint's passes import one way: a module may use only modules of its own pass or of earlier ones
//! (rule → diag → discover → parse → model → rules → report → engine → fix → emit → docs → cli). In-file test
//! modules are left out (they drive the whole lint). A later pass imported by an earlier one fails here.

use std::path::{Path, PathBuf};

const PASSES: &[&str] = &[
    "rule", "diag", "discover", "parse", "model", "rules", "report", "engine", "fix", "emit",
    "docs", "cli",
];

fn rank(module: &str) -> Option<usize> {
    PASSES.iter().position(|p| *p == module)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Top-level modules named as `crate::NAME` in code (not comments, not test modules).
fn uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut out = Vec::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let names: Vec<String> = match after.strip_prefix('{') {
                // `crate::{a::X, b}`: the first segment of each path in the group.
                Some(group) => group
                    .split(['}', ';'])
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|p| p.trim().split("::").next().unwrap_or_default().to_owned())
                    .collect(),
                None => vec![after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()],
            };
            for name in names {
                if !name.is_empty() && !out.contains(&name) {
                    out.push(name);
                }
            }
            rest = after;
        }
    }
    out
}

#[test]
fn passes_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let top = relative
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_owned()
            })
            .unwrap_or_default();
        let Some(own) = rank(&top) else {
            continue; // lib.rs, main.rs, testing.rs
        };
        checked += 1;
        let text = std::fs::read_to_string(file).expect("readable");
        for used in uses(&text) {
            match rank(&used) {
                Some(r) if r > own => violations.push(format!(
                    "{} ({top}) imports crate::{used}, a later pass",
                    relative.display()
                )),
                Some(_) => {}
                None => violations.push(format!(
                    "{} names crate::{used}, which is no pass: add it to PASSES or use its new path",
                    relative.display()
                )),
            }
        }
    }
    assert!(checked > 30, "only {checked} files checked");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
