//! `cargo vnet-lint check --fix`: the mechanical port.
//!
//! Input: the findings of a lint run (rule code, file, byte range) — nothing else of the lint. From
//! them: [`decl`] finds each flagged static and decides what it becomes and how safe that is,
//! [`uses`] rewrites every use across the crate ([`krate`]), [`unsafe_blocks`] drops the `unsafe`
//! of blocks the rewrite leaves without an unsafe operation, [`rewrite`] the declaration and the
//! import, [`edits`] applies byte-range edits to the original text, [`cargo_toml`] adds the runtime
//! dependency, [`verify`] refuses dirty trees and builds after writing, [`diff`] previews.
//!
//! A static's edits are applied all together or not at all: a use that cannot be rewritten leaves the
//! whole static alone, with the reason. Safety follows ruff: **safe** fixes keep what the code does
//! apart from the port itself; **unsafe** ones change it (a `static mut` becomes an atomic or a lock,
//! `lazy_static!` a `LazyLock`, a public static's name changes) and need `--unsafe-fixes`.

pub mod cargo_toml;
pub mod decl;
pub mod diff;
pub mod edits;
pub mod groups;
pub mod krate;
pub mod reach;
pub mod rewrite;
pub mod run;
pub mod scope;
pub mod tests;
pub mod unsafe_blocks;
pub mod uses;
pub mod verify;

use crate::diag::Report;
use crate::rules::{id, Rule};
use decl::{Decl, Kind, Refusal};
use edits::Edit;
use krate::Krate;
use rewrite::Runtime;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// How safe a fix is (ruff's terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// Keeps what the code does apart from the port; applied by `--fix`.
    Safe,
    /// Changes what the code does; applied only with `--unsafe-fixes`.
    Unsafe,
    /// No fix is offered.
    Unavailable,
}

impl Applicability {
    /// `safe`, `unsafe` or `none`, as JSON and SARIF spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::Unavailable => "none",
        }
    }
}

/// The applicability of the fix a rule offers (`--fix` may still leave a finding alone, with a reason).
///
/// ```
/// use vnet_lint::fix::{applicability_of, Applicability};
/// use vnet_lint::rules::id;
/// assert_eq!(applicability_of(id::INTERIOR_MUTABLE_STATIC), Applicability::Safe);
/// assert_eq!(applicability_of(id::THREAD_LOCAL_GLOBAL), Applicability::Unavailable);
/// ```
pub fn applicability_of(rule: &Rule) -> Applicability {
    if rule.code == id::INTERIOR_MUTABLE_STATIC.code {
        Applicability::Safe
    } else if rule.code == id::STATIC_MUT.code || rule.code == id::LAZY_STATIC_GLOBAL.code {
        Applicability::Unsafe
    } else {
        Applicability::Unavailable
    }
}

/// The applicability of the fix of each diagnostic of `report` as `plan` (planned with
/// `--unsafe-fixes`) decides it, in the report's order: the ported static's own (a bare `Once`, a
/// `pub` static: unsafe), `none` for one left alone, the rule's for findings the plan did not see.
pub fn applicability_per_diagnostic(report: &Report, plan: &Plan) -> Vec<Applicability> {
    report
        .diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if let Some(p) = plan.ported.iter().find(|p| p.diagnostic == Some(i)) {
                return p.applicability;
            }
            let path = krate::absolute(&report.db.get(d.finding.file).path);
            let line = d
                .finding
                .span
                .as_ref()
                .map(|s| line_of(&report.db.get(d.finding.file).text, s.start));
            let left = plan.left.iter().any(|l| {
                l.code == d.finding.rule.code
                    && krate::absolute(&l.file) == path
                    && Some(l.line) == line
            });
            if left {
                Applicability::Unavailable
            } else {
                applicability_of(d.finding.rule)
            }
        })
        .collect()
}

/// One finding to fix.
#[derive(Clone, Debug)]
pub struct Target {
    /// The rule code.
    pub code: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Byte range of the flagged item's primary label.
    pub span: Range<usize>,
    /// Index of the diagnostic in the report it came from.
    pub diagnostic: Option<usize>,
}

/// The targets of every globals finding of `report`.
pub fn targets(report: &Report) -> Vec<Target> {
    report
        .diagnostics
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            [
                id::STATIC_MUT.code,
                id::INTERIOR_MUTABLE_STATIC.code,
                id::LAZY_STATIC_GLOBAL.code,
                id::THREAD_LOCAL_GLOBAL.code,
            ]
            .contains(&d.finding.rule.code)
        })
        .filter_map(|(i, d)| {
            Some(Target {
                code: d.finding.rule.code,
                path: report.db.get(d.finding.file).path.clone(),
                span: d.finding.span.clone()?,
                diagnostic: Some(i),
            })
        })
        .collect()
}

/// Options of a fix run.
#[derive(Clone, Debug, Default)]
pub struct FixOptions {
    /// Apply unsafe fixes too.
    pub unsafe_fixes: bool,
    /// Statics never to port (restored after a failed build): (file, name) → the compiler's error.
    pub exclude: HashMap<(PathBuf, String), String>,
    /// Path for a runtime dependency the fix adds (instead of a version from crates.io).
    pub runtime_path: Option<String>,
    /// Plan only what decides each finding's applicability, as `--message-format json|sarif` need:
    /// the crate's tests are not switched to `#[vnet_test]` (that edit changes no applicability).
    pub applicability_only: bool,
    /// Texts read instead of the files on disk (the files as earlier rounds of `check --diff`
    /// would have written them); empty: the disk.
    pub overlay: crate::discover::overlay::Overlay,
}

