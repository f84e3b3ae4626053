//! Item-like macros whose bodies declare statics (`lazy_static!`, `thread_local!`…), and token templates
//! (`quote!`) whose bodies are never items of the crate.

use super::*;

/// Macros whose bodies are token templates or text (`quote!`, `stringify!`): never items of this crate.
pub(crate) const TOKEN_TEMPLATE_MACROS: &[&str] = &[
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
    "stringify",
    "concat",
    "include_str",
];

/// Whether `tokens` spell the keyword `static` (not the lifetime `'static`) at any depth.
pub(crate) fn has_static_keyword(tokens: &TokenStream) -> bool {
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

pub(crate) fn is_punct(tree: &TokenTree, c: char) -> bool {
    matches!(tree, TokenTree::Punct(p) if p.as_char() == c)
}

/// The kind of the items declared by an invocation of the macro `name`, when it is a `lazy_static!` or
/// `thread_local!` (or a wrapper spelled with the same suffix).
pub(crate) fn macro_statics_kind(name: &str) -> Option<GlobalKind> {
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

/// A `static` declared inside `lazy_static!` or `thread_local!`.
pub(crate) struct MacroStatic {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) start: Span,
    pub(crate) name: Ident,
}

/// Parses `[attrs] [vis] static [ref] NAME: TYPE [= INIT];` repeated; the initializer is skipped, and may
/// be missing (`scoped_thread_local!(static CURRENT: Context);`).
pub(crate) fn parse_macro_statics(
    input: ParseStream,
    with_ref: bool,
) -> syn::Result<Vec<MacroStatic>> {
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
