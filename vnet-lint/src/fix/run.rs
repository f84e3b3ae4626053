//! The `--fix`/`--diff` flow of `check`: plan from a report, write (or, for `--diff`, apply to an
//! in-memory overlay), verify the build and restore what broke it, in rounds until no static waits
//! for one; then the diff and the summary.

use super::{plan, summary, targets, verify, FixOptions, Plan, Target};
use crate::diag::Report;
use crate::discover::overlay::Overlay;
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

/// Further rounds for statics whose uses sat inside other statics' rewritten uses (one round per
/// level of nesting), for `--fix` and `--diff` alike.
pub const MAX_NESTED_ROUNDS: usize = 4;

/// What a fix run did, over all its rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Whether anything was (or would be) changed.
    pub changed: bool,
    /// Whether, after the last round [`MAX_NESTED_ROUNDS`] allow, statics were still left alone only
    /// because a use of each lies inside a rewritten use of another (another `--fix` ports them).
    pub again: bool,
    /// Whether statics were left alone only for want of `--unsafe-fixes` (fixable with it).
    pub needs_unsafe: bool,
}

/// Runs the fix for the findings of `report`, in rounds. A static left alone only because a use of
/// it lies inside another static's rewritten use ([`Plan::has_nested_left`]) is ported by a further
/// round (up to [`MAX_NESTED_ROUNDS`]), planned on a fresh report of the files as the rounds before
/// left them: `relint` lints them, reading through the overlay it is given. `--fix` writes each
/// round to disk (the overlay stays empty) and verifies the build; `--diff` (or neither flag)
/// applies each round to the overlay, writes nothing and builds nothing, and prints one unified diff
/// per file, from the file as it is to the file as the last round leaves it. Writes the diff to
/// `out` and one summary of all the rounds to `err`.
pub fn run(
    report: &Report,
    run: &FixRun,
    relint: &mut dyn FnMut(&Overlay) -> Report,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome> {
    let mut options = FixOptions {
        unsafe_fixes: run.unsafe_fixes,
        runtime_path: run.runtime_path.as_ref().map(|p| {
            super::krate::absolute(p)
                .to_string_lossy()
                .replace('\\', "/")
        }),
        ..FixOptions::default()
    };
    let preview = run.diff || !run.fix;
    let mut disk = (!preview).then(|| Disk::new(run));
    let mut overlay = Overlay::default();
    // Every round's ported statics, and each file from its text before the first round to its text
    // after the last.
    let mut done = Plan::default();
    let mut fresh: Option<Report> = None;
    let mut again = false;
    for round in 0..=MAX_NESTED_ROUNDS {
        if round > 0 {
            if !again {
                break;
            }
            fresh = Some(relint(&overlay));
        }
        let targets = targets(fresh.as_ref().unwrap_or(report));
        options.overlay = overlay.clone();
        // Statics an earlier `--fix` restored after a failed build, in files unchanged since: not
        // retried (a second `--fix` changes nothing and builds nothing).
        options.exclude = remembered::load(&targets, &overlay);
        let mut current = plan(&targets, &options);
        match &mut disk {
            None => current.apply_to(&mut overlay),
            Some(disk) => current = disk.write(current, &targets, &mut options, err)?,
        }
        again = !current.is_empty() && current.has_nested_left();
        absorb(&mut done, current);
    }
    if preview {
        write!(out, "{}", done.diff())?;
    }
    write!(err, "{}", summary(&done, !preview))?;
    Ok(Outcome {
        changed: !done.is_empty(),
        again,
        needs_unsafe: done.left.iter().any(|l| l.needs_unsafe),
    })
}

/// Adds a round to the rounds before it: its ported statics, its texts as the files' new texts (the
/// first round's originals stay), and its statics left alone (a fresh report flags again every
/// static an earlier round left, so the last round's list is the run's). Lines stay those of the
/// files before the first round: a static an earlier round left keeps that round's line. Per-round
/// data (the edits by file) is not kept.
fn absorb(done: &mut Plan, mut round: Plan) {
    for (all, changed) in [
        (&mut done.files, std::mem::take(&mut round.files)),
        (&mut done.manifests, std::mem::take(&mut round.manifests)),
    ] {
        for (path, (old, new)) in changed {
            all.entry(path).or_insert((old, String::new())).1 = new;
        }
    }
    // The line an earlier round gave the static named `name` in `file`, when exactly one static
    // there has that name in both rounds.
    let earlier = |file: &Path, name: &str, code: &str| {
        let same = |l: &&super::LeftAlone| l.file == file && l.name == name && l.code == code;
        let mut before = done.left.iter().filter(same);
        let now = round
            .ported
            .iter()
            .filter(|p| p.file == file && p.name == name)
            .count()
            + round.left.iter().filter(same).count();
        match (before.next(), before.next(), now) {
            (Some(l), None, 1) => Some(l.line),
            _ => None,
        }
    };
    if !done.left.is_empty() {
        let ported: Vec<Option<usize>> = round
            .ported
            .iter()
            .map(|p| earlier(&p.file, &p.name, p.code))
            .collect();
        let left: Vec<Option<usize>> = round
            .left
            .iter()
            .map(|l| earlier(&l.file, &l.name, l.code))
            .collect();
        for (p, line) in round.ported.iter_mut().zip(ported) {
            p.line = line.unwrap_or(p.line);
        }
        for (l, line) in round.left.iter_mut().zip(left) {
            l.line = line.unwrap_or(l.line);
        }
        round.left.sort();
    }
    done.ported.extend(round.ported);
    done.left = round.left;
}

/// `--fix`'s rounds on disk: the clean-tree check (first round), the build before and after
/// writing, and the restores.
struct Disk<'a> {
    run: &'a FixRun,
    /// Whether a round has been written (later rounds find the tree dirty with the fix's edits).
    wrote: bool,
    /// Per package manifest, the targets that built before the fix (checked once).
    target_sets: BTreeMap<PathBuf, &'static [&'static str]>,
    /// Per package manifest, the `unused_unsafe` reports it had before the current round.
    unused_before: BTreeMap<PathBuf, Vec<verify::BuildError>>,
}