/// A static the plan ports.
#[derive(Clone, Debug)]
pub struct Ported {
    /// Its name.
    pub name: String,
    /// Its file.
    pub file: PathBuf,
    /// One-based line.
    pub line: usize,
    /// The rule code.
    pub code: &'static str,
    /// How safe the fix is.
    pub applicability: Applicability,
    /// Its edits, per file, on the original text.
    pub edits: Vec<(PathBuf, Edit)>,
    /// The diagnostic it fixes.
    pub diagnostic: Option<usize>,
}

/// A static the plan leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LeftAlone {
    /// Its file.
    pub file: PathBuf,
    /// One-based line.
    pub line: usize,
    /// Its name.
    pub name: String,
    /// The rule code.
    pub code: &'static str,
    /// Why.
    pub reason: String,
    /// Whether `--unsafe-fixes` would port it.
    pub needs_unsafe: bool,
}

impl LeftAlone {
    /// `decl` left alone, with why and whether `--unsafe-fixes` would port it.
    fn of(decl: &Decl, reason: String, needs_unsafe: bool) -> Self {
        LeftAlone {
            file: decl.file.clone(),
            line: decl.line,
            name: decl.name.clone(),
            code: decl.code,
            reason,
            needs_unsafe,
        }
    }
}

/// How the reason of a static left alone because one of its uses lies inside another static's
/// rewritten use starts (`--fix` ports it in a further round, see [`Plan::has_nested_left`]).
const NESTED_USE: &str = "a use of it lies inside a rewritten use of";

/// What a fix run would do.
#[derive(Debug, Default)]
pub struct Plan {
    /// Statics ported.
    pub ported: Vec<Ported>,
    /// Statics left alone, with reasons.
    pub left: Vec<LeftAlone>,
    /// Per changed file: original and new text.
    pub files: BTreeMap<PathBuf, (String, String)>,
    /// Per changed manifest: original and new text.
    pub manifests: BTreeMap<PathBuf, (String, String)>,
    /// Per changed file: every edit applied, with the index in `ported` of the static it belongs to
    /// (`None` for shared edits: the import, a whole `lazy_static!` invocation).
    pub file_edits: BTreeMap<PathBuf, Vec<(Option<usize>, Edit)>>,
    /// Per changed file: the `unsafe` blocks whose `unsafe` the plan drops (their edits are among
    /// `file_edits`), so that the build check can put one back.
    pub dropped_unsafe: BTreeMap<PathBuf, Vec<unsafe_blocks::Dropped>>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.manifests.is_empty()
    }

    /// Whether a static was left alone only because a use of it lies inside another static's
    /// rewritten use: once this plan is written, a new plan ports it (`--fix` runs rounds until
    /// none is left, so that a second run changes nothing).
    pub fn has_nested_left(&self) -> bool {
        self.left.iter().any(|l| l.reason.starts_with(NESTED_USE))
    }

    /// The unified diff of every change.
    pub fn diff(&self) -> String {
        let mut out = String::new();
        for (path, (old, new)) in self.manifests.iter().chain(self.files.iter()) {
            out.push_str(&diff::unified(&crate::diag::display_path(path), old, new));
        }
        out
    }

    /// Makes `overlay` read every changed file as this plan would write it (`check --diff`'s rounds:
    /// the next round plans on these texts, and nothing is written).
    pub fn apply_to(&self, overlay: &mut crate::discover::overlay::Overlay) {
        for (path, (_, new)) in self.manifests.iter().chain(self.files.iter()) {
            overlay.insert(path, new.clone());
        }
    }

    /// Writes every changed file.
    pub fn write(&self) -> std::io::Result<()> {
        for (path, (_, new)) in self.manifests.iter().chain(self.files.iter()) {
            std::fs::write(path, new)?;
        }
        Ok(())
    }

    /// Writes every original text back.
    pub fn restore(&self) -> std::io::Result<()> {
        for (path, (old, _)) in self.manifests.iter().chain(self.files.iter()) {
            std::fs::write(path, old)?;
        }
        Ok(())
    }
}

/// Parses a text for the fix. Keeps the spans of earlier parses valid: the trees a plan keeps
/// ([`Krate::syntax`]) are read until the plan is done. A plan runs on a thread of its own, whose
/// span table goes with it.
pub(crate) fn parse(text: &str) -> syn::Result<syn::File> {
    crate::parse::parse_source_keeping_spans(text).map_err(|e| {
        e.unwrap_or_else(|| syn::Error::new(proc_macro2::Span::call_site(), "nested too deeply"))
    })
}

/// Stack of the thread planning runs on: parsing recurses, like the lint's workers.
const PLAN_STACK: usize = 64 << 20;

/// Runs `work` on a thread with a big stack; a panic there becomes `None`.
fn on_big_stack<T: Send>(work: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(PLAN_STACK)
            .spawn_scoped(scope, work)
            .ok()?
            .join()
            .ok()
    })
}

