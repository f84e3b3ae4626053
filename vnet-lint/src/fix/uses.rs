//! Every use of the statics being ported, across the crate, and what each becomes.
//!
//! A use is a path expression that names the static: `NAME` in its own module, through a `use` import
//! (renamed or glob), or a `crate::`/`super::`/`self::` path. Each is rewritten to the accessor, with the
//! smallest enclosing expression that still holds every borrow of the static moved into the closure:
//! `NAME.lock().unwrap().push(x)` → `V_NAME.with(|name| name.lock().unwrap().push(x))`, `f(&NAME)` →
//! `V_NAME.with(|name| f(name))`. Imports of the static are renamed to the accessor. A borrow a `let`
//! keeps moves that `let` and the rest of its block into the closure ([`super::scope`]); a use named
//! like a borrowing method that is a function's tail moves whole when the function's result cannot
//! borrow (`fn is_enabled() -> bool { ENABLED.read() }`). A use the rewrite cannot keep meaning the
//! same (a borrow that outlives the expression otherwise, a use in a macro it cannot read, a constant
//! context) refuses the whole static.

use super::decl::{mentions, node_range, Decl, Kind};
use super::edits::Edit;
use super::krate::Krate;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::PathBuf;
use syn::visit::Visit;

/// What the rewrite of every use of one static produced.
#[derive(Debug, Default)]
pub struct UseEdits {
    /// Edits per file.
    pub edits: Vec<(PathBuf, Edit)>,
    /// Why the static cannot be ported, when it cannot (the first reason found).
    pub refusal: Option<String>,
    /// The byte range of every path expression the edits rewrite, per file (to find the `unsafe`
    /// blocks the port leaves without an unsafe operation).
    pub paths: Vec<(PathBuf, Range<usize>)>,
}

/// Methods whose result borrows from the receiver: their value must not leave the closure.
const BORROWING: &[&str] = &[
    "lock",
    "read",
    "write",
    "try_lock",
    "try_read",
    "try_write",
    "upgradable_read",
    "borrow",
    "borrow_mut",
    "get",
    "get_mut",
    "get_or_init",
    "get_or_try_init",
    "iter",
    "iter_mut",
    "as_ref",
    "as_mut",
    "as_deref",
    "deref",
    "deref_mut",
    "as_slice",
    "as_str",
    "keys",
    "values",
    "first",
    "last",
    "force",
    "entry",
];

/// Methods that pass a borrow through (`lock().unwrap()` borrows as `lock()` does).
const PASS_THROUGH: &[&str] = &["unwrap", "expect", "unwrap_or_else", "unwrap_unchecked"];

/// Ordering used by the atomic rewrites of `static mut` integers.
pub const ORDERING: &str = "std::sync::atomic::Ordering::SeqCst";

