//! `#[vnet] static NAME: Type = init;` → a per-instance slot and its `V_NAME`
//! accessor.
//!
//! Parse ([`VnetStatic`], by hand: the type and the initializer stay tokens,
//! since no check looks inside them) → validate (every error, on its own
//! tokens) → expand, in this one pass, into the key, its registration (an
//! element of the runtime's `STATICS` slice, through linkme's declarative
//! macro) and the old name pointing at the accessor. Everything else lives in
//! generic code of the runtime (`VnetKey`, `StaticDesc`), shared by every
//! static of a type.

use proc_macro2::{Delimiter, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::{Ident, Path};

/// The expansion, built from pieces of source text (lexed in one call each)
/// around the item's own tokens, which keep their spans for the errors.
#[derive(Default)]
struct Out(TokenStream);

impl Out {
    fn text(&mut self, text: &str) -> &mut Self {
        self.0.extend(
            text.parse::<TokenStream>()
                .expect("the expansion's text is valid tokens"),
        );
        self
    }

    fn tokens(&mut self, tokens: impl IntoIterator<Item = TokenTree>) -> &mut Self {
        self.0.extend(tokens);
        self
    }

    fn group(&mut self, delimiter: Delimiter, inner: Out) -> &mut Self {
        self.0.extend([TokenTree::Group(proc_macro2::Group::new(
            delimiter, inner.0,
        ))]);
        self
    }
}

/// One outer attribute as written, and what it is to the expansion.
struct Attr {
    tokens: TokenStream,
    kind: AttrKind,
}

#[derive(PartialEq, Eq)]
enum AttrKind {
    /// `cfg`/`cfg_attr`: guards every generated item.
    Cfg,
    /// `allow`/`expect`/`warn`/`deny`/`forbid`: applies to every generated item.
    Lint,
    /// Docs and the rest: on the accessor only.
    Other,
}

/// A `static` item as written, with the parts `#[vnet]` refuses kept so that
/// errors can point at them.
struct VnetStatic {
    attrs: Vec<Attr>,
    vis: TokenStream,
    mutability: Option<Ident>,
    ident: Ident,
    generics: Option<TokenStream>,
    ty: Option<TokenStream>,
    expr: Option<TokenStream>,
    /// Where a missing type or initializer should have been.
    end: Span,
}

/// The item's tokens, read left to right.
struct Cursor {
    tokens: Vec<TokenTree>,
    pos: usize,
}

impl Cursor {
    fn peek(&self) -> Option<&TokenTree> {
        self.tokens.get(self.pos)
    }

    fn peek_punct(&self, ch: char) -> bool {
        matches!(self.peek(), Some(TokenTree::Punct(p)) if p.as_char() == ch)
    }

    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.peek(), Some(TokenTree::Ident(i)) if i == word)
    }

    fn next(&mut self) -> Option<TokenTree> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn span(&self) -> Span {
        self.peek()
            .or_else(|| self.tokens.last())
            .map_or_else(Span::call_site, TokenTree::span)
    }

    fn error(&self, msg: &str) -> syn::Error {
        syn::Error::new(self.span(), msg)
    }

    /// Tokens up to (not including) a `stop` punctuation outside `<...>`.
    fn until(&mut self, stop: &[char]) -> TokenStream {
        let mut depth = 0usize;
        let mut out = TokenStream::new();
        let mut after_minus = false;
        while let Some(token) = self.peek() {
            if let TokenTree::Punct(p) = token {
                match p.as_char() {
                    c if depth == 0 && stop.contains(&c) => break,
                    '<' => depth += 1,
                    '>' if !after_minus => depth = depth.saturating_sub(1),
                    _ => {}
                }
                after_minus = p.as_char() == '-';
            } else {
                after_minus = false;
            }
            out.extend(self.next());
        }
        out
    }
}

