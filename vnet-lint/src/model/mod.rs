//! The init-order model of a selection: every module and lifecycle hook, with its `(subsystem, order)`
//! evaluated, each hook assigned to its module exactly as the runtime's catalog does, dependencies
//! resolved against versions, and the problems found on the way. Built once from the facts of every
//! file (`facts`), read by the ordering rules and by `cargo vnet-lint order` (`sequence`).
//!
//! Imports run one way: `parse::lifecycle` (one file) → `eval` (constants across files) → this module
//! (the catalog) → `sequence` (the runtime's sequences). Nothing here knows rules, levels or output
//! formats. `types` (interior mutability across a crate) and `files` (module names, test-only files)
//! are the globals side of the model.

pub mod eval;
pub mod files;
pub mod keys;
pub mod names;
pub mod sequence;
pub mod types;

use crate::parse::lifecycle::const_expr::ConstExpr;
use crate::parse::lifecycle::{BodyFacts, HookKind, LifecycleFacts};
use names::{Named, Names};
use std::collections::BTreeMap;
use std::ops::Range;

/// Index of a file, as in the report's source database.
pub type FileId = usize;

/// One file given to the model.
#[derive(Debug)]
pub struct ModelFile {
    /// The file's id.
    pub file: FileId,
    /// The file's module path, crate name first (`["mymod", "demo"]`).
    pub module: Vec<String>,
    /// Whether its findings are reported (false for path dependencies read for context only).
    pub selected: bool,
    /// Its facts.
    pub facts: LifecycleFacts,
}

/// Where something is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The file.
    pub file: FileId,
    /// Byte range of the name.
    pub span: Range<usize>,
    /// Byte offset of the item's first attribute (allow comments sit above it).
    pub item_start: usize,
    /// One-based line.
    pub line: usize,
    /// Whether findings here are reported.
    pub selected: bool,
}

/// An evaluated key argument: its value and how it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The value.
    pub value: u32,
    /// The expression as written.
    pub written: String,
}

/// Who a hook belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// The always-loaded base (hooks of crates that declare no module).
    Base,
    /// A module, by index in [`Model::modules`].
    Module(usize),
}

/// The name the base goes by in traces.
pub const BASE: &str = "base";

/// One dependency of a module.
#[derive(Clone, Debug)]
pub struct Depend {
    /// The module depended on.
    pub name: String,
    /// `min`, `preferred`, `max` when they evaluate.
    pub versions: Option<(u32, u32, u32)>,
    /// Byte range of the `depend(…)` argument.
    pub span: Range<usize>,
    /// The module it resolved to.
    pub resolved: Option<usize>,
}

/// One module.
#[derive(Clone, Debug)]
pub struct Module {
    /// Its name.
    pub name: String,
    /// Its crate.
    pub krate: String,
    /// Its Rust module path (`mymod`), for the tie rule.
    pub module_path: String,
    /// The handler's site.
    pub site: Site,
    /// Byte range of the name argument.
    pub name_span: Range<usize>,
    /// Subsystem.
    pub subsystem: Key,
    /// Order.
    pub order: Key,
    /// Version.
    pub version: u32,
    /// Dependencies.
    pub depends: Vec<Depend>,
    /// The event handler's name.
    pub handler: String,
    /// What the handler's `Shutdown` arm does.
    pub shutdown_arm: Option<BodyFacts>,
    /// False when a declaration or dependency problem keeps it from loading.
    pub usable: bool,
}

impl Module {
    /// The runtime's sort key of its `MODEVENT(load)` step.
    pub fn key(&self) -> SortKey {
        (
            self.subsystem.value,
            self.order.value,
            0,
            self.name.clone(),
            String::new(),
            self.module_path.clone(),
            self.site.line,
        )
    }
}

