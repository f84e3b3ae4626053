//! Finding the declaration a finding points at, and deciding what it becomes: its fix kind and
//! applicability, or why it is left alone.

use super::Applicability;
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use std::ops::Range;
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;

/// What a static becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Already `Sync` and per-instance-able: `#[vnet]` goes on it as it is.
    Plain,
    /// `static mut` of an atomic type: `mut` goes, `#[vnet]` comes; assignments are refused.
    UnmutAtomic,
    /// `static mut` of an integer or `bool`: becomes this atomic (`AtomicU32`).
    Atomic(&'static str),
    /// Any other `static mut`: becomes a `std::sync::Mutex` of its type.
    Lock,
    /// An item of `lazy_static!`: becomes a `LazyLock` of its type.
    Lazy,
    /// A `static mut` whose code keeps its own synchronization: becomes a per-instance
    /// `vnet_runtime::StaticMut` of its type, each use `(*V_NAME.as_ptr())` in the same `unsafe`
    /// block (for a crate that also builds without `std`, or whose uses a lock cannot hold).
    Cell,
}

/// A `lazy_static!` item: where its invocation is.
#[derive(Clone, Debug)]
pub struct LazyItem {
    /// The whole invocation, `lazy_static! { … }` (with its `;` when it has one).
    pub invocation: Range<usize>,
    /// Index of the item among the invocation's items, and how many there are.
    pub index: usize,
    /// Number of items in the invocation.
    pub count: usize,
}

/// A static to port, as written.
#[derive(Clone, Debug)]
pub struct Decl {
    /// Its name.
    pub name: String,
    /// The file it is in.
    pub file: PathBuf,
    /// One-based line of the name.
    pub line: usize,
    /// The rule code of the finding.
    pub code: &'static str,
    /// The module path it is declared in (the file's module plus inline modules).
    pub module: Vec<String>,
    /// The body of the function it is local to, if any.
    pub fn_body: Option<Range<usize>>,
    /// Whether it sits in an inline `mod … { }` (the file-level import of `vnet` does not reach it).
    pub in_inline_mod: bool,
    /// The whole item, attributes and doc comments included.
    pub item: Range<usize>,
    /// Where the visibility (or `static`) starts: `#[vnet]` goes here.
    pub head: usize,
    /// The `mut` token of a `static mut`.
    pub mut_token: Option<Range<usize>>,
    /// The declared type.
    pub ty: Range<usize>,
    /// The initializer.
    pub init: Range<usize>,
    /// Visibility text (`pub`, `pub(crate)`, empty).
    pub vis: String,
    /// Whether it is `pub` (not restricted).
    pub is_pub: bool,
    /// The `lazy_static!` it is an item of.
    pub lazy: Option<LazyItem>,
    /// What it becomes.
    pub kind: Kind,
    /// Whether the fix is safe.
    pub applicability: Applicability,
}

/// Why a finding has no fix.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The static's name (or the flagged text).
    pub name: String,
    /// One-based line.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Where a static is declared: its module, the function body it is local to, whether it sits in an
/// inline module.
#[derive(Clone, Debug)]
pub struct Scope {
    /// Module path.
    pub module: Vec<String>,
    /// Byte range of the enclosing function body, for a function-local static.
    pub body: Option<Range<usize>>,
    /// Whether it is inside an inline `mod … { }`.
    pub inline: bool,
}

/// A parsed file's statics and macro-declared statics, located by byte range.
pub struct Located {
    /// Statics written as items.
    pub statics: Vec<(syn::ItemStatic, Scope)>,
    /// `lazy_static!` items, with their invocation.
    pub lazies: Vec<(LazyStatic, Scope, LazyItem)>,
    /// Other item macros (`thread_local!`, `cfg_if!` …): name and range.
    pub macros: Vec<(String, Range<usize>)>,
}

/// `attrs vis static ref NAME: T = init;` inside `lazy_static!`.
#[derive(Clone)]
pub struct LazyStatic {
    /// Outer attributes and doc comments.
    pub attrs: Vec<syn::Attribute>,
    /// Visibility.
    pub vis: syn::Visibility,
    /// `static`.
    pub static_token: syn::Token![static],
    /// The name.
    pub ident: syn::Ident,
    /// The type.
    pub ty: syn::Type,
    /// The initializer.
    pub expr: syn::Expr,
    /// The final `;`.
    pub semi: syn::Token![;],
}