impl<'a> Disk<'a> {
    fn new(run: &'a FixRun) -> Self {
        Disk {
            run,
            wrote: false,
            target_sets: BTreeMap::new(),
            unused_before: BTreeMap::new(),
        }
    }

    /// Writes `current`, builds, and restores the statics the compiler blames (replanning without
    /// them); returns the plan as finally written.
    fn write(
        &mut self,
        mut current: Plan,
        targets: &[Target],
        options: &mut FixOptions,
        err: &mut dyn Write,
    ) -> Result<Plan> {
        let run = self.run;
        if current.is_empty() {
            return Ok(current);
        }
        let manifests = manifests_of(&current);
        if !run.allow_dirty && !self.wrote {
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
                    "the working directory has uncommitted changes; commit or stash them, or run \
                     with `--allow-dirty`:\n  {}",
                    dirty.join("\n  ")
                );
            }
        }
        if !run.no_verify {
            for manifest in &manifests {
                let set = match self.target_sets.get(manifest) {
                    Some(set) => *set,
                    None => match verify::targets_that_build(manifest)? {
                        Some(set) => {
                            self.target_sets.insert(manifest.clone(), set);
                            set
                        }
                        None => bail!(
                            "`cargo check` fails on {} before any fix; make it build first, or run \
                             with `--no-verify`",
                            crate::diag::display_path(manifest)
                        ),
                    },
                };
                // Each round's reports are of the text the round starts from (what the rounds
                // before wrote), where its edits' offsets hold.
                let (_, _, unused) = verify::cargo_check_unsafe(manifest, set)?;
                self.unused_before.insert(manifest.clone(), unused);
            }
        }
        current.write()?;
        self.wrote = true;
        if !run.no_verify {
            let mut restored = BTreeMap::new();
            let mut round = 0;
            loop {
                let mut blamed = BTreeMap::new();
                let mut put_back = false;
                for manifest in manifests_of(&current) {
                    let set = self.target_sets.get(&manifest).copied().unwrap_or(&[]);
                    let (ok, errors, unused) = verify::cargo_check_unsafe(&manifest, set)?;
                    if !ok && !errors.is_empty() {
                        // An `unsafe` the plan dropped that was needed goes back before anything
                        // is blamed.
                        if verify::put_back_unsafe(&mut current, &manifest, &errors)? {
                            put_back = true;
                        } else {
                            blamed.extend(verify::blame(&current, &manifest, &errors));
                        }
                        continue;
                    }
                    // It builds, but for `unsafe` blocks the rewrite left unused (when denied):
                    // those lose their `unsafe`, or else the statics whose edits they sit in are
                    // blamed.
                    let before = self
                        .unused_before
                        .get(&manifest)
                        .map_or(&[][..], Vec::as_slice);
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
                current = plan(targets, options);
                current.write()?;
            }
        }
        if !options.exclude.is_empty() {
            remembered::save(&options.exclude);
        }
        Ok(current)
    }
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
    use crate::discover::overlay::Overlay;
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

    fn text_hash(file: &Path, overlay: &Overlay) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        overlay.read(file).unwrap_or_default().hash(&mut hasher);
        hasher.finish()
    }

    /// The remembered statics of the files of `targets` whose text (read through `overlay`) is
    /// unchanged.
    pub fn load(targets: &[Target], overlay: &Overlay) -> HashMap<(PathBuf, String), String> {
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
                if hash.parse::<u64>().ok() == Some(text_hash(&path, overlay)) {
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
                text_hash(path, &Overlay::default()),
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