impl VnetStatic {
    fn parse(item: TokenStream) -> syn::Result<Self> {
        let mut input = Cursor {
            tokens: item.into_iter().collect(),
            pos: 0,
        };
        let mut attrs = Vec::new();
        while input.peek_punct('#') {
            let pound = input.next();
            let Some(TokenTree::Group(group)) = input.next() else {
                return Err(input.error("expected an attribute"));
            };
            let kind = match group.stream().into_iter().next() {
                Some(TokenTree::Ident(name)) if name == "cfg" || name == "cfg_attr" => {
                    AttrKind::Cfg
                }
                Some(TokenTree::Ident(name))
                    if ["allow", "expect", "warn", "deny", "forbid"]
                        .iter()
                        .any(|lint| name == lint) =>
                {
                    AttrKind::Lint
                }
                _ => AttrKind::Other,
            };
            attrs.push(Attr {
                tokens: quote!(#pound #group),
                kind,
            });
        }
        let mut vis = TokenStream::new();
        if input.peek_ident("pub") {
            vis.extend(input.next());
            if matches!(input.peek(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
            {
                vis.extend(input.next());
            }
        }
        if !input.peek_ident("static") {
            return Err(not_a_static(&input));
        }
        input.next();
        let mutability = match input.peek_ident("mut") {
            true => match input.next() {
                Some(TokenTree::Ident(m)) => Some(m),
                _ => None,
            },
            false => None,
        };
        let ident = match input.next() {
            Some(TokenTree::Ident(ident)) => ident,
            _ => return Err(input.error("expected the static's name")),
        };
        let generics = input.peek_punct('<').then(|| {
            // `<` up to its matching `>`.
            let mut out: TokenStream = input.next().into_iter().collect();
            out.extend(input.until(&['>']));
            out.extend(input.next());
            out
        });
        let ty = input.peek_punct(':').then(|| {
            input.next();
            input.until(&['=', ';'])
        });
        let expr = input.peek_punct('=').then(|| {
            input.next();
            // No `;` outside a group in an expression; `<` may be a comparison.
            let mut expr = TokenStream::new();
            while input.peek().is_some() && !input.peek_punct(';') {
                expr.extend(input.next());
            }
            expr
        });
        let end = input.span();
        if !input.peek_punct(';') || input.pos + 1 != input.tokens.len() {
            return Err(input.error("expected `;`"));
        }
        Ok(VnetStatic {
            attrs,
            vis,
            mutability,
            ident,
            generics,
            ty,
            expr,
            end,
        })
    }
}

/// The error for an item that is not a `static`, on its keyword.
fn not_a_static(input: &Cursor) -> syn::Error {
    let what = if input.peek_ident("const") {
        "#[vnet] applies to `static` items, not `const`: a const has no storage to virtualize; \
         write `#[vnet] static NAME: Type = init;`"
    } else if input.peek_ident("fn") {
        "#[vnet] applies to `static` items; for per-instance init hooks use `#[vnet_sysinit(...)]`"
    } else {
        "#[vnet] applies to `static` items only: write `#[vnet] static NAME: Type = init;`"
    };
    input.error(what)
}

/// `#[vnet(crate = path)]`: the runtime's path (by default `::vnet_runtime`).
fn parse_args(attr: TokenStream) -> syn::Result<TokenStream> {
    if attr.is_empty() {
        return Ok(quote!(::vnet_runtime));
    }
    let mut krate: Option<Path> = None;
    syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            krate = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("unknown argument: #[vnet] takes no arguments, or `crate = path` to name the runtime"))
        }
    })
    .parse2(attr)?;
    Ok(krate.map_or_else(|| quote!(::vnet_runtime), |path| quote!(#path)))
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let krate = match parse_args(attr) {
        Ok(krate) => krate,
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let item = match VnetStatic::parse(item.clone()) {
        Ok(item) => item,
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    let errors = validate(&item);
    let mut out = match (&item.ty, &item.expr) {
        (Some(ty), Some(expr)) if errors.is_none() => define(&krate, &item, ty, expr),
        _ => fallback(&krate, &item),
    };
    if let Some(errors) = errors {
        out.extend(errors.to_compile_error());
    }
    out
}

/// Every reason to refuse the item, combined.
fn validate(item: &VnetStatic) -> Option<syn::Error> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };
    if let Some(mutability) = &item.mutability {
        push(syn::Error::new(
            mutability.span(),
            "#[vnet] statics cannot be `static mut`: remove `mut` and give the type interior \
             mutability (an atomic, `Mutex`, `RwLock`); each instance gets its own copy",
        ));
    }
    if let Some(generics) = &item.generics {
        push(syn::Error::new_spanned(
            generics,
            "#[vnet] statics cannot be generic: statics have one type; declare one static per type",
        ));
    }
    if item.ty.as_ref().map_or(true, TokenStream::is_empty) {
        push(syn::Error::new(
            item.ident.span(),
            format!(
                "#[vnet] static `{}` has no type: write `static {}: Type = init;`",
                item.ident, item.ident
            ),
        ));
    }
    if item.expr.as_ref().map_or(true, TokenStream::is_empty) {
        push(syn::Error::new(
            item.end,
            format!(
                "#[vnet] static `{}` has no initializer: every new instance starts from it, \
                 so write `= init` (a constant expression) before the `;`",
                item.ident
            ),
        ));
    }
    errors
}

impl VnetStatic {
    /// The attributes of one kind.
    fn attrs(&self, kind: AttrKind) -> impl Iterator<Item = &TokenStream> {
        self.attrs
            .iter()
            .filter(move |a| a.kind == kind)
            .map(|a| &a.tokens)
    }

    /// The lint attributes, for every generated item. `expect` becomes
    /// `allow`: the generated items are not the static the expectation was
    /// written for (the accessor is always used by its registration), so it
    /// would be reported as unfulfilled.
    fn lints(&self) -> TokenStream {
        self.attrs(AttrKind::Lint)
            .map(|tokens| {
                tokens
                    .clone()
                    .into_iter()
                    .map(|token| match token {
                        TokenTree::Group(group) => {
                            let mut inner = group.stream().into_iter();
                            let name = inner.next();
                            let rest: TokenStream = inner.collect();
                            let name = match name {
                                Some(TokenTree::Ident(n)) if n == "expect" => {
                                    TokenTree::Ident(Ident::new("allow", n.span()))
                                }
                                other => other.expect("a lint attribute has a name"),
                            };
                            let mut out =
                                proc_macro2::Group::new(group.delimiter(), quote!(#name #rest));
                            out.set_span(group.span());
                            TokenTree::Group(out)
                        }
                        other => other,
                    })
                    .collect::<TokenStream>()
            })
            .collect()
    }
}

fn key_ident(item: &VnetStatic) -> Ident {
    format_ident!("V_{}", item.ident, span = item.ident.span())
}

fn define(
    krate: &TokenStream,
    item: &VnetStatic,
    ty: &TokenStream,
    expr: &TokenStream,
) -> TokenStream {
    let cfgs: TokenStream = item.attrs(AttrKind::Cfg).cloned().collect();
    let guards: TokenStream = cfgs.into_iter().chain(item.lints()).collect();
    let ident = &item.ident;
    let key = key_ident(item);
    // `krate::__private0` as tokens (the path may hold `$crate`, which is no
    // source text).
    let mut p = krate.clone();
    p.extend(quote!(::__private0));
    let mut out = Out::default();

    // The accessor: `V_NAME`, holding the initial value.
    out.tokens(guards.clone())
        .tokens(item.attrs(AttrKind::Other).cloned().flatten())
        .tokens(item.vis.clone())
        .text("static")
        .tokens([TokenTree::Ident(key.clone())])
        .text(":")
        .tokens(p.clone())
        .text("::VnetKey<")
        .tokens(ty.clone())
        .text("> = unsafe");
    let mut init = Out::default();
    init.text(&format!("{:?}, const", ident.to_string()))
        .group(Delimiter::Brace, Out(expr.clone()));
    let mut new = Out::default();
    new.tokens(p.clone())
        .text("::VnetKey::__new")
        .group(Delimiter::Parenthesis, init);
    out.group(Delimiter::Brace, new).text(";");

    // Its registration, an element of the `STATICS` slice, whose initializer
    // checks the type's bound (on the user's type, so the error points there).
    let ty_span = ty
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span());
    let mut init = Out(quote_spanned! {ty_span=> #p::assert_vnet_value::<#ty>(); });
    let mut args = Out::default();
    args.text(&format!("&{key}, ::core::module_path!()"));
    init.tokens(p.clone())
        .text("::StaticDesc::new")
        .group(Delimiter::Parenthesis, args);
    let mut linkme_macro = Out::default();
    linkme_macro
        .text("linkme_macro =")
        .tokens(p.clone())
        .text("::STATICS");
    let mut element = Out::default();
    // `#!` as punctuation: as text, a lexer takes it for a shebang line.
    let inner_attr = ['#', '!'].map(|c| TokenTree::Punct(Punct::new(c, Spacing::Alone)));
    element
        .tokens(inner_attr)
        .group(Delimiter::Bracket, linkme_macro)
        .tokens(guards.clone())
        .text(&format!(
            "#[doc(hidden)] static __VNET_{}:",
            syn::ext::IdentExt::unraw(ident)
        ))
        .tokens(p.clone())
        .text("::StaticDesc =")
        .group(Delimiter::Brace, init)
        .text(";");
    out.tokens(p.clone())
        .text("::STATICS!")
        .group(Delimiter::Brace, element);

    // The static's own name, which explains that the accessor is `V_NAME`.
    out.tokens(guards)
        .text("#[doc(hidden)] #[allow(unused_imports)]")
        .tokens(item.vis.clone())
        .text("use")
        .tokens(p)
        .text("::RENAMED as")
        .tokens([TokenTree::Ident(ident.clone())])
        .text(";");
    out.0
}

/// Defines the accessor with a placeholder type, so that the only errors
/// reported are the ones about the item itself.
fn fallback(krate: &TokenStream, item: &VnetStatic) -> TokenStream {
    let attrs = item.attrs.iter().map(|a| &a.tokens);
    let vis = &item.vis;
    let key = key_ident(item);
    let ty = match &item.ty {
        Some(ty) if !ty.is_empty() => ty.clone(),
        _ => quote!(()),
    };
    quote! {
        #(#attrs)*
        #[allow(non_upper_case_globals)]
        #vis static #key: #krate::__private0::FallbackKey<#ty> = #krate::__private0::FallbackKey::NEW;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(item: &str) -> String {
        expand(TokenStream::new(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn accessor_keeps_visibility_docs_and_cfg() {
        let out = expand_str("/// docs\n#[cfg(unix)] pub(crate) static FOO: u32 = 3;");
        assert!(
            out.contains(
                "# [cfg (unix)] # [doc = \" docs\"] pub (crate) static V_FOO : :: vnet_runtime \
                 :: __private0 :: VnetKey < u32 > = unsafe { :: vnet_runtime :: __private0 :: \
                 VnetKey :: __new (\"FOO\" , const { 3 }) } ;"
            ),
            "{out}"
        );
        // The registration and the old name are guarded by the same cfg.
        assert_eq!(out.matches("# [cfg (unix)]").count(), 3, "{out}");
        assert_eq!(out.matches("# [doc = \" docs\"]").count(), 1, "{out}");
        assert!(out.contains("assert_vnet_value :: < u32 >"), "{out}");
        assert!(
            out.contains("pub (crate) use :: vnet_runtime :: __private0 :: RENAMED as FOO"),
            "{out}"
        );
    }

    #[test]
    fn registers_through_the_declarative_macro_of_the_slice() {
        let out = expand_str("static FOO: u32 = 3;");
        assert!(
            out.contains(
                ":: vnet_runtime :: __private0 :: STATICS ! { # ! [linkme_macro = :: \
                 vnet_runtime :: __private0 :: STATICS]"
            ),
            "{out}"
        );
        assert!(!out.contains("distributed_slice"), "{out}");
        assert!(out.contains("StaticDesc :: new (& V_FOO"), "{out}");
    }

    #[test]
    fn lint_attributes_reach_every_generated_item() {
        let out = expand_str(
            "#[allow(warnings)] #[expect(dead_code)] #[deny(unsafe_code)] static a: u32 = 1;",
        );
        // On the accessor, the registration and the old name.
        assert_eq!(out.matches("# [allow (warnings)]").count(), 3, "{out}");
        assert_eq!(out.matches("# [allow (dead_code)]").count(), 3, "{out}");
        assert_eq!(out.matches("# [deny (unsafe_code)]").count(), 3, "{out}");
        assert!(!out.contains("expect"), "{out}");
    }

    #[test]
    fn the_type_and_initializer_stay_tokens() {
        let out = expand_str(
            "static F: Box<dyn Fn(u8) -> u8 + Sync> = Wrapper::<u8, Item = u8>::new(a >= b, c = d);",
        );
        assert!(
            out.contains("VnetKey < Box < dyn Fn (u8) -> u8 + Sync > >"),
            "{out}"
        );
        assert!(
            out.contains("const { Wrapper ::< u8 , Item = u8 >:: new (a >= b , c = d) }"),
            "{out}"
        );
        let out = expand_str("static C: bool = A < B && C > D;");
        assert!(out.contains("const { A < B && C > D }"), "{out}");
        let out = expand_str("static I: Option<Box<dyn Iterator<Item = u8> + Sync>> = None;");
        assert!(
            out.contains("VnetKey < Option < Box < dyn Iterator < Item = u8 > + Sync >> >"),
            "{out}"
        );
    }

    #[test]
    fn refusals_are_collected_and_the_accessor_still_defined() {
        let out = expand_str("static mut FOO<T>: u32;");
        for needle in [
            "static mut",
            "cannot be generic",
            "has no initializer",
            "FallbackKey",
            "V_FOO",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
    }

    #[test]
    fn crate_argument_names_the_runtime() {
        let out = expand(
            quote!(crate = ::my_rt),
            quote!(
                static A: u8 = 0;
            ),
        )
        .to_string();
        assert!(out.contains(":: my_rt :: __private0 :: VnetKey"), "{out}");
        assert!(out.contains(":: my_rt :: __private0 :: STATICS !"), "{out}");
    }

    #[test]
    fn other_items_are_refused() {
        assert!(expand_str("const A: u8 = 0;").contains("not `const`"));
        assert!(expand_str("fn a() {}").contains("vnet_sysinit"));
        assert!(expand_str("struct A;").contains("applies to `static` items only"));
    }

    #[test]
    fn malformed_items_are_errors_not_panics() {
        for item in [
            "",
            "#",
            "# x",
            "pub",
            "pub(crate)",
            "static",
            "static X",
            "static X: u8 = 1",
            "static X<: u8 = 1;",
            "static X: = 1;",
            "static X: u8 = ;",
            "static X: u8 = 1; static Y: u8 = 2;",
            "static r#type: u8 = 1;",
            "static r#r#: u8 = 1;",
            "#[expect] #[allow] static X: u8 = 1;",
        ] {
            let out = expand_str(item);
            // Well-formed statics (rustc itself reports the bare lint attributes).
            if !item.contains("r#type") && !item.starts_with("#[expect]") {
                assert!(out.contains("compile_error"), "{item}: {out}");
            }
        }
        let out = expand(
            quote!(crate = ),
            quote!(
                static A: u8 = 0;
            ),
        )
        .to_string();
        assert!(out.contains("compile_error"), "{out}");
    }
}
