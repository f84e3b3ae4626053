//! Constant evaluation of `(subsystem, order)` and version arguments: names are resolved the way rustc
//! would for these simple cases (the scope's own `const` items, `use` by name, rename and glob, `self`,
//! `super`, `crate`, other crates of the selection, and the runtime's `subsystem` module), then integer
//! arithmetic is done with overflow checks. A name that cannot be resolved is an error naming it.

use crate::parse::lifecycle::const_expr::ConstExpr;
use crate::parse::lifecycle::{ModelFacts, UseFact};
use std::collections::HashMap;

/// One module's scope: its constants and `use` declarations.
#[derive(Default, Debug)]
struct Scope {
    consts: HashMap<String, ConstExpr>,
    uses: Vec<UseFact>,
}

/// Every module scope of the selection, by full path (`["mymod", "keys"]`).
#[derive(Default, Debug)]
pub struct Scopes {
    scopes: HashMap<Vec<String>, Scope>,
    crates: Vec<String>,
    /// Per crate, the names its hook attributes give the runtime (`crate = rt`, a `Cargo.toml` rename).
    runtime_aliases: HashMap<String, Vec<String>>,
}

/// Why a value could not be computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A name that resolves to no constant the lint can see.
    Unresolved(String),
    /// An expression the lint does not evaluate (a `const fn` call, a block…), as written.
    Unsupported(String),
    /// The value is negative or does not fit in `u32`.
    OutOfRange(String),
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EvalError::Unresolved(name) => write!(f, "cannot resolve `{name}` to a constant"),
            EvalError::Unsupported(text) => {
                write!(
                    f,
                    "cannot evaluate `{text}` (only integers, constants, arithmetic and casts)"
                )
            }
            EvalError::OutOfRange(text) => write!(f, "`{text}` does not fit in a `u32`"),
        }
    }
}

const MAX_DEPTH: usize = 32;

impl Scopes {
    /// Adds the facts of one file whose module is `module` (crate name first).
    pub fn add(&mut self, module: &[String], facts: &ModelFacts) {
        if let Some(krate) = module.first() {
            if !self.crates.contains(krate) {
                self.crates.push(krate.clone());
            }
            let aliases = self.runtime_aliases.entry(krate.clone()).or_default();
            for alias in &facts.runtime_aliases {
                if !aliases.contains(alias) {
                    aliases.push(alias.clone());
                }
            }
        }
        self.scopes.entry(module.to_vec()).or_default();
        for inline in &facts.inline_modules {
            self.scopes.entry(join(module, inline)).or_default();
        }
        for c in &facts.consts {
            self.scopes
                .entry(join(module, &c.inline))
                .or_default()
                .consts
                .insert(c.name.clone(), c.expr.clone());
        }
        for u in &facts.uses {
            self.scopes
                .entry(join(module, &u.inline))
                .or_default()
                .uses
                .push(u.clone());
        }
    }

    /// Evaluates `expr` as written in module `scope`.
    pub fn eval(&self, scope: &[String], expr: &ConstExpr) -> Result<u32, EvalError> {
        self.eval_in(scope, expr, false)
    }

    /// Evaluates `expr` written as an argument of a hook or module attribute in module `scope`: the
    /// runtime's attributes resolve `SI_SUB_*`/`SI_ORDER_*` names themselves, so these need no import
    /// (a name the module defines or imports still wins).
    pub fn eval_attribute(&self, scope: &[String], expr: &ConstExpr) -> Result<u32, EvalError> {
        self.eval_in(scope, expr, true)
    }

    fn eval_in(
        &self,
        scope: &[String],
        expr: &ConstExpr,
        attribute: bool,
    ) -> Result<u32, EvalError> {
        let value = self.eval_wide(scope, expr, 0, attribute)?;
        u32::try_from(value).map_err(|_| EvalError::OutOfRange(show(expr)))
    }

