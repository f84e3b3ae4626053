//! The per-file syntax pass: parse one file and return its globals, its `#[vnet]` statics, its type
//! definitions and the findings that need no other file (suppressions without a reason, parse errors).
//!
//! **Architecture Invariant:** nothing here prints, and the returned facts hold no syn types, so files are
//! analyzed on any thread and merged afterwards.

use crate::diag::{FileId, Finding};
use crate::resolve::{TyShape, TypeDef};
use crate::rules::{self, id, Rule};
use crate::suppress::Directives;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use std::ops::Range;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Ident, Token};

/// Options of the syntax pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Also look into `#[cfg(test)]` code, `#[test]` functions and `macro_rules!` bodies.
    pub include_tests: bool,
}

/// A mutable global found in a file, before its type is resolved.
#[derive(Clone, Debug)]
pub struct GlobalItem {
    /// The item's name.
    pub name: String,
    /// What kind of global it is.
    pub kind: GlobalKind,
    /// The file it is in.
    pub file: FileId,
    /// Byte range of the token the diagnostic points at.
    pub primary: Range<usize>,
}

/// The kinds of global the rules tell apart.
#[derive(Clone, Debug)]
pub enum GlobalKind {
    /// `static mut NAME: T`.
    StaticMut,
    /// `static NAME: T`, reported when `ty` has interior mutability.
    Static {
        /// The declared type.
        ty: TyShape,
    },
    /// `static ref NAME: T` inside `lazy_static!`.
    LazyStatic {
        /// The invoked macro's name, e.g. `lazy_static`.
        via: String,
    },
    /// `static NAME: T` inside `thread_local!`.
    ThreadLocal {
        /// The invoked macro's name, e.g. `thread_local` or `tokio_thread_local`.
        via: String,
    },
}

impl GlobalKind {
    /// The rule that reports this kind.
    pub fn rule(&self) -> &'static Rule {
        match self {
            GlobalKind::StaticMut => id::STATIC_MUT,
            GlobalKind::Static { .. } => id::INTERIOR_MUTABLE_STATIC,
            GlobalKind::LazyStatic { .. } => id::LAZY_STATIC_GLOBAL,
            GlobalKind::ThreadLocal { .. } => id::THREAD_LOCAL_GLOBAL,
        }
    }
}

/// A `#[vnet]` static: already per instance, listed by `cargo vnet-lint list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VnetStatic {
    /// The static's name.
    pub name: String,
    /// Inline `mod` blocks around it, outermost first.
    pub inline_modules: Vec<String>,
    /// One-based line of the name.
    pub line: usize,
    /// One-based column of the name.
    pub column: usize,
}

/// A name brought into scope by `use`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The name as the file uses it (the `as` name for renames).
    pub local: String,
    /// The imported item's own name.
    pub original: String,
    /// The first segment of the path (`std`, `crate`, `super`, a crate or a module name).
    pub first: String,
    /// The segment just before the name (`offset` in `use crate::fmt::offset::Parser;`), if any.
    pub parent: Option<String>,
}

/// Everything the syntax pass learned about one file.
#[derive(Debug, Default)]
pub struct FileFacts {
    /// Mutable globals that are not suppressed.
    pub globals: Vec<GlobalItem>,
    /// `#[vnet]` statics.
    pub vnet_statics: Vec<VnetStatic>,
    /// Type aliases and struct, enum and union definitions: name, innermost inline `mod` around the
    /// definition (none at the file's top level), definition.
    pub typedefs: Vec<(String, Option<String>, TypeDef)>,
    /// Names brought in by `use`.
    pub imports: Vec<Import>,
    /// Names of the modules declared in the file (`mod name;` and `mod name { … }`).
    pub modules: Vec<String>,
    /// Findings that need no other file.
    pub findings: Vec<Finding>,
}

