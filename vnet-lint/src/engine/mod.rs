//! The driver: runs the passes in order, each a module that never imports a later one:
//! discover (paths → files) → parse (one file → facts, in parallel) → model (the crate: module tree,
//! test files, types; the init-order model) → rules (facts and model → findings, allow comments
//! applied) → report (paths, levels → [`Report`]). `emit` renders the report.
//!
//! Two pipelines run through these passes, each under one name at every pass: `globals`
//! (`parse::analyze` → `GlobalsFacts` → `model::types` →
//! `rules::globals`, driven here) and `lifecycle` (`parse::lifecycle::collect` →
//! `LifecycleFacts` → `model::Model` → `rules::order` and
//! `rules::context`, driven by `engine::lifecycle`).

mod lifecycle;

use crate::diag::{FileId, Finding, Report};
use crate::discover::overlay::Overlay;
use crate::discover::walk::Walked;
use crate::model::files::{insert_typedefs, is_test_file, module_names, test_files};
use crate::model::types::TypeTable;
use crate::parse::directives::Directives;
use crate::parse::mod_decls::{mod_decls, ModDecl};
use crate::parse::{self, GlobalItem, GlobalsFacts, VnetStatic};
use crate::report::config::Scoped;
use crate::report::{report as report_pass, Levels};
use crate::rules::{globals, Family, Level, Rule};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Options of a run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Also check test code and `macro_rules!` bodies.
    pub include_tests: bool,
    /// Files larger than this are reported, not parsed.
    pub max_file_size: u64,
    /// Worker threads; `None` uses one per core.
    pub jobs: Option<usize>,
    /// Level overrides from the command line, in the order given; later ones win.
    pub levels: Vec<(&'static Rule, Level)>,
    /// Configurations, each applying to the files below its root (the nearest wins).
    pub configs: Vec<Scoped>,
    /// The crates selected (module paths of their files); files elsewhere find their crate themselves.
    pub roots: Vec<crate::discover::workspace::SourceRoot>,
    /// Path dependencies that use the runtime: read by the init-order model, never reported.
    pub context_roots: Vec<crate::discover::workspace::SourceRoot>,
    /// Texts read instead of the files on disk (`check --diff`'s later rounds); empty: the disk.
    pub overlay: Overlay,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            include_tests: false,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            jobs: None,
            levels: Vec::new(),
            configs: Vec::new(),
            roots: Vec::new(),
            context_roots: Vec::new(),
            overlay: Overlay::default(),
        }
    }
}

/// 32 MiB: larger `.rs` files are generated tables, not code to port.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 32 << 20;

/// Stack of each worker thread: parsing recurses, and the nesting check keeps it below this.
const WORKER_STACK: usize = 64 << 20;

/// What reading and parsing one file produced.
#[derive(Default)]
struct FileOutcome {
    text: Option<String>,
    facts: Option<GlobalsFacts>,
    /// The `mod name;` declarations of the file.
    mod_decls: Vec<ModDecl>,
    analyzed: bool,
}

/// Everything the parallel stage learned about the files.
pub struct Analysis {
    /// The files, indexed by [`FileId`].
    pub files: Vec<PathBuf>,
    /// Findings, unsuppressed, before levels are applied.
    pub findings: Vec<Finding>,
    /// `#[vnet]` statics with the file they are in.
    pub vnet_statics: Vec<(FileId, VnetStatic)>,
    texts: Vec<Option<String>>,
    /// The init-order model the run built, and every file it read (for `check --show-order`).
    order: (crate::model::Model, Vec<PathBuf>),
}

/// Runs the analyses over the walked files.
pub fn analyze(walked: Walked, options: &Options) -> Analysis {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.unwrap_or(0))
        .stack_size(WORKER_STACK)
        .thread_name(|i| format!("vnet-lint-{i}"))
        .build();
    match pool {
        Ok(pool) => pool.install(|| analyze_in_pool(walked, options)),
        Err(_) => analyze_in_pool(walked, options),
    }
}

