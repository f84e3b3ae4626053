//! One file → the plain facts the init-order model needs: `const` items, `use` declarations, lifecycle
//! hooks (`#[sysinit]`, `#[sysuninit]`, `#[vnet_sysinit]`, `#[vnet_sysuninit]`), modules
//! (`#[vnet_module]`), and for each function what it reads and calls. Facts hold byte ranges and strings,
//! never syn trees or spans.

use proc_macro2::{TokenStream, TokenTree};
use std::ops::Range;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// Which kind of hook an attribute declares; the names are the runtime trace's event words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// `#[sysinit]`: once per process, at load.
    Sysinit,
    /// `#[sysuninit]`: once per process, at unload.
    Sysuninit,
    /// `#[vnet_sysinit]`: once per instance.
    VnetSysinit,
    /// `#[vnet_sysuninit]`: once per instance, at teardown.
    VnetSysuninit,
}

impl HookKind {
    /// The word the runtime's trace lines start with.
    ///
    /// ```
    /// assert_eq!(vnet_lint::parse::lifecycle::HookKind::VnetSysinit.event(), "VNET_SYSINIT");
    /// ```
    pub fn event(self) -> &'static str {
        match self {
            HookKind::Sysinit => "SYSINIT",
            HookKind::Sysuninit => "SYSUNINIT",
            HookKind::VnetSysinit => "VNET_SYSINIT",
            HookKind::VnetSysuninit => "VNET_SYSUNINIT",
        }
    }

    /// Whether it runs once per instance.
    pub fn per_instance(self) -> bool {
        matches!(self, HookKind::VnetSysinit | HookKind::VnetSysuninit)
    }

    /// Whether it is an init (not a teardown) hook.
    pub fn is_init(self) -> bool {
        matches!(self, HookKind::Sysinit | HookKind::VnetSysinit)
    }

    /// The attribute that declares it.
    pub fn attribute(self) -> &'static str {
        match self {
            HookKind::Sysinit => "sysinit",
            HookKind::Sysuninit => "sysuninit",
            HookKind::VnetSysinit => "vnet_sysinit",
            HookKind::VnetSysuninit => "vnet_sysuninit",
        }
    }

    fn from_attribute(name: &str) -> Option<HookKind> {
        Some(match name {
            "sysinit" => HookKind::Sysinit,
            "sysuninit" => HookKind::Sysuninit,
            "vnet_sysinit" => HookKind::VnetSysinit,
            "vnet_sysuninit" => HookKind::VnetSysuninit,
            _ => return None,
        })
    }
}

/// A constant expression as written: integers, paths, arithmetic, parentheses and casts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstExpr {
    /// An integer literal.
    Int(u128),
    /// A path (`SI_SUB_PSEUDO`, `crate::consts::ORDER`, `vnet_runtime::subsystem::SI_ORDER_ANY`).
    Path(Vec<String>),
    /// `a op b` for `+ - * / % << >> | & ^`.
    Binary(char, Box<ConstExpr>, Box<ConstExpr>),
    /// `-a`.
    Neg(Box<ConstExpr>),
    /// `a as T` for an integer type `T` (`u8` … `u128`, `i8` … `i128`, `usize`, `isize`): the value
    /// is truncated or sign-extended as Rust does. Casts to other types are transparent.
    Cast(String, Box<ConstExpr>),
    /// Anything else (a `const fn` call, a block…), with its text.
    Unsupported(String),
}

