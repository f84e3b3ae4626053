//! The `unsafe { }` blocks the port leaves without an unsafe operation, and the edits that drop their
//! `unsafe`.
//!
//! A `static mut` ported to an atomic or a lock is used through safe calls: `unsafe { HITS += 1 }`
//! becomes `unsafe { V_HITS.with(…) }`, which rustc reports as `unused_unsafe`. For every block
//! that holds a rewritten use, the original code of the block is read again and the `unsafe` goes
//! only when nothing in it can still need it — decided syntactically and conservatively: another
//! `static mut` or an `extern` static, a `*` dereference, a call of a function or method not known
//! to be safe, an unknown macro (`asm!`), a field of a union of the crate, a nested `unsafe` block,
//! a use ported as `StaticMut` (`(*V_NAME.as_ptr())`) all keep it, and so does a block in the input
//! of a macro other than the standard ones (it may paste its input as tokens). A block that is one
//! tail expression becomes that expression (parenthesised where an operator needs it; parentheses
//! a `let … else` needed only for the block's `}` go with it), any other block keeps its braces
//! and its comments.
//!
//! Whatever this leaves that rustc still reports is caught after writing by the build check (see
//! `verify::remove_unused_unsafe`), which uses [`drop_unsafe`] on the blocks rustc names.

use super::decl::node_range;
use super::edits::Edit;
use super::krate::Krate;
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::PathBuf;
use syn::visit::Visit;

/// What the crate declares that decides whether a name or a call is safe.
#[derive(Debug, Default)]
pub struct Facts {
    /// Names of `static mut` items (also those written inside macros).
    static_muts: BTreeSet<String>,
    /// Names of statics of `extern` blocks.
    extern_statics: BTreeSet<String>,
    /// Names of constants, immutable statics, enum variants and const generic parameters: reading
    /// them is safe.
    immutable: BTreeSet<String>,
    /// Names of functions and methods declared without `unsafe`.
    safe_fns: BTreeSet<String>,
    /// Names of `unsafe fn`s and foreign functions (a name declared both ways counts as unsafe).
    unsafe_fns: BTreeSet<String>,
    /// Field names of the crate's unions.
    union_fields: BTreeSet<String>,
}

impl Facts {
    /// The facts of every file of `krate` that parses.
    pub fn of(krate: &Krate) -> Facts {
        let mut facts = Facts::default();
        for file in krate.files.values() {
            if let Some(parsed) = krate.syntax(file) {
                facts.visit_file(&parsed);
            }
        }
        facts
    }

    /// Reads names out of a macro's tokens: `static mut X`, `static [ref] X`, `const X`,
    /// `unsafe fn f`.
    fn scan_tokens(&mut self, tokens: proc_macro2::TokenStream) {
        let mut words: Vec<String> = Vec::new();
        for tree in tokens {
            match tree {
                proc_macro2::TokenTree::Group(g) => {
                    self.scan_tokens(g.stream());
                    words.clear();
                }
                proc_macro2::TokenTree::Ident(i) => {
                    let word = i.to_string();
                    let n = words.len();
                    let before = |k: usize| n.checked_sub(k).map(|i| words[i].as_str());
                    match (before(2), before(1)) {
                        (Some("static"), Some("mut")) => {
                            self.static_muts.insert(word.clone());
                        }
                        (_, Some("static"))
                        | (Some("static"), Some("ref"))
                        | (_, Some("const"))
                            if word != "mut" && word != "ref" =>
                        {
                            self.immutable.insert(word.clone());
                        }
                        (Some("unsafe"), Some("fn")) => {
                            self.unsafe_fns.insert(word.clone());
                        }
                        _ => {}
                    }
                    words.push(word);
                }
                proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {
                    words.clear()
                }
            }
        }
    }

    fn function(&mut self, sig: &syn::Signature) {
        let name = sig.ident.to_string();
        if matches!(sig.safety, syn::Safety::Unsafe(_)) {
            self.unsafe_fns.insert(name);
        } else {
            self.safe_fns.insert(name);
        }
    }

    /// Whether the path expression `path` (not a rewritten use) may read something unsafe.
    fn path_is_unsafe(&self, path: &syn::ExprPath) -> bool {
        if path.qself.is_some() {
            return false;
        }
        let segments = segment_names(path);
        let Some(last) = segments.last() else {
            return true;
        };
        if let [.., module, _] = segments.as_slice() {
            // `libc::environ`: a lowercase name in a module may be another crate's (`extern`)
            // static; a function of the crate named as a value is not.
            let lowercase = |s: &str| s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_');
            if lowercase(module)
                && lowercase(last)
                && !self.safe_fns.contains(last)
                && !self.unsafe_fns.contains(last)
            {
                return true;
            }
        }
        self.name_is_unsafe(last, segments.len())
    }

