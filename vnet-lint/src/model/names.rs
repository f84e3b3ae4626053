//! The resolver: what a path names, as rustc would resolve it. Built once per run over the module tree of
//! every crate the model read (the selection and its path dependencies), from each file's `const`s, free
//! functions, `#[vnet]` statics, inline modules and `use` declarations (renames, globs, `self`, `super`,
//! `crate`, `pub use` re-exports), `extern crate … as`, dependencies renamed in `Cargo.toml`, and the
//! runtime renamed on hook attributes (`crate = rt`).
//!
//! Every rule that asks "what does this path name?" asks [`Names::resolve`]: the answer is an item of
//! the selection, a path outside it (`std::thread::spawn`, `tokio::spawn`, `vnet_runtime::curvnet_set`),
//! or nothing — never a guess by last segment. Visibility is not checked (code that builds sees only
//! what it may), and names brought in by macros are not seen.

use crate::parse::lifecycle::const_expr::ConstExpr;
use crate::parse::lifecycle::{LifecycleFacts, UseFact};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// How deep a path is followed through `use`s before it counts as unresolved (cycles end there).
const MAX_DEPTH: usize = 24;

/// What a path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Named {
    /// A free function of the selection: its module path (crate first) and name.
    Fn(Vec<String>, String),
    /// A `const` item of the selection.
    Const(Vec<String>, String),
    /// A `#[vnet]` static of the selection, by its accessor (`V_RULES`).
    Vnet(Vec<String>, String),
    /// A module of the selection.
    Module(Vec<String>),
    /// A path outside the selection, crate first, with renames undone (`std::thread::spawn`,
    /// `vnet_runtime::thread::spawn` for `rt::thread::spawn` when `rt` is the runtime renamed).
    External(Vec<String>),
}

impl Named {
    /// Whether it is a path of crate `krate` outside the selection (`vnet_runtime`).
    pub fn is_external_in(&self, krate: &str) -> bool {
        matches!(self, Named::External(p) if p.first().is_some_and(|f| f == krate))
    }
}

/// One module's names.
#[derive(Debug, Default)]
struct Scope {
    consts: BTreeMap<String, ConstExpr>,
    fns: BTreeSet<String>,
    vnet: BTreeSet<String>,
    uses: Vec<UseFact>,
}

/// The module tree of every crate read, and the names in each module.
#[derive(Debug, Default)]
pub struct Names {
    scopes: BTreeMap<Vec<String>, Scope>,
    /// Per crate: names that stand for another crate (`rt` → `vnet_runtime`, from `Cargo.toml` renames
    /// and `crate = rt` on hook attributes).
    renames: BTreeMap<String, BTreeMap<String, String>>,
    /// Modules looked into that no file read so far declares (the engine reads their files and
    /// builds again).
    misses: RefCell<BTreeSet<Vec<String>>>,
    /// Names being resolved (module, name, glob guesses allowed), the cycle guard.
    active: RefCell<BTreeSet<(Vec<String>, String, bool)>>,
}

impl Names {
    /// Adds the facts of the file whose module path is `module` (crate first).
    pub fn add(&mut self, module: &[String], facts: &LifecycleFacts) {
        let krate = module.first().cloned().unwrap_or_default();
        for alias in &facts.runtime_aliases {
            self.renames
                .entry(krate.clone())
                .or_default()
                .insert(alias.clone(), "vnet_runtime".to_owned());
        }
        // Every ancestor is a module too (`a::b` for a file `a/b/c.rs`).
        for end in 1..=module.len() {
            self.scopes.entry(module[..end].to_vec()).or_default();
        }
        for inline in &facts.inline_modules {
            self.scopes.entry(join(module, inline)).or_default();
        }
        for c in &facts.consts {
            self.scope(module, &c.inline)
                .consts
                .insert(c.name.clone(), c.expr.clone());
        }
        for f in &facts.functions {
            self.scope(module, &f.inline).fns.insert(f.name.clone());
        }
        for (accessor, inline) in &facts.vnet_statics {
            self.scope(module, inline).vnet.insert(accessor.clone());
        }
        for u in &facts.uses {
            self.scope(module, &u.inline).uses.push(u.clone());
        }
    }

    /// Records that in crate `krate`, the name `alias` stands for crate `target` (a dependency renamed
    /// in `Cargo.toml`: `rt = { package = "vnet-runtime" }`).
    pub fn add_rename(&mut self, krate: &str, alias: &str, target: &str) {
        self.renames
            .entry(krate.to_owned())
            .or_default()
            .insert(alias.to_owned(), target.replace('-', "_"));
    }

    fn scope(&mut self, module: &[String], inline: &[String]) -> &mut Scope {
        self.scopes.entry(join(module, inline)).or_default()
    }