impl ConstExpr {
    /// Reads a syn expression parsed from `src`; parentheses, groups and `as` casts are transparent.
    /// What it does not evaluate keeps its text as written in `src`.
    pub fn from_syn(expr: &syn::Expr, src: &str) -> ConstExpr {
        use syn::{BinOp, Expr, Lit};
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Int(int) => int
                    .base10_parse::<u128>()
                    .map_or_else(|_| ConstExpr::Unsupported(text(expr, src)), ConstExpr::Int),
                _ => ConstExpr::Unsupported(text(expr, src)),
            },
            Expr::Path(path) if path.qself.is_none() => ConstExpr::Path(
                path.path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect(),
            ),
            Expr::Paren(inner) => ConstExpr::from_syn(&inner.expr, src),
            Expr::Group(inner) => ConstExpr::from_syn(&inner.expr, src),
            Expr::Cast(cast) => {
                let inner = ConstExpr::from_syn(&cast.expr, src);
                match &*cast.ty {
                    syn::Type::Path(p)
                        if p.qself.is_none()
                            && p.path
                                .get_ident()
                                .is_some_and(|i| int_bits(&i.to_string()).is_some()) =>
                    {
                        let ty = p
                            .path
                            .get_ident()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        ConstExpr::Cast(ty, Box::new(inner))
                    }
                    _ => inner,
                }
            }
            Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => {
                ConstExpr::Neg(Box::new(ConstExpr::from_syn(&unary.expr, src)))
            }
            Expr::Binary(bin) => {
                let op = match bin.op {
                    BinOp::Add(_) => '+',
                    BinOp::Sub(_) => '-',
                    BinOp::Mul(_) => '*',
                    BinOp::Div(_) => '/',
                    BinOp::Rem(_) => '%',
                    BinOp::Shl(_) => '<',
                    BinOp::Shr(_) => '>',
                    BinOp::BitOr(_) => '|',
                    BinOp::BitAnd(_) => '&',
                    BinOp::BitXor(_) => '^',
                    _ => return ConstExpr::Unsupported(text(expr, src)),
                };
                ConstExpr::Binary(
                    op,
                    Box::new(ConstExpr::from_syn(&bin.left, src)),
                    Box::new(ConstExpr::from_syn(&bin.right, src)),
                )
            }
            _ => ConstExpr::Unsupported(text(expr, src)),
        }
    }
}

/// The width and signedness of the integer type named `ty` (`usize`/`isize` as 64 bits).
///
/// ```
/// assert_eq!(vnet_lint::parse::lifecycle::int_bits("u32"), Some((32, false)));
/// assert_eq!(vnet_lint::parse::lifecycle::int_bits("f64"), None);
/// ```
pub fn int_bits(ty: &str) -> Option<(u32, bool)> {
    Some(match ty {
        "u8" => (8, false),
        "u16" => (16, false),
        "u32" => (32, false),
        "u64" | "usize" => (64, false),
        "u128" => (128, false),
        "i8" => (8, true),
        "i16" => (16, true),
        "i32" => (32, true),
        "i64" | "isize" => (64, true),
        "i128" => (128, true),
        _ => return None,
    })
}

/// `expr` as written in `src` (its span's bytes; line breaks and the indentation after them become one
/// space), or its tokens when the span is not a range of `src`.
fn text(expr: &syn::Expr, src: &str) -> String {
    use syn::spanned::Spanned;
    match src.get(expr.span().byte_range()) {
        Some(written) if !written.is_empty() => {
            written.lines().map(str::trim).collect::<Vec<_>>().join(" ")
        }
        _ => quote::ToTokens::to_token_stream(expr).to_string(),
    }
}

/// A `const NAME: T = expr;` item.
#[derive(Clone, Debug)]
pub struct ConstDef {
    /// Inline `mod` blocks around it, outermost first (empty at the file's top level).
    pub inline: Vec<String>,
    /// The constant's name.
    pub name: String,
    /// Its value as written.
    pub expr: ConstExpr,
}

/// One name a `use` brings in: `alias` (or `None` for a glob) stands for `path`.
#[derive(Clone, Debug)]
pub struct UseFact {
    /// Inline `mod` blocks around the `use`.
    pub inline: Vec<String>,
    /// The name in scope; `None` for `path::*`.
    pub alias: Option<String>,
    /// The full path as written, segments (`crate`, `self`, `super` kept).
    pub path: Vec<String>,
}

/// What a function body does that ordering rules look at.
#[derive(Clone, Debug, Default)]
pub struct BodyFacts {
    /// `V_` accessors used, by name (`V_RULES`), first use's byte range.
    pub reads: Vec<(String, Range<usize>)>,
    /// `V_` accessors whose value the body changes (`V_X.with(|x| x.store(…))`: a method that writes,
    /// such as `store`, `insert`, `reset`, `clear`, `fetch_add`), by name.
    pub writes: Vec<(String, Range<usize>)>,
    /// Functions called by name (last path segment), first call's byte range.
    pub calls: Vec<(String, Range<usize>)>,
    /// Calls whose name says they register a handler or callback (`register`, `subscribe`,
    /// `add_handler`, `eventhandler_register`…), by name.
    pub registers: Vec<(String, Range<usize>)>,
    /// Calls whose name says they unregister one (`unregister`, `deregister`, `unsubscribe`,
    /// `remove_handler`…), by name.
    pub unregisters: Vec<(String, Range<usize>)>,
}

