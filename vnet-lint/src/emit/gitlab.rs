//! `--message-format gitlab`: a GitLab Code Quality report, the JSON array that a job's
//! `artifacts: reports: codequality:` file holds and merge requests show.
//!
//! Each issue has a `fingerprint` that stays the same across runs and when lines move: it hashes the
//! rule, the file's path from the repository root and the flagged line's text (not its number); equal
//! findings on equal lines of one file are told apart by their rank.

use crate::diag::{Diagnostic, Report, Severity};
use crate::rules::Family;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The repository root paths are given from: `$CI_PROJECT_DIR` in a GitLab job, else the nearest
/// directory above the current one holding `.git`, else the current directory.
pub fn repository_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CI_PROJECT_DIR").filter(|d| !d.is_empty()) {
        return crate::discover::normalize(Path::new(&dir));
    }
    let cwd = crate::discover::normalize(Path::new("."));
    cwd.ancestors()
        .find(|dir| dir.join(".git").exists())
        .map_or_else(|| cwd.clone(), Path::to_path_buf)
}

/// `path` relative to `root` with `/` separators; as shown elsewhere when it lies outside.
fn relative(path: &Path, root: &Path, shown: &str) -> String {
    let absolute = crate::discover::normalize(path);
    match absolute.strip_prefix(root) {
        Ok(rel) => rel.to_string_lossy().replace('\\', "/"),
        Err(_) => shown.to_owned(),
    }
}

/// Code Quality severities: input problems are `critical`, deny-level findings `major`, warnings
/// `minor`.
fn severity(diagnostic: &Diagnostic) -> &'static str {
    match (diagnostic.severity, diagnostic.finding.rule.family) {
        (Severity::Error, Family::Input) => "critical",
        (Severity::Error, _) => "major",
        (Severity::Warning, _) => "minor",
    }
}

/// 128-bit FNV-1a: a hash whose value is fixed by its definition, so fingerprints stay the same
/// across versions of the lint and of Rust.
///
/// ```
/// assert_eq!(vnet_lint::emit::gitlab::fnv1a_128(b""), 0x6c62272e07bb014262b821756295c58d);
/// ```
pub fn fnv1a_128(bytes: &[u8]) -> u128 {
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for &byte in bytes {
        hash ^= u128::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// The text a fingerprint hashes for a diagnostic: the trimmed lines its span covers, or the message
/// when it has no position.
fn context(report: &Report, diagnostic: &Diagnostic) -> String {
    match super::positions(&report.db, diagnostic) {
        Some((start, end)) => (start.line..=end.line)
            .map(|line| report.db.line_text(diagnostic.finding.file, line).trim())
            .collect::<Vec<_>>()
            .join("\n"),
        None => diagnostic.finding.message.clone(),
    }
}

/// The Code Quality issues of `report`, with paths relative to `root`.
pub fn to_issues(report: &Report, root: &Path) -> Vec<Value> {
    let mut seen: HashMap<u128, usize> = HashMap::new();
    report
        .diagnostics
        .iter()
        .map(|diagnostic| {
            let finding = &diagnostic.finding;
            let file = report.db.get(finding.file);
            let path = relative(&file.path, root, &file.name);
            let key = format!(
                "{}\0{}\0{}",
                finding.rule.code,
                path,
                context(report, diagnostic)
            );
            let base = fnv1a_128(key.as_bytes());
            let rank = seen.entry(base).or_insert(0);
            let fingerprint = fnv1a_128(format!("{key}\0{rank}").as_bytes());
            *rank += 1;
            let line = super::positions(&report.db, diagnostic).map_or(1, |(start, _)| start.line);
            let mut description = format!("{}: {}", finding.rule.code, finding.message);
            if let Some(help) = &finding.help {
                description.push_str("; help: ");
                description.push_str(help);
            }
            json!({
                "type": "issue",
                "description": description,
                "check_name": finding.rule.code,
                // Shared mutable state and init order are correctness problems.
                "categories": ["Bug Risk"],
                "fingerprint": format!("{fingerprint:032x}"),
                "severity": severity(diagnostic),
                "location": {
                    "path": path,
                    "lines": { "begin": line },
                },
            })
        })
        .collect()
}

/// Writes the Code Quality report (one JSON array, pretty-printed), paths relative to
/// [`repository_root`].
pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let issues = to_issues(report, &repository_root());
    serde_json::to_writer_pretty(&mut *out, &issues)?;
    writeln!(out)
}