    /// Whether a value named `name` (the last of `segments` path segments) may be unsafe to read.
    fn name_is_unsafe(&self, name: &str, segments: usize) -> bool {
        if self.static_muts.contains(name) || self.extern_statics.contains(name) {
            return true;
        }
        if let Some(ported) = name.strip_prefix("V_") {
            // The accessor of a `#[vnet]` static: safe.
            if self.immutable.contains(ported) {
                return false;
            }
        }
        if is_screaming(name) {
            // A static of another crate looks like a constant: known constants only.
            return !(self.immutable.contains(name) || segments > 1 && is_known_const(name));
        }
        false
    }

    /// Whether calling the function `path` names is known to be safe.
    fn call_is_safe(&self, path: &syn::ExprPath) -> bool {
        if path.qself.is_some() {
            return false;
        }
        let segments = segment_names(path);
        let Some(last) = segments.last() else {
            return false;
        };
        if is_camel(last) {
            // A tuple struct or enum variant: a constructor.
            return true;
        }
        if self.unsafe_fns.contains(last) {
            return false;
        }
        if self.safe_fns.contains(last) {
            return true;
        }
        let pair = match segments.as_slice() {
            [.., ty, f] => (ty.as_str(), f.as_str()),
            [f] => ("", f.as_str()),
            [] => return false,
        };
        SAFE_CALLS.contains(&pair)
    }

    /// Whether calling the method `name` is known to be safe.
    fn method_is_safe(&self, name: &str) -> bool {
        !self.unsafe_fns.contains(name)
            && (SAFE_METHODS.contains(&name) || self.safe_fns.contains(name))
    }
}

impl<'ast> Visit<'ast> for Facts {
    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        let name = s.ident.to_string();
        if matches!(s.mutability, syn::StaticMutability::Mut(_)) {
            self.static_muts.insert(name);
        } else {
            self.immutable.insert(name);
        }
        syn::visit::visit_item_static(self, s);
    }
    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.immutable.insert(c.ident.to_string());
        syn::visit::visit_item_const(self, c);
    }
    fn visit_impl_item_const(&mut self, c: &'ast syn::ImplItemConst) {
        self.immutable.insert(c.ident.to_string());
        syn::visit::visit_impl_item_const(self, c);
    }
    fn visit_trait_item_const(&mut self, c: &'ast syn::TraitItemConst) {
        self.immutable.insert(c.ident.to_string());
        syn::visit::visit_trait_item_const(self, c);
    }
    fn visit_const_param(&mut self, c: &'ast syn::ConstParam) {
        self.immutable.insert(c.ident.to_string());
    }
    fn visit_variant(&mut self, v: &'ast syn::Variant) {
        self.immutable.insert(v.ident.to_string());
        syn::visit::visit_variant(self, v);
    }
    fn visit_foreign_item_static(&mut self, s: &'ast syn::ForeignItemStatic) {
        self.extern_statics.insert(s.ident.to_string());
    }
    fn visit_foreign_item_fn(&mut self, f: &'ast syn::ForeignItemFn) {
        self.unsafe_fns.insert(f.sig.ident.to_string());
    }
    fn visit_signature(&mut self, sig: &'ast syn::Signature) {
        self.function(sig);
        syn::visit::visit_signature(self, sig);
    }
    fn visit_item_union(&mut self, u: &'ast syn::ItemUnion) {
        for field in &u.fields.named {
            if let Some(ident) = &field.ident {
                self.union_fields.insert(ident.to_string());
            }
        }
        syn::visit::visit_item_union(self, u);
    }
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(items) = super::krate::macro_items(mac) {
            for item in &items {
                Visit::visit_item(self, item);
            }
        } else {
            self.scan_tokens(mac.tokens.clone());
        }
    }
}