/// One lifecycle hook.
#[derive(Clone, Debug)]
pub struct HookFact {
    /// Which attribute declared it.
    pub kind: HookKind,
    /// The function's name.
    pub name: String,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
    /// The subsystem argument.
    pub subsystem: ConstExpr,
    /// Byte range of the subsystem argument.
    pub subsystem_span: Range<usize>,
    /// The order argument.
    pub order: ConstExpr,
    /// Byte range of the order argument.
    pub order_span: Range<usize>,
    /// `module = name`, when given.
    pub module: Option<String>,
    /// Byte range of the function's name.
    pub span: Range<usize>,
    /// Byte offset where the item starts (its first attribute), for allow comments.
    pub item_start: usize,
    /// One-based line of the function's name.
    pub line: usize,
    /// What its body does.
    pub body: BodyFacts,
}

/// One `depend(name, min, preferred, max)`.
#[derive(Clone, Debug)]
pub struct DependFact {
    /// The module depended on.
    pub name: String,
    /// Lowest acceptable version.
    pub min: ConstExpr,
    /// Preferred version.
    pub preferred: ConstExpr,
    /// Highest acceptable version.
    pub max: ConstExpr,
    /// Byte range of the `depend(…)` argument.
    pub span: Range<usize>,
}

/// One `#[vnet_module(name, SUB, ORDER, version = N, depend(…))]`.
#[derive(Clone, Debug)]
pub struct ModuleFact {
    /// The module's name.
    pub name: String,
    /// Byte range of the name argument.
    pub name_span: Range<usize>,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
    /// The subsystem argument.
    pub subsystem: ConstExpr,
    /// Byte range of the subsystem argument.
    pub subsystem_span: Range<usize>,
    /// The order argument.
    pub order: ConstExpr,
    /// Byte range of the order argument.
    pub order_span: Range<usize>,
    /// `version = N` (1 when not given).
    pub version: ConstExpr,
    /// Its dependencies.
    pub depends: Vec<DependFact>,
    /// The event handler's name.
    pub handler: String,
    /// Byte range of the handler's name.
    pub span: Range<usize>,
    /// Byte offset where the item starts.
    pub item_start: usize,
    /// One-based line of the handler's name.
    pub line: usize,
    /// What the handler's `Shutdown` arm does, when the handler matches on the event.
    pub shutdown_arm: Option<BodyFacts>,
}

/// A current-instance guard dropped as soon as it is made.
#[derive(Clone, Debug)]
pub struct DroppedGuard {
    /// Byte range of the statement.
    pub span: Range<usize>,
    /// How it was written (`let _ = …` or a bare statement).
    pub how: &'static str,
}

/// A `V_` accessor used inside a closure handed to a spawn, timer or callback registration.
#[derive(Clone, Debug)]
pub struct SpawnedAccess {
    /// The accessor's name.
    pub name: String,
    /// Byte range of the accessor.
    pub span: Range<usize>,
    /// The call the closure was handed to (`thread::spawn`, `tokio::spawn`…).
    pub spawner: String,
}