/// Parses `text` (file `file`) and collects its facts. Never panics on any input; a file that does not
/// parse yields a `parse-error` finding. Call on a thread with a large stack (see `engine`).
pub fn analyze(file: FileId, text: &str, options: Options) -> FileFacts {
    forget_earlier_spans();
    let mut facts = FileFacts::default();
    if let Some(at) = crate::prefilter::too_deep(text.as_bytes()) {
        facts.findings.push(
            Finding::new(
                id::PARSE_ERROR,
                file,
                at..at + 1,
                "this file nests deeper than the lint parses",
            )
            .with_label(format!(
                "more than {} levels deep here",
                crate::prefilter::MAX_NESTING
            ))
            .with_help("split the expression, or leave the generated file out of the paths to lint")
            .with_note("the file is skipped so that parsing it cannot exhaust the stack"),
        );
        return facts;
    }
    let syntax = match parse_file(text) {
        Ok(syntax) => syntax,
        Err(error) => {
            let span = byte_range(error.span());
            // An empty span (end of input) still needs one character to point at, never half of one.
            let span = if span.is_empty() {
                let width = text
                    .get(span.start..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(0, char::len_utf8);
                span.start..span.start + width
            } else {
                span
            };
            facts.findings.push(
                Finding::new(id::PARSE_ERROR, file, span, "this file is not valid Rust")
                    .with_label(parse_error_label(&error))
                    .with_help(
                        "the lint reads files as written, without expanding macros: fix the syntax",
                    ),
            );
            return facts;
        }
    };
    let directives = Directives::scan(text);
    for directive in directives.without_reason() {
        facts
            .findings
            .push(rules::globals::suppression_without_reason::finding(
                file,
                directive.span.clone(),
                "allow comment",
            ));
    }
    for (directive, rule) in directives.unknown_rules() {
        facts
            .findings
            .push(rules::globals::unknown_rule_in_allow::finding(
                file,
                directive.span.clone(),
                rule,
            ));
    }
    let mut collector = Collector {
        file,
        options,
        directives: &directives,
        modules: Vec::new(),
        facts,
    };
    collector.visit_file(&syntax);
    collector.facts
}

/// Parses a whole file. Edition 2015 code may write a trait object without `dyn` (`Box<Fn(u8) + Send>`),
/// which syn reads only for paths without parentheses: when parsing stops at the `(` of such a bare
/// `Fn(…)`, `FnMut(…)` or `FnOnce(…)`, `dyn` is put in front of it and the tokens are parsed again, so
/// that valid 2015 code is read; any other error is the file's.
fn parse_file(text: &str) -> syn::Result<syn::File> {
    let first = match syn::parse_file(text) {
        Ok(file) => return Ok(file),
        Err(error) => error,
    };
    let Ok(mut tokens) = text.parse::<TokenStream>() else {
        return Err(first);
    };
    let mut at = byte_range(first.span()).start;
    for _ in 0..MAX_BARE_FN_REPAIRS {
        let Some(repaired) = insert_dyn_before_bare_fn(tokens, at) else {
            return Err(first);
        };
        tokens = repaired;
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => return Ok(file),
            Err(error) => at = byte_range(error.span()).start,
        }
    }
    Err(first)
}

/// How many bare `Fn(…)` trait objects one file may have repaired before its parse error stands.
const MAX_BARE_FN_REPAIRS: usize = 64;

/// `tokens` with `dyn` inserted before the bare `Fn`-like trait whose parenthesized arguments start at
/// byte `at`, or `None` when no such trait is there.
fn insert_dyn_before_bare_fn(tokens: TokenStream, at: usize) -> Option<TokenStream> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        let TokenTree::Group(group) = tree else {
            continue;
        };
        let range = byte_range(group.span());
        if !range.contains(&at) {
            continue;
        }
        let is_bare_fn = group.delimiter() == Delimiter::Parenthesis
            && range.start == at
            && matches!(trees.get(i.wrapping_sub(1)), Some(TokenTree::Ident(f)) if f == "Fn" || f == "FnMut" || f == "FnOnce")
            && !matches!(trees.get(i.wrapping_sub(2)), Some(TokenTree::Ident(k)) if k == "dyn" || k == "impl");
        let mut out = trees.clone();
        if is_bare_fn {
            let span = trees[i - 1].span();
            out.insert(i - 1, TokenTree::Ident(Ident::new("dyn", span)));
        } else {
            let inner = insert_dyn_before_bare_fn(group.stream(), at)?;
            let mut repaired = proc_macro2::Group::new(group.delimiter(), inner);
            repaired.set_span(group.span());
            out[i] = TokenTree::Group(repaired);
        }
        return Some(out.into_iter().collect());
    }
    None
}

/// The label of a parse error; the lexer's own message does not say what is wrong.
fn parse_error_label(error: &syn::Error) -> String {
    let message = error.to_string();
    if message == "cannot parse string into token stream" {
        "unbalanced delimiter, or a token Rust does not have, here".to_owned()
    } else {
        message
    }
}

