//! The lifecycle pipeline's pass (init order and context; the globals pipeline is `engine::analyze`):
//! picks the files the model needs (those declaring hooks or modules, using an
//! instance, and those defining the constants their keys name), collects their facts in parallel, builds
//! the [`Model`] once, runs the `VN2xx` and `VN3xx` rules, and drops findings an allow comment covers.
//!
//! It reads texts the discover pass already loaded; path dependencies that use the runtime are read
//! here (for context only: nothing in them is reported).

use crate::diag::Finding;
use crate::discover::workspace::{self, SourceRoot};
use crate::engine::Options;
use crate::model::eval::EvalError;
use crate::model::{Model, ModelFile, Problem};
use crate::parse::directives::Directives;
use crate::parse::lifecycle::{self, LifecycleFacts};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Rounds of looking for the definitions of names that did not resolve, and for the files of modules
/// that calls go into.
const ROUNDS: usize = 6;

/// Whether `bytes` may declare a hook or module, or use an instance (the files always parsed).
fn has_markers(bytes: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[b"sysinit", b"sysuninit", b"vnet_module", b"curvnet_set"];
    MARKERS
        .iter()
        .any(|m| memchr::memmem::find(bytes, m).is_some())
        || has_accessor(bytes)
}

/// Whether `bytes` hold `V_` at the start of an identifier.
fn has_accessor(bytes: &[u8]) -> bool {
    memchr::memmem::find_iter(bytes, b"V_")
        .any(|at| at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_'))
}

/// Runs the pass. `files`/`texts` are the selection (ids are indices); `selected[i]` says whether file
/// `i`'s findings are reported. Returns the model, every file it read (the selection first, then path
/// dependencies), and the findings.
pub fn run(
    files: &[PathBuf],
    texts: &[Option<String>],
    selected: &[bool],
    options: &Options,
) -> (Model, Vec<PathBuf>, Vec<Finding>) {
    let mut all_files: Vec<PathBuf> = files.to_vec();
    let mut all_texts: Vec<Option<&str>> = texts.iter().map(Option::as_deref).collect();
    let mut extra_texts: Vec<Option<String>> = Vec::new();
    let mut reported: Vec<bool> = selected.to_vec();
    if !options.context_roots.is_empty() {
        let dirs: Vec<PathBuf> = options
            .context_roots
            .iter()
            .map(|r| r.dir.clone())
            .collect();
        let walked = crate::discover::walk::collect(&dirs, false);
        for path in walked.files {
            if all_files.contains(&path) {
                continue;
            }
            extra_texts.push(options.overlay.read_to_string(&path).ok());
            all_files.push(path);
            reported.push(false);
        }
    }
    all_texts.extend(extra_texts.iter().map(Option::as_deref));
    let roots: Vec<&SourceRoot> = options.roots.iter().chain(&options.context_roots).collect();
    let mut cache: HashMap<PathBuf, Option<SourceRoot>> = HashMap::new();
    // Module paths only of the files that are parsed (finding a crate may read its manifest).
    let mut modules: HashMap<usize, Vec<String>> = HashMap::new();

    let mut parsed: Vec<Option<LifecycleFacts>> = vec![None; all_files.len()];
    let mut tried = vec![false; all_files.len()];
    let mut wanted: Vec<usize> = (0..all_files.len())
        .filter(|&i| all_texts[i].is_some_and(|t| has_markers(t.as_bytes())))
        .collect();
    let mut model = Model::default();
    for round in 0..=ROUNDS {
        if wanted.is_empty() && round > 0 {
            break;
        }
        for &i in &wanted {
            tried[i] = true;
        }
        for &i in &wanted {
            modules
                .entry(i)
                .or_insert_with(|| module_of(&all_files[i], &roots, &mut cache));
        }
        let collect = |i: &usize| (*i, all_texts[*i].and_then(lifecycle::collect));
        let results: Vec<(usize, Option<LifecycleFacts>)> = if wanted.len() > 1 {
            wanted.par_iter().map(collect).collect()
        } else {
            wanted.iter().map(collect).collect()
        };
        for (i, facts) in results {
            parsed[i] = facts;
        }
        let inputs: Vec<ModelFile> = parsed
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.as_ref().map(|facts| ModelFile {
                    file: i,
                    module: modules.get(&i).cloned().unwrap_or_default(),
                    selected: reported[i],
                    facts: facts.clone(),
                })
            })
            .collect();
        if inputs
            .iter()
            .all(|f| f.facts.hooks.is_empty() && f.facts.modules.is_empty())
        {
            model = Model::build_with(inputs, &cargo_renames(&roots, &cache, &options.overlay));
            break;
        }
        model = Model::build_with(inputs, &cargo_renames(&roots, &cache, &options.overlay));
        // The context rules' calls resolve through modules too: look them up now, so that the modules
        // they go into are read in this round.
        for (i, facts) in parsed.iter().enumerate() {
            let (Some(facts), Some(module)) = (facts, modules.get(&i)) else {
                continue;
            };
            let calls = facts
                .spawned_accesses
                .iter()
                .filter_map(|a| Some((a.path.as_ref()?, &a.inline)));
            for (path, inline) in calls {
                let scope: Vec<String> = module.iter().chain(inline).cloned().collect();
                let _ = model.names.resolve(&scope, path);
            }
        }
        // Modules a path went into that no file read declares: read their files.
        let mut more: Vec<usize> = Vec::new();
        for missed in model.names.misses() {
            let Some((_, inner)) = missed.split_first() else {
                continue;
            };
            if inner.is_empty() {
                continue;
            }
            let stem = inner.join("/");
            let suffixes = [format!("{stem}.rs"), format!("{stem}/mod.rs")];
            for i in 0..all_files.len() {
                if tried[i] || more.contains(&i) {
                    continue;
                }
                let path = all_files[i].to_string_lossy().replace('\\', "/");
                if suffixes
                    .iter()
                    .any(|s| path.ends_with(&format!("/{s}")) || path == *s)
                    && module_of(&all_files[i], &roots, &mut cache) == missed
                {
                    more.push(i);
                }
            }
        }
        // Names that did not resolve: parse the files that spell them.
        let names: Vec<String> = model
            .problems
            .iter()
            .filter_map(|p| match p {
                Problem::Unevaluable {
                    error: EvalError::Unresolved(name),
                    ..
                } => name.rsplit("::").next().map(str::to_owned),
                _ => None,
            })
            .collect();
        if (names.is_empty() && more.is_empty()) || round == ROUNDS {
            break;
        }
        let finders: Vec<_> = names
            .iter()
            .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned())
            .collect();
        wanted = (0..all_files.len())
            .filter(|&i| !tried[i])
            .filter(|&i| {
                more.contains(&i)
                    || all_texts[i]
                        .is_some_and(|t| finders.iter().any(|f| f.find(t.as_bytes()).is_some()))
            })
            .collect();
    }

    let here = std::env::current_dir().unwrap_or_default();
    for (i, facts) in parsed.iter().enumerate() {
        if facts.is_some() {
            let path = &all_files[i];
            let shown = path.strip_prefix(&here).unwrap_or(path);
            model
                .file_names
                .insert(i, shown.to_string_lossy().replace('\\', "/"));
        }
    }
    let mut located: Vec<(Finding, usize)> = crate::rules::order::check(&model)
        .into_iter()
        .map(|l| (l.finding, l.item_start))
        .collect();
    for (i, facts) in parsed.iter().enumerate() {
        if let (Some(facts), true) = (facts, reported[i]) {
            let module = modules.get(&i).cloned().unwrap_or_default();
            located.extend(crate::rules::context::check(&model, i, &module, facts));
        }
    }
    let mut directives: HashMap<usize, Directives> = HashMap::new();
    let findings = located
        .into_iter()
        .filter(|(finding, start)| {
            let text = all_texts[finding.file].unwrap_or_default();
            let d = directives
                .entry(finding.file)
                .or_insert_with(|| Directives::scan(text));
            let line = 1 + text.as_bytes()[..(*start).min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            !d.allows(line, finding.rule)
        })
        .map(|(f, _)| f)
        .collect();
    (model, all_files, findings)
}