/// Every fact of one file the model needs.
#[derive(Clone, Debug, Default)]
pub struct ModelFacts {
    /// `const` items.
    pub consts: Vec<ConstDef>,
    /// `use` declarations, flattened.
    pub uses: Vec<UseFact>,
    /// Inline `mod name { … }` blocks (their paths), so paths through them resolve.
    pub inline_modules: Vec<Vec<String>>,
    /// Lifecycle hooks.
    pub hooks: Vec<HookFact>,
    /// Modules.
    pub modules: Vec<ModuleFact>,
    /// Every free function's body facts, by name (hooks and handlers included).
    pub functions: Vec<(String, Vec<String>, BodyFacts)>,
    /// Guards dropped at once.
    pub dropped_guards: Vec<DroppedGuard>,
    /// `V_` accessors in spawned closures that make no instance current.
    pub spawned_accesses: Vec<SpawnedAccess>,
    /// `#[vnet]` statics declared here, by accessor name (`V_RULES`).
    pub vnet_statics: Vec<String>,
    /// Names a hook or module attribute gives the runtime crate (`crate = rt`): a dependency renamed
    /// in `Cargo.toml` needs it on every attribute, so paths through it (`rt::subsystem::…`) are the
    /// runtime's.
    pub runtime_aliases: Vec<String>,
}

/// Byte markers without which a file has no fact the model needs (checked before parsing).
pub fn may_matter(bytes: &[u8]) -> bool {
    const MARKERS: &[&[u8]] = &[b"sysinit", b"sysuninit", b"vnet_module", b"const ", b"V_"];
    MARKERS
        .iter()
        .any(|m| memchr::memmem::find(bytes, m).is_some())
}

/// Parses `text` and collects its model facts; `None` when it does not parse (the globals pass reports
/// that as `parse-error`). Call on a thread with a large stack.
pub fn collect(text: &str) -> Option<ModelFacts> {
    proc_macro2::extra::invalidate_current_thread_spans();
    if crate::parse::prefilter::too_deep(text.as_bytes()).is_some() {
        return None;
    }
    let file = syn::parse_file(&crate::parse::source::blank_prelude(text)).ok()?;
    let mut collector = Collector {
        src: text,
        inline: Vec::new(),
        facts: ModelFacts::default(),
    };
    collector.items(&file.items);
    Some(collector.facts)
}

struct Collector<'src> {
    /// The file's text, for expressions the facts keep as written.
    src: &'src str,
    inline: Vec<String>,
    facts: ModelFacts,
}