fn analyze_in_pool(walked: Walked, options: &Options) -> Analysis {
    let files = walked.files;
    let syntax_options = parse::Options {
        include_tests: options.include_tests,
    };
    let outcomes: Vec<Result<FileOutcome, Box<Finding>>> = files
        .par_iter()
        .enumerate()
        .map(|(file, path)| read_and_analyze(file, path, options, syntax_options))
        .collect();

    let mut findings = Vec::new();
    let mut texts = Vec::with_capacity(files.len());
    let mut all_facts = Vec::new();
    let mut decls = Vec::with_capacity(files.len());
    let mut unanalyzed = Vec::new();
    for (file, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Err(finding) => {
                findings.push(*finding);
                texts.push(None);
                decls.push(Vec::new());
            }
            Ok(outcome) => {
                if !outcome.analyzed {
                    unanalyzed.push(file);
                }
                decls.push(outcome.mod_decls);
                if let Some(facts) = outcome.facts {
                    all_facts.push((file, facts));
                }
                texts.push(outcome.text);
            }
        }
    }
    let test_files = test_files(&files, &decls);

    let mut types = TypeTable::default();
    for path in &files {
        for module in module_names(path) {
            types.add_module(&module);
        }
    }
    let mut globals = Vec::new();
    let mut vnet_statics = Vec::new();
    let mut file_imports = Vec::new();
    let mut directives = HashMap::new();
    for (file, facts) in all_facts {
        let test_only = !options.include_tests && is_test_file(&files[file], &test_files);
        if !test_only {
            findings.extend(per_file_findings(file, &facts));
        }
        insert_typedefs(&mut types, file, &files[file], facts.typedefs);
        for module in &facts.modules {
            types.add_module(module);
        }
        file_imports.push((file, facts.imports, facts.modules));
        if test_only {
            continue;
        }
        globals.extend(facts.globals);
        directives.insert(file, facts.directives);
        vnet_statics.extend(facts.vnet_statics.into_iter().map(|s| (file, s)));
    }
    for (file, imports, modules) in &file_imports {
        types.add_imports(*file, imports, modules);
    }
    resolve_elsewhere(&mut types, &globals, &files, &unanalyzed, &texts);
    for item in &globals {
        let allowed = |f: &Finding| {
            directives
                .get(&item.file)
                .is_some_and(|d: &Directives| item.allowed(d, f.rule))
        };
        findings.extend(check_global(item, &types).filter(|f| !allowed(f)));
    }
    let half = half_ported(&findings, &texts, |file, line, rule| {
        directives
            .get(&file)
            .is_some_and(|d: &Directives| d.allows(line, rule))
    });
    findings.extend(half);
    let selected: Vec<bool> = files
        .iter()
        .map(|path| options.include_tests || !is_test_file(path, &test_files))
        .collect();
    let (model, model_files, model_findings) = lifecycle::run(&files, &texts, &selected, options);
    findings.extend(model_findings);
    Analysis {
        files,
        findings,
        vnet_statics,
        texts,
        order: (model, model_files),
    }
}

/// Findings of one file that need no other file: parse errors, allow comments and markers without a
/// reason, unknown rules in allow comments.
fn per_file_findings(file: FileId, facts: &GlobalsFacts) -> Vec<Finding> {
    let mut out: Vec<Finding> = crate::rules::builtin::parse_error::check(file, facts)
        .into_iter()
        .collect();
    out.extend(globals::suppression_without_reason::check(file, facts));
    out.extend(globals::unknown_rule_in_allow::check(
        file,
        &facts.directives,
    ));
    out
}

/// `VN108`: per file, the globals findings' statics that a function uses with a `V_` accessor.
fn half_ported(
    findings: &[Finding],
    texts: &[Option<String>],
    allows: impl Fn(FileId, usize, &Rule) -> bool,
) -> Vec<Finding> {
    let globals = [
        crate::rules::id::STATIC_MUT.code,
        crate::rules::id::INTERIOR_MUTABLE_STATIC.code,
        crate::rules::id::LAZY_STATIC_GLOBAL.code,
    ];
    let mut by_file: std::collections::BTreeMap<FileId, Vec<usize>> = Default::default();
    for f in findings.iter().filter(|f| globals.contains(&f.rule.code)) {
        if let Some(span) = &f.span {
            by_file.entry(f.file).or_default().push(span.start);
        }
    }
    let mut out = Vec::new();
    for (file, starts) in by_file {
        let Some(text) = texts.get(file).and_then(|t| t.as_deref()) else {
            continue;
        };
        for finding in globals::half_ported_state::check(file, text, &starts) {
            let line = finding
                .span
                .as_ref()
                .map_or(0, |s| text[..s.start].matches('\n').count() + 1);
            if !allows(file, line, finding.rule) {
                out.push(finding);
            }
        }
    }
    out
}

/// Each globals rule in turn; the first that reports wins.
fn check_global(item: &GlobalItem, types: &TypeTable) -> Option<Finding> {
    globals::static_mut::check(item)
        .or_else(|| globals::interior_mutable_static::check(item, types))
        .or_else(|| globals::lazy_static_global::check(item))
        .or_else(|| globals::thread_local_global::check(item))
        .or_else(|| globals::foreign_global::check(item))
}

