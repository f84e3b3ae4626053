//! The run: read files in parallel, skip those that cannot matter, parse the rest, resolve types across
//! the crate, apply suppressions, paths and levels, and return one [`Report`].

use crate::analysis::{self, FileFacts, GlobalItem, VnetStatic};
use crate::config::Scoped;
use crate::diag::{severity_for, Diagnostic, FileId, Finding, Report, SourceDb};
use crate::resolve::TypeTable;
use crate::rules::{globals, id, Family, Level, Rule};
use crate::walk::Walked;
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
    pub roots: Vec<crate::workspace::SourceRoot>,
    /// Path dependencies that use the runtime: read by the init-order model, never reported.
    pub context_roots: Vec<crate::workspace::SourceRoot>,
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
    facts: Option<FileFacts>,
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
    let syntax_options = analysis::Options {
        include_tests: options.include_tests,
    };
    let outcomes: Vec<Result<FileOutcome, Box<Finding>>> = files
        .par_iter()
        .enumerate()
        .map(|(file, path)| read_and_analyze(file, path, options.max_file_size, syntax_options))
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
    for (file, facts) in all_facts {
        let test_only = !options.include_tests && is_test_file(&files[file], &test_files);
        insert_typedefs(&mut types, file, &files[file], facts.typedefs);
        for module in &facts.modules {
            types.add_module(module);
        }
        file_imports.push((file, facts.imports, facts.modules));
        if test_only {
            continue;
        }
        findings.extend(facts.findings);
        globals.extend(facts.globals);
        vnet_statics.extend(facts.vnet_statics.into_iter().map(|s| (file, s)));
    }
    for (file, imports, modules) in &file_imports {
        types.add_imports(*file, imports, modules);
    }
    resolve_elsewhere(&mut types, &globals, &files, &unanalyzed, &texts);
    for item in &globals {
        if let Some(finding) = check_global(item, &types) {
            findings.push(finding);
        }
    }
    let selected: Vec<bool> = files
        .iter()
        .map(|path| options.include_tests || !is_test_file(path, &test_files))
        .collect();
    let (_, _, model_findings) = crate::order::run(&files, &texts, &selected, options);
    findings.extend(model_findings);
    Analysis {
        files,
        findings,
        vnet_statics,
        texts,
    }
}

/// Each globals rule in turn; the first that reports wins.
fn check_global(item: &GlobalItem, types: &TypeTable) -> Option<Finding> {
    globals::static_mut::check(item)
        .or_else(|| globals::interior_mutable_static::check(item, types))
        .or_else(|| globals::lazy_static_global::check(item))
        .or_else(|| globals::thread_local_global::check(item))
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
    let shapes = |types: &TypeTable| -> Vec<(FileId, &crate::resolve::TyShape)> {
        let undecided = globals.iter().filter_map(|g| match &g.kind {
            analysis::GlobalKind::Static { ty } if types.interior(ty, g.file).is_none() => {
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
                    analysis::typedefs(texts[file].as_deref().unwrap_or_default()),
                )
            })
            .collect();
        for (file, facts) in facts {
            insert_typedefs(types, file, &files[file], facts.typedefs);
            types.add_imports(file, &facts.imports, &facts.modules);
        }
    }
}

/// Adds the type definitions of `file` (at `path`) to `types`, each in its innermost module.
fn insert_typedefs(
    types: &mut TypeTable,
    file: FileId,
    path: &Path,
    typedefs: Vec<(String, Option<String>, crate::resolve::TypeDef)>,
) {
    let file_module = module_names(path).into_iter().next().unwrap_or_default();
    for (name, inline, def) in typedefs {
        types.insert(name, file, inline.as_deref().unwrap_or(&file_module), def);
    }
}

/// The names by which paths may reach the module of the file at `path`: its own name (`offset` for
/// `offset.rs` and `offset/mod.rs`, `crate` for a crate root), and for a crate root also the package's
/// directory name as a crate name (`vnet_runtime` for `vnet-runtime/src/lib.rs`).
fn module_names(path: &Path) -> Vec<String> {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().replace('-', "_"))
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    match stem.as_deref() {
        Some("mod") => name(path.parent()).into_iter().collect(),
        Some("lib" | "main") => {
            let dir = path.parent();
            let package = match dir.and_then(Path::file_name) {
                Some(src) if src == "src" => dir.and_then(Path::parent),
                _ => dir,
            };
            std::iter::once("crate".to_owned())
                .chain(name(package))
                .collect()
        }
        Some(stem) => vec![stem.to_owned()],
        None => Vec::new(),
    }
}