/// Parses `text` for its type definitions, imports and modules only, for resolving names used by statics
/// in other files.
pub fn typedefs(text: &str) -> FileFacts {
    forget_earlier_spans();
    if crate::prefilter::too_deep(text.as_bytes()).is_some() {
        return FileFacts::default();
    }
    let Ok(syntax) = parse_file(text) else {
        return FileFacts::default();
    };
    let directives = Directives::default();
    let facts = FileFacts::default();
    let options = Options {
        include_tests: true,
    };
    let mut collector = Collector {
        file: 0,
        options,
        directives: &directives,
        modules: Vec::new(),
        facts,
    };
    collector.visit_file(&syntax);
    let FileFacts {
        typedefs,
        imports,
        modules,
        ..
    } = collector.facts;
    FileFacts {
        typedefs,
        imports,
        modules,
        ..FileFacts::default()
    }
}

/// Empties this thread's span table, which otherwise keeps a copy of every file parsed on the thread
/// and overflows its 32-bit positions after 4 GiB. No span of an earlier file outlives its analysis:
/// facts hold byte ranges, never spans.
fn forget_earlier_spans() {
    proc_macro2::extra::invalidate_current_thread_spans();
}

/// The byte range of a span in its file.
fn byte_range(span: Span) -> Range<usize> {
    span.byte_range()
}

/// Macros whose bodies are token templates or text (`quote!`, `stringify!`): never items of this crate.
const TOKEN_TEMPLATE_MACROS: &[&str] = &[
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
    "stringify",
    "concat",
    "include_str",
];

/// Whether `tokens` spell the keyword `static` (not the lifetime `'static`) at any depth.
fn has_static_keyword(tokens: &TokenStream) -> bool {
    let mut after_quote = false;
    tokens.clone().into_iter().any(|tree| {
        let found = match &tree {
            TokenTree::Group(group) => has_static_keyword(&group.stream()),
            TokenTree::Ident(ident) => !after_quote && ident == "static",
            TokenTree::Punct(_) | TokenTree::Literal(_) => false,
        };
        after_quote = matches!(&tree, TokenTree::Punct(p) if p.as_char() == '\'');
        found
    })
}

fn is_punct(tree: &TokenTree, c: char) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == c)
}

/// The kind of the items declared by an invocation of the macro `name`, when it is a `lazy_static!` or
/// `thread_local!` (or a wrapper spelled with the same suffix).
fn macro_statics_kind(name: &str) -> Option<GlobalKind> {
    if name.ends_with("lazy_static") {
        Some(GlobalKind::LazyStatic {
            via: name.to_owned(),
        })
    } else if name.ends_with("thread_local") {
        Some(GlobalKind::ThreadLocal {
            via: name.to_owned(),
        })
    } else {
        None
    }
}

/// How deep the lint looks into nested macro invocations whose bodies are items.
const MAX_MACRO_DEPTH: usize = 8;

struct Collector<'a> {
    file: FileId,
    options: Options,
    directives: &'a Directives,
    modules: Vec<String>,
    facts: FileFacts,
}

/// How an item is marked by its attributes.
enum Marker {
    None,
    Vnet,
    Global,
}