    /// Modules some path went into that no file read declares, for the engine to read.
    pub fn misses(&self) -> Vec<Vec<String>> {
        self.misses.borrow().iter().cloned().collect()
    }

    /// What `path` names when written in module `scope`.
    ///
    /// ```
    /// use vnet_lint::model::names::{Named, Names};
    /// let facts = vnet_lint::parse::lifecycle::collect(
    ///     "use std::thread as t; use vnet_runtime::thread; mod a { pub fn f() {} }",
    /// )
    /// .unwrap();
    /// let mut names = Names::default();
    /// names.add(&["c".into()], &facts);
    /// let at = |p: &str| names.resolve(&["c".into()], &p.split("::").map(String::from).collect::<Vec<_>>());
    /// assert_eq!(at("t::spawn"), Some(Named::External(vec!["std".into(), "thread".into(), "spawn".into()])));
    /// assert_eq!(at("thread::spawn"), Some(Named::External(vec!["vnet_runtime".into(), "thread".into(), "spawn".into()])));
    /// assert_eq!(at("self::a::f"), Some(Named::Fn(vec!["c".into(), "a".into()], "f".into())));
    /// assert_eq!(at("missing"), None);
    /// ```
    pub fn resolve(&self, scope: &[String], path: &[String]) -> Option<Named> {
        self.path(scope, path, 0)
    }

    /// The expression of the `const` that `Named::Const` names.
    pub fn const_expr(&self, module: &[String], name: &str) -> Option<&ConstExpr> {
        self.scopes.get(module)?.consts.get(name)
    }