/// An `io-error` finding with the generic advice; callers with better advice replace the help.
fn io_error_finding(file: FileId, message: String) -> Finding {
    Finding::new(id::IO_ERROR, file, None, message)
        .with_help("fix the path or its permissions, or leave it out of the paths to lint")
}

fn read_and_analyze(
    file: FileId,
    path: &Path,
    max_size: u64,
    options: analysis::Options,
) -> Result<FileOutcome, Box<Finding>> {
    let io_error = |message: String| Box::new(io_error_finding(file, message));
    let shown = crate::diag::display_path(path);
    let meta =
        std::fs::metadata(path).map_err(|e| io_error(format!("cannot read `{shown}`: {e}")))?;
    if meta.len() > max_size {
        let message = format!(
            "`{shown}` is {} bytes, larger than the {max_size} bytes the lint parses",
            meta.len()
        );
        let help = "raise the limit with `--max-file-size BYTES`, or leave generated files out";
        return Err(Box::new(io_error(message).with_help(help)));
    }
    let bytes = std::fs::read(path).map_err(|e| io_error(format!("cannot read `{shown}`: {e}")))?;
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
    if !crate::prefilter::may_contain_globals(text.as_bytes()) {
        return Ok(FileOutcome {
            text: Some(text),
            facts: None,
            mod_decls,
            analyzed: false,
        });
    }
    let facts = analysis::analyze(file, &text, options);
    Ok(FileOutcome {
        text: Some(text),
        facts: Some(facts),
        mod_decls,
        analyzed: true,
    })
}

/// A `mod name;` declaration: the module's file is elsewhere.
#[derive(Debug, Default)]
struct ModDecl {
    name: String,
    /// The value of a `#[path = "…"]` attribute on it.
    path: Option<String>,
    /// Whether a `cfg` on it requires `test` (`#[cfg(test)]`, `#[cfg(all(test, unix))]`).
    test: bool,
}

/// The `mod name;` declarations of a file, read line by line (the file may be one the prefilter skips, and
/// declarations inside macros such as `cfg_loom! { mod tests; }` count too). Attributes on the lines above
/// or before the `mod` on its line apply.
fn mod_decls(text: &str) -> Vec<ModDecl> {
    if memchr::memmem::find(text.as_bytes(), b"mod ").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut pending = ModDecl::default();
    for line in text.lines() {
        let mut rest = line.trim();
        while let Some(attr) = rest.strip_prefix("#[") {
            let Some(end) = attr.find(']') else { break };
            let (inner, after) = (&attr[..end], &attr[end + 1..]);
            // `cfg(…)` holds no `]`, and a path's string rarely does.
            let inner = inner.trim();
            let cfg = inner.strip_prefix("cfg").map(str::trim_start);
            if let Some(cfg) = cfg.filter(|c| c.starts_with('(') && c.contains("test")) {
                if let Ok(tokens) = cfg.parse::<proc_macro2::TokenStream>() {
                    pending.test |= crate::analysis::cfg_requires_test(tokens);
                }
            } else if let Some(value) = inner.strip_prefix("path").map(str::trim_start) {
                if let Some(value) = value.strip_prefix('=') {
                    pending.path = Some(value.trim().trim_matches('"').to_owned());
                }
            }
            rest = after.trim_start();
        }
        if rest.is_empty() && line.trim().starts_with("#[") || rest.starts_with("//") {
            continue;
        }
        let after_vis = match rest.strip_prefix("pub") {
            Some(vis) if vis.starts_with('(') => vis.find(')').map_or(vis, |i| &vis[i + 1..]),
            Some(vis) => vis,
            None => rest,
        };
        let decl = after_vis
            .trim_start()
            .strip_prefix("mod ")
            .and_then(|r| r.trim().strip_suffix(';'));
        match decl {
            Some(name) if !rest.is_empty() => {
                let mut found = std::mem::take(&mut pending);
                found.name = name.trim().trim_start_matches("r#").to_owned();
                out.push(found);
            }
            _ if rest.is_empty() => {}
            _ => pending = ModDecl::default(),
        }
    }
    out
}