/// Methods known to be safe: what the fix itself writes on accessors, and common safe methods of
/// the standard library (a crate's own `unsafe fn` of the same name overrides). Names a raw pointer
/// has as `unsafe` methods (`read`, `write`, `replace`, `swap`, `as_ref`, `as_mut`, `add`, …) are
/// not among them.
const SAFE_METHODS: &[&str] = &[
    "with",
    "load",
    "store",
    "fetch_add",
    "fetch_sub",
    "fetch_or",
    "fetch_and",
    "fetch_xor",
    "fetch_nand",
    "fetch_max",
    "fetch_min",
    "fetch_update",
    "compare_exchange",
    "compare_exchange_weak",
    "into_inner",
    "lock",
    "try_lock",
    "get",
    "get_mut",
    "set",
    "take",
    "borrow",
    "borrow_mut",
    "unwrap",
    "expect",
    "unwrap_or",
    "unwrap_or_else",
    "unwrap_or_default",
    "clone",
    "push",
    "pop",
    "len",
    "is_empty",
    "insert",
    "remove",
    "clear",
    "contains",
    "contains_key",
    "iter",
    "iter_mut",
    "map",
    "and_then",
    "ok",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "to_string",
    "to_owned",
    "extend",
    "push_str",
    "as_str",
    "as_slice",
    "cloned",
    "copied",
    "collect",
    "retain",
    "truncate",
    "first",
    "last",
    "keys",
    "values",
    "entry",
    "or_insert",
    "or_insert_with",
    "or_default",
    "count",
    "any",
    "all",
    "filter",
    "find",
    "for_each",
    "enumerate",
    "call_once",
    "get_or_init",
    "is_completed",
    "checked_add",
    "checked_sub",
    "wrapping_add",
    "wrapping_sub",
    "saturating_add",
    "saturating_sub",
    "min",
    "max",
    "into",
];

/// Functions known to be safe, as (type or module, name); `("", name)` for a bare name.
const SAFE_CALLS: &[(&str, &str)] = &[
    ("", "drop"),
    ("Box", "new"),
    ("Vec", "new"),
    ("Vec", "with_capacity"),
    ("String", "new"),
    ("String", "from"),
    ("Arc", "new"),
    ("Rc", "new"),
    ("Mutex", "new"),
    ("RwLock", "new"),
    ("Cell", "new"),
    ("RefCell", "new"),
    ("Default", "default"),
    ("mem", "replace"),
    ("mem", "take"),
    ("mem", "swap"),
    ("mem", "drop"),
];

/// Macros whose arguments are expressions and which do nothing unsafe themselves.
const SAFE_MACROS: &[&str] = &[
    "println",
    "print",
    "eprintln",
    "eprint",
    "format",
    "write",
    "writeln",
    "panic",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "format_args",
    "unreachable",
    "dbg",
    "vec",
    "matches",
];

/// `u32::MAX`-like constants of the primitive types.
fn is_known_const(name: &str) -> bool {
    matches!(
        name,
        "MAX" | "MIN" | "BITS" | "EPSILON" | "INFINITY" | "NEG_INFINITY" | "NAN"
    )
}

fn is_screaming(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase()) && !name.chars().any(|c| c.is_ascii_lowercase())
}

fn is_camel(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.chars().any(|c| c.is_ascii_lowercase())
}

/// Uses a plan rewrites in one file: the path ranges, each with its owner and whether the written
/// code still needs `unsafe` (a `StaticMut`).
#[derive(Clone, Debug)]
pub struct RewrittenUse {
    /// Byte range of the path expression in the original text.
    pub path: Range<usize>,
    /// Index of the ported static it belongs to.
    pub owner: usize,
    /// Whether its rewrite still needs an `unsafe` block.
    pub still_unsafe: bool,
}

/// An `unsafe` block the plan drops the `unsafe` of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// Byte range of the whole `unsafe { … }` expression in the original text.
    pub block: Range<usize>,
    /// The edits dropping it (the keyword, and the braces of a tail expression).
    pub edits: Vec<Edit>,
    /// Index of the ported static whose rewritten use it holds (the first one).
    pub owner: usize,
}