/// Looks for the definitions of names used by statics in files the prefilter skipped, a few rounds deep.
fn resolve_elsewhere(
    types: &mut TypeTable,
    globals: &[GlobalItem],
    files: &[PathBuf],
    unanalyzed: &[FileId],
    texts: &[Option<String>],
) {
    // Only statics not yet known to be interior-mutable need more definitions.
    let shapes = |types: &TypeTable| -> Vec<(FileId, &crate::parse::shape::TyShape)> {
        let undecided = globals.iter().filter_map(|g| match &g.kind {
            parse::GlobalKind::Static { ty } if types.interior(ty, g.file).is_none() => {
                Some((g.file, ty))
            }
            _ => None,
        });
        undecided.collect()
    };
    let mut searched = HashSet::new();
    let mut parsed = HashSet::new();
    for _round in 0..4 {
        let wanted: Vec<String> = types
            .unresolved(shapes(types))
            .into_iter()
            .filter(|n| searched.insert(n.clone()))
            .collect();
        if wanted.is_empty() {
            return;
        }
        // Only files that spell a definition of a wanted name are parsed.
        let finders: Vec<_> = wanted
            .iter()
            .flat_map(|name| {
                ["struct", "enum", "union", "type", "as"].map(|keyword| {
                    memchr::memmem::Finder::new(&format!("{keyword} {name}")).into_owned()
                })
            })
            .collect();
        let candidates: Vec<FileId> = unanalyzed
            .iter()
            .copied()
            .filter(|file| !parsed.contains(file))
            .filter(|&file| {
                texts[file]
                    .as_deref()
                    .is_some_and(|text| finders.iter().any(|f| f.find(text.as_bytes()).is_some()))
            })
            .collect();
        parsed.extend(candidates.iter().copied());
        let facts: Vec<_> = candidates
            .par_iter()
            .map(|&file| {
                (
                    file,
                    parse::typedefs(texts[file].as_deref().unwrap_or_default()),
                )
            })
            .collect();
        for (file, facts) in facts {
            insert_typedefs(types, file, &files[file], facts.typedefs);
            types.add_imports(file, &facts.imports, &facts.modules);
        }
    }
}

fn read_and_analyze(
    file: FileId,
    path: &Path,
    run: &Options,
    options: parse::Options,
) -> Result<FileOutcome, Box<Finding>> {
    let io_error =
        |message: String| Box::new(crate::rules::builtin::io_error::finding(file, message));
    let shown = crate::diag::display_path(path);
    let max_size = run.max_file_size;
    let len = run
        .overlay
        .file_len(path)
        .map_err(|e| io_error(format!("cannot read `{shown}`: {e}")))?;
    if len > max_size {
        let message =
            format!("`{shown}` is {len} bytes, larger than the {max_size} bytes the lint parses");
        let help = "raise the limit with `--max-file-size BYTES`, or leave generated files out";
        return Err(Box::new(io_error(message).with_help(help)));
    }
    let bytes = run
        .overlay
        .read(path)
        .map_err(|e| io_error(format!("cannot read `{shown}`: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let message = format!(
            "`{shown}` is not UTF-8 (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        );
        Box::new(
            io_error(message).with_help("re-encode the file as UTF-8, the encoding of Rust source"),
        )
    })?;
    let mod_decls = mod_decls(&text);
    if !crate::parse::prefilter::may_contain_globals(text.as_bytes()) {
        return Ok(FileOutcome {
            text: Some(text),
            facts: None,
            mod_decls,
            analyzed: false,
        });
    }
    let facts = parse::analyze(file, &text, options);
    Ok(FileOutcome {
        text: Some(text),
        facts: Some(facts),
        mod_decls,
        analyzed: true,
    })
}

/// Lints `paths` (files or directories) with `options`.
pub fn check_paths(paths: &[PathBuf], options: &Options) -> Report {
    check_paths_with_model(paths, options).0
}

/// Lints `paths` like [`check_paths`], and also returns the init-order model the run built with
/// every file it read (what `check --show-order` prints, without building the model twice).
pub fn check_paths_with_model(
    paths: &[PathBuf],
    options: &Options,
) -> (Report, crate::model::Model, Vec<PathBuf>) {
    let mut walked = crate::discover::walk::collect(paths, options.include_tests);
    let errors = std::mem::take(&mut walked.errors);
    let mut analysis = analyze(walked, options);
    let (model, files) = std::mem::take(&mut analysis.order);
    (report(analysis, errors, options), model, files)
}

/// The report pass over what the run found.
fn report(analysis: Analysis, walk_errors: Vec<(PathBuf, String)>, options: &Options) -> Report {
    let levels = Levels {
        overrides: &options.levels,
        configs: &options.configs,
    };
    report_pass(
        analysis.files,
        analysis.texts,
        analysis.findings,
        walk_errors,
        levels,
    )
}

/// Lints one source text as if it were the file `name`; for tests and benchmarks.
pub fn check_source(name: &str, text: &str, options: &Options) -> Report {
    let syntax_options = parse::Options {
        include_tests: options.include_tests,
    };
    let facts = on_big_stack(|| parse::analyze(0, text, syntax_options));
    let mut findings = per_file_findings(0, &facts);
    let mut types = TypeTable::default();
    insert_typedefs(&mut types, 0, Path::new(name), facts.typedefs);
    for module in &facts.modules {
        types.add_module(module);
    }
    types.add_imports(0, &facts.imports, &facts.modules);
    findings.extend(
        facts
            .globals
            .iter()
            .filter_map(|item| check_global(item, &types))
            .filter(|f| {
                let line = facts
                    .globals
                    .iter()
                    .find(|g| Some(&g.primary) == f.span.as_ref());
                !line.is_some_and(|g| g.allowed(&facts.directives, f.rule))
            }),
    );
    let (files, texts) = (vec![PathBuf::from(name)], vec![Some(text.to_owned())]);
    let half = half_ported(&findings, &texts, |_, line, rule| {
        facts.directives.allows(line, rule)
    });
    findings.extend(half);
    let (_, _, model_findings) = on_big_stack(|| lifecycle::run(&files, &texts, &[true], options));
    findings.extend(model_findings);
    let analysis = Analysis {
        files: vec![PathBuf::from(name)],
        findings,
        vnet_statics: Vec::new(),
        texts: vec![Some(text.to_owned())],
        order: Default::default(),
    };
    report(analysis, Vec::new(), options)
}

/// The init-order model of `paths` (and the path dependencies in `options`), with every file it read.
/// Findings of the `VN2xx`/`VN3xx` rules come with it, at the levels `options` sets.
pub fn model_paths(
    paths: &[PathBuf],
    options: &Options,
) -> (crate::model::Model, Vec<PathBuf>, Report) {
    let mut walked = crate::discover::walk::collect(paths, options.include_tests);
    let errors = std::mem::take(&mut walked.errors);
    let files = walked.files;
    let work = || {
        let texts: Vec<Option<String>> = files
            .par_iter()
            .map(|p| options.overlay.read_to_string(p).ok())
            .collect();
        let selected = vec![true; files.len()];
        let (model, all, findings) = lifecycle::run(&files, &texts, &selected, options);
        (model, all, findings, texts)
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.unwrap_or(0))
        .stack_size(WORKER_STACK)
        .build();
    let (model, all, findings, texts) = match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    let analysis = Analysis {
        files: files.clone(),
        findings,
        vnet_statics: Vec::new(),
        texts,
        order: Default::default(),
    };
    (model, all, report(analysis, errors, options))
}

/// Runs `work` on a thread with a worker's stack, so that parsing gets the stack it was sized for.
fn on_big_stack<T: Send + Default>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, work);
        match worker {
            Ok(worker) => worker.join().unwrap_or_default(),
            Err(_) => T::default(),
        }
    })
}