/// Plans the fix of `targets`, reading each crate from disk. Never panics: an internal failure plans
/// nothing and leaves every target alone with that reason.
pub fn plan(targets: &[Target], options: &FixOptions) -> Plan {
    on_big_stack(|| plan_here(targets, options)).unwrap_or_else(|| Plan {
        left: targets
            .iter()
            .map(|t| LeftAlone {
                file: t.path.clone(),
                line: 0,
                name: String::new(),
                code: t.code,
                reason: "internal error while planning the fix (please report it)".into(),
                needs_unsafe: false,
            })
            .collect(),
        ..Plan::default()
    })
}

fn plan_here(targets: &[Target], options: &FixOptions) -> Plan {
    let mut krates: Vec<(Krate, Vec<Target>)> = Vec::new();
    for target in targets {
        let path = krate::absolute(&target.path);
        let mut target = target.clone();
        target.path = path.clone();
        if let Some((_, list)) = krates.iter_mut().find(|(k, _)| k.files.contains_key(&path)) {
            list.push(target);
            continue;
        }
        // A file the package's module tree does not reach: a crate of its own, without reading the
        // package again.
        let manifest = krate::package_manifest(&path);
        let known = krates
            .iter()
            .find(|(k, _)| manifest.is_some() && k.manifest == manifest)
            .map(|(k, _)| Krate::alone_in(&path, k, &options.overlay));
        krates.push((
            known.unwrap_or_else(|| Krate::around(&path, &options.overlay)),
            vec![target],
        ));
    }
    let mut plan = Plan::default();
    for (krate, targets) in &krates {
        plan_crate(krate, targets, options, &mut plan);
    }
    plan.left.sort();
    plan
}

