//! The globals pipeline's syntax visitor (the lifecycle pipeline's is `lifecycle`): globals, `#[vnet]` statics, type definitions, imports and modules of one file.

use super::cfg::{has_reason, is_test_attr, last_segment};
use super::macros::*;
use super::shape::{TyShape, TypeDef};
use super::*;

/// How deep the lint looks into nested macro invocations whose bodies are items.
const MAX_MACRO_DEPTH: usize = 8;

pub(super) struct Collector {
    pub(super) file: FileId,
    pub(super) options: Options,
    pub(super) modules: Vec<String>,
    pub(super) facts: GlobalsFacts,
}

/// How an item is marked by its attributes.
enum Marker {
    None,
    Vnet,
    Global,
}

impl Collector {
    /// Reads `#[vnet]` and `#[global(reason = "…")]` markers; reports a global marker with no reason.
    fn marker(&mut self, attrs: &[Attribute]) -> Marker {
        for attr in attrs {
            match last_segment(attr.path()).as_deref() {
                Some("vnet") => return Marker::Vnet,
                Some("global") => {
                    if !has_reason(attr) {
                        self.facts
                            .markers_without_reason
                            .push(byte_range(attr.span()));
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

    /// Records a global whose item starts on `start_line`.
    fn push_global(&mut self, name: String, kind: GlobalKind, primary: Span, start_line: usize) {
        self.facts.globals.push(GlobalItem {
            name,
            kind,
            file: self.file,
            primary: byte_range(primary),
            start_line,
            primary_line: primary.start().line,
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

impl Collector {
    /// Records the names a `use` tree brings in, with the first segment of their path and the segment
    /// before the name.
    fn use_tree(&mut self, tree: &syn::UseTree) {
        for flat in super::uses::flatten(tree) {
            let (Some(local), Some(original)) = (flat.alias, flat.path.last()) else {
                continue;
            };
            self.facts.imports.push(Import {
                original: original.clone(),
                local,
                first: flat.path[0].clone(),
                parent: flat.path.len().checked_sub(2).map(|i| flat.path[i].clone()),
            });
        }
    }
}

impl<'ast> Visit<'ast> for Collector {
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
            syn::Item::Use(item) => self.use_tree(&item.tree),
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
            syn::Item::ForeignMod(block) => {
                if matches!(self.marker(&block.attrs), Marker::None) {
                    for item in &block.items {
                        if let syn::ForeignItem::Static(st) = item {
                            // `#[thread_local]` foreign statics (C's `errno`) are one per thread.
                            let per_thread = st
                                .attrs
                                .iter()
                                .any(|a| last_segment(a.path()).as_deref() == Some("thread_local"));
                            if !per_thread && matches!(self.marker(&st.attrs), Marker::None) {
                                self.facts.foreign_statics.push(ForeignStatic {
                                    name: st.ident.to_string(),
                                    modules: self.modules.clone(),
                                    primary: byte_range(st.ident.span()),
                                    start_line: st.span().start().line,
                                });
                            }
                        }
                    }
                }
            }
            other => syn::visit::visit_item(self, other),
        }
    }

    fn visit_expr_assign(&mut self, assign: &'ast syn::ExprAssign) {
        self.written(&assign.left);
        syn::visit::visit_expr_assign(self, assign);
    }

    fn visit_expr_binary(&mut self, binary: &'ast syn::ExprBinary) {
        if super::is_compound_assign(&binary.op) {
            self.written(&binary.left);
        }
        syn::visit::visit_expr_binary(self, binary);
    }

    fn visit_expr_reference(&mut self, reference: &'ast syn::ExprReference) {
        if reference.mutability.is_some() {
            self.written(&reference.expr);
        }
        syn::visit::visit_expr_reference(self, reference);
    }

    fn visit_expr_raw_addr(&mut self, raw: &'ast syn::ExprRawAddr) {
        if matches!(raw.mutability, syn::PointerMutability::Mut(_)) {
            self.written(&raw.expr);
        }
        syn::visit::visit_expr_raw_addr(self, raw);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        const CHANGERS: &[&str] = &[
            "store",
            "swap",
            "fetch_add",
            "fetch_sub",
            "fetch_or",
            "fetch_and",
            "fetch_xor",
            "fetch_max",
            "fetch_min",
            "fetch_update",
            "compare_exchange",
            "compare_exchange_weak",
        ];
        if CHANGERS.contains(&call.method.to_string().as_str()) {
            self.written(&call.receiver);
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_macro(&mut self, mac: &'ast syn::ExprMacro) {
        if last_segment(&mac.mac.path).as_deref() == Some("addr_of_mut") {
            if let Ok(expr) = mac.mac.parse_body::<syn::Expr>() {
                self.written(&expr);
            }
        }
        syn::visit::visit_expr_macro(self, mac);
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

impl Collector {
    /// Records a write to `place` when it is a path (`NAME`, `self::NAME`, `super::NAME`).
    fn written(&mut self, place: &syn::Expr) {
        let place = match place {
            syn::Expr::Paren(p) => &*p.expr,
            other => other,
        };
        if let syn::Expr::Path(p) = place {
            if p.qself.is_none() && p.path.leading_colon.is_none() && p.path.segments.len() <= 8 {
                let path = p
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                let line = p.span().start().line;
                self.facts.writes.push((path, self.modules.clone(), line));
            }
        }
    }

    /// The foreign statics the file writes, as globals (reported by the foreign-global rule).
    pub(super) fn foreign_globals(&mut self) {
        let statics = std::mem::take(&mut self.facts.foreign_statics);
        for st in &statics {
            let written_at = self.facts.writes.iter().find_map(|(path, modules, line)| {
                let (name, prefix) = path.split_last()?;
                // The inline module the path names, from the module of the write.
                let mut scope: Vec<String> = modules.clone();
                for (i, segment) in prefix.iter().enumerate() {
                    match segment.as_str() {
                        "self" if i == 0 => {}
                        "super" => {
                            scope.pop()?;
                        }
                        "crate" if i == 0 => scope.clear(),
                        other => scope.push(other.to_owned()),
                    }
                }
                (name == &st.name && scope == st.modules).then_some(*line)
            });
            if let Some(written_at) = written_at {
                self.facts.globals.push(GlobalItem {
                    name: st.name.clone(),
                    kind: GlobalKind::Foreign { written_at },
                    file: self.file,
                    primary: st.primary.clone(),
                    start_line: st.start_line,
                    primary_line: st.start_line,
                });
            }
        }
        self.facts.foreign_statics = statics;
    }
}

/// The names of a definition's type parameters, in order.
impl Collector {
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
