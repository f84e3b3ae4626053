//! The `--fix`/`--diff` flow of `check`: plan from a report, preview or write, verify the build and
//! restore what broke it, print the summary.

use super::{plan, summary, targets, verify, FixOptions, Plan};
use crate::diag::Report;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct FixRun {
    /// `--fix`: write the changes.
    pub fix: bool,
    /// `--diff`: print the changes as a unified diff and write nothing.
    pub diff: bool,
    /// `--unsafe-fixes`.
    pub unsafe_fixes: bool,
    /// `--allow-dirty`.
    pub allow_dirty: bool,
    /// `--no-verify`.
    pub no_verify: bool,
    /// `--runtime-path`: where an added `vnet-runtime` dependency points.
    pub runtime_path: Option<PathBuf>,
}

/// Rounds of build-and-restore before giving up and restoring everything.
const MAX_ROUNDS: usize = 4;

/// Further `--fix` rounds for statics whose uses sat inside other statics' rewritten uses (one
/// round per level of nesting).
pub const MAX_NESTED_ROUNDS: usize = 4;

/// What one fix round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Whether anything was (or would be) changed.
    pub changed: bool,
    /// Whether statics were left alone only because a use of each lies inside a rewritten use of
    /// another: after writing, another round (on a fresh report) ports them.
    pub again: bool,
}

/// Runs the fix for the findings of `report`. Writes the diff (with `--diff`) to `out` and the summary
/// to `err`.
pub fn run(
    report: &Report,
    run: &FixRun,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome> {
    let targets = targets(report);
    let mut options = FixOptions {
        unsafe_fixes: run.unsafe_fixes,
        runtime_path: run.runtime_path.as_ref().map(|p| {
            super::krate::absolute(p)
                .to_string_lossy()
                .replace('\\', "/")
        }),
        ..FixOptions::default()
    };
    let mut current = plan(&targets, &options);
    if run.diff || !run.fix {
        write!(out, "{}", current.diff())?;
        write!(err, "{}", summary(&current, false))?;
        return Ok(Outcome {
            changed: !current.is_empty(),
            again: false,
        });
    }
    if current.is_empty() {
        write!(err, "{}", summary(&current, true))?;
        return Ok(Outcome::default());
    }
    let manifests = manifests_of(&current);
    if !run.allow_dirty {
        let mut dirty = Vec::new();
        for manifest in &manifests {
            if let Some(dir) = manifest.parent() {
                dirty.extend(verify::dirty_files(dir));
            }
        }
        if !dirty.is_empty() {
            dirty.sort();
            dirty.dedup();
            bail!(
                "the working directory has uncommitted changes; commit or stash them, or run with \
                 `--allow-dirty`:\n  {}",
                dirty.join("\n  ")
            );
        }
    }
    if !run.no_verify {
        for manifest in &manifests {
            let (ok, _) = verify::cargo_check(manifest)?;
            if !ok {
                bail!(
                    "`cargo check --all-targets` fails on {} before any fix; make it build first, or \
                     run with `--no-verify`",
                    crate::diag::display_path(manifest)
                );
            }
        }
    }
    current.write()?;
    if !run.no_verify {
        let mut restored = BTreeMap::new();
        let mut round = 0;
        loop {
            let mut blamed = BTreeMap::new();
            for manifest in manifests_of(&current) {
                let (ok, errors) = verify::cargo_check(&manifest)?;
                if !ok {
                    blamed.extend(verify::blame(&current, &manifest, &errors));
                }
            }
            if blamed.is_empty() {
                break;
            }
            current.restore()?;
            round += 1;
            for (key, why) in blamed {
                restored.entry(key).or_insert(why);
            }
            if round >= MAX_ROUNDS {
                writeln!(
                    err,
                    "the build still failed after restoring {} statics; every file is restored",
                    restored.len()
                )?;
                current = Plan::default();
                break;
            }
            options.exclude = restored
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            current = plan(&targets, &options);
            current.write()?;
        }
    }
    write!(err, "{}", summary(&current, true))?;
    Ok(Outcome {
        changed: !current.is_empty(),
        again: !current.is_empty() && current.has_nested_left(),
    })
}

/// The package manifests of the files a plan changes.
fn manifests_of(plan: &Plan) -> Vec<PathBuf> {
    let mut manifests: Vec<PathBuf> = Vec::new();
    for path in plan.files.keys().chain(plan.manifests.keys()) {
        if let Some(manifest) = package_manifest(path) {
            if !manifests.contains(&manifest) {
                manifests.push(manifest);
            }
        }
    }
    manifests
}

fn package_manifest(file: &Path) -> Option<PathBuf> {
    if file.file_name().is_some_and(|n| n == "Cargo.toml") {
        return Some(file.to_path_buf());
    }
    let mut dir = file.parent();
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[package]")) {
            return Some(manifest);
        }
        dir = d.parent();
    }
    None
}
