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
    // Statics an earlier `--fix` restored after a failed build, in files unchanged since: not
    // retried (a second `--fix` changes nothing and builds nothing).
    options.exclude = remembered::load(&targets);
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
    let mut target_sets: BTreeMap<PathBuf, &'static [&'static str]> = BTreeMap::new();
    // The `unused_unsafe` reports each package had before the fix.
    let mut unused_before = BTreeMap::new();
    if !run.no_verify {
        for manifest in &manifests {
            match verify::targets_that_build(manifest)? {
                Some(set) => {
                    target_sets.insert(manifest.clone(), set);
                    let (_, _, unused) = verify::cargo_check_unsafe(manifest, set)?;
                    unused_before.insert(manifest.clone(), unused);
                }
                None => bail!(
                    "`cargo check` fails on {} before any fix; make it build first, or run with \
                     `--no-verify`",
                    crate::diag::display_path(manifest)
                ),
            }
        }
    }
    current.write()?;
    if !run.no_verify {
        let mut restored = BTreeMap::new();
        let mut round = 0;
        loop {
            let mut blamed = BTreeMap::new();
            let mut put_back = false;
            for manifest in manifests_of(&current) {
                let set = target_sets.get(&manifest).copied().unwrap_or(&[]);
                let (ok, errors, unused) = verify::cargo_check_unsafe(&manifest, set)?;
                if !ok && !errors.is_empty() {
                    // An `unsafe` the plan dropped that was needed goes back before anything is
                    // blamed.
                    if verify::put_back_unsafe(&mut current, &manifest, &errors)? {
                        put_back = true;
                    } else {
                        blamed.extend(verify::blame(&current, &manifest, &errors));
                    }
                    continue;
                }
                // It builds, but for `unsafe` blocks the rewrite left unused (when denied): those
                // lose their `unsafe`, or else the statics whose edits they sit in are blamed.
                let before = unused_before.get(&manifest).map_or(&[][..], Vec::as_slice);
                if verify::remove_unused_unsafe(&current, &manifest, set, before, &unused, ok)?
                    .is_none()
                {
                    blamed.extend(verify::blame(&current, &manifest, &unused));
                }
            }
            if put_back && blamed.is_empty() {
                continue;
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
    if !options.exclude.is_empty() {
        remembered::save(&options.exclude);
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

/// Statics restored after a failed build, remembered next to the build (`target/vnet-lint/`) with a
/// hash of their file's text: a later `--fix` on the same text leaves them alone without building.
mod remembered {
    use super::super::Target;
    use std::collections::HashMap;
    use std::hash::{Hash, Hasher};
    use std::path::{Path, PathBuf};

    fn store(file: &Path) -> Option<PathBuf> {
        let manifest = super::package_manifest(file)?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| manifest.with_file_name("target"));
        // One file per package: several packages may share a target directory.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        manifest.hash(&mut hasher);
        Some(
            target
                .join("vnet-lint")
                .join(format!("fix-restored-{:016x}.tsv", hasher.finish())),
        )
    }

    fn text_hash(file: &Path) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::fs::read(file).unwrap_or_default().hash(&mut hasher);
        hasher.finish()
    }

    /// The remembered statics of the files of `targets` whose text is unchanged.
    pub fn load(targets: &[Target]) -> HashMap<(PathBuf, String), String> {
        let mut out = HashMap::new();
        let mut seen = Vec::new();
        for target in targets {
            let file = super::super::krate::absolute(&target.path);
            let Some(store) = store(&file) else { continue };
            if seen.contains(&store) {
                continue;
            }
            seen.push(store.clone());
            let Ok(text) = std::fs::read_to_string(&store) else {
                continue;
            };
            for line in text.lines() {
                let mut parts = line.splitn(4, '\t');
                let (Some(path), Some(name), Some(hash), Some(reason)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let path = PathBuf::from(path);
                if hash.parse::<u64>().ok() == Some(text_hash(&path)) {
                    out.insert((path, name.to_owned()), reason.to_owned());
                }
            }
        }
        out
    }

    /// Remembers `exclude` against the files as `plan` left them.
    pub fn save(exclude: &HashMap<(PathBuf, String), String>) {
        let mut by_store: HashMap<PathBuf, String> = HashMap::new();
        for ((path, name), reason) in exclude {
            let Some(store) = store(path) else { continue };
            let line = format!(
                "{}\t{name}\t{}\t{}\n",
                path.display(),
                text_hash(path),
                reason.replace(['\t', '\n'], " ")
            );
            by_store.entry(store).or_default().push_str(&line);
        }
        for (store, text) in by_store {
            if let Some(dir) = store.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::write(store, text);
        }
    }
}