#[derive(Clone)]
enum Anc<'a> {
    Expr(&'a syn::Expr),
    /// The arguments of a format-like macro, and the range of the whole invocation.
    MacroArgs(
        &'a syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>,
        Range<usize>,
    ),
    Local(&'a syn::Local),
    /// A block's braces.
    Block(&'a syn::Block),
    /// A function (its body's value is its result), and its attributes.
    Fn(&'a syn::Signature, &'a [syn::Attribute]),
    StmtSemi,
    Other,
    ConstContext,
}

/// One path expression naming a static.
struct Occurrence<'a> {
    decl: usize,
    /// The path expression.
    path: &'a syn::Expr,
    /// The accessor path: the written path with its last segment made `V_NAME` (or the import alias).
    accessor: String,
    /// Ancestors, outermost first; the last is `path` itself.
    stack: Vec<Anc<'a>>,
}

struct Import {
    alias: String,
    target: Vec<String>,
    leaf: Range<usize>,
    glob: bool,
}

/// Computes the use-site edits of every decl in `decls` over every file of `krate`.
pub fn rewrite_uses(krate: &Krate, decls: &[Decl]) -> Vec<UseEdits> {
    let mut out: Vec<UseEdits> = decls.iter().map(|_| UseEdits::default()).collect();
    let by_path: HashMap<Vec<String>, Vec<usize>> = {
        let mut map: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
        for (i, d) in decls.iter().enumerate() {
            if d.fn_body.is_none() {
                let mut path = d.module.clone();
                path.push(d.name.clone());
                map.entry(path).or_default().push(i);
            }
        }
        map
    };
    for file in krate.files.values() {
        if !decls.iter().any(|d| file.text.contains(d.name.as_str())) {
            continue;
        }
        let Some(parsed) = krate.syntax(file) else {
            continue;
        };
        // Imports per module, from every `use` in the file (block-level ones count for their module).
        let mut imports: HashMap<Vec<String>, Vec<Import>> = HashMap::new();
        collect_imports(&parsed.items, &file.module, krate, &mut imports);
        // Renamed leaves of imports that name a static.
        for (module, list) in &imports {
            let _ = module;
            for import in list {
                if import.glob {
                    continue;
                }
                if let Some(ids) = by_path.get(&import.target) {
                    for &i in ids {
                        let name = &decls[i].name;
                        out[i].edits.push((
                            file.path.clone(),
                            Edit::new(import.leaf.clone(), format!("V_{name}")),
                        ));
                    }
                }
            }
        }
        let mut finder = Finder {
            krate,
            decls,
            by_path: &by_path,
            imports: &imports,
            file: &file.path,
            module: file.module.clone(),
            stack: Vec::new(),
            found: Vec::new(),
            refusals: Vec::new(),
        };
        finder.visit_file(&parsed);
        let Finder {
            found, refusals, ..
        } = finder;
        for (i, reason) in refusals {
            out[i].refusal.get_or_insert(reason);
        }
        let mut per_decl: BTreeMap<usize, Vec<Occurrence>> = BTreeMap::new();
        for occ in found {
            per_decl.entry(occ.decl).or_default().push(occ);
        }
        for (i, occs) in per_decl {
            let paths: Vec<Range<usize>> = occs.iter().map(|o| node_range(o.path)).collect();
            match rewrite_decl_uses(&decls[i], &file.path, &file.text, occs) {
                Ok(edits) => {
                    out[i]
                        .edits
                        .extend(edits.into_iter().map(|e| (file.path.clone(), e)));
                    out[i]
                        .paths
                        .extend(paths.into_iter().map(|r| (file.path.clone(), r)));
                }
                Err(reason) => {
                    out[i].refusal.get_or_insert(reason);
                }
            }
        }
    }
    out
}

fn resolve_prefix(
    segments: &[String],
    module: &[String],
    krate: &Krate,
    imports: &HashMap<Vec<String>, Vec<Import>>,
) -> Vec<Vec<String>> {
    let Some(first) = segments.first() else {
        return Vec::new();
    };
    let rest = &segments[1..];
    let join = |base: Vec<String>| {
        let mut p = base;
        p.extend(rest.iter().cloned());
        p
    };
    match first.as_str() {
        "crate" if module.first().map(String::as_str) == Some(super::krate::OTHER_CRATE) => {
            vec![join(vec![super::krate::OTHER_CRATE.to_owned()])]
        }
        "crate" => vec![join(Vec::new())],
        "self" => vec![join(module.to_vec())],
        "super" => {
            let mut base = module.to_vec();
            let mut rest = segments;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            let mut p = base;
            p.extend(rest.iter().cloned());
            vec![p]
        }
        name if krate.name.as_deref() == Some(name) => vec![join(Vec::new())],
        name => {
            let mut candidates = Vec::new();
            if let Some(list) = imports.get(module) {
                for import in list.iter().filter(|i| !i.glob && i.alias == name) {
                    candidates.push(join(import.target.clone()));
                }
            }
            let mut local = module.to_vec();
            local.extend(segments.iter().cloned());
            candidates.push(local);
            candidates.push(segments.to_vec());
            candidates
        }
    }
}

fn collect_imports(
    items: &[syn::Item],
    module: &[String],
    krate: &Krate,
    out: &mut HashMap<Vec<String>, Vec<Import>>,
) {
    struct Uses<'a> {
        krate: &'a Krate,
        module: Vec<String>,
        out: &'a mut HashMap<Vec<String>, Vec<Import>>,
    }
    impl<'ast> Visit<'ast> for Uses<'_> {
        fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
            if m.content.is_some() {
                self.module.push(m.ident.to_string());
                syn::visit::visit_item_mod(self, m);
                self.module.pop();
            }
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if let Some(items) = super::krate::macro_items(mac) {
                for item in &items {
                    // The visitor is generic over the tree's lifetime: a shorter-lived tree is fine.
                    Visit::visit_item(self, item);
                }
            }
        }
        fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
            let mut found = Vec::new();
            flatten_use(&u.tree, &mut found);
            for (segments, alias, leaf, glob) in found {
                let empty = HashMap::new();
                let targets = resolve_prefix(&segments, &self.module, self.krate, &empty);
                if let Some(target) = targets.into_iter().next() {
                    self.out
                        .entry(self.module.clone())
                        .or_default()
                        .push(Import {
                            alias,
                            target,
                            leaf,
                            glob,
                        });
                }
            }
        }
    }
    let mut uses = Uses {
        krate,
        module: module.to_vec(),
        out,
    };
    for item in items {
        uses.visit_item(item);
    }
}

type FlatUse = (Vec<String>, String, Range<usize>, bool);

fn flatten_use(tree: &syn::UseTree, out: &mut Vec<FlatUse>) {
    for u in crate::parse::uses::flatten(tree) {
        match u.alias {
            _ if u.is_self => {}
            Some(name) => out.push((u.path, name, u.span, false)),
            None => out.push((u.path, String::new(), 0..0, true)),
        }
    }
}

struct Finder<'k, 'a> {
    krate: &'k Krate,
    decls: &'k [Decl],
    by_path: &'k HashMap<Vec<String>, Vec<usize>>,
    imports: &'k HashMap<Vec<String>, Vec<Import>>,
    file: &'k PathBuf,
    module: Vec<String>,
    stack: Vec<Anc<'a>>,
    found: Vec<Occurrence<'a>>,
    refusals: Vec<(usize, String)>,
}