/// One lifecycle hook.
#[derive(Clone, Debug)]
pub struct Hook {
    /// Which kind.
    pub kind: HookKind,
    /// The function's name.
    pub name: String,
    /// Its crate.
    pub krate: String,
    /// Its Rust module path.
    pub module_path: String,
    /// Where it is.
    pub site: Site,
    /// Subsystem.
    pub subsystem: Key,
    /// Byte range of the subsystem argument.
    pub subsystem_span: Range<usize>,
    /// Order.
    pub order: Key,
    /// Byte range of the order argument.
    pub order_span: Range<usize>,
    /// Its module.
    pub unit: Unit,
    /// What its body does (`#[vnet]` statics imported under other names resolved to their accessors).
    pub body: BodyFacts,
    /// Its module path as segments (crate first), where its paths resolve.
    pub scope: Vec<String>,
    /// `#[vnet]` statics used through the functions it calls, in other modules and crates too.
    pub reach: Vec<Reach>,
}

/// A free function of the selection.
#[derive(Clone, Debug)]
pub struct Function {
    /// Its file.
    pub file: FileId,
    /// One-based line of its name.
    pub line: usize,
    /// What its body does.
    pub body: BodyFacts,
}

/// A `#[vnet]` static a hook uses through the functions it calls.
#[derive(Clone, Debug)]
pub struct Reach {
    /// The accessor (`V_RT_NUMFIBS`).
    pub accessor: String,
    /// Whether the function that uses it changes it.
    pub writes: bool,
    /// Byte range of the call in the hook's body.
    pub call: Range<usize>,
    /// The calls followed, as written (`tables::indirect()`, `numfibs()`).
    pub via: Vec<String>,
    /// The file of the function that uses it.
    pub file: FileId,
    /// One-based line of that function's name.
    pub line: usize,
}

impl Reach {
    /// The calls followed, joined for a message: `` `a()` → `b()` ``.
    pub fn path(&self) -> String {
        self.via
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(" → ")
    }
}

/// How deep calls are followed from a hook.
const MAX_CALL_DEPTH: usize = 8;

/// The runtime's total order of steps: subsystem, order, kind rank (`MODEVENT(load)` 0, `SYSINIT`/
/// `SYSUNINIT` 1, `VNET_SYSINIT`/`VNET_SYSUNINIT` 2), unit name (the base as the empty name), function
/// name, Rust module path, line. See ARCHITECTURE.md, "Init-order tie rule".
pub type SortKey = (u32, u32, u8, String, String, String, usize);

/// A problem the model found while building itself.
#[derive(Clone, Debug)]
pub enum Problem {
    /// A key or version argument that does not evaluate.
    Unevaluable {
        /// Where.
        site: Site,
        /// Byte range of the argument.
        span: Range<usize>,
        /// Which argument (`subsystem`, `order`, `version`…).
        what: &'static str,
        /// Why.
        error: eval::EvalError,
    },
    /// A per-instance hook outside `(SI_SUB_VNET, SI_SUB_VNET_DONE]`.
    VnetHookOutsideVnet {
        /// The hook (left out of the sequences, as the runtime does).
        hook: Box<Hook>,
    },
    /// A dependency on a module that is not in the selection.
    MissingDependency {
        /// The module that depends.
        module: usize,
        /// Which dependency.
        depend: usize,
        /// Modules the selection has.
        known: Vec<String>,
    },
    /// A dependency whose version range excludes the declared version.
    VersionExcluded {
        /// The module that depends.
        module: usize,
        /// Which dependency.
        depend: usize,
        /// The version the other module declares.
        found: u32,
    },
    /// A dependency cycle, starting and ending at `module`.
    Cycle {
        /// The module reported.
        module: usize,
        /// The names around the cycle.
        names: Vec<String>,
    },
    /// `module = name` naming no module.
    UnknownModule {
        /// The hook's site.
        site: Site,
        /// The name.
        name: String,
    },
    /// A hook in a crate that declares several modules, without `module = name`.
    AmbiguousModule {
        /// The hook's site.
        site: Site,
        /// The candidates.
        names: Vec<String>,
    },
}

