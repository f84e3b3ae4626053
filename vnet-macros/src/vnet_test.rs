//! `#[vnet_test]`: a test that runs in a fresh instance of its own.
//!
//! Parse (the arguments, then the function up to its signature; the body
//! stays tokens) → validate (every error, on its own tokens) → expand: the
//! body, as written, moves into an inner function of the same name and
//! signature (so insta's snapshot names, backtraces and panics see the test's
//! name, and the body's inner attributes stay inner), and the test calls the
//! runtime's `vnet_test_run` (or awaits `vnet_test_run_async`) with it. What
//! happens at run time is in the runtime's `test_support` module.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, LitStr, Path, Token};

use crate::hook::FnItem;

/// The attribute's arguments.
struct Args {
    krate: Path,
    name: Option<LitStr>,
    parent: Option<Expr>,
    modules: Vec<LitStr>,
}

/// A module name in `modules(...)`: an identifier or a string.
struct ModuleName(LitStr);

impl Parse for ModuleName {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(ModuleName(input.parse()?));
        }
        let ident: syn::Ident = input
            .parse()
            .map_err(|err| syn::Error::new(err.span(), "expected a module name"))?;
        Ok(ModuleName(LitStr::new(&ident.to_string(), ident.span())))
    }
}

const USAGE: &str = "#[vnet_test] takes `name = \"...\"`, `parent = <expr>`, `modules(a, b)` \
                     and `crate = path`";

fn parse_args(attr: TokenStream) -> syn::Result<Args> {
    let mut args = Args {
        krate: syn::parse_quote!(::vnet_runtime),
        name: None,
        parent: None,
        modules: Vec::new(),
    };
    let mut seen: Vec<String> = Vec::new();
    syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if seen.contains(&key) {
            return Err(meta.error(format!("`{key}` is given twice")));
        }
        match key.as_str() {
            "crate" => args.krate = meta.value()?.parse()?,
            "name" => {
                let name: LitStr = meta.value()?.parse()?;
                let value = name.value();
                if value.is_empty() || value.chars().any(char::is_control) {
                    return Err(syn::Error::new(
                        name.span(),
                        "an instance name is not empty and has no control characters",
                    ));
                }
                args.name = Some(name);
            }
            "parent" => args.parent = Some(meta.value()?.parse()?),
            "modules" => {
                let content;
                syn::parenthesized!(content in meta.input);
                let names = Punctuated::<ModuleName, Token![,]>::parse_terminated(&content)?;
                args.modules = names.into_iter().map(|m| m.0).collect();
            }
            _ => return Err(meta.error(format!("unknown argument: {USAGE}"))),
        }
        seen.push(key);
        Ok(())
    })
    .parse2(attr)?;
    Ok(args)
}

/// Whether one of `attrs` makes the function a test already (an executor's
/// `#[tokio::test]`, a plain `#[test]`, or one expanded before us).
fn has_test_attribute(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "test" || s.ident == "rustc_test_marker")
    })
}

/// Every reason to refuse the function, combined.
fn validate(item: &FnItem) -> Option<syn::Error> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };
    let sig = &item.sig;
    if !sig.inputs.is_empty() {
        push(syn::Error::new_spanned(
            &sig.inputs,
            "a #[vnet_test] function takes no arguments: say what it needs in the attribute \
             (`parent = <expr>`, `modules(a, b)`, `name = \"...\"`), and get its instance with \
             `Vnet::current()`",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        push(syn::Error::new_spanned(
            &sig.generics,
            "a #[vnet_test] function cannot be generic",
        ));
    }
    if let Some(asyncness) = &sig.asyncness {
        if !has_test_attribute(&item.attrs) {
            push(syn::Error::new(
                asyncness.span(),
                "an async #[vnet_test] needs an executor's test attribute below it: write \
                 `#[vnet_test]` first, then `#[tokio::test]` (every poll of the body runs in the \
                 test's instance)",
            ));
        }
    }
    if let Some(constness) = &sig.constness {
        push(syn::Error::new(
            constness.span(),
            "a #[vnet_test] function cannot be `const`",
        ));
    }
    errors
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = parse_args(attr);
    let func: FnItem = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let span = item
                .clone()
                .into_iter()
                .next()
                .map_or_else(Span::call_site, |t| t.span());
            let mut out = syn::Error::new(
                span,
                "#[vnet_test] applies to test functions: write `#[vnet_test] fn name() { ... }`",
            )
            .to_compile_error();
            if let Err(err) = args {
                out.extend(err.to_compile_error());
            }
            out.extend(item);
            return out;
        }
    };
    let errors = validate(&func);
    match (args, errors) {
        (Ok(args), None) => define(&args, func),
        (args, errors) => {
            // Keep the function (not as a test) so uses of it do not cascade.
            let mut out = func.into_token_stream();
            if let Err(err) = args {
                out.extend(err.to_compile_error());
            }
            if let Some(err) = errors {
                out.extend(err.to_compile_error());
            }
            out
        }
    }
}