impl Parse for LazyStatic {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let static_token = input.parse()?;
        let _: syn::Token![ref] = input.parse()?;
        let ident = input.parse()?;
        let _: syn::Token![:] = input.parse()?;
        let ty = input.parse()?;
        let _: syn::Token![=] = input.parse()?;
        let expr = input.parse()?;
        let semi = input.parse()?;
        Ok(LazyStatic {
            attrs,
            vis,
            static_token,
            ident,
            ty,
            expr,
            semi,
        })
    }
}

/// The items of one `lazy_static!` invocation.
pub struct LazyItems(pub Vec<LazyStatic>);

impl Parse for LazyItems {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut items = Vec::new();
        while !input.is_empty() {
            items.push(input.parse()?);
        }
        Ok(LazyItems(items))
    }
}

/// Byte range of a span.
pub fn range(span: Span) -> Range<usize> {
    span.byte_range()
}

/// Byte range of any syntax node.
pub fn node_range(node: &impl ToTokens) -> Range<usize> {
    let mut tokens = node.to_token_stream().into_iter();
    let Some(first) = tokens.next() else {
        return 0..0;
    };
    let start = range(first.span()).start;
    let end = tokens
        .last()
        .map_or(range(first.span()).end, |t| range(t.span()).end);
    start..end
}

/// Every static in `file`.
pub fn locate(file: &syn::File, module: &[String]) -> Located {
    let mut located = Located {
        statics: Vec::new(),
        lazies: Vec::new(),
        macros: Vec::new(),
    };
    walk_items(&file.items, module, None, false, &mut located);
    located
}

fn walk_items(
    items: &[syn::Item],
    module: &[String],
    body: Option<Range<usize>>,
    inline: bool,
    out: &mut Located,
) {
    for item in items {
        match item {
            syn::Item::Static(s) => {
                let scope = Scope {
                    module: module.to_vec(),
                    body: body.clone(),
                    inline,
                };
                out.statics.push((s.clone(), scope));
                walk_expr_items(&s.expr, module, inline, out);
            }
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let mut child = module.to_vec();
                    child.push(m.ident.to_string());
                    walk_items(inner, &child, None, true, out);
                }
            }
            syn::Item::Fn(f) => {
                walk_block(&f.block, module, inline, out);
            }
            syn::Item::Impl(i) => {
                for item in &i.items {
                    if let syn::ImplItem::Fn(f) = item {
                        walk_block(&f.block, module, inline, out);
                    }
                }
            }
            syn::Item::Trait(t) => {
                for item in &t.items {
                    if let syn::TraitItem::Fn(f) = item {
                        if let Some(block) = &f.default {
                            walk_block(block, module, inline, out);
                        }
                    }
                }
            }
            syn::Item::Macro(m) => walk_macro(&m.mac, module, body.clone(), inline, out),
            _ => {}
        }
    }
}

fn walk_block(block: &syn::Block, module: &[String], inline: bool, out: &mut Located) {
    let body = Some(node_range(block));
    for stmt in &block.stmts {
        match stmt {
            syn::Stmt::Item(item) => walk_items(
                std::slice::from_ref(item),
                module,
                body.clone(),
                inline,
                out,
            ),
            syn::Stmt::Macro(m) => walk_macro(&m.mac, module, body.clone(), inline, out),
            syn::Stmt::Local(l) => {
                if let Some(init) = &l.init {
                    walk_expr_items(&init.expr, module, inline, out);
                }
            }
            syn::Stmt::Expr(e, _) => walk_expr_items(e, module, inline, out),
        }
    }
}

/// Statics inside blocks nested in expressions (closures, `if` bodies …).
fn walk_expr_items(expr: &syn::Expr, module: &[String], inline: bool, out: &mut Located) {
    struct Blocks<'a> {
        module: &'a [String],
        inline: bool,
        out: &'a mut Located,
    }
    impl<'ast> syn::visit::Visit<'ast> for Blocks<'_> {
        fn visit_block(&mut self, block: &'ast syn::Block) {
            walk_block(block, self.module, self.inline, self.out);
        }
    }
    let mut blocks = Blocks {
        module,
        inline,
        out,
    };
    syn::visit::Visit::visit_expr(&mut blocks, expr);
}