/// The model: modules, hooks (sorted by the runtime's key), problems.
#[derive(Debug, Default)]
pub struct Model {
    /// Every module, sorted by name.
    pub modules: Vec<Module>,
    /// Every hook the runtime would accept, sorted by [`Model::hook_key`].
    pub hooks: Vec<Hook>,
    /// Problems found while building.
    pub problems: Vec<Problem>,
    /// Per function (module path, name): where it is and what its body does, for rules that follow
    /// calls.
    pub functions: BTreeMap<(Vec<String>, String), Function>,
    /// What paths name, in every module read.
    pub names: Names,
    /// How messages name each file (set by the engine; `file N` when unset).
    pub file_names: BTreeMap<FileId, String>,
    /// Per `#[vnet]` accessor (`V_RULES`): the crates that declare a static of that name.
    pub vnet_statics: BTreeMap<String, Vec<String>>,
}

impl Model {
    /// The runtime's sort key of a hook.
    pub fn hook_key(&self, hook: &Hook) -> SortKey {
        let rank = if hook.kind.per_instance() { 2 } else { 1 };
        let unit = match hook.unit {
            Unit::Base => String::new(),
            Unit::Module(m) => self.modules[m].name.clone(),
        };
        (
            hook.subsystem.value,
            hook.order.value,
            rank,
            unit,
            hook.name.clone(),
            hook.module_path.clone(),
            hook.site.line,
        )
    }

    /// The name of a unit (`base` or the module's).
    pub fn unit_name(&self, unit: Unit) -> &str {
        match unit {
            Unit::Base => BASE,
            Unit::Module(m) => &self.modules[m].name,
        }
    }

    /// Builds the model from every file's facts.
    pub fn build(files: Vec<ModelFile>) -> Model {
        Model::build_with(files, &[])
    }

