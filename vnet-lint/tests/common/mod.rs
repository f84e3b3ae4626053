//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod trace;

use std::path::{Path, PathBuf};

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// `(code, line)` pairs from a fixture's header: `// Expect: VN102 on lines 3, 5; VN105 on line 9`.
pub fn expected(text: &str) -> Vec<(String, usize)> {
    let header = text.lines().next().unwrap_or_default();
    let body = header
        .trim_start_matches("//")
        .trim()
        .strip_prefix("Expect:")
        .expect("fixture starts with `// Expect:`")
        .trim();
    let mut out = Vec::new();
    if body == "nothing" {
        return out;
    }
    for group in body.split(';') {
        let (code, lines) = group.trim().split_once(" on ").expect("`CODE on lines …`");
        let lines = lines.trim_start_matches("lines").trim_start_matches("line");
        for line in lines.split(',') {
            out.push((
                code.trim().to_owned(),
                line.trim().parse().expect("line number"),
            ));
        }
    }
    out.sort();
    out
}