fn define(args: &Args, func: FnItem) -> TokenStream {
    let krate = &args.krate;
    let FnItem {
        attrs,
        vis,
        sig,
        body,
    } = func;
    let ident = &sig.ident;
    let output = &sig.output;
    let test_attr = (!has_test_attribute(&attrs)).then(|| quote!(#[::core::prelude::v1::test]));
    let p = quote!(#krate::__private0);
    let name = match &args.name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let modules = &args.modules;
    let parent = match &args.parent {
        Some(expr) => quote_spanned! {expr.span()=>
            ::core::option::Option::Some(::core::clone::Clone::clone(
                <_ as ::core::borrow::Borrow<#krate::Vnet>>::borrow(&(#expr)),
            ))
        },
        None => quote!(::core::option::Option::None),
    };
    let test = ident.to_string();
    // A constant expression: borrowed, it is promoted to a `'static`.
    let spec = quote! {
        &#p::VnetTestSpec {
            module_path: ::core::module_path!(),
            test: #test,
            name: #name,
            modules: &[#(#modules),*],
        }
    };
    if sig.asyncness.is_some() {
        quote! {
            #(#attrs)*
            #vis async fn #ident() #output {
                async fn #ident() #output #body
                #p::vnet_test_run_async(#spec, #parent, #ident()).await
            }
        }
    } else {
        quote! {
            #test_attr
            #(#attrs)*
            #vis fn #ident() #output {
                fn #ident() #output #body
                #p::vnet_test_run(#spec, #parent, #ident)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> String {
        expand(attr.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn a_sync_test_gets_the_test_attribute_and_runs_through_the_runtime() {
        let out = expand_str("", "fn counts() { assert!(true); }");
        assert!(out.contains(":: core :: prelude :: v1 :: test"), "{out}");
        assert!(out.contains("vnet_test_run (& :: vnet_runtime"), "{out}");
        // The body runs under the test's own name, exactly as written.
        assert!(
            out.contains("fn counts () { fn counts () { assert ! (true) ; }"),
            "{out}"
        );
    }

    #[test]
    fn an_async_test_keeps_the_executor_attribute_and_adds_none() {
        let out = expand_str("", "#[tokio::test] async fn counts() {}");
        assert!(!out.contains("prelude :: v1 :: test"), "{out}");
        assert!(out.contains("# [tokio :: test]"), "{out}");
        assert!(out.contains("vnet_test_run_async"), "{out}");
    }

    #[test]
    fn arguments_reach_the_spec() {
        let out = expand_str(
            "name = \"red\", modules(ipfw, \"mymod\"), parent = shared()",
            "fn t() {}",
        );
        assert!(out.contains("Some (\"red\")"), "{out}");
        assert!(out.contains("& [\"ipfw\" , \"mymod\"]"), "{out}");
        assert!(out.contains("shared ()"), "{out}");
    }

    #[test]
    fn misuse_is_refused() {
        let out = expand_str("per_cpu", "fn t() {}");
        assert!(out.contains("unknown argument"), "{out}");
        let out = expand_str("", "fn t(x: u32) {}");
        assert!(out.contains("takes no arguments"), "{out}");
        let out = expand_str("", "async fn t() {}");
        assert!(out.contains("needs an executor"), "{out}");
        let out = expand_str("", "struct S;");
        assert!(out.contains("applies to test functions"), "{out}");
        let out = expand_str("name = \"a\", name = \"b\"", "fn t() {}");
        assert!(out.contains("given twice"), "{out}");
    }
}