    fn path(&self, scope: &[String], path: &[String], depth: usize) -> Option<Named> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (last, parents) = path.split_last()?;
        if parents.is_empty() {
            // A lone name is never a crate; `drop` is the prelude's.
            return self.name(scope, last, depth + 1).or_else(|| {
                (last == "drop")
                    .then(|| Named::External(vec!["std".into(), "mem".into(), "drop".into()]))
            });
        }
        let base = match parents {
            [first] => self.first_segment(scope, first, depth + 1)?,
            _ => self.path(scope, parents, depth + 1)?,
        };
        match base {
            Named::Module(m) => self.member(&m, last, depth + 1),
            Named::External(mut p) => {
                p.push(last.clone());
                Some(Named::External(p))
            }
            _ => None,
        }
    }

    /// The first segment of a path of several: a name of the scope, else a crate (of the selection or
    /// not), else what a glob of an outside crate may bring. A name the scope imports that did not
    /// resolve is no crate.
    fn first_segment(&self, scope: &[String], first: &str, depth: usize) -> Option<Named> {
        if let Some(found) = self.name_in(scope, first, depth, false) {
            return Some(found);
        }
        let imported = self
            .scopes
            .get(scope)
            .is_some_and(|s| s.uses.iter().any(|u| u.alias.as_deref() == Some(first)));
        if imported {
            return None;
        }
        self.extern_prelude(scope, first)
            .or_else(|| self.name_in(scope, first, depth, true))
    }

    /// `name` in module `scope`, as its first path segment: its own items and child modules, the
    /// names it imports, its globs; `crate`, `self`, `super`.
    fn name(&self, scope: &[String], name: &str, depth: usize) -> Option<Named> {
        self.name_in(scope, name, depth, true)
    }

    /// [`Names::name`]; `guess` allows a name from a glob of an outside crate.
    fn name_in(&self, scope: &[String], name: &str, depth: usize, guess: bool) -> Option<Named> {
        match name {
            "crate" => return Some(Named::Module(scope.first().cloned().into_iter().collect())),
            "self" => return Some(Named::Module(scope.to_vec())),
            "super" => {
                return Some(Named::Module(
                    scope[..scope.len().saturating_sub(1)].to_vec(),
                ))
            }
            _ => {}
        }
        self.member_in(scope, name, depth, guess)
    }

    /// `name` as an item of module `module` (what `module::name` names).
    fn member(&self, module: &[String], name: &str, depth: usize) -> Option<Named> {
        self.member_in(module, name, depth, true)
    }

    /// [`Names::member`]; `guess` allows a name from a glob of an outside crate (which the resolver
    /// cannot list).
    fn member_in(&self, module: &[String], name: &str, depth: usize, guess: bool) -> Option<Named> {
        if depth > MAX_DEPTH {
            return None;
        }
        // A name being resolved that needs itself (`use a::x as y; use a::y as x;`) names nothing.
        let key = (module.to_vec(), name.to_owned(), guess);
        if !self.active.borrow_mut().insert(key.clone()) {
            return None;
        }
        let found = self.member_once(module, name, depth, guess);
        self.active.borrow_mut().remove(&key);
        found
    }

    fn member_once(
        &self,
        module: &[String],
        name: &str,
        depth: usize,
        guess: bool,
    ) -> Option<Named> {
        let Some(s) = self.scopes.get(module) else {
            self.misses.borrow_mut().insert(module.to_vec());
            return None;
        };
        if s.fns.contains(name) {
            return Some(Named::Fn(module.to_vec(), name.to_owned()));
        }
        if s.consts.contains_key(name) {
            return Some(Named::Const(module.to_vec(), name.to_owned()));
        }
        if s.vnet.contains(name) {
            return Some(Named::Vnet(module.to_vec(), name.to_owned()));
        }
        let child = join(module, &[name.to_owned()]);
        if self.scopes.contains_key(&child) {
            return Some(Named::Module(child));
        }
        for u in s.uses.iter().filter(|u| u.alias.as_deref() == Some(name)) {
            if let Some(found) = self.use_path(module, &u.path, depth + 1) {
                return Some(found);
            }
        }
        let mut external = None;
        for u in s.uses.iter().filter(|u| u.alias.is_none()) {
            match self.use_path(module, &u.path, depth + 1) {
                Some(Named::Module(m)) if m.as_slice() != module => {
                    if let Some(found) = self.member(&m, name, depth + 1) {
                        return Some(found);
                    }
                }
                Some(Named::External(p)) if !runtime_glob_may_bring(&p, name) => {}
                Some(Named::External(mut p)) if guess && external.is_none() => {
                    p.push(name.to_owned());
                    external = Some(Named::External(p));
                }
                _ => {}
            }
        }
        // A module of a file not read yet: the engine reads it and builds again.
        self.misses.borrow_mut().insert(child);
        external
    }

    /// What a `use` path names, from module `scope`: `crate`/`self`/`super`, a name of the scope
    /// (2018 uniform paths), or a crate (2015 paths start at the crate root).
    fn use_path(&self, scope: &[String], path: &[String], depth: usize) -> Option<Named> {
        let (first, rest) = path.split_first()?;
        let base = match first.as_str() {
            "crate" | "self" | "super" => self.name(scope, first, depth)?,
            _ => {
                let own = self.scopes.get(scope).is_some_and(|s| {
                    s.fns.contains(first)
                        || s.consts.contains_key(first)
                        || s.vnet.contains(first)
                        || self
                            .scopes
                            .contains_key(&join(scope, std::slice::from_ref(first)))
                        || s.uses
                            .iter()
                            .any(|u| u.alias.as_deref() == Some(first.as_str()) && u.path != path)
                });
                let rooted = scope
                    .first()
                    .map(|krate| vec![krate.clone(), first.clone()])
                    .filter(|r| self.scopes.contains_key(r));
                if own {
                    self.member(scope, first, depth)?
                } else if let Some(rooted) = rooted.filter(|_| scope.len() == 1 || path.len() > 1) {
                    Named::Module(rooted)
                } else {
                    self.first_segment(scope, first, depth)?
                }
            }
        };
        let mut at = base;
        for segment in rest {
            at = match at {
                Named::Module(m) => self.member(&m, segment, depth + 1)?,
                Named::External(mut p) => {
                    p.push(segment.clone());
                    Named::External(p)
                }
                _ => return None,
            };
        }
        Some(at)
    }

    /// A crate named at the start of a path: a crate of the selection, a rename of one, or an external
    /// crate (any other name that is not a local: `std`, `tokio`…).
    fn extern_prelude(&self, scope: &[String], name: &str) -> Option<Named> {
        let krate = scope.first().map(String::as_str).unwrap_or_default();
        let target = self
            .renames
            .get(krate)
            .and_then(|r| r.get(name))
            .map_or(name, String::as_str);
        if target == "crate" {
            return None;
        }
        // The runtime is known by its API (its `SI_*` constants are built by a macro), also when the
        // selection holds its sources: other crates' paths into it stay outside paths.
        if target == "vnet_runtime" {
            return Some(Named::External(vec![target.to_owned()]));
        }
        if self.scopes.contains_key(&[target.to_owned()][..]) {
            return Some(Named::Module(vec![target.to_owned()]));
        }
        let lower = target
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        (lower && !target.is_empty()).then(|| Named::External(vec![target.to_owned()]))
    }
}

/// What the runtime's prelude brings besides the `SI_*` constants (`vnet-runtime/src/prelude.rs`).
const RUNTIME_PRELUDE: &[&str] = &[
    "ModError",
    "ModEvent",
    "curvnet_set",
    "global",
    "sysinit",
    "sysuninit",
    "vnet",
    "vnet_foreach",
    "vnet_module",
    "vnet_sysinit",
    "vnet_sysuninit",
    "vnet_test",
    "Vnet",
];

