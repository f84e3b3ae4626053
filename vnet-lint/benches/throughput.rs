//! Lints a large generated tree and reports throughput in MB/s: once as real code looks (most files hold
//! no global, so the prefilter skips them), once with a global in every file (everything is parsed).
//!
//! Run with `cargo bench -p vnet-lint`. The tree is generated in a temporary directory, never committed.

use std::path::Path;
use std::time::{Duration, Instant};
use vnet_lint::engine::{check_paths, Options};

/// Files in the generated tree.
const FILES: usize = 1_000;
/// Functions per file; about 200 bytes each.
const FUNCTIONS: usize = 100;
/// Timed runs per tree; the best is reported.
const RUNS: usize = 5;

fn file_text(index: usize, with_global: bool) -> String {
    let mut text =
        String::from("//! Generated module.\n\nuse std::sync::atomic::{AtomicU64, Ordering};\n\n");
    if with_global {
        text.push_str(&format!(
            "static COUNTER_{index}: AtomicU64 = AtomicU64::new(0);\n\n"
        ));
    }
    for f in 0..FUNCTIONS {
        text.push_str(&format!(
            "/// Adds {f} to the argument when it is even.\npub fn step_{f}(value: &'static str, n: u64) -> u64 {{\n    \
             if n % 2 == 0 {{ n + {f} }} else {{ value.len() as u64 * (n - 1) }}\n}}\n\n"
        ));
    }
    text
}

fn generate(dir: &Path, every_file: bool) -> u64 {
    let mut bytes = 0;
    for i in 0..FILES {
        let sub = dir.join(format!("m{}", i % 20));
        std::fs::create_dir_all(&sub).expect("create dir");
        let text = file_text(i, every_file || i % 10 == 0);
        bytes += text.len() as u64;
        std::fs::write(sub.join(format!("f{i}.rs")), text).expect("write file");
    }
    bytes
}

fn measure(label: &str, every_file: bool) {
    let dir = std::env::temp_dir().join(format!(
        "vnet-lint-bench-{}-{every_file}",
        std::process::id()
    ));
    let bytes = generate(&dir, every_file);
    let options = Options::default();
    let mut best = Duration::MAX;
    let mut findings = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let report = check_paths(std::slice::from_ref(&dir), &options);
        best = best.min(start.elapsed());
        findings = report.diagnostics.len();
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mb = bytes as f64 / 1e6;
    println!(
        "{label}: {FILES} files, {mb:.1} MB, {findings} findings, best of {RUNS}: {:.3} s, {:.0} MB/s",
        best.as_secs_f64(),
        mb / best.as_secs_f64()
    );
}

fn main() {
    measure("globals in 1 file of 10", false);
    measure("globals in every file  ", true);
}
