//! Constant evaluation of `(subsystem, order)` and version arguments: each name is resolved by the
//! resolver ([`Names`]: the scope's own `const` items, `use` by name, rename and glob, `self`, `super`,
//! `crate`, other crates of the selection, the runtime's `subsystem` module and prelude), then integer
//! arithmetic is done with overflow checks. A name that cannot be resolved is an error naming it.

use super::names::{Named, Names};
use crate::parse::lifecycle::const_expr::ConstExpr;

/// Evaluates constant expressions with the names of a [`Names`].
#[derive(Clone, Copy, Debug)]
pub struct Evaluator<'n> {
    names: &'n Names,
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

impl<'n> Evaluator<'n> {
    /// An evaluator over `names`.
    pub fn new(names: &'n Names) -> Self {
        Evaluator { names }
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
        match self.names.resolve(scope, path) {
            Some(Named::Const(module, name)) => {
                let expr = self
                    .names
                    .const_expr(&module, &name)
                    .ok_or_else(unresolved)?;
                self.eval_wide(&module, expr, depth + 1, false)
            }
            Some(Named::External(p)) => runtime_value(&p).ok_or_else(unresolved),
            _ => Err(unresolved()),
        }
    }
}

/// The runtime's value for `path` when it names one of its `SI_*` constants: `vnet_runtime::SI_…`,
/// `vnet_runtime::subsystem::SI_…` or `vnet_runtime::prelude::SI_…` (the constants are built by a macro
/// there, so the lint knows them).
fn runtime_value(path: &[String]) -> Option<i128> {
    let (name, module) = path.split_last()?;
    let runtime = match module {
        [krate] => krate == "vnet_runtime",
        [krate, sub] => krate == "vnet_runtime" && (sub == "subsystem" || sub == "prelude"),
        _ => false,
    };
    if runtime {
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

    fn scopes(files: &[(&[&str], &str)]) -> Names {
        let mut names = Names::default();
        for (module, text) in files {
            let module: Vec<String> = module.iter().map(|s| s.to_string()).collect();
            names.add(&module, &collect(text).unwrap());
        }
        names
    }

    fn path(p: &str) -> ConstExpr {
        ConstExpr::Path(p.split("::").map(str::to_owned).collect())
    }

    #[test]
    fn names_resolve_through_globs_uses_paths_and_crates() {
        let names = scopes(&[
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
        let s = Evaluator::new(&names);
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
        let names = scopes(&[(
            &["a"],
            "pub const T: u32 = (0x1_0000_0005u64 as u32);
             pub const U: u32 = (-1i32 as u8) as u32;
             pub const S: u32 = ((0xffu32 as i8) as i64 + 300) as u32;
             pub const W: u32 = 7u8 as u32 + 1 as u64 as u32;
             pub const F: u32 = 3 as f64 as u32;",
        )]);
        let s = Evaluator::new(&names);
        let a = vec!["a".to_owned()];
        assert_eq!(s.eval(&a, &path("T")), Ok(5));
        assert_eq!(s.eval(&a, &path("U")), Ok(255));
        assert_eq!(s.eval(&a, &path("S")), Ok(299));
        assert_eq!(s.eval(&a, &path("W")), Ok(8));
        assert_eq!(s.eval(&a, &path("F")), Ok(3));
        // Without a cast, a value past `u32` is still out of range.
        let names = scopes(&[(&["a"], "pub const X: u64 = 0x1_0000_0005;")]);
        let s = Evaluator::new(&names);
        assert!(matches!(
            s.eval(&a, &path("X")),
            Err(EvalError::OutOfRange(_))
        ));
    }

    /// A runtime renamed in `Cargo.toml` (`rt = { package = "vnet-runtime" }`) is named on every hook
    /// attribute (`crate = rt`); paths and imports through `rt::subsystem` are the runtime's.
    #[test]
    fn a_runtime_renamed_in_cargo_toml_resolves() {
        let names = scopes(&[
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
        let s = Evaluator::new(&names);
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