    /// Builds the model from every file's facts and the dependencies renamed in each crate's
    /// `Cargo.toml` (`(crate, name in code, package)`).
    pub fn build_with(files: Vec<ModelFile>, renames: &[(String, String, String)]) -> Model {
        let mut names = Names::default();
        for (krate, alias, target) in renames {
            names.add_rename(krate, alias, target);
        }
        for f in &files {
            names.add(&f.module, &f.facts);
        }
        let mut model = Model::default();
        let scopes = eval::Evaluator::new(&names);
        let key = |model: &mut Model,
                   scope: &[String],
                   expr: &ConstExpr,
                   site: &Site,
                   span: &Range<usize>,
                   what: &'static str|
         -> Option<Key> {
            match scopes.eval_attribute(scope, expr) {
                Ok(value) => Some(Key {
                    value,
                    written: eval::show(expr),
                }),
                Err(error) => {
                    model.problems.push(Problem::Unevaluable {
                        site: site.clone(),
                        span: span.clone(),
                        what,
                        error,
                    });
                    None
                }
            }
        };
        let mut raw_hooks = Vec::new();
        for f in &files {
            let krate = f.module.first().cloned().unwrap_or_default();
            for (accessor, _) in &f.facts.vnet_statics {
                let owners = model.vnet_statics.entry(accessor.clone()).or_default();
                if !owners.contains(&krate) {
                    owners.push(krate.clone());
                }
            }
            for func in &f.facts.functions {
                model
                    .functions
                    .entry((join(&f.module, &func.inline), func.name.clone()))
                    .or_insert_with(|| Function {
                        file: f.file,
                        line: func.line,
                        body: func.body.clone(),
                    });
            }
            for m in &f.facts.modules {
                let scope: Vec<String> = f.module.iter().chain(&m.inline).cloned().collect();
                let site = Site {
                    file: f.file,
                    span: m.span.clone(),
                    item_start: m.item_start,
                    line: m.line,
                    selected: f.selected,
                };
                let subsystem = key(
                    &mut model,
                    &scope,
                    &m.subsystem,
                    &site,
                    &m.subsystem_span,
                    "subsystem",
                );
                let order = key(&mut model, &scope, &m.order, &site, &m.order_span, "order");
                let version = key(
                    &mut model,
                    &scope,
                    &m.version,
                    &site,
                    &m.name_span,
                    "version",
                );
                let mut depends = Vec::new();
                for d in &m.depends {
                    let mut versions = Vec::new();
                    for (expr, what) in [
                        (&d.min, "min version"),
                        (&d.preferred, "preferred version"),
                        (&d.max, "max version"),
                    ] {
                        versions.push(key(&mut model, &scope, expr, &site, &d.span, what));
                    }
                    let versions = match versions.as_slice() {
                        [Some(a), Some(b), Some(c)] => Some((a.value, b.value, c.value)),
                        _ => None,
                    };
                    depends.push(Depend {
                        name: d.name.clone(),
                        versions,
                        span: d.span.clone(),
                        resolved: None,
                    });
                }
                let (Some(subsystem), Some(order), Some(version)) = (subsystem, order, version)
                else {
                    continue;
                };
                model.modules.push(Module {
                    name: m.name.clone(),
                    krate: krate.clone(),
                    module_path: scope.join("::"),
                    site,
                    name_span: m.name_span.clone(),
                    subsystem,
                    order,
                    version: version.value,
                    depends,
                    handler: m.handler.clone(),
                    shutdown_arm: m.shutdown_arm.clone(),
                    usable: true,
                });
            }
            for h in &f.facts.hooks {
                let scope: Vec<String> = f.module.iter().chain(&h.inline).cloned().collect();
                let site = Site {
                    file: f.file,
                    span: h.span.clone(),
                    item_start: h.item_start,
                    line: h.line,
                    selected: f.selected,
                };
                let subsystem = key(
                    &mut model,
                    &scope,
                    &h.subsystem,
                    &site,
                    &h.subsystem_span,
                    "subsystem",
                );
                let order = key(&mut model, &scope, &h.order, &site, &h.order_span, "order");
                let (Some(subsystem), Some(order)) = (subsystem, order) else {
                    continue;
                };
                raw_hooks.push((
                    Hook {
                        kind: h.kind,
                        name: h.name.clone(),
                        krate: krate.clone(),
                        module_path: scope.join("::"),
                        site,
                        subsystem,
                        subsystem_span: h.subsystem_span.clone(),
                        order,
                        order_span: h.order_span.clone(),
                        unit: Unit::Base,
                        body: h.body.clone(),
                        scope: scope.clone(),
                        reach: Vec::new(),
                    },
                    h.module.clone(),
                ));
            }
        }
        model.modules.sort_by(|a, b| {
            (&a.name, &a.module_path, a.site.line).cmp(&(&b.name, &b.module_path, b.site.line))
        });
        model.names = names;
        for (hook, _) in &mut raw_hooks {
            model.resolve_receivers(&hook.scope, &mut hook.body);
            hook.reach = model.reach(&hook.scope, &hook.body);
        }
        model.resolve_modules();
        model.assign_hooks(raw_hooks);
        model
    }

    /// Adds to `body`'s reads and writes the `#[vnet]` statics its receivers name under other names.
    fn resolve_receivers(&self, scope: &[String], body: &mut BodyFacts) {
        for (path, span, writes) in &body.receivers {
            if let Some(Named::Vnet(_, accessor)) = self.names.resolve(scope, path) {
                if !body.reads.iter().any(|(n, _)| *n == accessor) {
                    body.reads.push((accessor.clone(), span.clone()));
                }
                if *writes && !body.writes.iter().any(|(n, _)| *n == accessor) {
                    body.writes.push((accessor, span.clone()));
                }
            }
        }
    }

