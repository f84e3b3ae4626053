//! `#[sysinit(SUB, ORDER)]`, `#[sysuninit(..)]`, `#[vnet_sysinit(..)]`,
//! `#[vnet_sysuninit(..)]` on `fn name()` → one registration record in the
//! runtime's `HOOKS` slice.
//!
//! Parse ([`HookArgs`], [`HookFn`]) → validate (every error, on its own
//! tokens) → expand. The `(subsystem, order)` arguments are any constant
//! `u32` expressions; `SI_SUB_*` / `SI_ORDER_*` names resolve without an
//! import. Per-instance hooks must use a subsystem in
//! `(SI_SUB_VNET, SI_SUB_VNET_DONE]`: a known name or literal outside it is
//! refused here, on its tokens, and any other expression by a const assertion.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Lit, Path, ReturnType, Signature, Token, Visibility};

use crate::symbol::{known_order, known_subsystem, SI_SUB_VNET, SI_SUB_VNET_DONE};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sysinit,
    Sysuninit,
    VnetSysinit,
    VnetSysuninit,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Sysinit => "sysinit",
            Kind::Sysuninit => "sysuninit",
            Kind::VnetSysinit => "vnet_sysinit",
            Kind::VnetSysuninit => "vnet_sysuninit",
        }
    }

    fn variant(self) -> Ident {
        let name = match self {
            Kind::Sysinit => "Sysinit",
            Kind::Sysuninit => "Sysuninit",
            Kind::VnetSysinit => "VnetSysinit",
            Kind::VnetSysuninit => "VnetSysuninit",
        };
        Ident::new(name, Span::call_site())
    }

    fn per_instance(self) -> bool {
        matches!(self, Kind::VnetSysinit | Kind::VnetSysuninit)
    }
}

/// One argument as written: positional expression, `name = value`, or
/// `name(args)`.
pub(crate) enum Arg {
    Positional(Expr),
    Named(Ident, Expr),
    Call(Ident, Punctuated<Arg, Token![,]>, Span),
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let is_crate = input.peek(Token![crate]) && input.peek2(Token![=]);
        if is_crate || (input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==])) {
            let name = if is_crate {
                let kw: Token![crate] = input.parse()?;
                Ident::new("crate", kw.span)
            } else {
                input.parse()?
            };
            input.parse::<Token![=]>()?;
            return Ok(Arg::Named(name, input.parse()?));
        }
        if input.peek(Ident) && input.peek2(syn::token::Paren) {
            let fork = input.fork();
            let name: Ident = fork.parse()?;
            if name == "depend" {
                input.parse::<Ident>()?;
                let content;
                let paren = syn::parenthesized!(content in input);
                let args = Punctuated::parse_terminated(&content)?;
                return Ok(Arg::Call(name, args, paren.span.join()));
            }
        }
        Ok(Arg::Positional(input.parse()?))
    }
}

pub(crate) fn parse_args(attr: TokenStream) -> syn::Result<Punctuated<Arg, Token![,]>> {
    Punctuated::<Arg, Token![,]>::parse_terminated.parse2(attr)
}

/// A function item, parsed up to its signature: the body stays tokens (no
/// check looks inside it, and parsing every statement is most of the cost).
pub(crate) struct FnItem {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The `{ ... }` group as written (inner attributes included).
    pub(crate) body: proc_macro2::Group,
}

impl Parse for FnItem {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = match input.parse()? {
            proc_macro2::TokenTree::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => g,
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "expected the function's body",
                ))
            }
        };
        Ok(FnItem {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

impl ToTokens for FnItem {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

/// Collects errors, serde `Ctxt` style.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    pub(crate) fn into_tokens(self) -> Option<TokenStream> {
        self.0.map(|e| e.to_compile_error())
    }
}

/// The name of an `SI_*` path argument, if it is one bare identifier.
fn bare_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 && p.attrs.is_empty() => {
            Some(&p.path.segments[0].ident)
        }
        _ => None,
    }
}