impl Collector<'_> {
    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &syn::Item) {
        // Test code is not in the binary whose order the model describes.
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Const(c) => &c.attrs,
            _ => &[],
        };
        if attrs.iter().any(super::cfg::is_test_attr) {
            return;
        }
        match item {
            syn::Item::Const(c) => self.facts.consts.push(ConstDef {
                inline: self.inline.clone(),
                name: c.ident.to_string(),
                expr: ConstExpr::from_syn(&c.expr, self.src),
            }),
            syn::Item::Use(u) => {
                let mut prefix = Vec::new();
                self.use_tree(&u.tree, &mut prefix);
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    self.inline.push(m.ident.to_string());
                    self.facts.inline_modules.push(self.inline.clone());
                    self.items(items);
                    self.inline.pop();
                }
            }
            syn::Item::Fn(f) => self.function(f),
            syn::Item::ExternCrate(e) => {
                if let Some((_, rename)) = &e.rename {
                    self.facts.uses.push(UseFact {
                        inline: self.inline.clone(),
                        alias: Some(rename.to_string()),
                        path: vec![e.ident.to_string()],
                    });
                }
            }
            syn::Item::Static(st) => {
                let is_vnet = st
                    .attrs
                    .iter()
                    .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "vnet"));
                if is_vnet {
                    self.facts.vnet_statics.push(format!("V_{}", st.ident));
                }
            }
            _ => {}
        }
    }

    fn use_tree(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let name = n.ident.to_string();
                let (alias, path) = if name == "self" {
                    (prefix.last().cloned(), prefix.clone())
                } else {
                    let mut path = prefix.clone();
                    path.push(name.clone());
                    (Some(name), path)
                };
                self.facts.uses.push(UseFact {
                    inline: self.inline.clone(),
                    alias,
                    path,
                });
            }
            syn::UseTree::Rename(r) => {
                let mut path = prefix.clone();
                if r.ident != "self" {
                    path.push(r.ident.to_string());
                }
                self.facts.uses.push(UseFact {
                    inline: self.inline.clone(),
                    alias: Some(r.rename.to_string()),
                    path,
                });
            }
            syn::UseTree::Glob(_) => self.facts.uses.push(UseFact {
                inline: self.inline.clone(),
                alias: None,
                path: prefix.clone(),
            }),
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.use_tree(tree, prefix);
                }
            }
        }
    }

    fn function(&mut self, f: &syn::ItemFn) {
        let name = f.sig.ident.to_string();
        let mut body = BodyVisitor::default();
        body.visit_block(&f.block);
        self.facts.dropped_guards.append(&mut body.dropped);
        self.facts.spawned_accesses.append(&mut body.spawned);
        let item_start = f.attrs.first().map_or_else(
            || f.span().byte_range().start,
            |a| a.span().byte_range().start,
        );
        for attr in &f.attrs {
            let Some(last) = attr.path().segments.last() else {
                continue;
            };
            let attr_name = last.ident.to_string();
            let args = match &attr.meta {
                syn::Meta::List(list) => split_args(list.tokens.clone(), self.src),
                _ => Vec::new(),
            };
            if HookKind::from_attribute(&attr_name).is_some() || attr_name == "vnet_module" {
                for arg in &args {
                    if let Arg::Named(n, ConstExpr::Path(path)) = arg {
                        if let ([alias], "crate") = (path.as_slice(), n.as_str()) {
                            let own = ["crate", "self", "super", "vnet_runtime"];
                            if !own.contains(&alias.as_str())
                                && !self.facts.runtime_aliases.contains(alias)
                            {
                                self.facts.runtime_aliases.push(alias.clone());
                            }
                        }
                    }
                }
            }
            if let Some(kind) = HookKind::from_attribute(&attr_name) {
                if let Some(hook) = self.hook(kind, &name, f, &args, item_start, &body.facts) {
                    self.facts.hooks.push(hook);
                }
            } else if attr_name == "vnet_module" {
                if let Some(module) = self.module(&name, f, &args, item_start) {
                    self.facts.modules.push(module);
                }
            }
        }
        self.facts
            .functions
            .push((name, self.inline.clone(), body.facts));
    }

    fn hook(
        &self,
        kind: HookKind,
        name: &str,
        f: &syn::ItemFn,
        args: &[Arg],
        item_start: usize,
        body: &BodyFacts,
    ) -> Option<HookFact> {
        let mut positional = args.iter().filter_map(|a| match a {
            Arg::Positional(expr, span) => Some((expr, span)),
            _ => None,
        });
        let (subsystem, subsystem_span) = positional.next()?;
        let (order, order_span) = positional.next()?;
        let module = args.iter().find_map(|a| match a {
            Arg::Named(n, v) if n == "module" => match v {
                ConstExpr::Path(p) if p.len() == 1 => Some(p[0].clone()),
                _ => None,
            },
            _ => None,
        });
        Some(HookFact {
            kind,
            name: name.to_owned(),
            inline: self.inline.clone(),
            subsystem: subsystem.clone(),
            subsystem_span: subsystem_span.clone(),
            order: order.clone(),
            order_span: order_span.clone(),
            module,
            span: f.sig.ident.span().byte_range(),
            item_start,
            line: f.sig.ident.span().start().line,
            body: body.clone(),
        })
    }

    fn module(
        &self,
        handler: &str,
        f: &syn::ItemFn,
        args: &[Arg],
        item_start: usize,
    ) -> Option<ModuleFact> {
        let mut positional = args.iter().filter_map(|a| match a {
            Arg::Positional(expr, span) => Some((expr, span)),
            _ => None,
        });
        let (name, name_span) = match positional.next()? {
            (ConstExpr::Path(p), span) if p.len() == 1 => (p[0].clone(), span.clone()),
            _ => return None,
        };
        let (subsystem, subsystem_span) = positional.next()?;
        let (order, order_span) = positional.next()?;
        let version = args
            .iter()
            .find_map(|a| match a {
                Arg::Named(n, v) if n == "version" => Some(v.clone()),
                _ => None,
            })
            .unwrap_or(ConstExpr::Int(1));
        let depends = args
            .iter()
            .filter_map(|a| match a {
                Arg::Depend(parts, span) => match parts.as_slice() {
                    [ConstExpr::Path(n), min, preferred, max, ..] if n.len() == 1 => {
                        Some(DependFact {
                            name: n[0].clone(),
                            min: min.clone(),
                            preferred: preferred.clone(),
                            max: max.clone(),
                            span: span.clone(),
                        })
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        Some(ModuleFact {
            name,
            name_span,
            inline: self.inline.clone(),
            subsystem: subsystem.clone(),
            subsystem_span: subsystem_span.clone(),
            order: order.clone(),
            order_span: order_span.clone(),
            version,
            depends,
            handler: handler.to_owned(),
            span: f.sig.ident.span().byte_range(),
            item_start,
            line: f.sig.ident.span().start().line,
            shutdown_arm: shutdown_arm(&f.block),
        })
    }
}

/// One argument of a hook or module attribute.
enum Arg {
    Positional(ConstExpr, Range<usize>),
    Named(String, ConstExpr),
    /// `depend(…)`: its comma-separated parts.
    Depend(Vec<ConstExpr>, Range<usize>),
}

/// Splits attribute tokens at top-level commas and reads each part.
fn split_args(tokens: TokenStream, src: &str) -> Vec<Arg> {
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("one part").push(tree),
        }
    }
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .filter_map(|part| {
            let span =
                part.first()?.span().byte_range().start..part.last()?.span().byte_range().end;
            if let [TokenTree::Ident(name), TokenTree::Punct(eq), rest @ ..] = part.as_slice() {
                if eq.as_char() == '=' && !rest.is_empty() {
                    let value: TokenStream = rest.iter().cloned().collect();
                    let value = syn::parse2::<syn::Expr>(value)
                        .map(|e| ConstExpr::from_syn(&e, src))
                        .unwrap_or_else(|_| ConstExpr::Unsupported(String::new()));
                    return Some(Arg::Named(name.to_string(), value));
                }
            }
            if let [TokenTree::Ident(name), TokenTree::Group(group)] = part.as_slice() {
                if name == "depend" {
                    let inner = split_args(group.stream(), src)
                        .into_iter()
                        .filter_map(|a| match a {
                            Arg::Positional(e, _) => Some(e),
                            _ => None,
                        })
                        .collect();
                    return Some(Arg::Depend(inner, span));
                }
            }
            let stream: TokenStream = part.into_iter().collect();
            let expr = syn::parse2::<syn::Expr>(stream).ok()?;
            Some(Arg::Positional(ConstExpr::from_syn(&expr, src), span))
        })
        .collect()
}

/// The body of the `Shutdown` arm of the handler's `match`, if it has one.
fn shutdown_arm(block: &syn::Block) -> Option<BodyFacts> {
    struct Finder(Option<BodyFacts>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_arm(&mut self, arm: &'ast syn::Arm) {
            let names_shutdown = quote::ToTokens::to_token_stream(&arm.pat)
                .into_iter()
                .any(|t| matches!(&t, TokenTree::Ident(i) if i == "Shutdown"));
            if names_shutdown && self.0.is_none() {
                let mut body = BodyVisitor::default();
                body.visit_expr(&arm.body);
                self.0 = Some(body.facts);
            }
            syn::visit::visit_arm(self, arm);
        }
    }
    let mut finder = Finder(None);
    finder.visit_block(block);
    finder.0
}

/// Names of calls that make an instance current.
const ENTERS: &[&str] = &[
    "curvnet_set",
    "enter",
    "with_in",
    "bind",
    "vnet_foreach",
    "set_current",
];

/// Names of calls that hand a closure to another thread, a task, a timer or a callback list.
const SPAWNERS: &[&str] = &[
    "spawn",
    "spawn_blocking",
    "spawn_local",
    "spawn_scoped",
    "timeout",
    "callout_reset",
    "schedule",
    "register",
    "add_handler",
    "subscribe",
    "on_event",
];

fn is_register(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("register") && !is_unregister(name))
        || n.contains("subscribe") && !n.contains("unsubscribe")
        || n == "add_handler"
        || n.ends_with("_add_handler")
}

