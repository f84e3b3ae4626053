//! The rest of a block moved into the accessor's closure, for a borrow that a `let` keeps.
//!
//! `let cache = CACHE.lock().unwrap();` keeps the guard for the rest of its block, which the
//! accessor's closure cannot lend beyond itself. The `let` and every statement after it in the same
//! block move into the closure, re-indented one level:
//!
//! ```text
//! fn f() -> usize {                      fn f() -> usize {
//!     let n = 1;                             let n = 1;
//!     let cache = CACHE.lock().unwrap();     V_CACHE.with(|cache_| {
//!     cache.len() + n                            let cache = cache_.lock().unwrap();
//! }                                              cache.len() + n
//!                                            })
//!                                        }
//! ```
//!
//! The block's value is the closure's (a block ending with `;` and the closure both give `()`, and
//! the rewrite keeps the `;`); locals declared before the `let` drop after the closure returns, the
//! moved ones at its end, as they did before and at the end of the block. The move is refused when
//! it would change what the code means: the moved code returns, uses `?`, awaits, yields, breaks or
//! continues a loop outside it, or calls a macro not known to be free of those; the `let` has an
//! `else`; an item the moved code declares is named before the `let`; or the block must diverge.

use super::decl::node_range;
use quote::ToTokens;
use std::ops::Range;
use syn::visit::Visit;

/// Macros of `std` that neither return, break, continue, await nor yield (their arguments are
/// checked on their own).
const FREE_MACROS: &[&str] = &[
    "assert",
    "assert_eq",
    "assert_ne",
    "cfg",
    "column",
    "concat",
    "dbg",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "env",
    "eprint",
    "eprintln",
    "file",
    "format",
    "format_args",
    "include_bytes",
    "include_str",
    "line",
    "matches",
    "module_path",
    "option_env",
    "panic",
    "print",
    "println",
    "stringify",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

/// Macros that never return: a block without a tail that ends with one may have any type.
const DIVERGING_MACROS: &[&str] = &["panic", "todo", "unimplemented", "unreachable"];

/// Where the block holding the `let` sits, as far as its value goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Owner {
    /// The body of a function returning `()` (written or not).
    UnitFn,
    /// The body of a function returning something else.
    ValueFn,
    /// Any other block (an expression's, a closure's, a loop's).
    Expr,
}

/// The byte range that moves: from the `let` statement `block.stmts[at]` to the end of the block's
/// last statement.
pub fn moved_range(block: &syn::Block, at: usize) -> Range<usize> {
    let start = node_range(&block.stmts[at]).start;
    let end = block.stmts.last().map_or(start, |s| node_range(s).end);
    start..end
}

/// Why the statements of `block` from `at` (a `let`) on cannot move into a closure, if they cannot.
pub fn refusal(block: &syn::Block, at: usize, owner: Owner, text: &str) -> Option<String> {
    let moved = &block.stmts[at..];
    if let Some(syn::Stmt::Local(local)) = moved.first() {
        if local.init.as_ref().is_some_and(|i| i.diverge.is_some()) {
            return Some("the `let` has an `else`, which must leave the block".into());
        }
    }
    let mut escape = Escape::default();
    for stmt in moved {
        escape.visit_stmt(stmt);
        if let Some(why) = escape.found.take() {
            return Some(format!("the rest of the block {why}"));
        }
    }
    // Items of a block are visible in all of it: one named before the `let` must stay outside.
    let before: Range<usize> = match block.stmts.first() {
        Some(first) if at > 0 => node_range(first).start..node_range(&block.stmts[at]).start,
        _ => 0..0,
    };
    let before_text = &text[before];
    for stmt in moved {
        if let syn::Stmt::Item(item) = stmt {
            for name in item_names(item) {
                if before_text
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == name)
                {
                    return Some(format!(
                        "the rest of the block declares `{name}`, which code before the `let` names"
                    ));
                }
            }
        }
    }
    if !has_tail(block) {
        let last = block.stmts.last();
        let diverges = match last {
            Some(syn::Stmt::Macro(m)) => is_diverging(&m.mac),
            Some(syn::Stmt::Expr(syn::Expr::Macro(m), _)) => is_diverging(&m.mac),
            Some(syn::Stmt::Expr(syn::Expr::Loop(_), _)) => true,
            _ => false,
        };
        if diverges || owner == Owner::ValueFn {
            return Some(
                "the block has no tail and takes its type from diverging, which the closure's `()` \
                 would not"
                    .into(),
            );
        }
    }
    None
}