/// The files that are test code only: those declared by a test-only `mod name;`, and every module file
/// declared by one of those, at any depth. Files loaded with `#[path]` own their directory, as in rustc.
fn test_files(files: &[PathBuf], decls: &[Vec<ModDecl>]) -> HashSet<PathBuf> {
    let index: HashMap<PathBuf, FileId> = files
        .iter()
        .enumerate()
        .map(|(id, path)| (lexical(path), id))
        .collect();
    let mut path_loaded = HashSet::new();
    for (file, decls) in decls.iter().enumerate() {
        for decl in decls {
            if let (Some(path), Some(dir)) = (&decl.path, files[file].parent()) {
                path_loaded.insert(lexical(&dir.join(path)));
            }
        }
    }
    let children = |file: FileId, decl: &ModDecl| -> Vec<PathBuf> {
        let path = &files[file];
        let Some(dir) = path.parent() else {
            return Vec::new();
        };
        if let Some(target) = &decl.path {
            return vec![lexical(&dir.join(target))];
        }
        let owns_dir = path
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs")
            || path_loaded.contains(&lexical(path));
        let base = if owns_dir {
            dir.to_path_buf()
        } else {
            dir.join(path.file_stem().unwrap_or_default())
        };
        vec![
            lexical(&base.join(format!("{}.rs", decl.name))),
            lexical(&base.join(&decl.name).join("mod.rs")),
        ]
    };
    let mut test = HashSet::new();
    let mut work: Vec<FileId> = Vec::new();
    let mark = |paths: Vec<PathBuf>, test: &mut HashSet<PathBuf>, work: &mut Vec<FileId>| {
        for path in paths {
            if let Some(&id) = index.get(&path) {
                if test.insert(path) {
                    work.push(id);
                }
            }
        }
    };
    for (file, decls) in decls.iter().enumerate() {
        for decl in decls.iter().filter(|d| d.test) {
            mark(children(file, decl), &mut test, &mut work);
        }
    }
    while let Some(file) = work.pop() {
        for decl in &decls[file] {
            mark(children(file, decl), &mut test, &mut work);
        }
    }
    test
}

/// `path` with `.` and `dir/..` components removed, so that `src/a/../b.rs` and `src/b.rs` compare equal.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if matches!(
                    out.components().next_back(),
                    Some(std::path::Component::Normal(_))
                ) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn is_test_file(path: &Path, test_files: &HashSet<PathBuf>) -> bool {
    !test_files.is_empty() && test_files.contains(&lexical(path))
}

/// Turns the analysis into a report: drops findings in paths that stay global, applies levels (command
/// line over configuration over defaults), sorts, and loads the text of files that diagnostics point into.
pub fn report(
    analysis: Analysis,
    walk_errors: Vec<(PathBuf, String)>,
    options: &Options,
) -> Report {
    let Analysis {
        files,
        findings,
        texts,
        ..
    } = analysis;
    let scoped: Vec<Option<&Scoped>> = files
        .iter()
        .map(|path| nearest_config(&options.configs, path))
        .collect();
    let mut diagnostics = Vec::new();
    for finding in findings {
        let config = scoped.get(finding.file).copied().flatten();
        let rule = finding.rule;
        if rule.family == Family::Globals
            && config
                .is_some_and(|c| !c.checks_globals(&crate::config::normalize(&files[finding.file])))
        {
            continue;
        }
        let level = if rule.family == Family::Input {
            Level::Deny
        } else {
            options
                .levels
                .iter()
                .rev()
                .find(|(r, _)| r.code == rule.code)
                .map(|&(_, level)| level)
                .or_else(|| config.and_then(|c| c.level(rule)))
                .unwrap_or(rule.default_level)
        };
        if let Some(severity) = severity_for(level) {
            diagnostics.push(Diagnostic { finding, severity });
        }
    }

    let mut db = SourceDb::default();
    let pointed: HashSet<FileId> = diagnostics
        .iter()
        .filter(|d| d.finding.span.is_some())
        .map(|d| d.finding.file)
        .collect();
    let files_checked = files.len();
    for (file, (path, text)) in files.into_iter().zip(texts).enumerate() {
        let text = if pointed.contains(&file) {
            text.unwrap_or_default()
        } else {
            String::new()
        };
        db.add(path, text);
    }
    for (path, message) in walk_errors {
        let file = db.add(path, String::new());
        let finding = io_error_finding(file, message);
        diagnostics.push(Diagnostic {
            finding,
            severity: crate::diag::Severity::Error,
        });
    }
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            (
                db.get(d.finding.file).name.clone(),
                d.finding.span.as_ref().map(|s| s.start),
                d.finding.rule.code,
            )
        };
        key(a).cmp(&key(b))
    });
    Report {
        diagnostics,
        db,
        files_checked,
    }
}