/// Checks a `(subsystem, order)` pair: known names, names in the right slot.
/// Returns the subsystem's value when it is known at expansion time.
pub(crate) fn check_key(sub: &Expr, order: &Expr, errors: &mut Errors) -> Option<u32> {
    let mut value = None;
    if let Some(ident) = bare_ident(sub) {
        let name = ident.to_string();
        if name.starts_with("SI_ORDER_") {
            errors.spanned(
                ident,
                format!("`{name}` is an order, not a subsystem: the first argument is an `SI_SUB_*` value"),
            );
        } else if name.starts_with("SI_SUB_") {
            match known_subsystem(&name) {
                Some(v) => value = Some(v),
                None => errors.spanned(
                    ident,
                    format!(
                        "unknown subsystem `{name}`: use an `SI_SUB_*` constant of vnet_runtime::subsystem \
                         (e.g. `SI_SUB_PROTO_BEGIN`) or any constant `u32` expression"
                    ),
                ),
            }
        }
    } else if let Expr::Lit(lit) = sub {
        if let Lit::Int(int) = &lit.lit {
            value = int.base10_parse::<u32>().ok();
        }
    }
    if let Some(ident) = bare_ident(order) {
        let name = ident.to_string();
        if name.starts_with("SI_SUB_") {
            errors.spanned(
                ident,
                format!("`{name}` is a subsystem, not an order: the second argument is an `SI_ORDER_*` value"),
            );
        } else if name.starts_with("SI_ORDER_") && known_order(&name).is_none() {
            errors.spanned(
                ident,
                format!(
                    "unknown order `{name}`: use an `SI_ORDER_*` constant of vnet_runtime::subsystem \
                     (e.g. `SI_ORDER_ANY`) or any constant `u32` expression"
                ),
            );
        }
    }
    value
}

/// `const NAME: u32 = { use subsystem::*; expr };`
pub(crate) fn key_const(krate: &Path, name: &str, expr: &Expr) -> TokenStream {
    let name = Ident::new(name, Span::call_site());
    quote_spanned! {expr.span()=>
        const #name: u32 = {
            #[allow(unused_imports)]
            use #krate::__private0::subsystem::*;
            #expr
        };
    }
}

/// Checks that the item is `fn name()` (no arguments, generics, async).
fn check_signature(item: &FnItem, attr: &str, errors: &mut Errors) {
    let sig = &item.sig;
    if !sig.inputs.is_empty() {
        errors.spanned(
            &sig.inputs,
            format!(
                "#[{attr}] hooks take no arguments: write `fn {}()`",
                sig.ident
            ),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.spanned(&sig.generics, format!("#[{attr}] hooks cannot be generic"));
    }
    if let Some(asyncness) = &sig.asyncness {
        errors.spanned(
            asyncness,
            format!("#[{attr}] hooks cannot be `async`: the lifecycle calls them synchronously"),
        );
    }
    if let syn::Safety::Unsafe(unsafety) = &sig.safety {
        errors.spanned(
            unsafety,
            format!(
                "#[{attr}] hooks cannot be `unsafe fn`: the lifecycle calls them from safe code"
            ),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, format!("#[{attr}] hooks cannot be variadic"));
    }
}

pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr_name = kind.attr();
    let args = match parse_args(attr) {
        Ok(args) => args,
        Err(err) => return with_item(err.to_compile_error(), item),
    };
    let func: FnItem = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                format!("#[{attr_name}] applies to functions: write `#[{attr_name}(SUBSYSTEM, ORDER)] fn name() {{ .. }}`"),
            );
            return with_item(err.to_compile_error(), item);
        }
    };
    let mut errors = Errors::default();
    let mut krate: Path = syn::parse_quote!(::vnet_runtime);
    let mut module: Option<Ident> = None;
    let mut positional = Vec::new();
    for arg in &args {
        match arg {
            Arg::Positional(expr) => positional.push(expr),
            Arg::Named(name, value) if name == "module" => match bare_ident(value) {
                Some(ident) => module = Some(ident.clone()),
                None => errors.spanned(value, "`module = name` takes the module's name, as in #[vnet_module(name, ..)]"),
            },
            Arg::Named(name, value) if name == "crate" => match value {
                Expr::Path(p) => krate = p.path.clone(),
                other => errors.spanned(other, "`crate = path` takes a path to the runtime crate"),
            },
            Arg::Named(name, _) | Arg::Call(name, _, _) => errors.spanned(
                name,
                format!("unknown argument `{name}`: #[{attr_name}] takes (SUBSYSTEM, ORDER), then optionally `module = name` and `crate = path`"),
            ),
        }
    }
    let (sub, order) = match positional.as_slice() {
        [sub, order] => (Some(*sub), Some(*order)),
        [_, _, extra, ..] => {
            errors.spanned(
                extra,
                format!("#[{attr_name}] takes two positional arguments: (SUBSYSTEM, ORDER)"),
            );
            (None, None)
        }
        _ => {
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("#[{attr_name}] needs a subsystem and an order: write `#[{attr_name}(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]`"),
            ));
            (None, None)
        }
    };
    let mut range_checked = false;
    if let (Some(sub), Some(order)) = (sub, order) {
        let value = check_key(sub, order, &mut errors);
        if kind.per_instance() {
            if let Some(v) = value {
                range_checked = true;
                if !(v > SI_SUB_VNET && v <= SI_SUB_VNET_DONE) {
                    errors.spanned(
                        sub,
                        format!(
                            "#[{attr_name}] hooks run once per instance and need a subsystem in \
                             (SI_SUB_VNET, SI_SUB_VNET_DONE]; for once-per-process work use #[{}]",
                            if kind == Kind::VnetSysinit {
                                "sysinit"
                            } else {
                                "sysuninit"
                            }
                        ),
                    );
                }
            }
        }
    }
    check_signature(&func, attr_name, &mut errors);
    if let Some(errors) = errors.into_tokens() {
        // The function itself is kept, so calls of it do not cascade.
        return with_item(errors, func.into_token_stream());
    }
    let (sub, order) = (sub.expect("checked"), order.expect("checked"));
    let ident = &func.sig.ident;
    let name = ident.to_string();
    let variant = kind.variant();
    let sub_const = key_const(&krate, "SUBSYSTEM", sub);
    let order_const = key_const(&krate, "ORDER", order);
    let range = (kind.per_instance() && !range_checked).then(|| {
        let msg = format!(
            "#[{attr_name}] `{name}`: per-instance hooks need a subsystem in (SI_SUB_VNET, SI_SUB_VNET_DONE]"
        );
        quote_spanned! {sub.span()=>
            const _: () = ::core::assert!(#krate::__private0::subsystem::is_vnet_subsystem(SUBSYSTEM), #msg);
        }
    });
    let module = match &module {
        Some(m) => {
            let m = m.to_string();
            quote!(::core::option::Option::Some(#m))
        }
        None => quote!(::core::option::Option::None),
    };
    let ret_span = match &func.sig.output {
        ReturnType::Default => func.sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let call = quote_spanned! {ret_span=>
        #krate::__private0::HookReturn::into_hook_result(#ident())
    };
    quote! {
        #func

        const _: () = {
            #sub_const
            #order_const
            #range

            fn run() -> #krate::__private0::HookResult {
                #call
            }

            #krate::__private0::HOOKS! {
                #![linkme_macro = #krate::__private0::HOOKS]
                static DESC: #krate::__private0::HookDesc = #krate::__private0::HookDesc {
                    kind: #krate::__private0::HookKind::#variant,
                    name: #name,
                    subsystem: SUBSYSTEM,
                    order: ORDER,
                    module: #module,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    run,
                };
            }
        };
    }
}