/// Whether the block ends with an expression whose value is the block's.
pub fn has_tail(block: &syn::Block) -> bool {
    matches!(
        block.stmts.last(),
        Some(syn::Stmt::Expr(_, None))
            | Some(syn::Stmt::Macro(syn::StmtMacro {
                semi_token: None,
                ..
            }))
    )
}

/// The accessor's call around the moved statements `body` (their text with the uses rewritten), at
/// `range` of `text`: one line when they were on one line, else re-indented one level (unless a
/// literal spans lines, whose text re-indenting would change). A block without a tail keeps its `;`.
pub fn wrap(
    accessor: &str,
    param: &str,
    body: &str,
    text: &str,
    range: Range<usize>,
    stmts: &[syn::Stmt],
    tail: bool,
) -> String {
    let semi = if tail { "" } else { ";" };
    if !text[range.clone()].contains('\n') {
        return format!("{accessor}.with(|{param}| {{ {body} }}){semi}");
    }
    let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let lead = &text[line_start..range.start];
    let indent = if lead.chars().all(char::is_whitespace) {
        lead
    } else {
        ""
    };
    let literal_spans_lines = stmts.iter().any(|s| spans_lines(s.to_token_stream(), text));
    let mut out = format!("{accessor}.with(|{param}| {{\n{indent}    ");
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !literal_spans_lines && !line.trim().is_empty() {
                out.push_str("    ");
            }
        }
        out.push_str(if line.trim().is_empty() && i > 0 {
            line.trim_end()
        } else {
            line
        });
    }
    out.push_str(&format!("\n{indent}}}){semi}"));
    out
}

fn spans_lines(tokens: proc_macro2::TokenStream, text: &str) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Group(g) => spans_lines(g.stream(), text),
        proc_macro2::TokenTree::Literal(_) => {
            let r = node_range(&t);
            text.get(r).is_some_and(|s| s.contains('\n'))
        }
        _ => false,
    })
}

fn is_diverging(mac: &syn::Macro) -> bool {
    DIVERGING_MACROS.contains(&super::decl::macro_name(mac).as_str())
}

fn item_names(item: &syn::Item) -> Vec<String> {
    let one = |i: &syn::Ident| vec![i.to_string()];
    match item {
        syn::Item::Fn(f) => one(&f.sig.ident),
        syn::Item::Struct(s) => one(&s.ident),
        syn::Item::Enum(e) => one(&e.ident),
        syn::Item::Union(u) => one(&u.ident),
        syn::Item::Const(c) => one(&c.ident),
        syn::Item::Static(s) => one(&s.ident),
        syn::Item::Type(t) => one(&t.ident),
        syn::Item::Trait(t) => one(&t.ident),
        syn::Item::Mod(m) => one(&m.ident),
        syn::Item::Macro(m) => m.ident.iter().map(|i| i.to_string()).collect(),
        syn::Item::Use(u) => crate::parse::uses::flatten(&u.tree)
            .into_iter()
            .filter_map(|u| u.alias)
            .collect(),
        _ => Vec::new(),
    }
}

/// Finds what would leave the closure: `return`, `?`, `.await`, `yield`, a `break`/`continue` of a
/// loop or labelled block outside the moved code, a macro not known to be free of those.
#[derive(Default)]
struct Escape {
    loops: usize,
    labels: Vec<String>,
    found: Option<String>,
}

impl Escape {
    fn note(&mut self, why: String) {
        self.found.get_or_insert(why);
    }

    fn in_loop(&mut self, label: Option<&syn::Label>, f: impl FnOnce(&mut Self), is_loop: bool) {
        if let Some(l) = label {
            self.labels.push(l.name.ident.to_string());
        }
        if is_loop {
            self.loops += 1;
        }
        f(self);
        if is_loop {
            self.loops -= 1;
        }
        if label.is_some() {
            self.labels.pop();
        }
    }

    fn jump(&mut self, label: Option<&syn::Lifetime>, what: &str) {
        match label {
            Some(l) if !self.labels.contains(&l.ident.to_string()) => {
                self.note(format!("{what}s `'{}`, outside it", l.ident))
            }
            None if self.loops == 0 => self.note(format!("{what}s a loop around it")),
            _ => {}
        }
    }
}

