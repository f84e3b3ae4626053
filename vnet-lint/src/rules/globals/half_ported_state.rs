//! `VN108 half-ported-state`: a global static that a function uses together with per-instance
//! (`#[vnet]`) state — one half of a group of coupled statics ported, the other not.

use crate::diag::{FileId, Finding};
use crate::rules::declare_rule;
use quote::ToTokens;
use std::collections::BTreeMap;
use std::ops::Range;

declare_rule! {
    /// ## What it does
    /// Checks for a static that stays global (it has a `static-mut`, `interior-mutable-static` or
    /// `lazy-static-global` finding of its own) while a function in its file also uses a `#[vnet]`
    /// accessor (`V_NAME`): state that one function reads and writes together, half of it per
    /// instance and half of it for the whole process.
    ///
    /// ## Why is this bad?
    /// Coupled statics guard each other: a once-flag and the value it guards, a state word and the
    /// logger it publishes. Ported half, the guard runs once per instance while the value it guards
    /// stays one for the process: `set_global_default` succeeds once in every instance and each
    /// success writes the same `static mut` (a data race), and instances see each other's value. The
    /// crate's own tests usually still pass.
    ///
    /// ## Example
    /// ```rust,ignore
    /// #[vnet]
    /// static GLOBAL_INIT: AtomicUsize = AtomicUsize::new(0);
    /// static mut GLOBAL_DISPATCH: Option<Dispatch> = None;
    ///
    /// fn set_global_default(d: Dispatch) {
    ///     if V_GLOBAL_INIT.with(|i| i.swap(1, SeqCst)) == 0 {
    ///         unsafe { GLOBAL_DISPATCH = Some(d) }
    ///     }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet]
    /// static GLOBAL_INIT: AtomicUsize = AtomicUsize::new(0);
    /// #[vnet]
    /// static GLOBAL_DISPATCH: StaticMut<Option<Dispatch>> = StaticMut::new(None);
    ///
    /// fn set_global_default(d: Dispatch) {
    ///     if V_GLOBAL_INIT.with(|i| i.swap(1, SeqCst)) == 0 {
    ///         unsafe { *V_GLOBAL_DISPATCH.as_ptr() = Some(d) }
    ///     }
    /// }
    /// ```
    ///
    /// ## Known problems
    /// A function and the global static must be in the same file (the accessor may come from
    /// anywhere); any identifier `V_` followed by an uppercase letter counts as an accessor. A static
    /// marked `#[vnet_runtime::global(reason = "…")]` has no finding and so is never reported here: it
    /// was kept process-wide on purpose.
    ///
    /// ## Fix safety
    /// No fix of its own: `cargo vnet-lint check --fix` ports the global static with the rest of its
    /// group (statics one function uses together move together), or says why it cannot.
    ///
    /// ## Configuration
    /// Port the static, or mark it `#[vnet_runtime::global(reason = "…")]` when the pair truly is
    /// process-wide; the comment `// vnet-lint: allow(half-ported-state): reason` on the line above
    /// the static silences this rule alone.
    pub HalfPortedState => "VN108", "half-ported-state", Globals, Deny, since "0.1.0",
    "a global static used together with per-instance state by the same function"
}

/// The findings of one file: each static whose item holds one of `flagged` (the starts of its
/// globals findings) and that a function uses together with a `V_` accessor.
pub fn check(file: FileId, text: &str, flagged: &[usize]) -> Vec<Finding> {
    if flagged.is_empty() || !text.contains("V_") {
        return Vec::new();
    }
    // The lint's one parse entry point (fresh span table, nesting bound, edition-2015 repair).
    let Ok(parsed) = crate::parse::parse_source(text) else {
        return Vec::new();
    };
    let mut walk = Walk::default();
    syn::visit::Visit::visit_file(&mut walk, &parsed);
    // name → the span of its name, for flagged statics.
    let globals: BTreeMap<String, Range<usize>> = walk
        .statics
        .iter()
        .filter(|(_, item, _)| flagged.iter().any(|at| item.contains(at)))
        .map(|(name, _, ident)| (name.clone(), ident.clone()))
        .collect();
    let mut out = Vec::new();
    let mut reported = Vec::new();
    for (function, idents) in &walk.functions {
        let Some(accessor) = idents.iter().find(|i| is_accessor(i)) else {
            continue;
        };
        for (name, span) in &globals {
            if idents.contains(name) && !reported.contains(name) {
                reported.push(name.clone());
                out.push(
                    Finding::new(
                        &HalfPortedState::RULE,
                        file,
                        Some(span.clone()),
                        format!(
                            "`static {name}` stays global, but `fn {function}` uses it together \
                             with the per-instance `{accessor}`"
                        ),
                    )
                    .with_label("global, used with per-instance state")
                    .with_help(format!(
                        "port `{name}` too (`#[vnet]`): statics one function uses together move together"
                    ))
                    .with_note(super::PROCESS_WIDE_NOTE),
                );
            }
        }
    }
    out
}

fn is_accessor(ident: &str) -> bool {
    ident
        .strip_prefix("V_")
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_uppercase())
}

#[derive(Default)]
struct Walk {
    /// Name, item range, name range.
    statics: Vec<(String, Range<usize>, Range<usize>)>,
    /// Function name and every identifier of its body.
    functions: Vec<(String, Vec<String>)>,
}

fn range(tokens: &impl ToTokens) -> Range<usize> {
    let mut iter = tokens.to_token_stream().into_iter();
    let Some(first) = iter.next() else {
        return 0..0;
    };
    let start = first.span().byte_range().start;
    let end = iter
        .last()
        .map_or(first.span().byte_range().end, |t| t.span().byte_range().end);
    start..end
}

fn idents(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
            proc_macro2::TokenTree::Group(g) => idents(g.stream(), out),
            _ => {}
        }
    }
}

impl Walk {
    fn function(&mut self, name: &syn::Ident, block: &syn::Block) {
        let mut found = Vec::new();
        idents(block.to_token_stream(), &mut found);
        self.functions.push((name.to_string(), found));
    }
}

impl<'ast> syn::visit::Visit<'ast> for Walk {
    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.statics
            .push((s.ident.to_string(), range(s), s.ident.span().byte_range()));
        syn::visit::visit_item_static(self, s);
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.function(&f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.function(&f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn a_guard_ported_without_its_value() {
        check(
            r#"
#[vnet]
static GLOBAL_INIT: AtomicUsize = AtomicUsize::new(0);
static mut GLOBAL_DISPATCH: u32 = 0;
         //^^^^^^^^^^^^^^^ VN108
     //^^^ VN101
fn set(d: u32) {
    if V_GLOBAL_INIT.with(|i| i.swap(1, SeqCst)) == 0 {
        unsafe { GLOBAL_DISPATCH = d }
    }
}
static mut ALONE: u32 = 0;
     //^^^ VN101
fn bump() { unsafe { ALONE += 1 } }
"#,
        );
    }
}