fn nearest_config<'a>(configs: &'a [Scoped], path: &Path) -> Option<&'a Scoped> {
    let path = crate::config::normalize(path);
    configs
        .iter()
        .filter(|c| c.applies_to(&path))
        .max_by_key(|c| (!c.everywhere, c.root.components().count()))
}

/// Lints `paths` (files or directories) with `options`.
pub fn check_paths(paths: &[PathBuf], options: &Options) -> Report {
    let mut walked = crate::walk::collect(paths, options.include_tests);
    let errors = std::mem::take(&mut walked.errors);
    let analysis = analyze(walked, options);
    report(analysis, errors, options)
}

/// Lints one source text as if it were the file `name`; for tests and benchmarks.
pub fn check_source(name: &str, text: &str, options: &Options) -> Report {
    let syntax_options = analysis::Options {
        include_tests: options.include_tests,
    };
    let facts = on_big_stack(|| analysis::analyze(0, text, syntax_options));
    let mut types = TypeTable::default();
    insert_typedefs(&mut types, 0, Path::new(name), facts.typedefs);
    for module in &facts.modules {
        types.add_module(module);
    }
    types.add_imports(0, &facts.imports, &facts.modules);
    let mut findings = facts.findings;
    findings.extend(
        facts
            .globals
            .iter()
            .filter_map(|item| check_global(item, &types)),
    );
    let (files, texts) = (vec![PathBuf::from(name)], vec![Some(text.to_owned())]);
    let (_, _, model_findings) =
        on_big_stack(|| crate::order::run(&files, &texts, &[true], options));
    findings.extend(model_findings);
    let analysis = Analysis {
        files: vec![PathBuf::from(name)],
        findings,
        vnet_statics: Vec::new(),
        texts: vec![Some(text.to_owned())],
    };
    report(analysis, Vec::new(), options)
}

/// The init-order model of `paths` (and the path dependencies in `options`), with every file it read.
/// Findings of the `VN2xx`/`VN3xx` rules come with it, at the levels `options` sets.
pub fn model_paths(
    paths: &[PathBuf],
    options: &Options,
) -> (crate::model::Model, Vec<PathBuf>, Report) {
    let mut walked = crate::walk::collect(paths, options.include_tests);
    let errors = std::mem::take(&mut walked.errors);
    let files = walked.files;
    let work = || {
        let texts: Vec<Option<String>> = files
            .par_iter()
            .map(|p| std::fs::read_to_string(p).ok())
            .collect();
        let selected = vec![true; files.len()];
        let (model, all, findings) = crate::order::run(&files, &texts, &selected, options);
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
    roots: &[crate::workspace::SourceRoot],
    options: &Options,
) -> (Vec<Listed>, Report) {
    let mut walked = crate::walk::collect(paths, options.include_tests);
    let errors = std::mem::take(&mut walked.errors);
    let analysis = analyze(walked, options);
    let mut listed = Vec::new();
    let mut cache: HashMap<PathBuf, Option<crate::workspace::SourceRoot>> = HashMap::new();
    for (file, item) in &analysis.vnet_statics {
        let path = &analysis.files[*file];
        let absolute = crate::config::normalize(path);
        let root = roots
            .iter()
            .filter(|r| absolute.starts_with(&r.dir))
            .max_by_key(|r| r.dir.components().count())
            .cloned()
            .or_else(|| {
                cache
                    .entry(absolute.clone())
                    .or_insert_with(|| crate::workspace::root_for_path(&absolute))
                    .clone()
            });
        let mut module = match &root {
            Some(root) => crate::workspace::module_path(root, &absolute),
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