impl<'a> Finder<'_, 'a> {
    /// The decls a path expression names, with the accessor text.
    fn resolve(&self, path: &syn::ExprPath) -> Option<(usize, String)> {
        if path.qself.is_some() {
            return None;
        }
        let segments: Vec<String> = path
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let last = segments.last()?;
        let at = node_range(path);
        let prefix_text: String = {
            let mut s = String::new();
            if path.path.leading_colon.is_some() {
                s.push_str("::");
            }
            for seg in path.path.segments.iter().take(segments.len() - 1) {
                s.push_str(&seg.ident.to_string());
                s.push_str("::");
            }
            s
        };
        if segments.len() == 1 {
            // Function-local statics: only inside their function.
            for (i, d) in self.decls.iter().enumerate() {
                if &d.name == last
                    && &d.file == self.file
                    && d.fn_body
                        .as_ref()
                        .is_some_and(|b| b.start <= at.start && at.end <= b.end)
                {
                    return Some((i, format!("V_{last}")));
                }
            }
            let mut own = self.module.clone();
            own.push(last.clone());
            if let Some(&i) = self.by_path.get(&own).and_then(|v| v.first()) {
                return Some((i, format!("V_{last}")));
            }
            if let Some(list) = self.imports.get(&self.module) {
                for import in list {
                    if import.glob {
                        let mut target = import.target.clone();
                        target.push(last.clone());
                        if let Some(&i) = self.by_path.get(&target).and_then(|v| v.first()) {
                            return Some((i, format!("V_{last}")));
                        }
                    } else if &import.alias == last {
                        if let Some(&i) = self.by_path.get(&import.target).and_then(|v| v.first()) {
                            let accessor = if import.target.last() == Some(last) {
                                format!("V_{last}")
                            } else {
                                last.clone()
                            };
                            return Some((i, accessor));
                        }
                    }
                }
            }
            return None;
        }
        for candidate in resolve_prefix(&segments, &self.module, self.krate, self.imports) {
            if let Some(&i) = self.by_path.get(&candidate).and_then(|v| v.first()) {
                return Some((i, format!("{prefix_text}V_{last}")));
            }
        }
        None
    }

    fn refuse_mentions(&mut self, tokens: &proc_macro2::TokenStream, why: &str) {
        for (i, d) in self.decls.iter().enumerate() {
            if mentions(tokens, &d.name) && self.could_name(i) {
                self.refusals
                    .push((i, format!("`{}` is used inside {why}", d.name)));
            }
        }
    }

    /// Whether the path on top of the stack is the place of a `&raw const`/`&raw mut` (through
    /// parentheses, fields and indexing): its address is taken, which no accessor call can give.
    fn raw_address_taken(&self) -> bool {
        let mut inner = match self.stack.last() {
            Some(Anc::Expr(e)) => *e,
            _ => return false,
        };
        for anc in self.stack.iter().rev().skip(1) {
            let Anc::Expr(parent) = anc else {
                return false;
            };
            let same = |e: &syn::Expr| std::ptr::eq(e, inner);
            match parent {
                syn::Expr::RawAddr(_) => return true,
                syn::Expr::Paren(_) | syn::Expr::Group(_) => {}
                syn::Expr::Field(f) if same(&f.base) => {}
                syn::Expr::Index(i) if same(&i.expr) => {}
                _ => return false,
            }
            inner = parent;
        }
        false
    }

    /// Whether code in the current module could name decl `i` by its bare name.
    fn could_name(&self, i: usize) -> bool {
        let d = &self.decls[i];
        if d.fn_body.is_some() {
            return &d.file == self.file;
        }
        d.module == self.module
            || self.imports.get(&self.module).is_some_and(|list| {
                list.iter()
                    .any(|imp| imp.target == d.module || imp.target.last() == Some(&d.name))
            })
            || self
                .imports
                .values()
                .flatten()
                .any(|imp| imp.target.last() == Some(&d.name))
    }
}