pub(crate) fn with_item(mut errors: TokenStream, item: TokenStream) -> TokenStream {
    errors.extend(item);
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, attr: &str, item: &str) -> String {
        expand(kind, attr.parse().unwrap(), item.parse().unwrap()).to_string()
    }

    #[test]
    fn registers_a_hook_with_its_key() {
        let out = expand_str(
            Kind::VnetSysinit,
            "SI_SUB_PROTO_BEGIN, MYMOD_VNET_ORDER",
            "fn mymod_vnet_init() {}",
        );
        for needle in [
            "fn mymod_vnet_init () { }",
            "HookKind :: VnetSysinit",
            "name : \"mymod_vnet_init\"",
            "SI_SUB_PROTO_BEGIN",
            "MYMOD_VNET_ORDER",
            ":: vnet_runtime :: __private0 :: HOOKS ! { # ! [linkme_macro = :: vnet_runtime :: __private0 :: HOOKS]",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
        // A known subsystem is range-checked here, so no const assertion.
        assert!(!out.contains("is_vnet_subsystem"), "{out}");
    }

    #[test]
    fn computed_subsystems_get_a_const_assertion() {
        let out = expand_str(Kind::VnetSysuninit, "MY_SUB + 1, 0", "fn f() {}");
        assert!(out.contains("is_vnet_subsystem (SUBSYSTEM)"), "{out}");
    }

    #[test]
    fn errors_are_collected() {
        let out = expand_str(
            Kind::VnetSysinit,
            "SI_SUB_KLD, SI_ORDER_BOGUS, color = red",
            "async fn f(x: u8) {}",
        );
        for needle in [
            "need a subsystem in",
            "unknown order `SI_ORDER_BOGUS`",
            "unknown argument `color`",
            "take no arguments",
            "cannot be `async`",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in {out}");
        }
    }

    #[test]
    fn module_and_crate_arguments() {
        let out = expand_str(
            Kind::Sysinit,
            "1, 2, module = ipfw, crate = ::rt",
            "fn f() {}",
        );
        assert!(out.contains("Option :: Some (\"ipfw\")"), "{out}");
        assert!(out.contains(":: rt :: __private0 :: HookDesc"), "{out}");
    }
}