/// Plans the fix of `targets` in one crate.
pub fn plan_crate(krate: &Krate, targets: &[Target], options: &FixOptions, plan: &mut Plan) {
    // Every pass below reads the trees of `krate.syntax`, parsed at most once each.
    let left_before = plan.left.len();
    let (runtime, manifest_edit) = runtime_for(krate, options);
    let mut decls: Vec<(Decl, Option<usize>)> = Vec::new();
    let mut seen = BTreeSet::new();
    let flagged = flagged_names(krate, targets);
    for target in targets {
        match find_decl_among(krate, target, &flagged) {
            Ok(decl) => {
                if seen.insert((decl.file.clone(), decl.item.start)) {
                    decls.push((decl, target.diagnostic));
                }
            }
            Err(refusal) => plan.left.push(LeftAlone {
                file: target.path.clone(),
                line: refusal.line,
                name: refusal.name,
                code: target.code,
                reason: refusal.reason,
                needs_unsafe: false,
            }),
        }
    }
    // Public statics of a library that other packages of the workspace name stay: the fix rewrites
    // one crate.
    let named_elsewhere = match (&krate.manifest, &krate.name) {
        (Some(manifest), Some(name)) if krate.is_lib => {
            let public: Vec<String> = decls
                .iter()
                .filter(|(d, _)| d.is_pub)
                .map(|(d, _)| d.name.clone())
                .collect();
            if public.is_empty() {
                Vec::new()
            } else {
                krate::named_by_other_crates(manifest, name, &public, &options.overlay)
            }
        }
        _ => Vec::new(),
    };
    // Statics that a signal handler, a C callback or a thread-local's initializer reaches.
    // What each function reaches (through the crate's calls), read once for this crate: the
    // statics that a signal handler, a C callback or a thread-local's initializer reaches stay
    // process-wide, and coupled statics move together.
    let reach = reach::Reach::of(
        krate,
        &decls
            .iter()
            .map(|(d, _)| d.name.clone())
            .chain(
                plan.left[left_before..]
                    .iter()
                    .filter(|l| l.code != id::THREAD_LOCAL_GLOBAL.code && !l.name.is_empty())
                    .map(|l| l.name.clone()),
            )
            .collect(),
    );
    let process_wide = reach.process_wide();
    let mut candidates: Vec<(Decl, Option<usize>)> = Vec::new();
    for (mut decl, diagnostic) in decls {
        if krate.std_feature.is_some() && decl.kind == Kind::Lock {
            // No `Mutex` without `std`: the value moves as it is, with the code's own protocol.
            decl.kind = Kind::Cell;
        }
        // Field by field: the closure must not borrow `decl.applicability`, set below.
        let mut leave = |reason: String, needs_unsafe: bool| {
            plan.left.push(LeftAlone {
                file: decl.file.clone(),
                line: decl.line,
                name: decl.name.clone(),
                code: decl.code,
                reason,
                needs_unsafe,
            })
        };
        if krate.no_std && krate.std_feature.is_none() {
            leave(
                "the crate is always `no_std` (`#![no_std]`), and vnet instances need `std`; a crate \
                 with `#![cfg_attr(not(feature = \"std\"), no_std)]` is ported in its `std` build"
                    .into(),
                false,
            );
            continue;
        }
        if let (Some(feature), Kind::Lazy) = (&krate.std_feature, &decl.kind) {
            leave(
                format!(
                    "the crate also builds without `std` (feature `{feature}` off), where \
                     `LazyLock` does not exist"
                ),
                false,
            );
            continue;
        }
        if let Some(error) = options.exclude.get(&(decl.file.clone(), decl.name.clone())) {
            leave(
                format!("restored: with it ported, `cargo check` failed at its edits ({error})"),
                false,
            );
            continue;
        }
        if let Some(why) = process_wide.get(&decl.name) {
            leave(why.clone(), false);
            continue;
        }
        let public = krate.is_lib
            && decl.is_pub
            && decl.fn_body.is_none()
            && !decl.in_inline_mod
            && krate.files.get(&decl.file).is_some_and(|f| f.public);
        if let Some((_, other)) = named_elsewhere
            .iter()
            .find(|(name, _)| public && name == &decl.name)
        {
            leave(
                format!(
                    "a `pub` static named from another crate ({}), which the fix does not rewrite",
                    crate::diag::display_path(other)
                ),
                false,
            );
            continue;
        }
        if public {
            decl.applicability = Applicability::Unsafe;
        }
        if decl.applicability == Applicability::Unsafe && !options.unsafe_fixes {
            let why = match decl.kind {
                Kind::Atomic(a) => format!("unsafe fix: `static mut` becomes `{a}` (its updates become atomic)"),
                Kind::Lock => "unsafe fix: `static mut` becomes a `Mutex` (uses take the lock)".into(),
                Kind::Cell => "unsafe fix: `static mut` becomes a per-instance `StaticMut`".into(),
                Kind::UnmutAtomic => "unsafe fix: `static mut` loses `mut`".into(),
                Kind::Lazy => "unsafe fix: `lazy_static!` becomes `LazyLock` (initialized once per instance)".into(),
                Kind::Plain if public => "unsafe fix: a `pub` static of a library; other crates naming it must use the accessor".into(),
                Kind::Plain => "unsafe fix: a `Once` guards other state, which then initializes once per instance; port what it guards too".into(),
            };
            leave(format!("{why}; run with `--unsafe-fixes`"), true);
            continue;
        }
        candidates.push((decl, diagnostic));
    }
    // Rewrite uses; drop the statics with a refusal; then drop those whose edits overlap an accepted
    // static's, until nothing changes.
    let only: Vec<Decl> = candidates.iter().map(|(d, _)| d.clone()).collect();
    let mut use_edits = uses::rewrite_uses(krate, &only);
    // A `static mut` whose uses a lock cannot hold (a borrow outlives the expression, a `&mut`
    // goes to a function) moves as it is, with its code's own protocol.
    let retry: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].0.kind == Kind::Lock && use_edits[i].refusal.is_some())
        .collect();
    if !retry.is_empty() {
        for &i in &retry {
            candidates[i].0.kind = Kind::Cell;
        }
        let again: Vec<Decl> = retry.iter().map(|&i| candidates[i].0.clone()).collect();
        for (&i, edits) in retry.iter().zip(uses::rewrite_uses(krate, &again)) {
            use_edits[i] = edits;
        }
    }
    type Accepted = (Decl, Option<usize>, Vec<(PathBuf, Edit)>);
    let mut accepted: Vec<Accepted> = Vec::new();
    // The path expressions each static's edits rewrite, by (file, item start).
    type Paths = Vec<(PathBuf, Range<usize>)>;
    let mut rewritten_paths: HashMap<(PathBuf, usize), Paths> = HashMap::new();
    for ((decl, diagnostic), ue) in candidates.into_iter().zip(use_edits.drain(..)) {
        if let Some(reason) = ue.refusal {
            plan.left.push(LeftAlone::of(&decl, reason, false));
            continue;
        }
        rewritten_paths.insert((decl.file.clone(), decl.item.start), ue.paths);
        let text = &krate.files[&decl.file].text;
        let mut all: Vec<(PathBuf, Edit)> = rewrite::decl_edits(&decl, text, &runtime)
            .into_iter()
            .map(|e| (decl.file.clone(), e))
            .collect();
        all.extend(ue.edits);
        if krate.std_feature.is_some() {
            // The same source builds without `std`: atomics come from `core`.
            for (_, edit) in &mut all {
                edit.text = edit
                    .text
                    .replace("std::sync::atomic::", "core::sync::atomic::");
            }
        }
        let clash = accepted.iter().find(|(_, _, other)| {
            all.iter().any(|(f, e)| {
                other
                    .iter()
                    .any(|(g, o)| f == g && e.overlaps(o) && !is_lazy_pair(e, o))
            })
        });
        if let Some((other, _, _)) = clash {
            plan.left.push(LeftAlone::of(&decl, format!(
                    "{NESTED_USE} `{}` in the same expression; `--fix` ports it in a further round, \
                     once that use is rewritten",
                    other.name
                ), false));
            continue;
        }
        if all
            .iter()
            .filter(|(f, _)| f == &decl.file)
            .any(|(_, e)| e.range.end > text.len())
        {
            continue;
        }
        accepted.push((decl, diagnostic, all));
    }
    let accepted = keep_groups_whole(krate, &reach, accepted, left_before, plan);
    if accepted.is_empty() {
        return;
    }
    // Per file: the edits of every accepted static, `lazy_static!` invocations whose items all go
    // replaced whole, and the import of the attribute.
    let mut per_file: BTreeMap<PathBuf, Vec<(Option<usize>, Edit)>> = BTreeMap::new();
    let mut whole: Vec<(PathBuf, Range<usize>)> = Vec::new();
    for (decl, _, _) in &accepted {
        if let Some(lazy) = &decl.lazy {
            let siblings: Vec<&Decl> = accepted
                .iter()
                .map(|(d, _, _)| d)
                .filter(|d| {
                    d.file == decl.file
                        && d.lazy
                            .as_ref()
                            .is_some_and(|l| l.invocation == lazy.invocation)
                })
                .collect();
            if siblings.len() == lazy.count
                && !whole.contains(&(decl.file.clone(), lazy.invocation.clone()))
            {
                let mut sorted = siblings.clone();
                sorted.sort_by_key(|d| d.item.start);
                let text = &krate.files[&decl.file].text;
                whole.push((decl.file.clone(), lazy.invocation.clone()));
                per_file
                    .entry(decl.file.clone())
                    .or_default()
                    .push((None, rewrite::whole_invocation(&sorted, text, &runtime)));
            }
        }
    }
    let first_ported = plan.ported.len();
    for (decl, diagnostic, all) in &accepted {
        let is_whole = decl
            .lazy
            .as_ref()
            .is_some_and(|l| whole.contains(&(decl.file.clone(), l.invocation.clone())));
        let mut own = Vec::new();
        for (file, edit) in all {
            let part_of_whole = is_whole
                && file == &decl.file
                && decl.lazy.as_ref().is_some_and(|l| {
                    edit.range.start >= l.invocation.start && edit.range.end <= l.invocation.end
                });
            if !part_of_whole {
                per_file
                    .entry(file.clone())
                    .or_default()
                    .push((Some(plan.ported.len()), edit.clone()));
            }
            own.push((file.clone(), edit.clone()));
        }
        plan.ported.push(Ported {
            name: decl.name.clone(),
            file: decl.file.clone(),
            line: decl.line,
            code: decl.code,
            applicability: decl.applicability,
            edits: own,
            diagnostic: *diagnostic,
        });
    }
    let import_files: BTreeSet<&PathBuf> = accepted
        .iter()
        .filter(|(d, _, _)| !d.in_inline_mod)
        .map(|(d, _, _)| &d.file)
        .collect();
    for file in import_files {
        if let Some(edit) = rewrite::import_edit(&krate.files[file].text, &runtime) {
            // First among edits at the same offset: the import goes above the item's `#[vnet]`.
            per_file
                .entry(file.clone())
                .or_default()
                .insert(0, (None, edit));
        }
    }
    // The crate's own tests run each in a fresh instance once its statics are per instance.
    if accepted
        .iter()
        .any(|(d, _, _)| !d.file.components().any(|c| c.as_os_str() == "tests"))
    {
        let switched = if options.applicability_only {
            Vec::new()
        } else {
            tests::switch_tests(krate, &runtime)
        };
        for (file, edit) in switched {
            per_file.entry(file).or_default().push((None, edit));
        }
        if let Some(root) = krate
            .lib_root
            .as_ref()
            .filter(|r| krate.files.contains_key(*r))
        {
            if let Some(edit) = rewrite::fallback_edit(&krate.files[root].text, &runtime) {
                // Right after the import (same offset when the file has no `use`), before any item's
                // `#[vnet]`.
                let edits = per_file.entry(root.clone()).or_default();
                let import = runtime.import();
                let at = usize::from(
                    edits
                        .first()
                        .is_some_and(|(owner, e)| owner.is_none() && e.text.contains(&import)),
                );
                edits.insert(at, (None, edit));
            }
        }
    }
    // Every `lazy_static!` of the crate replaced: its imports go, and (below) the dependency.
    let lazy_gone = match lazy_static_cleanup(krate, &whole) {
        Some(removals) => {
            for (file, edit) in removals {
                per_file.entry(file).or_default().push((None, edit));
            }
            true
        }
        None => false,
    };
    if krate.edition_2015 {
        for root in krate.files.values().filter(|f| f.module.is_empty()) {
            if let Some(edit) = rewrite::extern_crate_edit(&root.text, &runtime) {
                per_file
                    .entry(root.path.clone())
                    .or_default()
                    .insert(0, (None, edit));
            }
        }
    }
    // `unsafe { }` blocks left without an unsafe operation lose their `unsafe`.
    let uses = unsafe_blocks::by_file(accepted.iter().enumerate().flat_map(|(k, (decl, _, _))| {
        let still_unsafe = decl.kind == Kind::Cell;
        rewritten_paths
            .remove(&(decl.file.clone(), decl.item.start))
            .unwrap_or_default()
            .into_iter()
            .map(move |(file, path)| {
                let owner = first_ported + k;
                (
                    file,
                    unsafe_blocks::RewrittenUse {
                        path,
                        owner,
                        still_unsafe,
                    },
                )
            })
    }));
    // Only files with an `unsafe` block, and not when planning applicability only (the edits change
    // none).
    let uses: BTreeMap<PathBuf, Vec<unsafe_blocks::RewrittenUse>> = uses
        .into_iter()
        .filter(|(file, _)| {
            krate
                .files
                .get(file)
                .is_some_and(|f| f.text.contains("unsafe"))
        })
        .collect();
    if !uses.is_empty() && !options.applicability_only {
        // Read from the whole crate once, and only when a block holds a rewritten use.
        let facts = std::cell::OnceCell::new();
        let facts = || facts.get_or_init(|| unsafe_blocks::Facts::of(krate));
        for (file, uses) in &uses {
            let Some(owned) = per_file.get_mut(file) else {
                continue;
            };
            let taken: Vec<Edit> = owned.iter().map(|(_, e)| e.clone()).collect();
            let text = &krate.files[file].text;
            for dropped in unsafe_blocks::removals(&facts, text, uses, &taken, krate.tails_scoped) {
                for edit in &dropped.edits {
                    plan.ported[dropped.owner]
                        .edits
                        .push((file.clone(), edit.clone()));
                    owned.push((Some(dropped.owner), edit.clone()));
                }
                plan.dropped_unsafe
                    .entry(file.clone())
                    .or_default()
                    .push(dropped);
            }
        }
    }
    for (file, owned) in per_file {
        let original = &krate.files[&file].text;
        let edits: Vec<Edit> = owned.iter().map(|(_, e)| e.clone()).collect();
        if let Some((new, _)) = edits::apply(original, &edits) {
            if &new != original {
                plan.files.insert(file.clone(), (original.clone(), new));
                plan.file_edits.insert(file, owned);
            }
        }
    }
    if let Some((path, old, mut new)) = manifest_edit {
        if lazy_gone {
            if let Some(without) = cargo_toml::remove_dependency(&new, "lazy_static") {
                new = without;
            }
        }
        plan.manifests.insert(path, (old, new));
    }
}