/// Every block of `text` that holds a rewritten use and has nothing left that needs `unsafe`,
/// with the edits dropping it (`facts` is asked only when a block holds a rewritten use; it may
/// parse other files). Blocks whose edits would overlap `taken` (the plan's other edits of
/// the file) keep their `unsafe`. `tails_scoped`: the crate's edition drops the temporaries of a
/// block's last expression at the block's end (see [`super::krate::tails_scoped`]).
pub fn removals<'f>(
    facts: &dyn Fn() -> &'f Facts,
    text: &str,
    uses: &[RewrittenUse],
    taken: &[Edit],
    tails_scoped: bool,
) -> Vec<Dropped> {
    let owner = |u: &syn::ExprUnsafe| {
        let range = node_range(u);
        uses.iter()
            .find(|r| range.start <= r.path.start && r.path.end <= range.end)
            .map(|r| r.owner)
    };
    // First whether any block holds a rewritten use; only then the facts (read from the whole
    // crate).
    let held = std::cell::Cell::new(false);
    let Ok(parsed) = super::parse(text) else {
        return Vec::new();
    };
    let rewritten = |p: &syn::ExprPath| {
        let range = node_range(p);
        uses.iter().any(|u| u.path == range)
    };
    Blocks {
        text,
        stack: Vec::new(),
        found: &mut Vec::new(),
        decide: &|u: &syn::ExprUnsafe| {
            held.set(held.get() || owner(u).is_some());
            None
        },
        tails_scoped,
        rewritten: &rewritten,
    }
    .visit_file(&parsed);
    if !held.get() {
        return Vec::new();
    }
    let facts = facts();
    let mut out = Vec::new();
    let mut finder = Blocks {
        text,
        stack: Vec::new(),
        found: &mut out,
        decide: &|u: &syn::ExprUnsafe| {
            let owner = owner(u)?;
            let mut check = StillUnsafe {
                facts,
                uses,
                found: false,
            };
            check.visit_block(&u.block);
            (!check.found).then_some(owner)
        },
        tails_scoped,
        rewritten: &rewritten,
    };
    finder.visit_file(&parsed);
    // A block's edits go together, or not at all.
    out.into_iter()
        .filter(|(_, _, edits)| {
            !edits
                .iter()
                .any(|e| taken.iter().any(|t| t.overlaps(e) || t.range == e.range))
        })
        .map(|(owner, block, edits)| Dropped {
            block,
            edits,
            owner,
        })
        .collect()
}

/// The edits dropping the `unsafe` of the blocks whose `unsafe` keyword starts at one of `at` in
/// `text`, whatever they hold (the compiler said they are unused); a block in a context the rewrite
/// does not handle keeps its `unsafe`. `tails_scoped` as for [`removals`]; the text is as written,
/// with accessor calls (`V_NAME.with(…)`) in place of the uses.
///
/// ```
/// use vnet_lint::fix::{edits::apply, unsafe_blocks::drop_unsafe};
/// let text = "fn f() -> u32 { let x = unsafe { 1 + 1 } * 2; x }\n";
/// let at = text.find("unsafe").unwrap();
/// let (fixed, _) = apply(text, &drop_unsafe(text, &[at], true)).unwrap();
/// assert_eq!(fixed, "fn f() -> u32 { let x = (1 + 1) * 2; x }\n");
/// ```
pub fn drop_unsafe(text: &str, at: &[usize], tails_scoped: bool) -> Vec<Edit> {
    let Ok(parsed) = super::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut finder = Blocks {
        text,
        stack: Vec::new(),
        found: &mut out,
        decide: &|u: &syn::ExprUnsafe| {
            at.contains(&super::decl::range(u.unsafe_token.span).start)
                .then_some(0)
        },
        tails_scoped,
        // An accessor: what the port wrote runs inside its closure.
        rewritten: &|p: &syn::ExprPath| {
            p.path
                .segments
                .last()
                .is_some_and(|s| s.ident.to_string().starts_with("V_"))
        },
    };
    finder.visit_file(&parsed);
    out.into_iter().flat_map(|(_, _, e)| e).collect()
}

/// Where an expression sits, as far as dropping an `unsafe` around it matters.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Context {
    /// An expression statement: `;` follows or not, and whether it is the last of its block.
    Statement { semi: bool, last: bool },
    /// Any expression fits: a `let` initializer, an argument, an element, a field value, a
    /// closure body, a returned value, the right side of an assignment.
    Delimited,
    /// A match arm's body; whether a `,` follows.
    Arm { comma: bool },
    /// An `if`/`while` condition, a `match` scrutinee, a `for` iterator: no exterior struct literal.
    Condition,
    /// The scrutinee of `if let`/`while let`: operators could join a let chain, and parentheses
    /// around anything else would be reported unused.
    Scrutinee,
    /// An operand of an operator, a method receiver, a field base: tighter than any operator.
    Operand,
    /// A `let` initializer (without `else`): like [`Context::Delimited`], and the statement ends
    /// with it.
    Let,
    /// A `let … else` initializer, which must not end with `}`: the `unsafe` stays.
    LetElse,
    /// Inside parentheses that are a `let … else` initializer (the offsets of `(` and `)`): they
    /// were there for the block's `}`, and go with it where nothing else needs them.
    LetElseParen { open: usize, close: usize },
    /// Anything else: the `unsafe` stays.
    Other,
}

enum Anc<'a> {
    Expr(&'a syn::Expr),
    Ctx(Context),
}

