//! Like `cargo fix`: a dirty git tree is refused unless `--allow-dirty`, and after writing the package is
//! built (`cargo check` of the library, binaries, tests and examples that built before); the statics whose edits the compiler's errors point at are
//! restored and the build is checked again. Before blaming a static, an `unsafe` the plan dropped
//! where rustc still finds an unsafe operation goes back; once it builds, the `unsafe` blocks rustc
//! newly reports unused lose their `unsafe` (see [`super::unsafe_blocks`]).

use super::{edits, Plan};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files under `dir` with uncommitted changes, as `git status --porcelain` lists them; empty outside a
/// git work tree.
pub fn dirty_files(dir: &Path) -> Vec<String> {
    let output = Command::new("git")
        .arg("status")
        .arg("--porcelain")
        .arg("--untracked-files=no")
        .arg("--")
        .arg(".")
        .current_dir(dir)
        .output();
    match output {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.get(3..).unwrap_or(l).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// One compiler error: the file and byte range of its primary span, and its message.
#[derive(Clone, Debug)]
pub struct BuildError {
    /// The file, as cargo names it (relative to the workspace root).
    pub file: String,
    /// Byte range in the file as written.
    pub range: std::ops::Range<usize>,
    /// The rendered message.
    pub message: String,
}

/// The targets the build check covers, widest first: what `cargo fix` checks (the library and
/// binaries) plus the tests and examples when they build as published. Benches are left out: many
/// published crates ship benches that do not build.
pub const TARGET_SETS: &[&[&str]] = &[&["--tests", "--examples"], &["--tests"], &[]];

/// The widest of [`TARGET_SETS`] that builds on the package of `manifest` before any fix, or `None`
/// when even the library does not build.
pub fn targets_that_build(manifest: &Path) -> std::io::Result<Option<&'static [&'static str]>> {
    for set in TARGET_SETS {
        if cargo_check(manifest, set)?.0 {
            return Ok(Some(set));
        }
    }
    Ok(None)
}

/// Runs `cargo check` on the package of `manifest` with `targets` (see [`TARGET_SETS`]); whether it
/// built, and its errors. Never writes a `Cargo.lock` the package does not ship: one the build
/// creates is removed.
pub fn cargo_check(manifest: &Path, targets: &[&str]) -> std::io::Result<(bool, Vec<BuildError>)> {
    cargo_check_unsafe(manifest, targets).map(|(ok, errors, _)| (ok, errors))
}

/// [`cargo_check`], with the `unused_unsafe` reports apart (each with the range of its `unsafe`
/// keyword), warnings or denied: a build that fails only on those has no errors.
pub fn cargo_check_unsafe(
    manifest: &Path,
    targets: &[&str],
) -> std::io::Result<(bool, Vec<BuildError>, Vec<BuildError>)> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let lock = manifest.with_file_name("Cargo.lock");
    let had_lock = lock.exists();
    let out = Command::new(cargo)
        .args(["check", "--message-format", "json", "--quiet"])
        .args(targets)
        .arg("--manifest-path")
        .arg(manifest)
        .output()?;
    if !had_lock {
        // A lock file only appears next to a package that is its own workspace root.
        let _ = std::fs::remove_file(&lock);
    }
    let mut errors = Vec::new();
    let mut unused = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if value["reason"] != "compiler-message" {
            continue;
        }
        if value["message"]["code"]["code"] == "unused_unsafe" {
            let primary = value["message"]["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["is_primary"] == true);
            if let Some(span) = primary {
                if let (Some(file), Some(start), Some(end)) = (
                    span["file_name"].as_str(),
                    span["byte_start"].as_u64(),
                    span["byte_end"].as_u64(),
                ) {
                    unused.push(BuildError {
                        file: file.to_owned(),
                        range: start as usize..end as usize,
                        message: value["message"]["message"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    });
                }
            }
        }
        if value["message"]["level"] != "error"
            || value["message"]["code"]["code"] == "unused_unsafe"
        {
            // A denied `unused_unsafe` is among `unused` only: the fix can drop the `unsafe`.
            continue;
        }
        let message = value["message"]["rendered"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let spans = value["message"]["spans"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut any = false;
        for span in spans {
            let (Some(file), Some(start), Some(end)) = (
                span["file_name"].as_str(),
                span["byte_start"].as_u64(),
                span["byte_end"].as_u64(),
            ) else {
                continue;
            };
            any = true;
            errors.push(BuildError {
                file: file.to_owned(),
                range: start as usize..end as usize,
                message: message.clone(),
            });
        }
        if !any {
            errors.push(BuildError {
                file: String::new(),
                range: 0..0,
                message,
            });
        }
    }
    Ok((out.status.success(), errors, unused))
}

/// The statics (file, name) of `plan` that the errors point at (an error on a line one of their edits
/// wrote), each with the first line of the first such error. When the errors point at none, every
/// ported static is blamed.
pub fn blame(
    plan: &Plan,
    manifest: &Path,
    errors: &[BuildError],
) -> BTreeMap<(PathBuf, String), String> {
    let mut blamed = BTreeMap::new();
    let headline = |e: &BuildError| e.message.lines().next().unwrap_or_default().to_owned();
    for error in errors {
        let Some(path) = locate(manifest, &error.file) else {
            continue;
        };
        let Some((original, _)) = plan.files.get(&path) else {
            continue;
        };
        // Replay the edits of the file to learn where each static's edits landed in the new text.
        let Some(owned) = plan.file_edits.get(&path) else {
            continue;
        };
        let all: Vec<_> = owned.iter().map(|(_, e)| e.clone()).collect();
        let Some((new, ranges)) = edits::apply(original, &all) else {
            continue;
        };
        let line_span = |r: &std::ops::Range<usize>| {
            let start = new[..r.start.min(new.len())].matches('\n').count();
            let end = new[..r.end.min(new.len())].matches('\n').count();
            start..=end
        };
        let error_lines = line_span(&error.range);
        for (range, (owner, _)) in ranges.iter().zip(owned) {
            let Some(owner) = *owner else { continue };
            let lines = line_span(range);
            if lines.start() <= error_lines.end() && error_lines.start() <= lines.end() {
                let p = &plan.ported[owner];
                blamed
                    .entry((p.file.clone(), p.name.clone()))
                    .or_insert_with(|| headline(error));
            }
        }
    }
    if blamed.is_empty() {
        for p in &plan.ported {
            let first = errors.first().map(headline).unwrap_or_default();
            blamed.insert((p.file.clone(), p.name.clone()), first);
        }
    }
    blamed
}

/// After a build that passed with `plan` written: drops the `unsafe` of every block rustc now
/// reports unused (`now`) in a file the plan changed, unless it was reported before the fix
/// (`before`, on the original text), then checks the package again with `targets`. When that check
/// fails, the files go back as the plan wrote them. `built` says whether the build with `now` passed
/// (it fails when `unused_unsafe` is denied). Returns how many blocks lost their `unsafe`, or `None`
/// when the package does not build in the end.
pub fn remove_unused_unsafe(
    plan: &Plan,
    manifest: &Path,
    targets: &[&str],
    before: &[BuildError],
    now: &[BuildError],
    built: bool,
) -> std::io::Result<Option<usize>> {
    // Per changed file: the offsets of the `unsafe` keywords to drop.
    let mut per_file: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
    for warning in now {
        let Some(path) = locate(manifest, &warning.file) else {
            continue;
        };
        let Some((original, _)) = plan.files.get(&path) else {
            continue;
        };
        let edits: Vec<edits::Edit> = plan
            .file_edits
            .get(&path)
            .map(|owned| owned.iter().map(|(_, e)| e.clone()).collect())
            .unwrap_or_default();
        let Some((_, new_ranges)) = edits::apply(original, &edits) else {
            continue;
        };
        let known = before
            .iter()
            .filter(|b| locate(manifest, &b.file).as_ref() == Some(&path))
            .any(
                // Where the reported keyword is in the written text, or the edit that rewrote it.
                |b| match written_offset(&edits, &new_ranges, b.range.start) {
                    Ok(at) => at == warning.range.start,
                    Err(edit) => edit.contains(&warning.range.start),
                },
            );
        if !known {
            per_file.entry(path).or_default().push(warning.range.start);
        }
    }
    let mut written: Vec<(PathBuf, String)> = Vec::new();
    let mut count = 0;
    let tails_scoped = super::krate::tails_scoped(manifest);
    for (path, at) in per_file {
        let text = std::fs::read_to_string(&path)?;
        let drops = super::unsafe_blocks::drop_unsafe(&text, &at, tails_scoped);
        if drops.is_empty() {
            continue;
        }
        let Some((new, _)) = edits::apply(&text, &drops) else {
            continue;
        };
        std::fs::write(&path, &new)?;
        count += drops.iter().filter(|d| at.contains(&d.range.start)).count();
        written.push((path, text));
    }
    if written.is_empty() {
        return Ok(built.then_some(0));
    }
    if !cargo_check(manifest, targets)?.0 {
        for (path, text) in &written {
            std::fs::write(path, text)?;
        }
        return Ok(built.then_some(0));
    }
    Ok(Some(count))
}

/// Where offset `at` of the original text is in the text `edits` wrote (`new_ranges` are their
/// ranges there, as [`edits::apply`] gives them): `Err` with the range an edit wrote when `at` lies
/// inside the range that edit replaced.
fn written_offset(
    edits: &[edits::Edit],
    new_ranges: &[std::ops::Range<usize>],
    at: usize,
) -> Result<usize, std::ops::Range<usize>> {
    if let Some(i) = edits
        .iter()
        .position(|e| e.range.start <= at && at < e.range.end)
    {
        return Err(new_ranges[i].clone());
    }
    let shift = edits
        .iter()
        .zip(new_ranges)
        .filter(|(e, _)| e.range.end <= at)
        .map(|(e, n)| n.len() as isize - e.range.len() as isize)
        .sum::<isize>();
    Ok((at as isize + shift).max(0) as usize)
}

/// After a failed build: puts back the `unsafe` of every block `plan` dropped it from in which
/// rustc reports an unsafe operation (E0133), in the files and in `plan`. Returns whether it put
/// any back (then the build is checked again, before any static is blamed).
pub fn put_back_unsafe(
    plan: &mut Plan,
    manifest: &Path,
    errors: &[BuildError],
) -> std::io::Result<bool> {
    let mut any = false;
    let files: Vec<PathBuf> = plan.dropped_unsafe.keys().cloned().collect();
    for path in files {
        let here: Vec<&BuildError> = errors
            .iter()
            .filter(|e| e.message.starts_with("error[E0133]"))
            .filter(|e| locate(manifest, &e.file).as_ref() == Some(&path))
            .collect();
        if here.is_empty() {
            continue;
        }
        let (Some((original, _)), Some(owned)) =
            (plan.files.get(&path), plan.file_edits.get(&path))
        else {
            continue;
        };
        let edits: Vec<edits::Edit> = owned.iter().map(|(_, e)| e.clone()).collect();
        let Some((_, new_ranges)) = edits::apply(original, &edits) else {
            continue;
        };
        let written = |at: usize| match written_offset(&edits, &new_ranges, at) {
            Ok(at) => at,
            Err(edit) => edit.start,
        };
        let blocks = plan.dropped_unsafe.get(&path).cloned().unwrap_or_default();
        let (back, kept): (Vec<_>, Vec<_>) = blocks.into_iter().partition(|d| {
            let range = written(d.block.start)..written(d.block.end);
            here.iter()
                .any(|e| range.start <= e.range.start && e.range.end <= range.end)
        });
        if back.is_empty() {
            continue;
        }
        let back_edits: Vec<&edits::Edit> = back.iter().flat_map(|d| &d.edits).collect();
        let remaining: Vec<(Option<usize>, edits::Edit)> = owned
            .iter()
            .filter(|(_, e)| !back_edits.contains(&e))
            .cloned()
            .collect();
        let all: Vec<edits::Edit> = remaining.iter().map(|(_, e)| e.clone()).collect();
        let Some((new, _)) = edits::apply(original, &all) else {
            continue;
        };
        std::fs::write(&path, &new)?;
        for d in &back {
            if let Some(p) = plan.ported.get_mut(d.owner) {
                p.edits
                    .retain(|(f, e)| !(f == &path && d.edits.contains(e)));
            }
        }
        let original = original.clone();
        plan.files.insert(path.clone(), (original, new));
        plan.file_edits.insert(path.clone(), remaining);
        plan.dropped_unsafe.insert(path, kept);
        any = true;
    }
    Ok(any)
}

fn locate(manifest: &Path, name: &str) -> Option<PathBuf> {
    if name.is_empty() {
        return None;
    }
    let given = Path::new(name);
    if given.is_absolute() {
        return Some(super::krate::absolute(given));
    }
    let mut dir = manifest.parent();
    while let Some(d) = dir {
        let candidate = d.join(given);
        if candidate.exists() {
            return Some(super::krate::absolute(&candidate));
        }
        dir = d.parent();
    }
    None
}