/// When `whole` (the `lazy_static!` invocations replaced whole) are all the crate has: the edits
/// removing its `use lazy_static::…;` and `#[macro_use] extern crate lazy_static;` items. `None` when
/// any other mention of `lazy_static` remains (an invocation left alone, a path).
fn lazy_static_cleanup(
    krate: &Krate,
    whole: &[(PathBuf, Range<usize>)],
) -> Option<Vec<(PathBuf, Edit)>> {
    if whole.is_empty() {
        return None;
    }
    let mut edits = Vec::new();
    for file in krate.files.values() {
        if !file.text.contains("lazy_static") {
            continue;
        }
        let parsed = krate.syntax(file)?;
        let mut covered: Vec<Range<usize>> = whole
            .iter()
            .filter(|(f, _)| f == &file.path)
            .map(|(_, r)| r.clone())
            .collect();
        for item in &parsed.items {
            let imports_it = match item {
                syn::Item::ExternCrate(e) => e.ident == "lazy_static",
                syn::Item::Use(u) => {
                    matches!(&u.tree, syn::UseTree::Path(p) if p.ident == "lazy_static")
                }
                _ => false,
            };
            if imports_it {
                let range = decl::node_range(item);
                let mut edit = rewrite::remove_lines(&file.text, range.clone());
                // Between two blank lines, one blank line goes with it.
                let text = &file.text;
                if text[..edit.range.start].ends_with("\n\n")
                    && text[edit.range.end..].starts_with('\n')
                {
                    edit.range.end += 1;
                }
                edits.push((file.path.clone(), edit));
                covered.push(range);
            }
        }
        let stray = file
            .text
            .match_indices("lazy_static")
            .any(|(at, _)| !covered.iter().any(|r| r.contains(&at)));
        if stray {
            return None;
        }
    }
    Some(edits)
}