impl Collector<'_> {
    /// Reads `#[vnet]` and `#[global(reason = "…")]` markers; reports a global marker with no reason.
    fn marker(&mut self, attrs: &[Attribute]) -> Marker {
        for attr in attrs {
            match last_segment(attr.path()).as_deref() {
                Some("vnet") => return Marker::Vnet,
                Some("global") => {
                    if !has_reason(attr) {
                        let what = "process-wide marker";
                        self.facts.findings.push(
                            rules::globals::suppression_without_reason::finding(
                                self.file,
                                byte_range(attr.span()),
                                what,
                            ),
                        );
                    }
                    return Marker::Global;
                }
                _ => {}
            }
        }
        Marker::None
    }

    /// Whether code under these attributes is test-only and tests are not included.
    fn skip_as_test(&self, attrs: &[Attribute]) -> bool {
        !self.options.include_tests && attrs.iter().any(is_test_attr)
    }

    /// Records a global unless an allow comment above `start_line` names its rule.
    fn push_global(&mut self, name: String, kind: GlobalKind, primary: Span, start_line: usize) {
        if self.directives.allows(start_line, kind.rule()) {
            return;
        }
        self.facts.globals.push(GlobalItem {
            name,
            kind,
            file: self.file,
            primary: byte_range(primary),
        });
    }

    fn static_item(&mut self, item: &syn::ItemStatic) {
        let marker = self.marker(&item.attrs);
        let name = item.ident.to_string();
        match marker {
            Marker::Vnet => {
                let start = item.ident.span().start();
                self.facts.vnet_statics.push(VnetStatic {
                    name,
                    inline_modules: self.modules.clone(),
                    line: start.line,
                    column: start.column + 1,
                });
                return;
            }
            Marker::Global => return,
            Marker::None => {}
        }
        let start_line = item.span().start().line;
        match &item.mutability {
            syn::StaticMutability::Mut(mut_token) => {
                self.push_global(name, GlobalKind::StaticMut, mut_token.span, start_line)
            }
            _ => {
                let kind = GlobalKind::Static {
                    ty: TyShape::of(&item.ty),
                };
                self.push_global(name, kind, item.ty.span(), start_line);
            }
        }
    }

    fn macro_invocation(&mut self, attrs: &[Attribute], mac: &syn::Macro, depth: usize) {
        if self.skip_as_test(attrs) {
            return;
        }
        let outer_marked = !matches!(self.marker(attrs), Marker::None);
        // Wrappers such as `tokio_thread_local!` or `loom::lazy_static!` take the same syntax.
        match last_segment(&mac.path).as_deref() {
            Some(name) if name.ends_with("lazy_static") => self.macro_statics(
                mac,
                GlobalKind::LazyStatic {
                    via: name.to_owned(),
                },
                outer_marked,
            ),
            Some(name) if name.ends_with("thread_local") => self.macro_statics(
                mac,
                GlobalKind::ThreadLocal {
                    via: name.to_owned(),
                },
                outer_marked,
            ),
            Some("macro_rules") if self.options.include_tests => {
                self.macro_rules_body(mac.tokens.clone())
            }
            Some("macro_rules") => {}
            // Bodies of these are token templates or text, never items of this crate: the statics a
            // proc-macro crate writes inside `quote!` belong to the crates that use the macro.
            Some(name) if TOKEN_TEMPLATE_MACROS.contains(&name) => {}
            _ if depth < MAX_MACRO_DEPTH => self.item_body(mac.tokens.clone(), depth + 1),
            _ => {}
        }
    }

    /// Items declared inside `lazy_static!` or `thread_local!`.
    fn macro_statics(&mut self, mac: &syn::Macro, kind: GlobalKind, outer_marked: bool) {
        let with_ref = matches!(kind, GlobalKind::LazyStatic { .. });
        let parser = |input: ParseStream| parse_macro_statics(input, with_ref);
        let Ok(statics) = parser.parse2(mac.tokens.clone()) else {
            return;
        };
        for declared in statics {
            if !matches!(self.marker(&declared.attrs), Marker::None) || outer_marked {
                continue;
            }
            if self.skip_as_test(&declared.attrs) {
                continue;
            }
            let start_line = declared.start.start().line;
            self.push_global(
                declared.name.to_string(),
                kind.clone(),
                declared.name.span(),
                start_line,
            );
        }
    }

    /// The body of a macro invocation: visited as items when it parses as items, else as the statements
    /// of a block (a `cfg_if!` in a function body mixes `static` items and `let`s), else each braced group
    /// is tried the same way (`cfg_if!`'s branches); ignored otherwise.
    fn item_body(&mut self, tokens: TokenStream, depth: usize) {
        let parser = |input: ParseStream| {
            let mut items = Vec::new();
            input.call(Attribute::parse_inner)?;
            while !input.is_empty() {
                items.push(input.parse::<syn::Item>()?);
            }
            Ok(items)
        };
        let statements = |input: ParseStream| syn::Block::parse_within(input);
        match parser.parse2(tokens.clone()) {
            Ok(items) => {
                for item in &items {
                    self.item_at_depth(item, depth);
                }
            }
            Err(_) if depth < MAX_MACRO_DEPTH && has_static_keyword(&tokens) => {
                match statements.parse2(tokens.clone()) {
                    Ok(stmts) => {
                        for stmt in &stmts {
                            match stmt {
                                syn::Stmt::Item(item) => self.item_at_depth(item, depth),
                                syn::Stmt::Macro(stmt) => {
                                    self.macro_invocation(&stmt.attrs, &stmt.mac, depth)
                                }
                                other => self.visit_stmt(other),
                            }
                        }
                    }
                    Err(_) => self.braced_groups(tokens, depth),
                }
            }
            Err(_) if depth < MAX_MACRO_DEPTH => self.braced_groups(tokens, depth),
            Err(_) => {}
        }
    }

    /// Each braced group of `tokens`, as a macro body of its own.
    fn braced_groups(&mut self, tokens: TokenStream, depth: usize) {
        for tree in tokens {
            if let TokenTree::Group(group) = tree {
                if group.delimiter() == Delimiter::Brace {
                    self.item_body(group.stream(), depth + 1);
                }
            }
        }
    }

    fn item_at_depth(&mut self, item: &syn::Item, depth: usize) {
        match item {
            syn::Item::Macro(mac) => self.macro_invocation(&mac.attrs, &mac.mac, depth),
            other => self.visit_item(other),
        }
    }

    /// Statics written in `macro_rules!` bodies (only with `--include-tests`): `static mut` always, plain
    /// statics when their type parses without metavariables, and the items of `thread_local!` and
    /// `lazy_static!` invocations. Only transcribers (what follows `=>`) are code: a matcher such as
    /// `static mut $name:ident: $ty:ty` declares nothing.
    fn macro_rules_body(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            let after_arrow =
                i >= 2 && is_punct(&trees[i - 1], '>') && is_punct(&trees[i - 2], '=');
            if let (TokenTree::Group(group), true) = (tree, after_arrow) {
                self.transcriber(group.stream(), None);
            }
        }
    }

    /// The tokens of a transcriber; `within` is the kind of the `thread_local!`/`lazy_static!` they are in.
    fn transcriber(&mut self, tokens: TokenStream, within: Option<&GlobalKind>) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, tree) in trees.iter().enumerate() {
            match tree {
                TokenTree::Group(group) => {
                    let invoked = match (i.checked_sub(2).map(|j| &trees[j]), i.checked_sub(1)) {
                        (Some(TokenTree::Ident(name)), Some(bang))
                            if is_punct(&trees[bang], '!') =>
                        {
                            macro_statics_kind(&name.to_string())
                        }
                        _ => None,
                    };
                    self.transcriber(group.stream(), invoked.as_ref().or(within));
                }
                TokenTree::Ident(ident) if ident == "static" => {
                    let after_quote = i > 0 && is_punct(&trees[i - 1], '\'');
                    if !after_quote {
                        self.macro_rules_static(ident, &trees[i + 1..], within);
                    }
                }
                _ => {}
            }
        }
    }

    fn macro_rules_static(
        &mut self,
        static_token: &Ident,
        rest: &[TokenTree],
        within: Option<&GlobalKind>,
    ) {
        let mut rest = rest.iter().peekable();
        let mut mut_span = None;
        if let Some(TokenTree::Ident(ident)) = rest.peek() {
            if ident == "mut" || (ident == "ref" && within.is_some()) {
                mut_span = (ident == "mut").then(|| ident.span());
                rest.next();
            }
        }
        let (name, name_span) = match (rest.next(), rest.peek()) {
            (Some(TokenTree::Punct(dollar)), Some(TokenTree::Ident(var)))
                if dollar.as_char() == '$' =>
            {
                let found = (format!("${var}"), var.span());
                rest.next();
                found
            }
            (Some(TokenTree::Ident(ident)), _) => (ident.to_string(), ident.span()),
            _ => return,
        };
        if !matches!(rest.next(), Some(TokenTree::Punct(colon)) if colon.as_char() == ':') {
            return;
        }
        let mut ty_trees = Vec::new();
        let mut initialized = false;
        for tree in rest {
            if is_punct(tree, '=') || is_punct(tree, ';') {
                initialized = is_punct(tree, '=');
                break;
            }
            ty_trees.push(tree.clone());
        }
        // A static with no initializer is a foreign one (`extern "C" { static X: T; }`): the C side owns
        // it, as for foreign statics outside macros.
        if !initialized {
            return;
        }
        let start_line = static_token.span().start().line;
        if let Some(kind) = within {
            self.push_global(name, kind.clone(), name_span, start_line);
            return;
        }
        if let Some(span) = mut_span {
            self.push_global(name, GlobalKind::StaticMut, span, start_line);
            return;
        }
        // `$crate::Lazy<$T>` reads as the type `crate::Lazy<T>` once the `$` of metavariables is dropped.
        let ty_tokens: TokenStream = ty_trees
            .into_iter()
            .filter(|tree| !is_punct(tree, '$'))
            .collect();
        if let Ok(ty) = syn::parse2::<syn::Type>(ty_tokens) {
            self.push_global(
                name,
                GlobalKind::Static {
                    ty: TyShape::of(&ty),
                },
                ty.span(),
                start_line,
            );
        }
    }
}