/// The `#[vnet]` statics under `paths`, with the module path and file of each.
pub fn list_paths(
    paths: &[PathBuf],
    roots: &[crate::discover::workspace::SourceRoot],
    options: &Options,
) -> (Vec<Listed>, Report) {
    let mut walked = crate::discover::walk::collect(paths, options.include_tests);
    let errors = std::mem::take(&mut walked.errors);
    let analysis = analyze(walked, options);
    let mut listed = Vec::new();
    let mut cache: HashMap<PathBuf, Option<crate::discover::workspace::SourceRoot>> =
        HashMap::new();
    for (file, item) in &analysis.vnet_statics {
        let path = &analysis.files[*file];
        let absolute = crate::discover::normalize(path);
        let root = roots
            .iter()
            .filter(|r| absolute.starts_with(&r.dir))
            .max_by_key(|r| r.dir.components().count())
            .cloned()
            .or_else(|| {
                cache
                    .entry(absolute.clone())
                    .or_insert_with(|| crate::discover::workspace::root_for_path(&absolute))
                    .clone()
            });
        let mut module = match &root {
            Some(root) => crate::discover::workspace::module_path(root, &absolute),
            None => absolute
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        };
        for inline in &item.inline_modules {
            module.push_str("::");
            module.push_str(inline);
        }
        listed.push(Listed {
            name: item.name.clone(),
            module,
            file: crate::diag::display_path(path),
            line: item.line,
            column: item.column,
        });
    }
    listed.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let mut report = report(analysis, errors, options);
    report
        .diagnostics
        .retain(|d| d.finding.rule.family == Family::Input);
    (listed, report)
}

/// One `#[vnet]` static, as `list` prints it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename = "vnet-static")]
pub struct Listed {
    /// The static's name.
    pub name: String,
    /// Its module path, starting with the crate name.
    pub module: String,
    /// The file, as shown.
    pub file: String,
    /// One-based line.
    pub line: usize,
    /// One-based column.
    pub column: usize,
}