/// The name a macro call is written with (`log::info!` → `info`).
pub(crate) fn macro_name(mac: &syn::Macro) -> String {
    mac.path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn walk_macro(
    mac: &syn::Macro,
    module: &[String],
    body: Option<Range<usize>>,
    inline: bool,
    out: &mut Located,
) {
    let name = macro_name(mac);
    let whole = node_range(mac);
    if name == "lazy_static" {
        if let Ok(LazyItems(items)) = syn::parse2::<LazyItems>(mac.tokens.clone()) {
            let count = items.len();
            for (index, item) in items.into_iter().enumerate() {
                let lazy = LazyItem {
                    invocation: whole.clone(),
                    index,
                    count,
                };
                let scope = Scope {
                    module: module.to_vec(),
                    body: body.clone(),
                    inline,
                };
                out.lazies.push((item, scope, lazy));
            }
            return;
        }
    }
    out.macros.push((name, whole));
}

fn vis_text(vis: &syn::Visibility) -> String {
    vis.to_token_stream()
        .to_string()
        .replace("pub (", "pub(")
        .replace(" )", ")")
        .replace("( ", "(")
}

const INTEGERS: &[(&str, &str)] = &[
    ("u8", "AtomicU8"),
    ("u16", "AtomicU16"),
    ("u32", "AtomicU32"),
    ("u64", "AtomicU64"),
    ("usize", "AtomicUsize"),
    ("i8", "AtomicI8"),
    ("i16", "AtomicI16"),
    ("i32", "AtomicI32"),
    ("i64", "AtomicI64"),
    ("isize", "AtomicIsize"),
    ("bool", "AtomicBool"),
];

/// Why a type cannot be shared between threads (as far as syntax tells), if it cannot.
fn not_sync(ty: &syn::Type) -> Option<String> {
    let text = ty.to_token_stream().to_string();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    for bad in ["Cell", "RefCell", "UnsafeCell", "Rc", "Weak"] {
        if words.contains(&bad) && !(bad == "Weak" && words.contains(&"Arc")) {
            return Some(format!(
                "its type holds `{bad}`, which is not `Sync`: a `#[vnet]` static must be `Send + Sync` \
                 (use an atomic or a lock)"
            ));
        }
    }
    if words.contains(&"unsync") {
        return Some(
            "its type is from an `unsync` module, not `Sync`: a `#[vnet]` static must be `Send + Sync`"
                .into(),
        );
    }
    if text.contains("* const") || text.contains("* mut") {
        return Some(
            "its type holds a raw pointer, which is not `Send + Sync`: a `#[vnet]` static must be"
                .to_owned()
                + " (use `AtomicPtr`)",
        );
    }
    None
}

/// Classifies a `static` item found for a finding.
#[allow(clippy::too_many_arguments)]
pub fn from_static(
    s: &syn::ItemStatic,
    file: &std::path::Path,
    module: &[String],
    body: Option<Range<usize>>,
    inline: bool,
    code: &'static str,
    line: usize,
) -> Result<Decl, Refusal> {
    let name = s.ident.to_string();
    let refuse = |reason: String| Refusal {
        name: name.clone(),
        line,
        reason,
    };
    if let Some(attr) = s.attrs.iter().find(|a| {
        ["no_mangle", "export_name", "link_section", "used", "unsafe"]
            .iter()
            .any(|n| a.path().is_ident(n))
    }) {
        let shown = attr.to_token_stream().to_string().replace(' ', "");
        return Err(refuse(format!(
            "`{shown}` makes it a symbol other code links against, which a per-instance static \
             cannot be"
        )));
    }
    let is_mut = matches!(s.mutability, syn::StaticMutability::Mut(_));
    let (kind, applicability) = if is_mut {
        let ty_text = s.ty.to_token_stream().to_string();
        if let Some((_, atomic)) = INTEGERS.iter().find(|(int, _)| *int == ty_text) {
            (Kind::Atomic(atomic), Applicability::Unsafe)
        } else if last_ident(&s.ty).is_some_and(|i| i.starts_with("Atomic")) {
            (Kind::UnmutAtomic, Applicability::Unsafe)
        } else {
            if let Some(reason) = not_sync(&s.ty) {
                return Err(refuse(reason));
            }
            (Kind::Lock, Applicability::Unsafe)
        }
    } else {
        if let Some(reason) = not_sync(&s.ty) {
            return Err(refuse(reason));
        }
        if is_bare_once(&s.ty) {
            // A `Once` holds no value: it guards other state, which may stay process-wide (rayon's
            // `THE_REGISTRY_SET` guards a `static mut`). Per instance, that state is initialized
            // again in every instance: a change of behaviour, so never applied silently.
            (Kind::Plain, Applicability::Unsafe)
        } else {
            (Kind::Plain, Applicability::Safe)
        }
    };
    let item = node_range(s);
    let head = head_start(&s.vis, s.static_token.span);
    Ok(Decl {
        name,
        file: file.to_path_buf(),
        line,
        code,
        module: module.to_vec(),
        fn_body: body,
        in_inline_mod: inline,
        item,
        head,
        mut_token: match &s.mutability {
            syn::StaticMutability::Mut(m) => Some(range(m.span)),
            _ => None,
        },
        ty: node_range(&s.ty),
        init: node_range(&s.expr),
        vis: vis_text(&s.vis),
        is_pub: matches!(s.vis, syn::Visibility::Public(_)),
        lazy: None,
        kind,
        applicability,
    })
}

/// Where a static's head starts: its visibility, or `static` when it has none.
fn head_start(vis: &syn::Visibility, static_token: proc_macro2::Span) -> usize {
    match vis {
        syn::Visibility::Inherited => range(static_token).start,
        vis => node_range(vis).start,
    }
}

/// Classifies a `lazy_static!` item found for a finding.
#[allow(clippy::too_many_arguments)]
pub fn from_lazy(
    s: &LazyStatic,
    lazy: &LazyItem,
    file: &std::path::Path,
    module: &[String],
    body: Option<Range<usize>>,
    inline: bool,
    code: &'static str,
    line: usize,
) -> Result<Decl, Refusal> {
    let name = s.ident.to_string();
    if let Some(reason) = not_sync(&s.ty) {
        return Err(Refusal { name, line, reason });
    }
    let start = s
        .attrs
        .first()
        .map(|a| range(a.span()).start)
        .unwrap_or_else(|| head_start(&s.vis, s.static_token.span));
    let head = head_start(&s.vis, s.static_token.span);
    Ok(Decl {
        name,
        file: file.to_path_buf(),
        line,
        code,
        module: module.to_vec(),
        fn_body: body,
        in_inline_mod: inline,
        item: start..range(s.semi.span).end,
        head,
        mut_token: None,
        ty: node_range(&s.ty),
        init: node_range(&s.expr),
        vis: vis_text(&s.vis),
        is_pub: matches!(s.vis, syn::Visibility::Public(_)),
        lazy: Some(lazy.clone()),
        kind: Kind::Lazy,
        applicability: Applicability::Unsafe,
    })
}

/// Whether `ty` is a `Once` without generic arguments (`std::sync::Once`, `parking_lot::Once`): a
/// guard holding no value, unlike `OnceLock<T>` or `spin::Once<T>`.
pub fn is_bare_once(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Once" && s.arguments.is_none()),
        _ => false,
    }
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Whether `tokens` mention the identifier `name` anywhere (nested groups included).
pub fn mentions(tokens: &TokenStream, name: &str) -> bool {
    tokens.clone().into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(&group.stream(), name),
        TokenTree::Literal(lit) => {
            let text = lit.to_string();
            text.starts_with('"')
                && (text.contains(&format!("{{{name}}}")) || text.contains(&format!("{{{name}:")))
        }
        TokenTree::Punct(_) => false,
    })
}

/// The first of `statics` that `expr` names by path, if any (a constant cannot refer to a static).
pub fn names_a_static(expr: &syn::Expr, statics: &[String]) -> Option<String> {
    struct Paths<'s> {
        statics: &'s [String],
        found: Option<String>,
    }
    impl<'ast> syn::visit::Visit<'ast> for Paths<'_> {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(last) = p.path.segments.last() {
                let name = last.ident.to_string();
                if self.found.is_none() && self.statics.contains(&name) {
                    self.found = Some(name);
                }
            }
        }
    }
    let mut paths = Paths {
        statics,
        found: None,
    };
    syn::visit::Visit::visit_expr(&mut paths, expr);
    paths.found
}