fn is_unregister(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("unregister")
        || n.contains("deregister")
        || n.contains("unsubscribe")
        || n.contains("remove_handler")
}

/// Methods that change the value they are called on.
const WRITERS: &[&str] = &[
    "store",
    "set",
    "insert",
    "push",
    "push_back",
    "push_front",
    "reset",
    "clear",
    "fetch_add",
    "fetch_sub",
    "fetch_or",
    "fetch_and",
    "fetch_xor",
    "fetch_max",
    "fetch_min",
    "fetch_update",
    "swap",
    "replace",
    "write",
    "init",
    "get_or_init",
    "extend",
    "remove",
    "take",
    "truncate",
    "retain",
    "append",
    "drain",
    "get_mut",
    "entry",
];

/// Whether `tokens` call a method of [`WRITERS`] (`.store(`).
fn calls_a_writer(tokens: &TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    trees.windows(3).any(|w| match (&w[0], &w[1], &w[2]) {
        (TokenTree::Punct(dot), TokenTree::Ident(method), TokenTree::Group(g)) => {
            dot.as_char() == '.'
                && g.delimiter() == proc_macro2::Delimiter::Parenthesis
                && WRITERS.contains(&method.to_string().as_str())
        }
        _ => false,
    }) || trees.iter().any(|t| match t {
        TokenTree::Group(g) => calls_a_writer(&g.stream()),
        _ => false,
    })
}