/// The module path of `path`: from the nearest selected root, else the crate found beside it, else the
/// file's stem as a crate of its own.
fn module_of(
    path: &Path,
    roots: &[&SourceRoot],
    cache: &mut HashMap<PathBuf, Option<SourceRoot>>,
) -> Vec<String> {
    let absolute = crate::discover::normalize(path);
    let root = roots
        .iter()
        .filter(|r| absolute.starts_with(crate::discover::normalize(&r.dir)))
        .max_by_key(|r| r.dir.components().count())
        .map(|r| (*r).clone())
        .or_else(|| {
            cache
                .entry(absolute.clone())
                .or_insert_with(|| workspace::root_for_path(&absolute))
                .clone()
        });
    match root {
        Some(root) => {
            let root = SourceRoot {
                dir: crate::discover::normalize(&root.dir),
                ..root
            };
            workspace::module_path(&root, &absolute)
                .split("::")
                .map(str::to_owned)
                .collect()
        }
        None => vec![path
            .file_stem()
            .map(|s| s.to_string_lossy().replace('-', "_"))
            .unwrap_or_default()],
    }
}

/// The dependencies each crate renames in its `Cargo.toml` (`rt = { package = "vnet-runtime" }`):
/// `(crate, name in code, package)`, for the selected crates and those found beside the files read.
fn cargo_renames(
    roots: &[&SourceRoot],
    found: &HashMap<PathBuf, Option<SourceRoot>>,
    overlay: &crate::discover::overlay::Overlay,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for root in roots.iter().copied().chain(found.values().flatten()) {
        if seen.contains(&root.package_dir) {
            continue;
        }
        seen.push(root.package_dir.clone());
        let Ok(text) = overlay.read_to_string(&root.package_dir.join("Cargo.toml")) else {
            continue;
        };
        let Ok(manifest) = text.parse::<toml::Table>() else {
            continue;
        };
        let tables = ["dependencies", "dev-dependencies", "build-dependencies"];
        for deps in tables.iter().filter_map(|t| manifest.get(*t)?.as_table()) {
            for (alias, spec) in deps {
                if let Some(package) = spec.get("package").and_then(|p| p.as_str()) {
                    out.push((
                        root.crate_name.clone(),
                        alias.replace('-', "_"),
                        package.replace('-', "_"),
                    ));
                }
            }
        }
    }
    out
}
