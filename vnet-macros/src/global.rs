//! `#[global(reason = "...")]`: validate the reason, pass the item through.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::LitStr;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut reason: Option<LitStr> = None;
    let parsed = syn::meta::parser(|meta| {
        if meta.path.is_ident("reason") {
            reason = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(
                "unknown argument: write `#[global(reason = \"why this stays process-wide\")]`",
            ))
        }
    })
    .parse2(attr.clone());
    let error = match parsed {
        Err(err) => Some(err),
        Ok(()) => match &reason {
            None => Some(syn::Error::new_spanned(
                &attr,
                "#[global] needs a reason: write `#[global(reason = \"why this stays process-wide\")]`",
            )),
            Some(lit) if lit.value().trim().is_empty() => Some(syn::Error::new_spanned(
                lit,
                "the reason is empty: say why this global stays process-wide",
            )),
            Some(_) => None,
        },
    };
    let error = error.or_else(|| {
        attr.is_empty().then(|| {
            syn::Error::new(
                proc_macro2::Span::call_site(),
                "#[global] needs a reason: write `#[global(reason = \"why this stays process-wide\")]`",
            )
        })
    });
    match error {
        Some(err) => {
            let mut out = err.to_compile_error();
            item.to_tokens(&mut out);
            out
        }
        None => item,
    }
}