struct Blocks<'t, 'o, 'ast> {
    text: &'t str,
    stack: Vec<Anc<'ast>>,
    found: &'o mut Vec<(usize, Range<usize>, Vec<Edit>)>,
    /// Whether to drop a block's `unsafe`, and the owner of its edits.
    decide: &'o dyn Fn(&syn::ExprUnsafe) -> Option<usize>,
    /// Whether the temporaries of a block's last expression are dropped at the block's end (edition
    /// 2024 on): then its braces stay where something runs between the block's end and the end of
    /// the enclosing statement.
    tails_scoped: bool,
    /// Whether a path is a use the port moves into an accessor's closure (with every call on it).
    rewritten: &'o dyn Fn(&syn::ExprPath) -> bool,
}

impl<'ast> Blocks<'_, '_, 'ast> {
    /// A finder for the inside of a macro, starting in `context`, that reports into this one's.
    fn nested<'b>(&'b mut self, context: Context) -> Blocks<'b, 'b, 'ast> {
        Blocks {
            text: self.text,
            stack: vec![Anc::Ctx(context)],
            found: &mut *self.found,
            decide: self.decide,
            tails_scoped: self.tails_scoped,
            rewritten: self.rewritten,
        }
    }

    fn context(&self) -> Context {
        let n = self.stack.len();
        let Some(parent) = n.checked_sub(2).map(|i| &self.stack[i]) else {
            return Context::Other;
        };
        let Some(Anc::Expr(me)) = self.stack.last() else {
            return Context::Other;
        };
        let same = |e: &syn::Expr| std::ptr::eq(e, *me);
        use syn::Expr as E;
        match parent {
            Anc::Ctx(c) => *c,
            Anc::Expr(p) => match p {
                E::Call(c) if same(&c.func) => Context::Operand,
                E::MethodCall(m) if same(&m.receiver) => Context::Operand,
                E::Index(i) if same(&i.expr) => Context::Operand,
                E::Call(_) | E::MethodCall(_) | E::Index(_) => Context::Delimited,
                E::Paren(paren) => match n.checked_sub(3).map(|i| &self.stack[i]) {
                    Some(Anc::Ctx(Context::LetElse)) => Context::LetElseParen {
                        open: super::decl::range(paren.paren_token.span.open()).start,
                        close: super::decl::range(paren.paren_token.span.close()).start,
                    },
                    _ => Context::Delimited,
                },
                E::Array(_) | E::Tuple(_) | E::Closure(_) => Context::Delimited,
                E::Return(_) | E::Break(_) | E::Yield(_) => Context::Delimited,
                E::Repeat(r) if same(&r.expr) => Context::Delimited,
                E::Assign(a) if same(&a.right) => Context::Delimited,
                E::Binary(b) if crate::parse::is_compound_assign(&b.op) => {
                    if same(&b.right) {
                        Context::Delimited
                    } else {
                        Context::Other
                    }
                }
                E::Binary(_) | E::Unary(_) | E::Cast(_) | E::Field(_) | E::Try(_) => {
                    Context::Operand
                }
                E::Await(_) | E::Reference(_) | E::RawAddr(_) | E::Range(_) => Context::Operand,
                E::If(i) if same(&i.cond) => Context::Condition,
                E::While(w) if same(&w.cond) => Context::Condition,
                E::Match(m) if same(&m.expr) => Context::Condition,
                E::ForLoop(f) if same(&f.expr) => Context::Condition,
                E::Let(_) => Context::Scrutinee,
                _ => Context::Other,
            },
        }
    }

    /// Whether the enclosing statement, arm, closure body or condition ends where the expression on
    /// top of the stack does: nothing runs between the two ends, so its temporaries may live to
    /// either.
    fn scope_ends_here(&self) -> bool {
        let n = self.stack.len();
        let (Some(parent), Some(Anc::Expr(me))) =
            (n.checked_sub(2).map(|i| &self.stack[i]), self.stack.last())
        else {
            return false;
        };
        let same = |e: &syn::Expr| std::ptr::eq(e, *me);
        match parent {
            Anc::Ctx(Context::Statement { .. } | Context::Arm { .. } | Context::Let) => true,
            Anc::Expr(syn::Expr::Closure(c)) => same(&c.body),
            Anc::Expr(syn::Expr::If(i)) => same(&i.cond),
            Anc::Expr(syn::Expr::While(w)) => same(&w.cond),
            _ => false,
        }
    }

    /// The edits dropping `u`'s `unsafe` in `context`, if the rewrite handles it.
    fn edits(&self, u: &syn::ExprUnsafe, context: Context) -> Option<Vec<Edit>> {
        if !u.attrs.is_empty() {
            return None;
        }
        let keyword = super::decl::range(u.unsafe_token.span);
        let braces = u.block.brace_token.span;
        let open = super::decl::range(braces.open());
        let close = super::decl::range(braces.close());
        let blank = |r: Range<usize>| self.text.get(r).is_some_and(|s| s.trim().is_empty());
        if let [syn::Stmt::Expr(tail, None)] = u.block.stmts.as_slice() {
            let inner = node_range(tail);
            if self.tails_scoped
                && !self.scope_ends_here()
                && makes_temporaries(tail, self.rewritten)
            {
                // A temporary of the tail (a lock guard) would outlive the block.
                return None;
            }
            // An attribute on the expression (`#[allow(…)] x`) is allowed only as a block's last
            // expression: the braces stay.
            let attributed = self.text[inner.clone()].starts_with('#');
            if !attributed && blank(open.end..inner.start) && blank(inner.end..close.start) {
                let (prefix, suffix) = match context {
                    Context::Statement { semi, last } => {
                        let needs_semi = !semi && !last && !block_like(tail);
                        ("", if needs_semi { ";" } else { "" })
                    }
                    Context::Delimited | Context::Let => ("", ""),
                    Context::Arm { comma } => {
                        ("", if comma || block_like(tail) { "" } else { "," })
                    }
                    Context::Condition if exterior_struct(tail) => return None,
                    Context::Condition => ("", ""),
                    Context::Scrutinee if postfix(tail) => ("", ""),
                    Context::Operand if postfix(tail) => ("", ""),
                    Context::Operand => ("(", ")"),
                    Context::LetElseParen {
                        open: lp,
                        close: rp,
                    } if blank(lp + 1..keyword.start)
                        && blank(close.end..rp)
                        && !self.text[inner.clone()].ends_with('}')
                        && (postfix(tail) || non_lazy_binary(tail)) =>
                    {
                        return Some(vec![
                            Edit::new(lp..inner.start, ""),
                            Edit::new(inner.end..rp + 1, ""),
                        ]);
                    }
                    Context::LetElseParen { .. } => ("", ""),
                    Context::Scrutinee | Context::LetElse | Context::Other => return None,
                };
                return Some(vec![
                    Edit::new(keyword.start..inner.start, prefix),
                    Edit::new(inner.end..close.end, suffix),
                ]);
            }
        }
        // Statements or comments: the braces stay, as a plain block.
        match context {
            Context::Statement { .. } | Context::Delimited | Context::Let | Context::Arm { .. }
                if blank(keyword.end..open.start) =>
            {
                Some(vec![Edit::new(keyword.start..open.start, "")])
            }
            _ => None,
        }
    }
}