    fn eval_wide(
        &self,
        scope: &[String],
        expr: &ConstExpr,
        depth: usize,
        attribute: bool,
    ) -> Result<i128, EvalError> {
        if depth > MAX_DEPTH {
            return Err(EvalError::Unsupported(show(expr)));
        }
        let overflow = || EvalError::OutOfRange(show(expr));
        match expr {
            ConstExpr::Int(v) => i128::try_from(*v).map_err(|_| overflow()),
            ConstExpr::Unsupported(text) => Err(EvalError::Unsupported(text.clone())),
            ConstExpr::Neg(inner) => self
                .eval_wide(scope, inner, depth + 1, attribute)?
                .checked_neg()
                .ok_or_else(overflow),
            ConstExpr::Binary(op, a, b) => {
                let a = self.eval_wide(scope, a, depth + 1, attribute)?;
                let b = self.eval_wide(scope, b, depth + 1, attribute)?;
                let shift = || u32::try_from(b).ok().filter(|s| *s < 64);
                match op {
                    '+' => a.checked_add(b),
                    '-' => a.checked_sub(b),
                    '*' => a.checked_mul(b),
                    '/' => a.checked_div(b),
                    '%' => a.checked_rem(b),
                    '<' => shift().and_then(|s| a.checked_shl(s)),
                    '>' => shift().and_then(|s| a.checked_shr(s)),
                    '|' => Some(a | b),
                    '&' => Some(a & b),
                    '^' => Some(a ^ b),
                    _ => None,
                }
                .ok_or_else(overflow)
            }
            ConstExpr::Path(path) => {
                let value = self.path_value(scope, path, depth + 1);
                match (&value, path.as_slice()) {
                    (Err(EvalError::Unresolved(_)), [name]) if attribute => {
                        super::keys::value(name)
                            .filter(|_| name.starts_with("SI_"))
                            .map_or(value, |v| Ok(i128::from(v)))
                    }
                    _ => value,
                }
            }
            ConstExpr::Cast(ty, inner) => {
                let value = self.eval_wide(scope, inner, depth + 1, attribute)?;
                Ok(crate::parse::lifecycle::const_expr::int_bits(ty)
                    .map_or(value, |(bits, signed)| cast(value, bits, signed)))
            }
        }
    }

    /// The value of the constant `path` names from `scope`.
    fn path_value(
        &self,
        scope: &[String],
        path: &[String],
        depth: usize,
    ) -> Result<i128, EvalError> {
        let unresolved = || EvalError::Unresolved(path.join("::"));
        if depth > MAX_DEPTH {
            return Err(unresolved());
        }
        let Some((name, module_path)) = path.split_last() else {
            return Err(unresolved());
        };
        if module_path.is_empty() {
            return self.name_value(scope, name, depth).ok_or_else(unresolved)?;
        }
        if let Some(value) = runtime_value(module_path, name) {
            return Ok(value);
        }
        let module = self
            .module(scope, module_path, depth)
            .ok_or_else(unresolved)?;
        match module {
            Target::Runtime => runtime_value(&["vnet_runtime".into(), "subsystem".into()], name)
                .ok_or_else(unresolved),
            Target::Module(m) => self.name_value(&m, name, depth).ok_or_else(unresolved)?,
        }
    }