impl Collector<'_> {
    /// Records the names a `use` tree brings in, with the first segment of their path and the segment
    /// before the name.
    fn use_tree(&mut self, tree: &syn::UseTree, first: Option<&str>, parent: Option<&str>) {
        match tree {
            syn::UseTree::Path(path) => {
                let segment = path.ident.to_string();
                let first = first.map_or_else(|| segment.clone(), str::to_owned);
                self.use_tree(&path.tree, Some(&first), Some(&segment));
            }
            syn::UseTree::Group(group) => group
                .items
                .iter()
                .for_each(|tree| self.use_tree(tree, first, parent)),
            syn::UseTree::Name(name) => {
                let local = name.ident.to_string();
                let first = first.map_or_else(|| local.clone(), str::to_owned);
                self.facts.imports.push(Import {
                    original: local.clone(),
                    local,
                    first,
                    parent: parent.map(str::to_owned),
                });
            }
            syn::UseTree::Rename(rename) => {
                let original = rename.ident.to_string();
                let first = first.map_or_else(|| original.clone(), str::to_owned);
                self.facts.imports.push(Import {
                    local: rename.rename.to_string(),
                    original,
                    first,
                    parent: parent.map(str::to_owned),
                });
            }
            syn::UseTree::Glob(_) => {}
        }
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if self.skip_as_test(item_attrs(item)) {
            return;
        }
        match item {
            syn::Item::Static(item) => {
                self.static_item(item);
                syn::visit::visit_expr(self, &item.expr);
            }
            syn::Item::Macro(mac) => self.macro_invocation(&mac.attrs, &mac.mac, 0),
            syn::Item::Mod(module) => {
                self.facts.modules.push(module.ident.to_string());
                self.modules.push(module.ident.to_string());
                syn::visit::visit_item_mod(self, module);
                self.modules.pop();
            }
            syn::Item::Use(item) => self.use_tree(&item.tree, None, None),
            syn::Item::Type(alias) => {
                self.facts.typedefs.push((
                    alias.ident.to_string(),
                    self.modules.last().cloned(),
                    TypeDef::new(type_params(&alias.generics), vec![TyShape::of(&alias.ty)]),
                ));
            }
            syn::Item::Struct(def) => {
                self.push_typedef(&def.ident, &def.generics, def.fields.iter());
                syn::visit::visit_item_struct(self, def);
            }
            syn::Item::Enum(def) => {
                let fields = def.variants.iter().flat_map(|v| &v.fields);
                self.push_typedef(&def.ident, &def.generics, fields);
                syn::visit::visit_item_enum(self, def);
            }
            syn::Item::Union(def) => {
                self.push_typedef(&def.ident, &def.generics, def.fields.named.iter());
            }
            other => syn::visit::visit_item(self, other),
        }
    }

    fn visit_impl_item_fn(&mut self, function: &'ast syn::ImplItemFn) {
        if !self.skip_as_test(&function.attrs) {
            syn::visit::visit_impl_item_fn(self, function);
        }
    }

    fn visit_trait_item_fn(&mut self, function: &'ast syn::TraitItemFn) {
        if !self.skip_as_test(&function.attrs) {
            syn::visit::visit_trait_item_fn(self, function);
        }
    }

    fn visit_stmt_macro(&mut self, stmt: &'ast syn::StmtMacro) {
        self.macro_invocation(&stmt.attrs, &stmt.mac, 0);
    }
}