impl<'a> Visit<'a> for Finder<'_, 'a> {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        if m.content.is_some() {
            self.module.push(m.ident.to_string());
            syn::visit::visit_item_mod(self, m);
            self.module.pop();
        }
    }

    fn visit_item_static(&mut self, s: &'a syn::ItemStatic) {
        self.stack.push(Anc::ConstContext);
        syn::visit::visit_item_static(self, s);
        self.stack.pop();
    }

    fn visit_item_const(&mut self, c: &'a syn::ItemConst) {
        self.stack.push(Anc::ConstContext);
        syn::visit::visit_item_const(self, c);
        self.stack.pop();
    }

    fn visit_type(&mut self, t: &'a syn::Type) {
        self.stack.push(Anc::ConstContext);
        syn::visit::visit_type(self, t);
        self.stack.pop();
    }

    fn visit_local(&mut self, l: &'a syn::Local) {
        self.stack.push(Anc::Local(l));
        syn::visit::visit_local(self, l);
        self.stack.pop();
    }

    fn visit_block(&mut self, b: &'a syn::Block) {
        self.stack.push(Anc::Block(b));
        syn::visit::visit_block(self, b);
        self.stack.pop();
    }

    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        self.stack.push(Anc::Fn(&f.sig, &f.attrs));
        syn::visit::visit_item_fn(self, f);
        self.stack.pop();
    }

    fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
        self.stack.push(Anc::Fn(&f.sig, &f.attrs));
        syn::visit::visit_impl_item_fn(self, f);
        self.stack.pop();
    }

    fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
        self.stack.push(Anc::Fn(&f.sig, &f.attrs));
        syn::visit::visit_trait_item_fn(self, f);
        self.stack.pop();
    }

    fn visit_stmt(&mut self, s: &'a syn::Stmt) {
        let anc = match s {
            syn::Stmt::Expr(_, Some(_)) => Anc::StmtSemi,
            _ => Anc::Other,
        };
        self.stack.push(anc);
        syn::visit::visit_stmt(self, s);
        self.stack.pop();
    }

    fn visit_expr(&mut self, e: &'a syn::Expr) {
        self.stack.push(Anc::Expr(e));
        if let syn::Expr::Path(p) = e {
            if let Some((decl, accessor)) = self.resolve(p) {
                if self.raw_address_taken() {
                    self.refusals.push((
                        decl,
                        format!(
                            "`{}` is used inside `&raw`, which takes its address",
                            self.decls[decl].name
                        ),
                    ));
                } else if self.stack.iter().any(|a| matches!(a, Anc::ConstContext)) {
                    self.refusals.push((
                        decl,
                        format!(
                            "`{}` is used in a constant context (a `static`/`const` initializer or a \
                             type), where the per-instance accessor cannot be called",
                            self.decls[decl].name
                        ),
                    ));
                } else {
                    self.found.push(Occurrence {
                        decl,
                        path: e,
                        accessor,
                        stack: self.stack.clone(),
                    });
                }
            }
        }
        syn::visit::visit_expr(self, e);
        self.stack.pop();
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        let name = super::decl::macro_name(mac);
        if !self.decls.iter().any(|d| mentions(&mac.tokens, &d.name)) {
            return;
        }
        if name == "lazy_static" {
            // The declaring invocation: only the initializers are code.
            if let Ok(items) = syn::parse2::<super::decl::LazyItems>(mac.tokens.clone()) {
                let items: &'a super::decl::LazyItems = Box::leak(Box::new(items));
                let saved = std::mem::replace(&mut self.stack, vec![Anc::ConstContext]);
                for item in &items.0 {
                    self.visit_expr(&item.expr);
                }
                self.stack = saved;
                return;
            }
        }
        if name != "macro_rules" {
            // Item macros that pass their items through (`cfg_rt! { … }`): the items are code.
            if let Some(items) = super::krate::macro_items(mac) {
                let items: &'a Vec<syn::Item> = Box::leak(Box::new(items));
                for item in items {
                    self.visit_item(item);
                }
                return;
            }
        }
        if name == "macro_rules" {
            self.refuse_mentions(&mac.tokens, "a `macro_rules!` transcriber");
            return;
        }
        if name == "addr_of" || name == "addr_of_mut" {
            self.refuse_mentions(&mac.tokens, &format!("`{name}!`, which takes its address"));
            return;
        }
        // Format-like macros: arguments are expressions; inline `{NAME}` in the string is not readable.
        let parsed = syn::parse::Parser::parse2(
            syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
            mac.tokens.clone(),
        );
        match parsed {
            Ok(args) => {
                let inline = args.iter().any(|arg| match arg {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }) => self.decls.iter().any(|d| {
                        let v = s.value();
                        v.contains(&format!("{{{}}}", d.name))
                            || v.contains(&format!("{{{}:", d.name))
                    }),
                    _ => false,
                });
                if inline {
                    self.refuse_mentions(
                        &mac.tokens,
                        &format!("the format string of `{name}!` (an inline argument)"),
                    );
                    return;
                }
                // The parsed arguments must live as long as the file's syntax tree.
                let args: &'a syn::punctuated::Punctuated<syn::Expr, syn::Token![,]> =
                    Box::leak(Box::new(args));
                let saved =
                    std::mem::replace(&mut self.stack, vec![Anc::MacroArgs(args, node_range(mac))]);
                for arg in args {
                    self.visit_expr(arg);
                }
                self.stack = saved;
            }
            Err(_) => {
                self.refuse_mentions(
                    &mac.tokens,
                    &format!("the macro invocation `{name}!`, whose input is not expressions"),
                );
            }
        }
    }
}

/// The expression a use grows to, the form `NAME` takes inside the closure, and whether it is an
/// assignment target.
struct Grown {
    /// Index in the stack of the outermost expression moved into the closure.
    top: usize,
}

fn expr_at<'a>(stack: &[Anc<'a>], i: usize) -> Option<&'a syn::Expr> {
    match stack.get(i)? {
        Anc::Expr(e) => Some(e),
        _ => None,
    }
}