    /// The `#[vnet]` statics `body` (written in module `scope`) uses through the functions it calls,
    /// followed through the resolver into other modules and crates, `MAX_CALL_DEPTH` calls deep, each
    /// function once.
    fn reach(&self, scope: &[String], body: &BodyFacts) -> Vec<Reach> {
        let mut out: Vec<Reach> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        // (scope, body, the call in the hook, the calls so far)
        type Step = (Vec<String>, BodyFacts, Option<Range<usize>>, Vec<String>);
        let mut work: Vec<Step> = vec![(scope.to_vec(), body.clone(), None, Vec::new())];
        while let Some((scope, body, top, via)) = work.pop() {
            if via.len() >= MAX_CALL_DEPTH {
                continue;
            }
            for (path, span) in &body.call_paths {
                let Some(Named::Fn(module, name)) = self.names.resolve(&scope, path) else {
                    continue;
                };
                if !seen.insert((module.clone(), name.clone())) {
                    continue;
                }
                let Some(function) = self.functions.get(&(module.clone(), name.clone())) else {
                    continue;
                };
                let mut callee = function.body.clone();
                self.resolve_receivers(&module, &mut callee);
                let top = top.clone().unwrap_or_else(|| span.clone());
                let mut via = via.clone();
                via.push(format!("{}()", path.join("::")));
                for (accessor, _) in &callee.reads {
                    if !out.iter().any(|r| r.accessor == *accessor && r.call == top) {
                        out.push(Reach {
                            accessor: accessor.clone(),
                            writes: callee.writes.iter().any(|(w, _)| w == accessor),
                            call: top.clone(),
                            via: via.clone(),
                            file: function.file,
                            line: function.line,
                        });
                    }
                }
                work.push((module, callee, Some(top), via));
            }
        }
        out
    }