/// Leaves alone every accepted static that a function uses together with a static this crate's
/// plan leaves alone (thread-locals and statics waiting for a further round aside): coupled
/// statics are ported together or not at all.
fn keep_groups_whole<A>(
    krate: &Krate,
    reach: &reach::Reach,
    accepted: Vec<(Decl, Option<usize>, A)>,
    left_before: usize,
    plan: &mut Plan,
) -> Vec<(Decl, Option<usize>, A)> {
    let blocking: Vec<LeftAlone> = plan.left[left_before..]
        .iter()
        .filter(|l| l.code != id::THREAD_LOCAL_GLOBAL.code && !l.reason.starts_with(NESTED_USE))
        .filter(|l| !l.name.is_empty())
        .cloned()
        .collect();
    if blocking.is_empty() || accepted.is_empty() {
        return accepted;
    }
    let names: BTreeSet<String> = accepted
        .iter()
        .map(|(d, _, _)| d.name.clone())
        .chain(blocking.iter().map(|l| l.name.clone()))
        .collect();
    // Coupled: a `static mut` or a crate cell around an `UnsafeCell` (the value) and a guard used in
    // the same function.
    let roles = groups::roles(krate, &names);
    let mutable: BTreeSet<&str> = accepted
        .iter()
        .filter(|(d, _, _)| d.mut_token.is_some())
        .map(|(d, _, _)| d.name.as_str())
        .chain(
            blocking
                .iter()
                .filter(|l| l.code == id::STATIC_MUT.code)
                .map(|l| l.name.as_str()),
        )
        .chain(roles.cells.iter().map(String::as_str))
        .collect();
    // ... and a guard (an atomic flag or state word, a `Once`) publishes it.
    let guards = &roles.guards;
    let couple = |a: &str, b: &str| {
        (mutable.contains(a) && guards.contains(b)) || (mutable.contains(b) && guards.contains(a))
    };
    let groups = groups::groups(&groups::uses_together(reach, &names), couple);
    let mut kept = Vec::new();
    for (decl, diagnostic, edits) in accepted {
        let blocker = groups.get(&decl.name).and_then(|(group, _)| {
            blocking
                .iter()
                .find(|l| groups.get(&l.name).is_some_and(|(g, _)| g == group))
        });
        match blocker {
            Some(other) => {
                let function = &groups[&decl.name].1;
                plan.left.push(LeftAlone::of(
                    &decl,
                    format!(
                        "used together with `{}` (in `fn {function}` or a function linked to it), \
                         which is left alone; coupled statics are ported together or not at all \
                         ({}: {})",
                        other.name, other.name, other.reason
                    ),
                    other.needs_unsafe,
                ));
            }
            None => kept.push((decl, diagnostic, edits)),
        }
    }
    kept
}