fn grow(stack: &[Anc<'_>], with_assign: bool) -> Grown {
    let mut top = stack.len() - 1;
    let mut ref_like = true;
    while top > 0 {
        let Some(cur) = expr_at(stack, top) else {
            break;
        };
        let Some(parent) = expr_at(stack, top - 1) else {
            break;
        };
        let same = |e: &syn::Expr| std::ptr::eq(e, cur);
        let climb = match parent {
            syn::Expr::MethodCall(m) if same(&m.receiver) => Some(false),
            syn::Expr::MethodCall(m) if ref_like && m.args.iter().any(same) => Some(false),
            syn::Expr::Call(c) if same(&c.func) => Some(false),
            syn::Expr::Call(c) if ref_like && c.args.iter().any(same) => Some(false),
            syn::Expr::Field(f) if same(&f.base) => Some(false),
            syn::Expr::Index(i) if same(&i.expr) => Some(false),
            syn::Expr::Try(_) | syn::Expr::Paren(_) | syn::Expr::Group(_) => Some(ref_like),
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => Some(false),
            syn::Expr::Reference(_) => Some(true),
            syn::Expr::Assign(a) if with_assign && same(&a.left) => Some(false),
            syn::Expr::Binary(b)
                if with_assign && same(&b.left) && crate::parse::is_compound_assign(&b.op) =>
            {
                Some(false)
            }
            _ => None,
        };
        match climb {
            Some(r) => {
                ref_like = r;
                top -= 1;
            }
            None => break,
        }
    }
    Grown { top }
}

fn returns_unit(sig: &syn::Signature) -> bool {
    match &sig.output {
        syn::ReturnType::Default => true,
        syn::ReturnType::Type(_, t) => matches!(&**t, syn::Type::Tuple(t) if t.elems.is_empty()),
    }
}

/// The tail expression of a function body that holds the expression at `stack[top]` (through
/// expressions only, not closures or async blocks), and the function's signature.
fn fn_tail<'a>(stack: &[Anc<'a>], top: usize) -> Option<(&'a syn::Expr, &'a syn::Signature)> {
    let mut k = top;
    while let Some(e) = expr_at(stack, k) {
        if matches!(e, syn::Expr::Closure(_) | syn::Expr::Async(_)) {
            return None;
        }
        k = k.checked_sub(1)?;
    }
    let outermost = expr_at(stack, k + 1)?;
    let (Some(Anc::Other), Some(Anc::Block(block)), Some(Anc::Fn(sig, _))) = (
        stack.get(k),
        stack.get(k.checked_sub(1)?),
        stack.get(k.checked_sub(2)?),
    ) else {
        return None;
    };
    match block.stmts.last() {
        Some(syn::Stmt::Expr(tail, None)) if std::ptr::eq(tail, outermost) => Some((tail, sig)),
        _ => None,
    }
}

/// Whether the function around the top of `stack` is `#[track_caller]` (also under `cfg_attr`): code
/// moved into a closure there would see the closure as its caller (`Location::caller()`, the
/// location of an `unwrap` panic).
fn in_track_caller(stack: &[Anc<'_>]) -> bool {
    stack
        .iter()
        .rev()
        .find_map(|a| match a {
            Anc::Fn(_, attrs) => Some(attrs.iter().any(|attr| {
                attr.path().is_ident("track_caller")
                    || (attr.path().is_ident("cfg_attr")
                        && mentions(
                            &quote::ToTokens::to_token_stream(&attr.meta),
                            "track_caller",
                        ))
            })),
            _ => None,
        })
        .unwrap_or(false)
}

/// Types a function's result can be without borrowing anything.
const OWNED: &[&str] = &[
    "bool", "char", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
    "isize", "f32", "f64", "String", "Option", "Result", "Vec",
];

/// Whether the result of a function with `sig` cannot borrow from a static: it names no reference,
/// lifetime, `impl` or `dyn` type, and either takes no reference either (an elided lifetime in the
/// result would have nothing to come from) or is built only of owned standard types.
fn returns_owned(sig: &syn::Signature) -> bool {
    fn borrowing(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Group(g) => borrowing(g.stream()),
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '&' || p.as_char() == '\'',
            proc_macro2::TokenTree::Ident(i) => i == "impl" || i == "dyn",
            proc_macro2::TokenTree::Literal(_) => false,
        })
    }
    fn only_owned(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().all(|t| match t {
            proc_macro2::TokenTree::Group(g) => only_owned(g.stream()),
            proc_macro2::TokenTree::Ident(i) => OWNED.contains(&i.to_string().as_str()),
            _ => true,
        })
    }
    let syn::ReturnType::Type(_, ty) = &sig.output else {
        return true;
    };
    let ty = quote::ToTokens::to_token_stream(&**ty);
    if borrowing(ty.clone()) || !sig.generics.params.is_empty() {
        return false;
    }
    let takes_references = sig.inputs.iter().any(|arg| match arg {
        syn::FnArg::Receiver(r) => borrowing(quote::ToTokens::to_token_stream(r)),
        syn::FnArg::Typed(t) => borrowing(quote::ToTokens::to_token_stream(&*t.ty)),
    });
    !takes_references || only_owned(ty)
}

/// The block and the index of the `let` statement whose initializer holds the expression at
/// `stack[top]` (through expressions only, not closures or async blocks), and where the block sits.
fn let_scope<'a>(
    stack: &[Anc<'a>],
    top: usize,
) -> Option<(&'a syn::Block, usize, super::scope::Owner)> {
    let mut k = top;
    while let Some(e) = expr_at(stack, k) {
        if matches!(e, syn::Expr::Closure(_) | syn::Expr::Async(_)) {
            return None;
        }
        k = k.checked_sub(1)?;
    }
    let Anc::Local(local) = stack.get(k)? else {
        return None;
    };
    let (Some(Anc::Other), Some(Anc::Block(block))) =
        (stack.get(k.checked_sub(1)?), stack.get(k.checked_sub(2)?))
    else {
        return None;
    };
    let at = block
        .stmts
        .iter()
        .position(|s| matches!(s, syn::Stmt::Local(l) if std::ptr::eq(l, *local)))?;
    let owner = match k.checked_sub(3).and_then(|i| stack.get(i)) {
        Some(Anc::Fn(sig, _)) if returns_unit(sig) => super::scope::Owner::UnitFn,
        Some(Anc::Fn(..)) => super::scope::Owner::ValueFn,
        _ => super::scope::Owner::Expr,
    };
    Some((block, at, owner))
}