    /// The value of `name` in module `scope`: its own constant, a name it imports, or a glob.
    fn name_value(
        &self,
        scope: &[String],
        name: &str,
        depth: usize,
    ) -> Option<Result<i128, EvalError>> {
        let s = self.scopes.get(scope)?;
        if let Some(expr) = s.consts.get(name) {
            return Some(self.eval_wide(scope, expr, depth + 1, false));
        }
        for u in s.uses.iter().filter(|u| u.alias.as_deref() == Some(name)) {
            if let Some((last, module)) = u.path.split_last() {
                if let Some(v) = runtime_value(module, last) {
                    return Some(Ok(v));
                }
                if module.is_empty() {
                    continue;
                }
                match self.module(scope, module, depth + 1) {
                    Some(Target::Module(m)) => {
                        if let Some(v) = self.name_value(&m, last, depth + 1) {
                            return Some(v);
                        }
                    }
                    Some(Target::Runtime) => {
                        if let Some(v) =
                            runtime_value(&["vnet_runtime".into(), "subsystem".into()], last)
                        {
                            return Some(Ok(v));
                        }
                    }
                    None => {}
                }
            }
        }
        for u in s.uses.iter().filter(|u| u.alias.is_none()) {
            match self.module(scope, &u.path, depth + 1) {
                Some(Target::Module(m)) if m.as_slice() != scope => {
                    if let Some(v) = self.name_value(&m, name, depth + 1) {
                        return Some(v);
                    }
                }
                Some(Target::Runtime) => {
                    if let Some(v) =
                        runtime_value(&["vnet_runtime".into(), "subsystem".into()], name)
                    {
                        return Some(Ok(v));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The module `path` names from `scope`.
    fn module(&self, scope: &[String], path: &[String], depth: usize) -> Option<Target> {
        if depth > MAX_DEPTH || path.is_empty() {
            return None;
        }
        if is_runtime_subsystem(path) {
            return Some(Target::Runtime);
        }
        let (first, rest) = path.split_first()?;
        let base: Vec<String> = match first.as_str() {
            "crate" => scope.first().cloned().into_iter().collect(),
            "self" => scope.to_vec(),
            "super" => scope[..scope.len().saturating_sub(1)].to_vec(),
            _ => {
                let mut child = scope.to_vec();
                child.push(first.clone());
                if self.scopes.contains_key(&child) {
                    child
                } else if let Some(u) = self
                    .scopes
                    .get(scope)
                    .and_then(|s| s.uses.iter().find(|u| u.alias.as_deref() == Some(first)))
                {
                    let mut full = u.path.clone();
                    full.extend(rest.iter().cloned());
                    return self.module(scope, &full, depth + 1).or_else(|| {
                        // `use` paths may also start at the crate root (2015 style).
                        let mut rooted = scope.first().cloned().into_iter().collect::<Vec<_>>();
                        rooted.extend(full.iter().cloned());
                        self.scopes
                            .contains_key(&rooted)
                            .then_some(Target::Module(rooted))
                    });
                } else if self.crates.contains(first) {
                    vec![first.clone()]
                } else if scope
                    .first()
                    .and_then(|krate| self.runtime_aliases.get(krate))
                    .is_some_and(|aliases| aliases.contains(first))
                {
                    // The runtime under the name `Cargo.toml` gives it (`crate = rt` on the hooks).
                    let mut full = vec!["vnet_runtime".to_owned()];
                    full.extend(rest.iter().cloned());
                    return self.module(scope, &full, depth + 1);
                } else {
                    return None;
                }
            }
        };
        if rest.is_empty() {
            return Some(Target::Module(base));
        }
        let mut full = base.clone();
        full.extend(rest.iter().cloned());
        if is_runtime_subsystem(&full) {
            return Some(Target::Runtime);
        }
        // The rest is resolved inside `base`: its child modules and the names it imports.
        self.module(&base, rest, depth + 1)
    }
}

enum Target {
    Module(Vec<String>),
    Runtime,
}

/// `vnet_runtime::subsystem`, whose constants the lint knows (they are built by a macro there),
/// or `vnet_runtime::prelude`, which re-exports them all.
fn is_runtime_subsystem(path: &[String]) -> bool {
    matches!(path, [krate, sub] if krate == "vnet_runtime" && (sub == "subsystem" || sub == "prelude"))
}

/// The runtime's value for `module::name` when `module` is `vnet_runtime::subsystem`.
fn runtime_value(module: &[String], name: &str) -> Option<i128> {
    if is_runtime_subsystem(module) {
        super::keys::value(name).map(i128::from)
    } else {
        None
    }
}

/// `value as T` for an integer type of `bits` bits: the low bits, sign-extended when `signed`.
fn cast(value: i128, bits: u32, signed: bool) -> i128 {
    if bits >= 128 {
        return value;
    }
    let low = value & ((1i128 << bits) - 1);
    if signed && low >> (bits - 1) & 1 == 1 {
        low - (1i128 << bits)
    } else {
        low
    }
}

fn join(a: &[String], b: &[String]) -> Vec<String> {
    a.iter().chain(b).cloned().collect()
}

/// An expression as the user would write it.
pub fn show(expr: &ConstExpr) -> String {
    match expr {
        ConstExpr::Int(v) => v.to_string(),
        ConstExpr::Path(p) => p.join("::"),
        ConstExpr::Binary(op, a, b) => {
            let op = match op {
                '<' => "<<".to_owned(),
                '>' => ">>".to_owned(),
                c => c.to_string(),
            };
            format!("{} {op} {}", show(a), show(b))
        }
        ConstExpr::Neg(a) => format!("-{}", show(a)),
        ConstExpr::Cast(ty, a) => format!("{} as {ty}", show(a)),
        ConstExpr::Unsupported(text) => text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::lifecycle::collect;

    fn scopes(files: &[(&[&str], &str)]) -> Scopes {
        let mut scopes = Scopes::default();
        for (module, text) in files {
            let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
            scopes.add(&module, &collect(text).unwrap());
        }
        scopes
    }

    fn path(p: &str) -> ConstExpr {
        ConstExpr::Path(p.split("::").map(str::to_owned).collect())
    }

    #[test]
    fn names_resolve_through_globs_uses_paths_and_crates() {
        let s = scopes(&[
            (
                &["a"],
                "use vnet_runtime::subsystem::*; use crate::keys::B as C; pub const A: u32 = (SI_ORDER_ANY + 1) as u32;
                 mod inner { use super::*; pub const D: u32 = A * 2 - C; }",
            ),
            (&["a", "keys"], "pub const B: u32 = 1 << 4;"),
            (&["b"], "use vnet_runtime::subsystem; const E: u32 = subsystem::SI_SUB_PSEUDO + a::A;"),
            (&["c"], "extern crate vnet_runtime as rt; const F: u32 = rt::subsystem::SI_ORDER_THIRD;"),
            (&["d"], "use vnet_runtime::prelude::*; const G: u32 = SI_SUB_PROTO_BEGIN + SI_ORDER_ANY;"),
        ]);
        let a = vec!["a".to_owned()];
        assert_eq!(s.eval(&a, &path("A")), Ok(0x1000_0000));
        assert_eq!(s.eval(&a, &path("C")), Ok(16));
        assert_eq!(s.eval(&a, &path("inner::D")), Ok(0x2000_0000 - 16));
        assert_eq!(
            s.eval(&["b".to_owned()], &path("E")),
            Ok(0x700_0000 + 0x1000_0000)
        );
        assert_eq!(
            s.eval(&a, &path("MISSING")),
            Err(EvalError::Unresolved("MISSING".into()))
        );
        assert_eq!(
            s.eval(&a, &path("vnet_runtime::subsystem::SI_ORDER_SECOND")),
            Ok(1)
        );
        assert_eq!(s.eval(&["c".to_owned()], &path("F")), Ok(2));
        // The runtime's prelude brings the SI_* constants too.
        assert_eq!(
            s.eval(&["d".to_owned()], &path("G")),
            Ok(0x800_0000 + 0x0fff_ffff)
        );
    }

    /// `as` to an integer type truncates or sign-extends as rustc does: `0x1_0000_0005u64 as u32`
    /// is 5, a valid key, not a value "out of range".
    #[test]
    fn integer_casts_truncate_and_sign_extend() {
        let s = scopes(&[(
            &["a"],
            "pub const T: u32 = (0x1_0000_0005u64 as u32);
             pub const U: u32 = (-1i32 as u8) as u32;
             pub const S: u32 = ((0xffu32 as i8) as i64 + 300) as u32;
             pub const W: u32 = 7u8 as u32 + 1 as u64 as u32;
             pub const F: u32 = 3 as f64 as u32;",
        )]);
        let a = vec!["a".to_owned()];
        assert_eq!(s.eval(&a, &path("T")), Ok(5));
        assert_eq!(s.eval(&a, &path("U")), Ok(255));
        assert_eq!(s.eval(&a, &path("S")), Ok(299));
        assert_eq!(s.eval(&a, &path("W")), Ok(8));
        assert_eq!(s.eval(&a, &path("F")), Ok(3));
        // Without a cast, a value past `u32` is still out of range.
        let s = scopes(&[(&["a"], "pub const X: u64 = 0x1_0000_0005;")]);
        assert!(matches!(
            s.eval(&a, &path("X")),
            Err(EvalError::OutOfRange(_))
        ));
    }

    /// A runtime renamed in `Cargo.toml` (`rt = { package = "vnet-runtime" }`) is named on every hook
    /// attribute (`crate = rt`); paths and imports through `rt::subsystem` are the runtime's.
    #[test]
    fn a_runtime_renamed_in_cargo_toml_resolves() {
        let s = scopes(&[
            (
                &["a"],
                "use rt::subsystem::SI_SUB_PSEUDO as PS;
                 #[rt::sysinit(PS, rt::subsystem::SI_ORDER_ANY - 1, crate = rt)] fn init() {}",
            ),
            (
                &["a", "keys"],
                "use rt::subsystem::*; pub const K: u32 = SI_ORDER_SECOND;",
            ),
            (&["b"], "use rt::subsystem::SI_SUB_PSEUDO as PS;"),
        ]);
        let a = vec!["a".to_owned()];
        assert_eq!(s.eval(&a, &path("PS")), Ok(0x700_0000));
        assert_eq!(
            s.eval(&a, &path("rt::subsystem::SI_ORDER_ANY")),
            Ok(0xfff_ffff)
        );
        assert_eq!(s.eval(&a, &path("keys::K")), Ok(1));
        // Another crate that never names `rt` on a hook: `rt` is nothing known there.
        assert_eq!(
            s.eval(&["b".to_owned()], &path("PS")),
            Err(EvalError::Unresolved("PS".into()))
        );
    }
}