fn is_lazy_pair(a: &Edit, b: &Edit) -> bool {
    // Two items of one `lazy_static!` both insert after the invocation: insertions do not clash.
    a.range.is_empty() && b.range.is_empty()
}

fn runtime_for(
    krate: &Krate,
    options: &FixOptions,
) -> (Runtime, Option<(PathBuf, String, String)>) {
    let Some(manifest) = &krate.manifest else {
        return (Runtime::default(), None);
    };
    let Ok(text) = options.overlay.read_to_string(manifest) else {
        return (Runtime::default(), None);
    };
    let (runtime, mut new) = match cargo_toml::find_runtime(&text) {
        Some(runtime) => (runtime, None),
        // A workspace member may inherit it: `vnet-runtime.workspace = true` is found above as a key.
        None => (
            Runtime::default(),
            cargo_toml::add_runtime(&text, options.runtime_path.as_deref()),
        ),
    };
    // The runtime needs Rust 1.95 (its `rust-version`): a lower `rust-version` is raised (which also admits `LazyLock`,
    // 1.80, and constants that refer to statics, 1.83).
    let current = new.clone().unwrap_or_else(|| text.clone());
    if let Some(raised) = cargo_toml::raise_rust_version(&current, cargo_toml::RUNTIME_RUST_VERSION)
    {
        new = Some(raised);
    }
    if let Some(feature) = &krate.std_feature {
        // The `std` build is virtualized; without it the runtime is `no_std` (plain statics).
        let current = new.clone().unwrap_or_else(|| text.clone());
        if let Some(wired) = cargo_toml::wire_std_feature(&current, feature) {
            new = Some(wired);
        }
        let current = new.clone().unwrap_or_else(|| text.clone());
        if let Some(with_tests) =
            cargo_toml::add_test_runtime(&current, options.runtime_path.as_deref())
        {
            new = Some(with_tests);
        }
    }
    (
        runtime,
        new.map(|new| (manifest.clone(), text.clone(), new)),
    )
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The declaration `target` points at.
pub fn find_decl(krate: &Krate, target: &Target) -> Result<Decl, Refusal> {
    find_decl_among(krate, target, &BTreeSet::new())
}

/// The names of the statics `targets` point at: mutable state, which no constant may refer to.
fn flagged_names(krate: &Krate, targets: &[Target]) -> BTreeSet<String> {
    targets
        .iter()
        .filter_map(|t| ident_at(&krate.files.get(&t.path)?.text, t.span.clone()))
        .collect()
}

/// [`find_decl`], knowing the names of every flagged static (`mutable`): an initializer may name an
/// immutable static, never a flagged one.
fn find_decl_among(
    krate: &Krate,
    target: &Target,
    mutable: &BTreeSet<String>,
) -> Result<Decl, Refusal> {
    let Some(file) = krate.files.get(&target.path) else {
        return Err(Refusal {
            name: String::new(),
            line: 0,
            reason: "its file is not part of a crate the fix can read".into(),
        });
    };
    let line = line_of(&file.text, target.span.start);
    let at = target.span.start;
    let flagged = file
        .text
        .get(target.span.clone())
        .unwrap_or_default()
        .to_owned();
    let Some(parsed) = krate.syntax(file) else {
        return Err(Refusal {
            name: flagged,
            line,
            reason: "the file does not parse".into(),
        });
    };
    let located = decl::locate(&parsed, &file.module);
    // A constant may take the address of (or read) an immutable static since Rust 1.83 (the
    // runtime needs 1.95): only a `static mut` or a flagged static in an initializer stops the port.
    let static_names: Vec<String> = located
        .statics
        .iter()
        .filter(|(s, _)| {
            matches!(s.mutability, syn::StaticMutability::Mut(_))
                || mutable.contains(&s.ident.to_string())
        })
        .map(|(s, _)| s.ident.to_string())
        .collect();
    for (s, scope) in &located.statics {
        let range = decl::node_range(s);
        if range.start <= at && at < range.end {
            if let Some(other) = decl::names_a_static(&s.expr, &static_names) {
                return Err(Refusal {
                    name: s.ident.to_string(),
                    line,
                    reason: format!(
                        "its initializer names the static `{other}`, which is mutable state: a \
                         `#[vnet]` initializer is a constant, which may refer to immutable statics \
                         only"
                    ),
                });
            }
            return decl::from_static(
                s,
                &file.path,
                &scope.module,
                scope.body.clone(),
                scope.inline,
                target.code,
                line,
            );
        }
    }
    for (s, scope, lazy) in &located.lazies {
        let range = decl::range(s.static_token.span).start..decl::range(s.semi.span).end;
        let start = s
            .attrs
            .first()
            .map_or(range.start, |a| decl::node_range(a).start);
        if start <= at && at < range.end {
            return decl::from_lazy(
                s,
                lazy,
                &file.path,
                &scope.module,
                scope.body.clone(),
                scope.inline,
                target.code,
                line,
            );
        }
    }
    let name = ident_at(&file.text, target.span.clone()).unwrap_or(flagged);
    if target.code == id::THREAD_LOCAL_GLOBAL.code {
        return Err(Refusal {
            name,
            line,
            reason:
                "`thread_local!` is per thread by design, never ported: decide by hand whether \
                     the value belongs to the thread or to the instance"
                    .into(),
        });
    }
    for (macro_name, range) in &located.macros {
        if range.start <= at && at < range.end {
            return Err(Refusal {
                name,
                line,
                reason: format!(
                    "declared inside `{macro_name}!`, whose expansion the fix cannot rewrite; move it out \
                     of the macro first"
                ),
            });
        }
    }
    Err(Refusal {
        name,
        line,
        reason: "no `static` item found at the finding".into(),
    })
}

fn ident_at(text: &str, span: Range<usize>) -> Option<String> {
    // The name of the `static` the flagged token belongs to (findings point at `mut`, a name or a type).
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let end = span.end.min(text.len());
    let start = text.get(..end)?.rfind("static")?;
    let mut rest = text[start + "static".len()..].trim_start();
    loop {
        let next = word(rest);
        if next == "mut" || next == "ref" {
            rest = rest[next.len()..].trim_start();
            continue;
        }
        return (!next.is_empty()).then_some(next);
    }
}

/// Plans the fix of one in-memory file (no crate around it, no manifest): what `--fix` makes of a
/// rule fixture.
///
/// ```
/// use vnet_lint::engine::{check_source, Options};
/// use vnet_lint::fix::{fix_source, FixOptions};
/// let src = "use std::sync::atomic::AtomicU32;\nstatic HITS: AtomicU32 = AtomicU32::new(0);\nfn f() { HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed); }\n";
/// let (fixed, plan) = fix_source("lib.rs", src, &FixOptions::default());
/// assert_eq!(plan.ported.len(), 1);
/// assert!(fixed.contains("#[vnet]\nstatic HITS"));
/// assert!(fixed.contains("V_HITS.with(|hits| hits.fetch_add(1"));
/// ```
pub fn fix_source(name: &str, text: &str, options: &FixOptions) -> (String, Plan) {
    let report = crate::engine::check_source(name, text, &crate::engine::Options::default());
    let path = PathBuf::from(name);
    let targets: Vec<Target> = targets(&report)
        .into_iter()
        .map(|mut t| {
            t.path = path.clone();
            t
        })
        .collect();
    let plan = on_big_stack(|| {
        let krate = Krate::single(path.clone(), text.to_owned());
        let mut plan = Plan::default();
        plan_crate(&krate, &targets, options, &mut plan);
        plan.left.sort();
        plan
    })
    .unwrap_or_default();
    let fixed = plan
        .files
        .get(Path::new(name))
        .map_or_else(|| text.to_owned(), |(_, new)| new.clone());
    (fixed, plan)
}

/// The summary lines: how many statics were ported, and each one left alone with its reason.
pub fn summary(plan: &Plan, wrote: bool) -> String {
    let mut out = String::new();
    let safe = plan
        .ported
        .iter()
        .filter(|p| p.applicability == Applicability::Safe)
        .count();
    let verb = if wrote { "ported" } else { "would port" };
    out.push_str(&format!(
        "{verb} {} static{} ({safe} safe, {} unsafe fix{}); left {} alone\n",
        plan.ported.len(),
        if plan.ported.len() == 1 { "" } else { "s" },
        plan.ported.len() - safe,
        if plan.ported.len() - safe == 1 {
            ""
        } else {
            "es"
        },
        plan.left.len()
    ));
    for p in &plan.ported {
        out.push_str(&format!(
            "  ported   {}:{} `{}` ({}, {})\n",
            crate::diag::display_path(&p.file),
            p.line,
            p.name,
            p.code,
            p.applicability.as_str()
        ));
    }
    for l in &plan.left {
        out.push_str(&format!(
            "  left     {}:{} `{}` ({}): {}\n",
            crate::diag::display_path(&l.file),
            l.line,
            l.name,
            l.code,
            l.reason
        ));
    }
    if !plan.ported.is_empty() {
        out.push_str(
            "callers: code with no current instance keeps working on vnet0 (a ported library \
             declares `fallback_to_vnet0!()`); the crate's tests now run each in its own instance \
             (`#[vnet_test]`); to isolate, make an instance current (`vnet.enter(|| …)`); a binary \
             that wants a missing instance to panic writes one line: \
             `vnet_runtime::context_policy!(Strict);`\n",
        );
    }
    let hidden = plan.left.iter().filter(|l| l.needs_unsafe).count();
    if hidden > 0 {
        out.push_str(&format!(
            "{hidden} more fix{} available with `--unsafe-fixes`\n",
            if hidden == 1 { " is" } else { "es are" }
        ));
    }
    out
}