impl<'ast> Visit<'ast> for Blocks<'_, '_, 'ast> {
    fn visit_block(&mut self, b: &'ast syn::Block) {
        let n = b.stmts.len();
        for (i, stmt) in b.stmts.iter().enumerate() {
            let semi = matches!(stmt, syn::Stmt::Expr(_, Some(_)));
            self.stack.push(Anc::Ctx(Context::Statement {
                semi,
                last: i + 1 == n,
            }));
            self.visit_stmt(stmt);
            self.stack.pop();
        }
    }

    fn visit_local_init(&mut self, l: &'ast syn::LocalInit) {
        let context = if l.diverge.is_some() {
            // `let … = e else { … }`: `e` must not end with `}`.
            Context::LetElse
        } else {
            Context::Let
        };
        self.stack.push(Anc::Ctx(context));
        self.visit_expr(&l.expr);
        self.stack.pop();
        if let Some((_, diverge)) = &l.diverge {
            self.stack.push(Anc::Ctx(Context::Other));
            self.visit_expr(diverge);
            self.stack.pop();
        }
    }

    fn visit_arm(&mut self, arm: &'ast syn::Arm) {
        self.stack.push(Anc::Ctx(Context::Other));
        // The pattern, with its guard.
        self.visit_pat(&arm.pat);
        self.stack.pop();
        self.stack.push(Anc::Ctx(Context::Arm {
            comma: arm.comma.is_some(),
        }));
        self.visit_expr(&arm.body);
        self.stack.pop();
    }

    fn visit_field_value(&mut self, f: &'ast syn::FieldValue) {
        self.stack.push(Anc::Ctx(Context::Delimited));
        self.visit_expr(&f.expr);
        self.stack.pop();
    }

    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.stack.push(Anc::Ctx(Context::Other));
        syn::visit::visit_item(self, i);
        self.stack.pop();
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        self.stack.push(Anc::Expr(e));
        if let syn::Expr::Unsafe(u) = e {
            if let Some(owner) = (self.decide)(u) {
                if let Some(edits) = self.edits(u, self.context()) {
                    self.found.push((owner, node_range(u), edits));
                }
            }
        }
        syn::visit::visit_expr(self, e);
        self.stack.pop();
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(items) = super::krate::macro_items(mac) {
            let mut inner = self.nested(Context::Other);
            for item in &items {
                inner.visit_item(item);
            }
        } else if let Some(args) = macro_args(mac).filter(|_| is_safe_macro(mac)) {
            // Only the standard macros take their arguments as `expr` fragments: another macro may
            // paste them as tokens (`$($t:tt)*`), where `tw!(A + 1)` would not group as
            // `tw!(unsafe { A + 1 })` did.
            let mut inner = self.nested(Context::Delimited);
            for arg in &args {
                inner.visit_expr(arg);
            }
        }
    }
}