    /// Duplicates, dependencies, versions and cycles, as the runtime's catalog checks them.
    fn resolve_modules(&mut self) {
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for (i, m) in self.modules.iter().enumerate().rev() {
            by_name.insert(m.name.clone(), i);
        }
        for i in 0..self.modules.len() {
            if by_name.get(&self.modules[i].name) != Some(&i) {
                self.modules[i].usable = false;
            }
        }
        let names: Vec<String> = by_name.keys().cloned().collect();
        for i in 0..self.modules.len() {
            for d in 0..self.modules[i].depends.len() {
                let dep = &self.modules[i].depends[d];
                match by_name.get(&dep.name) {
                    None => {
                        self.modules[i].usable = false;
                        self.problems.push(Problem::MissingDependency {
                            module: i,
                            depend: d,
                            known: names.clone(),
                        });
                    }
                    Some(&target) => {
                        let found = self.modules[target].version;
                        let fits = dep.versions.is_none_or(|(min, preferred, max)| {
                            found == preferred || (min..=max).contains(&found)
                        });
                        if fits {
                            self.modules[i].depends[d].resolved = Some(target);
                        } else {
                            self.modules[i].usable = false;
                            self.problems.push(Problem::VersionExcluded {
                                module: i,
                                depend: d,
                                found,
                            });
                        }
                    }
                }
            }
        }
        for i in 0..self.modules.len() {
            if let Some(cycle) = self.find_cycle(i) {
                self.modules[i].usable = false;
                if cycle.first() == cycle.iter().min() {
                    let names = cycle
                        .iter()
                        .chain(std::iter::once(&i))
                        .map(|m| self.modules[*m].name.clone())
                        .collect();
                    self.problems.push(Problem::Cycle { module: i, names });
                }
            }
        }
        loop {
            let mut changed = false;
            for i in 0..self.modules.len() {
                let blocked = self.modules[i]
                    .depends
                    .iter()
                    .any(|d| d.resolved.is_some_and(|r| !self.modules[r].usable));
                if self.modules[i].usable && blocked {
                    self.modules[i].usable = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn deps(&self, m: usize) -> impl Iterator<Item = usize> + '_ {
        self.modules[m].depends.iter().filter_map(|d| d.resolved)
    }

    fn find_cycle(&self, start: usize) -> Option<Vec<usize>> {
        fn dfs(
            model: &Model,
            start: usize,
            at: usize,
            path: &mut Vec<usize>,
            seen: &mut [bool],
        ) -> bool {
            for d in model.deps(at).collect::<Vec<_>>() {
                if d == start {
                    return true;
                }
                if !seen[d] {
                    seen[d] = true;
                    path.push(d);
                    if dfs(model, start, d, path, seen) {
                        return true;
                    }
                    path.pop();
                }
            }
            false
        }
        let mut path = vec![start];
        let mut seen = vec![false; self.modules.len()];
        dfs(self, start, start, &mut path, &mut seen).then_some(path)
    }

    /// Which module each hook belongs to: the one it names, else the one its crate declares, else the
    /// base; several candidates is a problem, never a guess.
    fn assign_hooks(&mut self, raw: Vec<(Hook, Option<String>)>) {
        let mut hooks = Vec::new();
        for (mut hook, named) in raw {
            let unit = match named {
                Some(name) => match self.modules.iter().position(|m| m.name == name) {
                    Some(m) => Unit::Module(m),
                    None => {
                        self.problems.push(Problem::UnknownModule {
                            site: hook.site.clone(),
                            name,
                        });
                        continue;
                    }
                },
                None => {
                    let mut candidates: Vec<usize> = (0..self.modules.len())
                        .filter(|m| self.modules[*m].krate == hook.krate)
                        .collect();
                    candidates.dedup_by(|a, b| self.modules[*a].name == self.modules[*b].name);
                    match candidates.as_slice() {
                        [] => Unit::Base,
                        [m] => Unit::Module(*m),
                        several => {
                            let names = several
                                .iter()
                                .map(|m| self.modules[*m].name.clone())
                                .collect();
                            self.problems.push(Problem::AmbiguousModule {
                                site: hook.site.clone(),
                                names,
                            });
                            continue;
                        }
                    }
                }
            };
            hook.unit = unit;
            if hook.kind.per_instance() && !keys::is_vnet_subsystem(hook.subsystem.value) {
                self.problems.push(Problem::VnetHookOutsideVnet {
                    hook: Box::new(hook),
                });
                continue;
            }
            hooks.push(hook);
        }
        hooks.sort_by_cached_key(|h| self.hook_key(h));
        self.hooks = hooks;
    }

    /// Whether module `m` is `dep` or depends on it, directly or not.
    pub fn depends_on(&self, m: usize, dep: usize) -> bool {
        let mut seen = vec![false; self.modules.len()];
        let mut work = vec![m];
        while let Some(at) = work.pop() {
            if at == dep {
                return true;
            }
            if !std::mem::replace(&mut seen[at], true) {
                work.extend(self.deps(at));
            }
        }
        false
    }

    /// The unit whose hooks own the state of crate `krate`: the one module it declares, else the base.
    pub fn unit_of_crate(&self, krate: &str) -> Option<Unit> {
        let mut declared = self
            .modules
            .iter()
            .enumerate()
            .filter(|(_, m)| m.krate == krate);
        match (declared.next(), declared.next()) {
            (None, _) => Some(Unit::Base),
            (Some((m, _)), None) => Some(Unit::Module(m)),
            _ => None,
        }
    }

    /// The unit that owns the `#[vnet]` static behind accessor `name`, when one crate declares it.
    pub fn owner_of(&self, accessor: &str) -> Option<Unit> {
        match self.vnet_statics.get(accessor).map(Vec::as_slice) {
            Some([krate]) => self.unit_of_crate(krate),
            _ => None,
        }
    }

    /// How messages name file `file`.
    pub fn file_name(&self, file: FileId) -> String {
        self.file_names
            .get(&file)
            .cloned()
            .unwrap_or_else(|| format!("file {file}"))
    }

    /// The crate of a module path.
    pub fn crate_of(module: &[String]) -> &str {
        module.first().map_or("", String::as_str)
    }

    /// Whether hooks of `unit` may run: the base always, a module when usable.
    pub fn loads(&self, unit: Unit) -> bool {
        match unit {
            Unit::Base => true,
            Unit::Module(m) => self.modules[m].usable,
        }
    }
}

fn join(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().chain(b).cloned().collect()
}