/// The names of a definition's type parameters, in order.
impl Collector<'_> {
    /// Records a struct, enum or union: its type parameters and the shapes of
    /// its fields (interior mutability is decided from them later).
    fn push_typedef<'f>(
        &mut self,
        ident: &syn::Ident,
        generics: &syn::Generics,
        fields: impl Iterator<Item = &'f syn::Field>,
    ) {
        let fields = fields.map(|field| TyShape::of(&field.ty)).collect();
        self.facts.typedefs.push((
            ident.to_string(),
            self.modules.last().cloned(),
            TypeDef::new(type_params(generics), fields),
        ));
    }
}

fn type_params(generics: &syn::Generics) -> Vec<String> {
    generics
        .type_params()
        .map(|param| param.ident.to_string())
        .collect()
}

/// The attributes of any item.
fn item_attrs(item: &syn::Item) -> &[Attribute] {
    use syn::Item;
    match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn last_segment(path: &syn::Path) -> Option<String> {
    path.segments
        .last()
        .map(|segment| segment.ident.to_string())
}

/// `#[test]`, `#[tokio::test]` and the like, or a `cfg` that requires `test` (`#[cfg(test)]`,
/// `#[cfg(all(test, unix))]`, but not `#[cfg(not(test))]`).
fn is_test_attr(attr: &Attribute) -> bool {
    match last_segment(attr.path()).as_deref() {
        Some("test") => true,
        Some("cfg") if attr.path().is_ident("cfg") => match &attr.meta {
            syn::Meta::List(list) => cfg_requires_test(list.tokens.clone()),
            _ => false,
        },
        _ => false,
    }
}

/// Whether the cfg predicates `tokens` (the inside of `cfg(…)`) hold only when `test` is set: `test`,
/// `all(…)` with such a member, `any(…)` whose every member is such. `not(…)` never is, nor is
/// `any(test, feature = "testing")`, which a build with the feature compiles.
pub(crate) fn cfg_requires_test(tokens: TokenStream) -> bool {
    cfg_predicates(tokens)
        .iter()
        .any(|p| predicate_requires_test(p))
}

/// The predicates of a comma-separated list.
fn cfg_predicates(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for tree in tokens {
        if is_punct(&tree, ',') {
            out.push(Vec::new());
        } else if let Some(last) = out.last_mut() {
            last.push(tree);
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

fn predicate_requires_test(predicate: &[TokenTree]) -> bool {
    match predicate {
        [TokenTree::Ident(ident)] => ident == "test",
        [TokenTree::Group(group)] => cfg_requires_test(group.stream()),
        [TokenTree::Ident(ident), TokenTree::Group(group)] if ident == "all" => {
            cfg_requires_test(group.stream())
        }
        [TokenTree::Ident(ident), TokenTree::Group(group)] if ident == "any" => {
            let members = cfg_predicates(group.stream());
            !members.is_empty() && members.iter().all(|p| predicate_requires_test(p))
        }
        _ => false,
    }
}

/// Whether a `#[global(…)]` marker says `reason = "non-empty"`.
fn has_reason(attr: &Attribute) -> bool {
    let mut reason = false;
    if let syn::Meta::List(_) = &attr.meta {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("reason") {
                let value: syn::LitStr = meta.value()?.parse()?;
                reason = !value.value().trim().is_empty();
            } else if meta.input.peek(Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        });
    }
    reason
}

/// A `static` declared inside `lazy_static!` or `thread_local!`.
struct MacroStatic {
    attrs: Vec<Attribute>,
    start: Span,
    name: Ident,
}

/// Parses `[attrs] [vis] static [ref] NAME: TYPE [= INIT];` repeated; the initializer is skipped, and may
/// be missing (`scoped_thread_local!(static CURRENT: Context);`).
fn parse_macro_statics(input: ParseStream, with_ref: bool) -> syn::Result<Vec<MacroStatic>> {
    let mut statics = Vec::new();
    while !input.is_empty() {
        let attrs = input.call(Attribute::parse_outer)?;
        let start = attrs
            .first()
            .map_or_else(|| input.span(), |attr| attr.pound_token.span);
        input.parse::<syn::Visibility>()?;
        input.parse::<Token![static]>()?;
        if with_ref {
            input.parse::<Token![ref]>()?;
        }
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        input.parse::<syn::Type>()?;
        if !input.is_empty() && !input.peek(Token![;]) {
            input.parse::<Token![=]>()?;
        }
        while !input.is_empty() && !input.peek(Token![;]) {
            input.parse::<TokenTree>()?;
        }
        if !input.is_empty() {
            input.parse::<Token![;]>()?;
        }
        statics.push(MacroStatic { attrs, start, name });
    }
    Ok(statics)
}
