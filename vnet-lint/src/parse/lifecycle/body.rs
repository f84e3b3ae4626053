//! The body visitor: what a function body reads, writes, calls and registers, the guards it drops and
//! the closures it hands to spawns.

use super::{BodyFacts, DroppedGuard, SpawnedAccess};
use proc_macro2::{TokenStream, TokenTree};
use std::ops::Range;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// Names of calls that make an instance current.
const ENTERS: &[&str] = &[
    "curvnet_set",
    "enter",
    "with_in",
    "bind",
    "vnet_foreach",
    "set_current",
];

/// Names of calls that hand a closure to another thread, a task, a timer or a callback list.
const SPAWNERS: &[&str] = &[
    "spawn",
    "spawn_blocking",
    "spawn_local",
    "spawn_scoped",
    "timeout",
    "callout_reset",
    "schedule",
    "register",
    "add_handler",
    "subscribe",
    "on_event",
];

fn is_register(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    (n.contains("register") && !is_unregister(name))
        || n.contains("subscribe") && !n.contains("unsubscribe")
        || n == "add_handler"
        || n.ends_with("_add_handler")
}

fn is_unregister(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("unregister")
        || n.contains("deregister")
        || n.contains("unsubscribe")
        || n.contains("remove_handler")
}

/// Methods that change the value they are called on.
const WRITERS: &[&str] = &[
    "store",
    "set",
    "insert",
    "push",
    "push_back",
    "push_front",
    "reset",
    "clear",
    "fetch_add",
    "fetch_sub",
    "fetch_or",
    "fetch_and",
    "fetch_xor",
    "fetch_max",
    "fetch_min",
    "fetch_update",
    "swap",
    "replace",
    "write",
    "init",
    "get_or_init",
    "extend",
    "remove",
    "take",
    "truncate",
    "retain",
    "append",
    "drain",
    "get_mut",
    "entry",
];

/// Whether `tokens` call a method of [`WRITERS`] (`.store(`).
fn calls_a_writer(tokens: &TokenStream) -> bool {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    trees.windows(3).any(|w| match (&w[0], &w[1], &w[2]) {
        (TokenTree::Punct(dot), TokenTree::Ident(method), TokenTree::Group(g)) => {
            dot.as_char() == '.'
                && g.delimiter() == proc_macro2::Delimiter::Parenthesis
                && WRITERS.contains(&method.to_string().as_str())
        }
        _ => false,
    }) || trees.iter().any(|t| match t {
        TokenTree::Group(g) => calls_a_writer(&g.stream()),
        _ => false,
    })
}

fn v_accessor(path: &syn::Path) -> Option<String> {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .find(|s| s.starts_with("V_") && s.len() > 2)
}

#[derive(Default)]
pub(super) struct BodyVisitor {
    pub(super) facts: BodyFacts,
    pub(super) dropped: Vec<DroppedGuard>,
    pub(super) spawned: Vec<SpawnedAccess>,
}

fn push_once(list: &mut Vec<(String, Range<usize>)>, name: String, span: Range<usize>) {
    if !list.iter().any(|(n, _)| *n == name) {
        list.push((name, span));
    }
}

/// Whether `expr` makes a current-instance guard (`curvnet_set(..)`, `vnet.enter_guard()`…).
fn makes_guard(expr: &syn::Expr) -> bool {
    match expr {
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "curvnet_set"),
            _ => false,
        },
        syn::Expr::MethodCall(m) => m.method == "curvnet_set" || m.method == "set_current",
        syn::Expr::Macro(m) => m
            .mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "curvnet_set"),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for BodyVisitor {
    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        match stmt {
            syn::Stmt::Local(local) => {
                if let (syn::Pat::Wild(_), Some(init)) = (&local.pat, &local.init) {
                    if makes_guard(&init.expr) {
                        self.dropped.push(DroppedGuard {
                            span: stmt.span().byte_range(),
                            how: "`let _ = …`",
                        });
                    }
                }
            }
            syn::Stmt::Expr(expr, Some(_)) if makes_guard(expr) => {
                self.dropped.push(DroppedGuard {
                    span: stmt.span().byte_range(),
                    how: "a bare statement",
                });
            }
            _ => {}
        }
        syn::visit::visit_stmt(self, stmt);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        if let Some(name) = v_accessor(&path.path) {
            push_once(&mut self.facts.reads, name, path.span().byte_range());
        }
        syn::visit::visit_expr_path(self, path);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*call.func {
            if let Some(last) = p.path.segments.last() {
                let name = last.ident.to_string();
                let span = call.span().byte_range();
                if is_unregister(&name) {
                    push_once(&mut self.facts.unregisters, name.clone(), span.clone());
                } else if is_register(&name) {
                    push_once(&mut self.facts.registers, name.clone(), span.clone());
                }
                if SPAWNERS.contains(&name.as_str()) {
                    let spawner = p
                        .path
                        .segments
                        .iter()
                        .map(|s| s.ident.to_string())
                        .collect::<Vec<_>>()
                        .join("::");
                    self.spawned_closures(&spawner, call.args.iter());
                }
                push_once(&mut self.facts.calls, name, span);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if let syn::Expr::Path(receiver) = &*call.receiver {
            if let Some(accessor) = v_accessor(&receiver.path) {
                let writes = call
                    .args
                    .iter()
                    .any(|arg| calls_a_writer(&quote::ToTokens::to_token_stream(arg)));
                if writes {
                    push_once(
                        &mut self.facts.writes,
                        accessor,
                        receiver.span().byte_range(),
                    );
                }
            }
        }
        let span = call.span().byte_range();
        if is_unregister(&name) {
            push_once(&mut self.facts.unregisters, name.clone(), span.clone());
        } else if is_register(&name) {
            push_once(&mut self.facts.registers, name.clone(), span.clone());
        }
        if SPAWNERS.contains(&name.as_str()) {
            self.spawned_closures(&format!(".{name}"), call.args.iter());
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

impl BodyVisitor {
    /// Records `V_` accessors in closures handed to `spawner` when nothing in the closure enters an
    /// instance.
    fn spawned_closures<'a>(&mut self, spawner: &str, args: impl Iterator<Item = &'a syn::Expr>) {
        for arg in args {
            let closure = match arg {
                syn::Expr::Closure(c) => &c.body,
                syn::Expr::Async(a) => {
                    self.spawned_in(spawner, &quote::ToTokens::to_token_stream(&a.block));
                    continue;
                }
                _ => continue,
            };
            self.spawned_in(spawner, &quote::ToTokens::to_token_stream(closure));
        }
    }

    fn spawned_in(&mut self, spawner: &str, tokens: &TokenStream) {
        fn walk(tokens: &TokenStream, enters: &mut bool, found: &mut Vec<(String, Range<usize>)>) {
            for tree in tokens.clone() {
                match &tree {
                    TokenTree::Ident(i) => {
                        let s = i.to_string();
                        if ENTERS.contains(&s.as_str()) {
                            *enters = true;
                        } else if s.starts_with("V_") && s.len() > 2 {
                            found.push((s, i.span().byte_range()));
                        }
                    }
                    TokenTree::Group(g) => walk(&g.stream(), enters, found),
                    _ => {}
                }
            }
        }
        let mut enters = false;
        let mut found = Vec::new();
        walk(tokens, &mut enters, &mut found);
        if !enters {
            for (name, span) in found {
                self.spawned.push(SpawnedAccess {
                    name,
                    span,
                    spawner: spawner.to_owned(),
                });
            }
        }
    }
}
