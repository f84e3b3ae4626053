//! `#[vnet] static NAME: Type = init;` → a per-instance slot and its `V_NAME`
//! accessor.
//!
//! Parse ([`VnetStatic`]) → validate (every error, on its own tokens) →
//! expand (one call of the runtime's `define_static!`, whose definition
//! depends on the runtime's `vimage` feature).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Generics, Ident, Path, Token, Type, Visibility};

/// A `static` item as written, with the parts `#[vnet]` refuses kept so that
/// errors can point at them.
struct VnetStatic {
    attrs: Vec<Attribute>,
    vis: Visibility,
    mutability: Option<Token![mut]>,
    ident: Ident,
    generics: Option<Generics>,
    ty: Option<Type>,
    expr: Option<Expr>,
    /// Where a missing type or initializer should have been.
    end: Span,
}

impl Parse for VnetStatic {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![static]) {
            return Err(not_a_static(input));
        }
        input.parse::<Token![static]>()?;
        let mutability = input.parse()?;
        let ident = input.parse()?;
        let generics = if input.peek(Token![<]) {
            Some(input.parse::<Generics>()?)
        } else {
            None
        };
        let ty = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        let expr = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        let end = input.span();
        input.parse::<Token![;]>()?;
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
fn not_a_static(input: ParseStream) -> syn::Error {
    let what = if input.peek(Token![const]) {
        "#[vnet] applies to `static` items, not `const`: a const has no storage to virtualize; \
         write `#[vnet] static NAME: Type = init;`"
    } else if input.peek(Token![fn]) {
        "#[vnet] applies to `static` items; for per-instance init hooks use `#[vnet_sysinit(...)]`"
    } else {
        "#[vnet] applies to `static` items only: write `#[vnet] static NAME: Type = init;`"
    };
    input.error(what)
}

/// `#[vnet(crate = path)]`.
fn parse_args(attr: TokenStream) -> syn::Result<Path> {
    let mut krate: Path = syn::parse_quote!(::vnet_runtime);
    syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            krate = meta.value()?.parse()?;
            Ok(())
        } else {
            Err(meta.error("unknown argument: #[vnet] takes no arguments, or `crate = path` to name the runtime"))
        }
    })
    .parse2(attr)?;
    Ok(krate)
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
    let item: VnetStatic = match syn::parse2(item.clone()) {
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
        push(syn::Error::new_spanned(
            mutability,
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
    if item.ty.is_none() {
        push(syn::Error::new(
            item.ident.span(),
            format!(
                "#[vnet] static `{}` has no type: write `static {}: Type = init;`",
                item.ident, item.ident
            ),
        ));
    }
    if item.expr.is_none() {
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

/// Splits `cfg`-like attributes (which must guard every generated item) from
/// the others (docs, lints), which go on the accessor.
fn split_attrs(attrs: &[Attribute]) -> (Vec<&Attribute>, Vec<&Attribute>) {
    attrs
        .iter()
        .partition(|a| !(a.path().is_ident("cfg") || a.path().is_ident("cfg_attr")))
}

fn key_ident(item: &VnetStatic) -> Ident {
    format_ident!("V_{}", item.ident, span = item.ident.span())
}

fn define(krate: &Path, item: &VnetStatic, ty: &Type, expr: &Expr) -> TokenStream {
    let (attrs, cfgs) = split_attrs(&item.attrs);
    let vis = &item.vis;
    let key = key_ident(item);
    let label = item.ident.to_string();
    // The bound check sits on the user's type, so the error points there.
    let assert = quote_spanned! {ty.span()=>
        #(#cfgs)*
        const _: () = #krate::__private0::assert_vnet_value::<#ty>();
    };
    quote! {
        #krate::__private0::define_static! {
            [#(#attrs)*] [#(#cfgs)*] #vis #key, #label, #ty, #expr
        }
        #assert
    }
}

/// Defines the accessor with a placeholder type, so that the only errors
/// reported are the ones about the item itself.
fn fallback(krate: &Path, item: &VnetStatic) -> TokenStream {
    let (attrs, cfgs) = split_attrs(&item.attrs);
    let vis = &item.vis;
    let key = key_ident(item);
    let ty = match &item.ty {
        Some(ty) => ty.to_token_stream(),
        None => quote!(()),
    };
    quote! {
        #(#attrs)* #(#cfgs)*
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
        assert!(out.contains("define_static !"), "{out}");
        assert!(
            out.contains("pub (crate) V_FOO , \"FOO\" , u32 , 3"),
            "{out}"
        );
        assert!(
            out.contains("[# [doc = \" docs\"]] [# [cfg (unix)]]"),
            "{out}"
        );
        assert!(out.contains("assert_vnet_value :: < u32 >"), "{out}");
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
        assert!(
            out.contains(":: my_rt :: __private0 :: define_static"),
            "{out}"
        );
    }

    #[test]
    fn other_items_are_refused() {
        assert!(expand_str("const A: u8 = 0;").contains("not `const`"));
        assert!(expand_str("fn a() {}").contains("vnet_sysinit"));
        assert!(expand_str("struct A;").contains("applies to `static` items only"));
    }
}