/// The names of the segments of `path` (`a::b::c` → `a`, `b`, `c`).
fn segment_names(path: &syn::ExprPath) -> Vec<String> {
    path.path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect()
}

/// Whether `mac` is one of [`SAFE_MACROS`].
fn is_safe_macro(mac: &syn::Macro) -> bool {
    SAFE_MACROS.contains(&super::decl::macro_name(mac).as_str())
}

/// The arguments of a macro whose input is comma-separated expressions.
fn macro_args(mac: &syn::Macro) -> Option<syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>> {
    syn::parse::Parser::parse2(
        syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
        mac.tokens.clone(),
    )
    .ok()
}

/// Whether `e` ends a statement without `;` (`if`, `match`, a block, a loop).
fn block_like(e: &syn::Expr) -> bool {
    use syn::Expr as E;
    matches!(
        e,
        E::If(_)
            | E::Match(_)
            | E::Block(_)
            | E::Unsafe(_)
            | E::Loop(_)
            | E::While(_)
            | E::ForLoop(_)
            | E::TryBlock(_)
            | E::Const(_)
    )
}

/// Whether evaluating `e` may leave a temporary whose drop could be observed (a lock guard): a call,
/// a method call, a macro, a struct literal or an `.await`, outside the uses the port moves into an
/// accessor's closure (`rewritten`).
fn makes_temporaries(e: &syn::Expr, rewritten: &dyn Fn(&syn::ExprPath) -> bool) -> bool {
    struct Temps<'r> {
        rewritten: &'r dyn Fn(&syn::ExprPath) -> bool,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Temps<'_> {
        fn visit_expr(&mut self, e: &'ast syn::Expr) {
            use syn::Expr as E;
            if self.found || chain_root(e).is_some_and(|p| (self.rewritten)(p)) {
                return;
            }
            match e {
                E::Call(_) | E::MethodCall(_) | E::Macro(_) | E::Struct(_) | E::Await(_) => {
                    self.found = true
                }
                // Their bodies run later, with temporaries of their own.
                E::Closure(_) | E::Async(_) => {}
                _ => syn::visit::visit_expr(self, e),
            }
        }
        fn visit_macro(&mut self, _: &'ast syn::Macro) {
            self.found = true;
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut temps = Temps {
        rewritten,
        found: false,
    };
    temps.visit_expr(e);
    temps.found
}

/// The path a chain of method calls, fields, indexing and `?` starts from (`X` of `X.a().b[0]`).
fn chain_root(mut e: &syn::Expr) -> Option<&syn::ExprPath> {
    use syn::Expr as E;
    loop {
        e = match e {
            E::Path(p) => return Some(p),
            E::MethodCall(m) => &m.receiver,
            E::Field(f) => &f.base,
            E::Index(i) => &i.expr,
            E::Try(t) => &t.expr,
            E::Paren(p) => &p.expr,
            _ => return None,
        };
    }
}

/// Whether `e` is a binary operation other than `&&` and `||` (which a `let … else` initializer
/// must not be).
fn non_lazy_binary(e: &syn::Expr) -> bool {
    matches!(e, syn::Expr::Binary(b) if !matches!(b.op, syn::BinOp::And(_) | syn::BinOp::Or(_)))
}

/// Whether `e` binds tighter than any operator (a path, a literal, a call, a field, …).
fn postfix(e: &syn::Expr) -> bool {
    use syn::Expr as E;
    matches!(
        e,
        E::Path(_)
            | E::Lit(_)
            | E::Call(_)
            | E::MethodCall(_)
            | E::Field(_)
            | E::Index(_)
            | E::Paren(_)
            | E::Macro(_)
            | E::Tuple(_)
            | E::Array(_)
            | E::Try(_)
            | E::Await(_)
    )
}

/// Whether a struct literal in `e` would end a condition early (`if S { .. } == s {}`).
fn exterior_struct(e: &syn::Expr) -> bool {
    use syn::Expr as E;
    match e {
        E::Struct(_) => true,
        E::Binary(b) => exterior_struct(&b.left) || exterior_struct(&b.right),
        E::Unary(u) => exterior_struct(&u.expr),
        E::Cast(c) => exterior_struct(&c.expr),
        E::Field(f) => exterior_struct(&f.base),
        E::MethodCall(m) => exterior_struct(&m.receiver),
        E::Try(t) => exterior_struct(&t.expr),
        E::Await(a) => exterior_struct(&a.base),
        E::Index(i) => exterior_struct(&i.expr),
        E::Reference(r) => exterior_struct(&r.expr),
        E::Range(r) => {
            r.start.as_deref().is_some_and(exterior_struct)
                || r.end.as_deref().is_some_and(exterior_struct)
        }
        E::Assign(a) => exterior_struct(&a.left) || exterior_struct(&a.right),
        _ => false,
    }
}

/// Looks for anything in a block that still needs `unsafe` once the plan's uses are rewritten.
struct StillUnsafe<'f> {
    facts: &'f Facts,
    uses: &'f [RewrittenUse],
    found: bool,
}

impl StillUnsafe<'_> {
    fn rewritten(&self, range: &Range<usize>) -> Option<&RewrittenUse> {
        self.uses.iter().find(|u| &u.path == range)
    }

    /// Whether a format string reads a name inline (`"{X}"`) that is unsafe to read.
    fn inline_arg_is_unsafe(&self, lit: &syn::LitStr) -> bool {
        let value = lit.value();
        let mut rest = value.as_str();
        while let Some(at) = rest.find('{') {
            rest = &rest[at + 1..];
            if let Some(after) = rest.strip_prefix('{') {
                rest = after;
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && self.facts.name_is_unsafe(&name, 1)
            {
                return true;
            }
        }
        false
    }
}

impl<'ast> Visit<'ast> for StillUnsafe<'_> {
    fn visit_item(&mut self, _: &'ast syn::Item) {
        // An item inside the block is not in its unsafe context.
    }

    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        if self.found {
            return;
        }
        use syn::Expr as E;
        self.found = match e {
            E::Unsafe(_) | E::Verbatim(_) | E::Const(_) => true,
            E::Path(p) => match self.rewritten(&node_range(p)) {
                Some(rewritten) => rewritten.still_unsafe,
                None => self.facts.path_is_unsafe(p),
            },
            E::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => {
                !matches!(&*u.expr, E::Reference(_))
            }
            E::Call(c) => {
                self.found = match &*c.func {
                    E::Path(p) if self.rewritten(&node_range(p)).is_none() => {
                        !self.facts.call_is_safe(p)
                    }
                    // A call of a closure or a function pointer in a local: unknown.
                    _ => true,
                };
                for arg in &c.args {
                    self.visit_expr(arg);
                }
                return;
            }
            E::MethodCall(m) => !self.facts.method_is_safe(&m.method.to_string()),
            E::Field(f) => matches!(&f.member, syn::Member::Named(name)
                if self.facts.union_fields.contains(&name.to_string())),
            _ => false,
        };
        if !self.found {
            syn::visit::visit_expr(self, e);
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if !is_safe_macro(mac) {
            self.found = true;
            return;
        }
        let Some(args) = macro_args(mac) else {
            self.found = true;
            return;
        };
        for arg in &args {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = arg
            {
                if self.inline_arg_is_unsafe(s) {
                    self.found = true;
                }
            }
            self.visit_expr(arg);
        }
    }
}

/// The rewritten uses grouped by file, as [`removals`] takes them.
pub fn by_file(
    uses: impl IntoIterator<Item = (PathBuf, RewrittenUse)>,
) -> std::collections::BTreeMap<PathBuf, Vec<RewrittenUse>> {
    let mut out: std::collections::BTreeMap<PathBuf, Vec<RewrittenUse>> = Default::default();
    for (file, u) in uses {
        out.entry(file).or_default().push(u);
    }
    out
}