impl<'ast> Visit<'ast> for Escape {
    fn visit_expr(&mut self, e: &'ast syn::Expr) {
        match e {
            syn::Expr::Return(_) => self.note("returns".into()),
            syn::Expr::Try(_) => self.note("uses `?`".into()),
            syn::Expr::Await(_) => self.note("awaits".into()),
            syn::Expr::Yield(_) => self.note("yields".into()),
            syn::Expr::Break(b) => {
                self.jump(b.label.as_ref(), "break");
                syn::visit::visit_expr(self, e);
            }
            syn::Expr::Continue(c) => self.jump(c.label.as_ref(), "continue"),
            syn::Expr::Loop(l) => self.in_loop(
                l.label.as_ref(),
                |s| syn::visit::visit_expr_loop(s, l),
                true,
            ),
            syn::Expr::While(w) => self.in_loop(
                w.label.as_ref(),
                |s| syn::visit::visit_expr_while(s, w),
                true,
            ),
            syn::Expr::ForLoop(f) => self.in_loop(
                f.label.as_ref(),
                |s| syn::visit::visit_expr_for_loop(s, f),
                true,
            ),
            syn::Expr::Block(b) => self.in_loop(
                b.label.as_ref(),
                |s| syn::visit::visit_expr_block(s, b),
                false,
            ),
            syn::Expr::Closure(_) | syn::Expr::Async(_) => {}
            _ => syn::visit::visit_expr(self, e),
        }
    }

    fn visit_item(&mut self, _: &'ast syn::Item) {}

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = super::decl::macro_name(mac);
        if !FREE_MACROS.contains(&name.as_str()) {
            self.note(format!("calls `{name}!`, which may return or break"));
        } else if let Some(word) = jumps_in(mac.tokens.clone()) {
            self.note(format!("passes `{word}` to `{name}!`"));
        }
    }
}

/// A `return`, `break`, `continue`, `yield`, `await` or `?` among the tokens.
fn jumps_in(tokens: proc_macro2::TokenStream) -> Option<String> {
    tokens.into_iter().find_map(|t| match t {
        proc_macro2::TokenTree::Group(g) => jumps_in(g.stream()),
        proc_macro2::TokenTree::Ident(i)
            if ["return", "break", "continue", "yield", "await"]
                .contains(&i.to_string().as_str()) =>
        {
            Some(i.to_string())
        }
        proc_macro2::TokenTree::Punct(p) if p.as_char() == '?' => Some("?".into()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal_of(body: &str) -> Option<String> {
        let text = format!("fn f() {{\n{body}\n}}\n");
        let file = syn::parse_file(&text).expect("parse");
        let syn::Item::Fn(f) = &file.items[0] else {
            panic!("a function");
        };
        let at = f
            .block
            .stmts
            .iter()
            .position(|s| matches!(s, syn::Stmt::Local(_)))
            .expect("a let");
        refusal(&f.block, at, Owner::UnitFn, &text)
    }

    #[test]
    fn jumps_that_stay_inside_the_moved_code_are_fine() {
        assert_eq!(
            refusal_of("let g = 1;\n'a: { if g > 0 { break 'a; } }\nwhile g > 2 { continue; }\nlet h = |x: Option<u8>| x?.checked_add(1);"),
            None
        );
    }

    #[test]
    fn jumps_that_leave_it_are_named() {
        let why = refusal_of("let g = 1;\nif g > 0 { break 'outer; }").expect("refused");
        assert!(why.contains("breaks `'outer`, outside it"), "{why}");
        let why = refusal_of("let g = 1;\nwrite!(s, \"{}\", g.checked_add(1)?);").expect("refused");
        assert!(why.contains("passes `?` to `write!`"), "{why}");
        let why = refusal_of("let g = 1;\nensure!(g > 0);").expect("refused");
        assert!(why.contains("calls `ensure!`"), "{why}");
    }

    #[test]
    fn a_tail_is_a_final_expression_or_macro_without_semicolon() {
        let block = |s: &str| syn::parse_str::<syn::Block>(s).expect("block");
        assert!(has_tail(&block("{ let a = 1; a }")));
        assert!(has_tail(&block("{ let a = 1; vec![a] }")));
        assert!(!has_tail(&block("{ let a = 1; drop(a); }")));
        assert!(!has_tail(&block("{ let a = 1; }")));
    }
}