/// Whether `expr` returns, breaks, continues, uses `?` or `.await` outside closures and async blocks:
/// moved into a closure, it would change meaning.
fn has_control_flow(expr: &syn::Expr) -> bool {
    struct Flow(bool);
    impl<'ast> Visit<'ast> for Flow {
        fn visit_expr(&mut self, e: &'ast syn::Expr) {
            match e {
                syn::Expr::Return(_)
                | syn::Expr::Break(_)
                | syn::Expr::Continue(_)
                | syn::Expr::Try(_)
                | syn::Expr::Await(_)
                | syn::Expr::Yield(_) => self.0 = true,
                syn::Expr::Closure(_) | syn::Expr::Async(_) => {}
                _ => syn::visit::visit_expr(self, e),
            }
        }
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut flow = Flow(false);
    flow.visit_expr(expr);
    flow.0
}

/// Whether the value of `expr` borrows from the static (its last call, past `unwrap`s, is a
/// borrowing method, or it is a reference).
fn borrows(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Reference(_) => true,
        syn::Expr::Paren(p) => borrows(&p.expr),
        syn::Expr::Try(t) => borrows(&t.expr),
        syn::Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if PASS_THROUGH.contains(&name.as_str()) {
                borrows(&m.receiver)
            } else {
                BORROWING.contains(&name.as_str())
            }
        }
        _ => false,
    }
}

fn param_name(decl: &Decl, text: &str) -> String {
    let mut name = decl.name.to_lowercase();
    let taken = |n: &str| {
        syn::parse_str::<syn::Ident>(n).is_err()
            || text
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == n)
    };
    while taken(&name) {
        name.push('_');
    }
    name
}