fn v_accessor(path: &syn::Path) -> Option<String> {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .find(|s| s.starts_with("V_") && s.len() > 2)
}

#[derive(Default)]
struct BodyVisitor {
    facts: BodyFacts,
    dropped: Vec<DroppedGuard>,
    spawned: Vec<SpawnedAccess>,
}

fn push_once(list: &mut Vec<(String, Range<usize>)>, name: String, span: Range<usize>) {
    if !list.iter().any(|(n, _)| *n == name) {
        list.push((name, span));
    }
}

/// Whether `expr` makes a current-instance guard (`curvnet_set(..)`, `vnet.enter_guard()`…).
fn makes_guard(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "curvnet_set"),
            _ => false,
        },
        syn::Expr::MethodCall(m) => m.method == "curvnet_set" || m.method == "set_current",
        syn::Expr::Macro(m) => m
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "curvnet_set"),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for BodyVisitor {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => {
                if let (syn::Pat::Wild(_), Some(init)) = (&local.pat, &local.init) {
                    if makes_guard(&init.expr) {
                        self.dropped.push(DroppedGuard {
                            span: stmt.span().byte_range(),
                            how: "`let _ = …`",
                        });
                    }
                }
            }
            syn::Stmt::Expr(expr, Some(_)) if makes_guard(expr) => {
                self.dropped.push(DroppedGuard {
                    span: stmt.span().byte_range(),
                    how: "a bare statement",
                });
            }
            _ => {}
        }
        syn::visit::visit_stmt(self, stmt);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if let Some(name) = v_accessor(&path.path) {
            push_once(&mut self.facts.reads, name, path.span().byte_range());
        }
        syn::visit::visit_expr_path(self, path);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*call.func {
            if let Some(last) = p.path.segments.last() {
                let name = last.ident.to_string();
                let span = call.span().byte_range();
                if is_unregister(&name) {
                    push_once(&mut self.facts.unregisters, name.clone(), span.clone());
                } else if is_register(&name) {
                    push_once(&mut self.facts.registers, name.clone(), span.clone());
                }
                if SPAWNERS.contains(&name.as_str()) {
                    let spawner = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect::<Vec<_>>()
                        .join("::");
                    self.spawned_closures(&spawner, call.args.iter());
                }
                push_once(&mut self.facts.calls, name, span);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if let syn::Expr::Path(receiver) = &*call.receiver {
            if let Some(accessor) = v_accessor(&receiver.path) {
                let writes = call
                    .args
                    .iter()
                    .any(|arg| calls_a_writer(&quote::ToTokens::to_token_stream(arg)));
                if writes {
                    push_once(
                        &mut self.facts.writes,
                        accessor,
                        receiver.span().byte_range(),
                    );
                }
            }
        }
        let span = call.span().byte_range();
        if is_unregister(&name) {
            push_once(&mut self.facts.unregisters, name.clone(), span.clone());
        } else if is_register(&name) {
            push_once(&mut self.facts.registers, name.clone(), span.clone());
        }
        if SPAWNERS.contains(&name.as_str()) {
            self.spawned_closures(&format!(".{name}"), call.args.iter());
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

impl BodyVisitor {
    /// Records `V_` accessors in closures handed to `spawner` when nothing in the closure enters an
    /// instance.
    fn spawned_closures<'a>(&mut self, spawner: &str, args: impl Iterator<Item = &'a syn::Expr>) {
        for arg in args {
            let closure = match arg {
                syn::Expr::Closure(c) => &c.body,
                syn::Expr::Async(a) => {
                    self.spawned_in(spawner, &quote::ToTokens::to_token_stream(&a.block));
                    continue;
                }
                _ => continue,
            };
            self.spawned_in(spawner, &quote::ToTokens::to_token_stream(closure));
        }
    }

    fn spawned_in(&mut self, spawner: &str, tokens: &TokenStream) {
        fn walk(tokens: &TokenStream, enters: &mut bool, found: &mut Vec<(String, Range<usize>)>) {
            for tree in tokens.clone() {
                match &tree {
                    TokenTree::Ident(i) => {
                        let s = i.to_string();
                        if ENTERS.contains(&s.as_str()) {
                            *enters = true;
                        } else if s.starts_with("V_") && s.len() > 2 {
                            found.push((s, i.span().byte_range()));
                        }
                    }
                    TokenTree::Group(g) => walk(&g.stream(), enters, found),
                    _ => {}
                }
            }
        }
        let mut enters = false;
        let mut found = Vec::new();
        walk(tokens, &mut enters, &mut found);
        if !enters {
            for (name, span) in found {
                self.spawned.push(SpawnedAccess {
                    name,
                    span,
                    spawner: spawner.to_owned(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_modules_consts_and_uses() {
        let src = r#"
            use vnet_runtime::subsystem::*;
            use crate::keys::{ORDER as O, self};
            const A: u32 = SI_ORDER_ANY + (2 * 3) as u32;
            #[vnet_module(m, SI_SUB_PSEUDO, A, version = 2, depend(other, 1, 2, 3))]
            fn m_modevent(e: ModEvent) -> Result<(), ModError> { match e { ModEvent::Shutdown => Ok(()), _ => Ok(()) } }
            #[vnet_runtime::vnet_sysinit(SI_SUB_PSEUDO, O, module = m)]
            fn init() { V_X.with(|x| ()); helper(); }
        "#;
        let facts = collect(src).unwrap();
        assert_eq!(facts.consts.len(), 1);
        assert_eq!(facts.uses.len(), 3);
        assert_eq!(facts.uses[2].alias.as_deref(), Some("keys"));
        assert_eq!(facts.modules[0].depends[0].name, "other");
        assert_eq!(facts.modules[0].version, ConstExpr::Int(2));
        let hook = &facts.hooks[0];
        assert_eq!(hook.kind, HookKind::VnetSysinit);
        assert_eq!(hook.module.as_deref(), Some("m"));
        assert_eq!(hook.body.reads[0].0, "V_X");
        assert!(hook.body.calls.iter().any(|(n, _)| n == "helper"));
        assert!(facts.modules[0].shutdown_arm.is_some());
    }

    #[test]
    fn odd_attributes_and_keys_never_panic() {
        let cases = [
            "#[sysinit] fn f() {}",
            "#[sysinit(,,,)] fn f() {}",
            "#[sysinit(= 1, module =)] fn f() {}",
            "#[vnet_module(m, depend())] fn f(e: E) {}",
            "#[vnet_module(m, 1, 2, version = , depend(x, 1))] fn f(e: E) {}",
            "#[vnet_module] fn f(e: E) {}",
            "const A: u32 = -(-170141183460469231731687303715884105727 - 1); #[sysinit(A, A << 200)] fn f() {}",
            "const A: u32 = B; const B: u32 = A; #[vnet_sysinit(A, 1 / 0)] fn f() {}",
            "fn f() { std::thread::spawn(|| V_); let _ = curvnet_set; curvnet_set!(); }",
        ];
        for text in cases {
            let facts = collect(text).unwrap_or_default();
            let model = crate::model::Model::build(vec![crate::model::ModelFile {
                file: 0,
                module: vec!["c".into()],
                selected: true,
                facts,
            }]);
            let _ = crate::model::sequence::sequences(&model);
        }
    }
}
