//! Attributes that make code test-only (`#[test]`, `#[cfg(test)]`, `#[cfg(all(test, …))]`), and the
//! `reason` of a process-wide marker.

use proc_macro2::{TokenStream, TokenTree};
use syn::{Attribute, Token};

use super::macros::is_punct;

pub(crate) fn last_segment(path: &syn::Path) -> Option<String> {
    path.segments
        .last()
        .map(|segment| segment.ident.to_string())
}

/// `#[test]`, `#[tokio::test]` and the like, or a `cfg` that requires `test` (`#[cfg(test)]`,
/// `#[cfg(all(test, unix))]`, but not `#[cfg(not(test))]`).
pub(crate) fn is_test_attr(attr: &Attribute) -> bool {
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
pub(crate) fn cfg_predicates(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
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

pub(crate) fn predicate_requires_test(predicate: &[TokenTree]) -> bool {
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
pub(crate) fn has_reason(attr: &Attribute) -> bool {
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