/// The edits for the uses of one static in one file.
fn rewrite_decl_uses(
    decl: &Decl,
    file: &std::path::Path,
    text: &str,
    occs: Vec<Occurrence>,
) -> Result<Vec<Edit>, String> {
    let name = &decl.name;
    // The range each occurrence grows to, and its replacement text builder.
    struct Site<'a, 'o> {
        occ: &'o Occurrence<'a>,
        range: Range<usize>,
        path_range: Range<usize>,
        /// The form of `NAME` inside an enclosing closure of the same static.
        inner_form: InnerForm,
        kind: SiteKind<'a>,
    }
    #[derive(Clone, Copy, PartialEq)]
    enum InnerForm {
        /// `name` (method receiver, field base).
        Param,
        /// `(*name)`.
        Deref,
        /// The `&NAME` around it becomes `name`.
        RefParam,
    }
    #[derive(Clone)]
    enum SiteKind<'a> {
        /// The path alone becomes the place behind the accessor's pointer.
        Place,
        Closure,
        /// A `let` and the rest of its block move into the closure (the block's statements, and
        /// whether it has a tail).
        Scope(&'a [syn::Stmt], bool),
        AtomicLoad,
        AtomicStore(Range<usize>),
        AtomicOp(&'static str, Range<usize>, Option<&'static str>),
    }
    let mut sites: Vec<Site> = Vec::new();
    for occ in &occs {
        let stack = &occ.stack;
        let path_range = node_range(occ.path);
        let parent = stack.len().checked_sub(2).and_then(|i| expr_at(stack, i));
        let same = |e: &syn::Expr| std::ptr::eq(e, occ.path);
        let inner_form = match parent {
            Some(syn::Expr::MethodCall(m)) if same(&m.receiver) => InnerForm::Param,
            Some(syn::Expr::Field(f)) if same(&f.base) => InnerForm::Param,
            Some(syn::Expr::Reference(r)) if r.mutability.is_none() && decl.kind != Kind::Lock => {
                InnerForm::RefParam
            }
            _ => InnerForm::Deref,
        };
        if decl.kind == Kind::Cell {
            // `NAME` → `(*V_NAME.as_ptr())`: the same place, in the same `unsafe` block.
            sites.push(Site {
                occ,
                range: path_range.clone(),
                path_range,
                inner_form,
                kind: SiteKind::Place,
            });
            continue;
        }
        if let Kind::Atomic(_) = decl.kind {
            let kind = match parent {
                Some(syn::Expr::Reference(_)) => {
                    return Err(format!(
                        "a reference to `{name}` is taken (`&{name}`): an atomic has no place to borrow"
                    ))
                }
                Some(syn::Expr::Assign(a)) if same(&a.left) => {
                    SiteKind::AtomicStore(node_range(&a.right))
                }
                Some(syn::Expr::Binary(b)) if same(&b.left) && crate::parse::is_compound_assign(&b.op) => {
                    use syn::BinOp::*;
                    let is_bool = decl.kind == Kind::Atomic("AtomicBool");
                    let (method, op) = match b.op {
                        AddAssign(_) if !is_bool => ("fetch_add", None),
                        SubAssign(_) if !is_bool => ("fetch_sub", None),
                        BitOrAssign(_) => ("fetch_or", None),
                        BitAndAssign(_) => ("fetch_and", None),
                        BitXorAssign(_) => ("fetch_xor", None),
                        MulAssign(_) => ("", Some("*")),
                        DivAssign(_) => ("", Some("/")),
                        RemAssign(_) => ("", Some("%")),
                        ShlAssign(_) => ("", Some("<<")),
                        ShrAssign(_) => ("", Some(">>")),
                        _ => return Err(format!("`{name}` is updated with an operator its atomic lacks")),
                    };
                    SiteKind::AtomicOp(method, node_range(&b.right), op)
                }
                _ => SiteKind::AtomicLoad,
            };
            let top = match kind {
                SiteKind::AtomicLoad => path_range.clone(),
                _ => node_range(parent.expect("an assignment")),
            };
            sites.push(Site {
                occ,
                range: top,
                path_range,
                inner_form,
                kind,
            });
            continue;
        }
        let grown = grow(stack, true);
        let top_expr = expr_at(stack, grown.top).expect("an expression");
        if has_control_flow(top_expr) {
            return Err(format!(
                "a use of `{name}` sits in an expression that returns, breaks, awaits or uses `?`, \
                 which cannot move into the accessor's closure"
            ));
        }
        if decl.kind == Kind::UnmutAtomic {
            if let Some(syn::Expr::Assign(a)) = parent {
                if same(&a.left) {
                    return Err(format!(
                        "`{name}` is assigned as a whole, which a per-instance atomic cannot be"
                    ));
                }
            }
        }
        let context = grown.top.checked_sub(1).map(|i| &stack[i]);
        if let (true, Some(Anc::MacroArgs(args, whole))) = (borrows(top_expr), context) {
            // `println!("{}", NAME.lock().unwrap())`: the whole invocation moves into the closure.
            if args.iter().any(has_control_flow) {
                return Err(format!(
                    "a use of `{name}` sits in a macro call whose arguments return, break or use `?`"
                ));
            }
            sites.push(Site {
                occ,
                range: whole.clone(),
                path_range,
                inner_form,
                kind: SiteKind::Closure,
            });
            continue;
        }
        if borrows(top_expr) && !matches!(context, Some(Anc::StmtSemi)) {
            // Kept by a `let`: the rest of its block moves into the closure, when it can.
            let outlives = format!(
                "a borrow of `{name}` outlives the expression that takes it (`{}`): the accessor lends \
                 the per-instance value only inside its closure",
                abbreviate(&text[node_range(top_expr)])
            );
            if in_track_caller(stack) {
                return Err(format!(
                    "{outlives}, and its function is `#[track_caller]`: moved into the closure, the \
                     code would report the closure as its caller"
                ));
            }
            if let Some((tail, sig)) = fn_tail(stack, grown.top) {
                // The function's result: when it cannot borrow anything, neither can the value.
                if !returns_owned(sig) {
                    return Err(format!(
                        "{outlives}, and the function's result may borrow it"
                    ));
                }
                if has_control_flow(tail) {
                    return Err(format!(
                        "{outlives}, and the function's result returns, awaits or uses `?`"
                    ));
                }
                sites.push(Site {
                    occ,
                    range: node_range(tail),
                    path_range,
                    inner_form,
                    kind: SiteKind::Closure,
                });
                continue;
            }
            let Some((block, at, owner)) = let_scope(stack, grown.top) else {
                return Err(outlives);
            };
            if !matches!(decl.kind, Kind::Plain | Kind::Lazy) {
                // A `static mut`'s lock would stay taken for the rest of the block.
                return Err(outlives);
            }
            if let Some(why) = super::scope::refusal(block, at, owner, text) {
                return Err(format!("{outlives}, and {why}"));
            }
            let moved = super::scope::moved_range(block, at);
            if decl.file == file && moved.start <= decl.item.start && decl.item.end <= moved.end {
                return Err(format!(
                    "{outlives}, and the rest of the block declares `{name}` itself"
                ));
            }
            sites.push(Site {
                occ,
                range: moved,
                path_range,
                inner_form,
                kind: SiteKind::Scope(&block.stmts[at..], super::scope::has_tail(block)),
            });
            continue;
        }
        sites.push(Site {
            occ,
            range: node_range(top_expr),
            path_range,
            inner_form,
            kind: SiteKind::Closure,
        });
    }
    // Nesting: a site inside another site's range is rewritten as part of it.
    sites.sort_by_key(|s| (s.range.start, std::cmp::Reverse(s.range.end)));
    let mut edits = Vec::new();
    let mut i = 0;
    while i < sites.len() {
        let outer_range = sites[i].range.clone();
        let mut j = i + 1;
        while j < sites.len() && sites[j].range.end <= outer_range.end {
            j += 1;
        }
        let text_out = render(decl, text, &sites[i..j], 0)?;
        edits.push(Edit::new(outer_range, text_out));
        i = j;
    }
    return Ok(edits);

    fn render(decl: &Decl, text: &str, sites: &[Site], depth: usize) -> Result<String, String> {
        let outer = &sites[0];
        let inner = &sites[1..];
        let range = outer.range.clone();
        let param = param_name(decl, &text[range.clone()]);
        let param = if depth > 0 {
            format!("{param}{depth}")
        } else {
            param
        };
        // Replacements inside the outer range, relative to the text.
        let mut pieces: Vec<(Range<usize>, String)> = Vec::new();
        match &outer.kind {
            SiteKind::Closure | SiteKind::Scope(..) => {
                // Every occurrence inside, the outer one included, takes the closure's parameter.
                for site in std::iter::once(outer).chain(inner.iter()) {
                    let (r, form) = match site.inner_form {
                        InnerForm::Param => (site.path_range.clone(), param.clone()),
                        InnerForm::Deref => (site.path_range.clone(), format!("(*{param})")),
                        InnerForm::RefParam => {
                            // `&NAME` → `name`: find the `&` before the path.
                            let before = text[..site.path_range.start].trim_end();
                            if let Some(amp) = before.strip_suffix('&').map(str::len) {
                                (amp..site.path_range.end, param.clone())
                            } else {
                                (site.path_range.clone(), format!("(*{param})"))
                            }
                        }
                    };
                    if !pieces
                        .iter()
                        .any(|(p, _)| p.start < r.end && r.start < p.end)
                    {
                        pieces.push((r, form));
                    }
                }
            }
            SiteKind::AtomicLoad | SiteKind::Place => {}
            SiteKind::AtomicStore(rhs) | SiteKind::AtomicOp(_, rhs, _) => {
                // Nested uses in the right-hand side: rendered on their own, one level deeper.
                let nested: Vec<&Site> = inner
                    .iter()
                    .filter(|s| s.range.start >= rhs.start && s.range.end <= rhs.end)
                    .collect();
                let mut k = 0;
                while k < nested.len() {
                    let r = nested[k].range.clone();
                    let mut group: Vec<&Site> = vec![nested[k]];
                    k += 1;
                    while k < nested.len() && nested[k].range.end <= r.end {
                        group.push(nested[k]);
                        k += 1;
                    }
                    if group.len() == 1 && matches!(group[0].kind, SiteKind::AtomicLoad) {
                        // A read inside the update reads through the same parameter.
                        pieces.push((r, format!("{param}.load({ORDERING})")));
                        continue;
                    }
                    let owned: Vec<Site> = group
                        .iter()
                        .map(|s| Site {
                            occ: s.occ,
                            range: s.range.clone(),
                            path_range: s.path_range.clone(),
                            inner_form: s.inner_form,
                            kind: s.kind.clone(),
                        })
                        .collect();
                    pieces.push((r, render(decl, text, &owned, depth + 1)?));
                }
            }
        }
        pieces.sort_by_key(|(r, _)| r.start);
        let splice = |within: Range<usize>| -> String {
            let mut s = String::new();
            let mut at = within.start;
            for (r, t) in &pieces {
                if r.start >= within.start && r.end <= within.end {
                    s.push_str(&text[at..r.start]);
                    s.push_str(t);
                    at = r.end;
                }
            }
            s.push_str(&text[at..within.end]);
            s
        };
        let accessor = &outer.occ.accessor;
        Ok(match &outer.kind {
            SiteKind::Closure => {
                let mut body = splice(range);
                if body == format!("(*{param})") {
                    // The whole value: as the closure's last expression, parentheses would be
                    // reported unused.
                    body.retain(|c| c != '(' && c != ')');
                }
                if decl.kind == Kind::Lock {
                    format!(
                        "{accessor}.with(|{param}| {{ #[allow(unused_mut)] let mut {param} = {param}.lock().unwrap_or_else(std::sync::PoisonError::into_inner); {body} }})"
                    )
                } else {
                    format!("{accessor}.with(|{param}| {body})")
                }
            }
            SiteKind::Scope(stmts, tail) => {
                let body = splice(range.clone());
                super::scope::wrap(accessor, &param, &body, text, range, stmts, *tail)
            }
            // Parentheses only where the place is a receiver or a field's base.
            SiteKind::Place if outer.inner_form == InnerForm::Param => {
                format!("(*{accessor}.as_ptr())")
            }
            SiteKind::Place => format!("*{accessor}.as_ptr()"),
            SiteKind::AtomicLoad => format!("{accessor}.with(|{param}| {param}.load({ORDERING}))"),
            SiteKind::AtomicStore(rhs) => {
                let value = splice(rhs.clone());
                format!("{accessor}.with(|{param}| {param}.store({value}, {ORDERING}))")
            }
            SiteKind::AtomicOp(method, rhs, op) => {
                let value = splice(rhs.clone());
                match op {
                    None => format!(
                        "{accessor}.with(|{param}| {{ {param}.{method}({value}, {ORDERING}); }})"
                    ),
                    Some(op) => format!(
                        "{accessor}.with(|{param}| {{ let value = {param}.load({ORDERING}) {op} ({value}); {param}.store(value, {ORDERING}); }})"
                    ),
                }
            }
        })
    }
}

fn abbreviate(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 60 {
        let cut: String = one_line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}