/// Whether a glob of the outside module `glob` may bring `name`: the runtime's `subsystem` and
/// `prelude` bring only what the lint knows they hold; any other module may bring anything.
fn runtime_glob_may_bring(glob: &[String], name: &str) -> bool {
    let known = super::keys::value(name).is_some();
    match glob {
        [krate, module] if krate == "vnet_runtime" && module == "subsystem" => known,
        [krate, module] if krate == "vnet_runtime" && module == "prelude" => {
            known || RUNTIME_PRELUDE.contains(&name)
        }
        _ => true,
    }
}

fn join(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().chain(b).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::lifecycle::collect;

    fn names(files: &[(&[&str], &str)]) -> Names {
        let mut names = Names::default();
        for (module, text) in files {
            let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
            names.add(&module, &collect(text).expect("parses"));
        }
        names
    }

    fn p(s: &str) -> Vec<String> {
        s.split("::").map(str::to_owned).collect()
    }

    #[test]
    fn renames_globs_reexports_and_crates() {
        let mut n = names(&[
            (
                &["app"],
                "use routing::tables; use crate::rt_glue::*; mod stats; fn local() {}",
            ),
            (
                &["app", "rt_glue"],
                "pub use rt::thread::spawn as spawn_here; pub use std::thread::spawn as plain;",
            ),
            (
                &["app", "stats"],
                "use routing::V_FIBS as FIBS; use super::local as l; pub fn snap() {}",
            ),
            (
                &["hold_route"],
                "pub mod tables; #[vnet] pub static FIBS: u32 = 0;",
            ),
            (
                &["hold_route", "tables"],
                "pub fn numfibs() {} pub fn indirect() { self::numfibs() }",
            ),
        ]);
        n.add_rename("app", "routing", "hold-route");
        n.add_rename("app", "rt", "vnet-runtime");
        let app = p("app");
        assert_eq!(
            n.resolve(&app, &p("tables::indirect")),
            Some(Named::Fn(p("hold_route::tables"), "indirect".into()))
        );
        assert_eq!(
            n.resolve(&app, &p("spawn_here")),
            Some(Named::External(p("vnet_runtime::thread::spawn")))
        );
        assert_eq!(
            n.resolve(&app, &p("crate::rt_glue::plain")),
            Some(Named::External(p("std::thread::spawn")))
        );
        assert_eq!(
            n.resolve(&p("app::stats"), &p("FIBS")),
            Some(Named::Vnet(p("hold_route"), "V_FIBS".into()))
        );
        assert_eq!(
            n.resolve(&p("app::stats"), &p("l")),
            Some(Named::Fn(app.clone(), "local".into()))
        );
        assert_eq!(n.resolve(&app, &p("nothing_here")), None);
        assert_eq!(
            n.resolve(&app, &p("tokio::task::spawn_blocking")),
            Some(Named::External(p("tokio::task::spawn_blocking")))
        );
        assert_eq!(n.resolve(&app, &p("Nothing")), None);
    }

    #[test]
    fn runtime_globs_bring_only_what_the_runtime_has() {
        let n = names(&[(
            &["a"],
            "use vnet_runtime::prelude::*; use std::thread::*; use vnet_runtime::subsystem::*;",
        )]);
        let a = p("a");
        assert_eq!(
            n.resolve(&a, &p("spawn")),
            Some(Named::External(p("std::thread::spawn")))
        );
        assert_eq!(
            n.resolve(&a, &p("curvnet_set")),
            Some(Named::External(p("vnet_runtime::prelude::curvnet_set")))
        );
        assert_eq!(
            n.resolve(&a, &p("SI_ORDER_ANY")),
            Some(Named::External(p("vnet_runtime::prelude::SI_ORDER_ANY")))
        );
    }

    /// The runtime stays an outside path when the selection holds its sources (the workspace itself).
    #[test]
    fn the_runtime_in_the_selection_is_still_the_runtime() {
        let n = names(&[
            (&["vnet_runtime"], "pub mod thread; pub mod subsystem;"),
            (
                &["app"],
                "use vnet_runtime::thread; use vnet_runtime::subsystem::*;",
            ),
        ]);
        let app = p("app");
        assert_eq!(
            n.resolve(&app, &p("thread::spawn")),
            Some(Named::External(p("vnet_runtime::thread::spawn")))
        );
        assert_eq!(
            n.resolve(&app, &p("SI_ORDER_ANY")),
            Some(Named::External(p("vnet_runtime::subsystem::SI_ORDER_ANY")))
        );
    }

    #[test]
    fn use_cycles_end() {
        let n = names(&[(&["a"], "use self::x as y; use self::y as x;")]);
        assert_eq!(n.resolve(&p("a"), &p("x::f")), None);
    }
}
