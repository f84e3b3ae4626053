//! `#[vnet_module(name, SUB, ORDER, version = N, depend(dep, min, pref, max))]`
//! on the module's event handler → one registration record in the runtime's
//! `MODULES` slice (FreeBSD's `DECLARE_MODULE` + `MODULE_VERSION` +
//! `MODULE_DEPEND`).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Ident, Path};

use crate::hook::{check_key, key_const, parse_args, with_item, Arg, Errors, FnItem};
use crate::symbol::BASE;

const USAGE: &str = "write `#[vnet_module(name, SUBSYSTEM, ORDER, version = 1, depend(other, min, preferred, max))]`";

/// One `depend(name, min, preferred, max [, crate = krate])`.
struct Depend {
    name: Ident,
    min: Expr,
    preferred: Expr,
    max: Expr,
    krate: Ident,
}

fn ident_of(expr: &Expr) -> Option<Ident> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            Some(p.path.segments[0].ident.clone())
        }
        _ => None,
    }
}

fn parse_depend(
    args: &syn::punctuated::Punctuated<Arg, syn::Token![,]>,
    span: Span,
    errors: &mut Errors,
) -> Option<Depend> {
    let mut positional = Vec::new();
    let mut krate = None;
    for arg in args {
        match arg {
            Arg::Positional(e) => positional.push(e),
            Arg::Named(n, v) if n == "crate" => match ident_of(v) {
                Some(i) => krate = Some(i),
                None => errors.spanned(v, "`crate = name` takes the name of the crate that declares the module"),
            },
            Arg::Named(n, _) | Arg::Call(n, _, _) => errors.spanned(
                n,
                format!("unknown argument `{n}` of `depend`: write `depend(module, min, preferred, max)`"),
            ),
        }
    }
    let [name, min, preferred, max] = positional.as_slice() else {
        errors.push(syn::Error::new(
            span,
            "`depend` takes a module name and three versions: `depend(module, min, preferred, max)`",
        ));
        return None;
    };
    let Some(name) = ident_of(name) else {
        errors.spanned(name, "the first argument of `depend` is the module's name");
        return None;
    };
    Some(Depend {
        krate: krate.unwrap_or_else(|| name.clone()),
        name,
        min: (*min).clone(),
        preferred: (*preferred).clone(),
        max: (*max).clone(),
    })
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(args) => args,
        Err(err) => return with_item(err.to_compile_error(), item),
    };
    let func: FnItem = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "#[vnet_module] applies to the module's event handler: \
                 `fn name_modevent(event: ModEvent) -> Result<(), ModError>`",
            );
            return with_item(err.to_compile_error(), item);
        }
    };
    let mut errors = Errors::default();
    let mut krate: Path = syn::parse_quote!(::vnet_runtime);
    let mut version: Option<Expr> = None;
    let mut depends = Vec::new();
    let mut positional = Vec::new();
    for arg in &args {
        match arg {
            Arg::Positional(e) => positional.push(e),
            Arg::Named(n, v) if n == "version" => version = Some(v.clone()),
            Arg::Named(n, v) if n == "crate" => match v {
                Expr::Path(p) => krate = p.path.clone(),
                other => errors.spanned(other, "`crate = path` takes a path to the runtime crate"),
            },
            Arg::Call(n, inner, span) if n == "depend" => {
                if let Some(d) = parse_depend(inner, *span, &mut errors) {
                    depends.push(d);
                }
            }
            Arg::Named(n, _) | Arg::Call(n, _, _) => {
                errors.spanned(n, format!("unknown argument `{n}`: {USAGE}"))
            }
        }
    }
    let mut name = None;
    let mut key = None;
    match positional.as_slice() {
        [n, sub, order] => {
            match ident_of(n) {
                Some(ident) if ident == BASE => errors.spanned(
                    &ident,
                    "`base` names the always-loaded hooks of crates without a module: choose another module name",
                ),
                Some(ident) => name = Some(ident),
                None => errors.spanned(n, format!("the first argument is the module's name: {USAGE}")),
            }
            check_key(sub, order, &mut errors);
            key = Some((*sub, *order));
        }
        [_, _, _, extra, ..] => {
            errors.spanned(extra, format!("too many positional arguments: {USAGE}"))
        }
        _ => errors.push(syn::Error::new(
            Span::call_site(),
            format!("missing name, subsystem or order: {USAGE}"),
        )),
    }
    let sig = &func.sig;
    if sig.inputs.len() != 1 {
        let tokens = if sig.inputs.is_empty() {
            sig.ident.to_token_stream()
        } else {
            sig.inputs.to_token_stream()
        };
        errors.spanned(
            tokens,
            "a module's event handler takes one argument: `fn name_modevent(event: ModEvent) -> Result<(), ModError>`",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, "a module's event handler cannot be generic");
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.spanned(asyncness, "a module's event handler cannot be `async`");
    }
    if let Some(errors) = errors.into_tokens() {
        return with_item(errors, func.into_token_stream());
    }
    let (Some(name), Some((sub, order))) = (name, key) else {
        unreachable!("errors were reported above")
    };
    let ident = &sig.ident;
    let name = name.to_string();
    let sub_const = key_const(&krate, "SUBSYSTEM", sub);
    let order_const = key_const(&krate, "ORDER", order);
    let version = version.unwrap_or_else(|| syn::parse_quote!(1));
    let depends = depends.iter().map(|d| {
        let dname = d.name.to_string();
        let dkrate = d.krate.to_string();
        let (min, preferred, max) = (&d.min, &d.preferred, &d.max);
        quote! {
            #krate::__private0::DependDesc {
                name: #dname,
                krate: #dkrate,
                min: #min,
                preferred: #preferred,
                max: #max,
            }
        }
    });
    let p = quote!(#krate::__private0);
    let check = quote_spanned! {sig.span()=>
        const _: fn(#p::ModEvent) -> ::core::result::Result<(), #p::ModError> = #ident;
    };
    quote! {
        #func

        const _: () = {
            #sub_const
            #order_const
            #check

            #p::MODULES! {
                #![linkme_macro = #p::MODULES]
                static DESC: #p::ModuleDesc = #p::ModuleDesc {
                    name: #name,
                    subsystem: SUBSYSTEM,
                    order: ORDER,
                    version: #version,
                    depends: &[#(#depends),*],
                    handler: #ident,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                };
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(attr: &str, item: &str) -> String {
        expand(attr.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn declares_a_module_with_version_and_dependencies() {
        let out = expand_str(
            "mymod, SI_SUB_PROTO_BEGIN, MYMOD_MODULE_ORDER, version = 1, depend(ipfw, 2, 2, 2)",
            "fn mymod_modevent(event: ModEvent) -> Result<(), ModError> { Ok(()) }",
        );
        for needle in [
            "name : \"mymod\"",
            "version : 1",
            "name : \"ipfw\"",
            "krate : \"ipfw\"",
            "handler : mymod_modevent",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
    }

    #[test]
    fn refusals_are_collected() {
        let out = expand_str(
            "base, SI_ORDER_ANY, 0, depend(x, 1), colour = 2",
            "fn h() {}",
        );
        for needle in [
            "choose another module name",
            "is an order, not a subsystem",
            "three versions",
            "unknown argument `colour`",
            "takes one argument",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
    }
}
