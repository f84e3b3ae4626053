//! The body visitor: what a function body reads, writes, calls and registers, the guards it drops and
//! the closures it hands to spawns.

use super::{AwaitedGuard, BodyFacts, DroppedGuard, SpawnedAccess};
use proc_macro2::{TokenStream, TokenTree};
use std::ops::Range;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// Names of calls that make an instance current.
const ENTERS: &[&str] = &[
    "curvnet_set",
    "enter",
    "with_in",
    "in_vnet",
    "in_current_vnet",
    "vnet_foreach",
    "set_current",
];

/// Names of calls that hand a closure to another thread, a task, a timer or a callback list.
pub(crate) const SPAWNERS: &[&str] = &[
    "spawn",
    "spawn_blocking",
    "spawn_local",
    "spawn_scoped",
    "spawn_fifo",
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
    pub(super) awaited: Vec<AwaitedGuard>,
}

fn push_once(list: &mut Vec<(String, Range<usize>)>, name: String, span: Range<usize>) {
    if !list.iter().any(|(n, _)| *n == name) {
        list.push((name, span));
    }
}

/// `Some(maker)` when `expr` makes a current-instance guard: `curvnet_set(…)` through any path (the
/// path, for the rule to resolve), the `curvnet_set`/`set_current` methods or the `curvnet_set!` macro
/// (`None`).
fn makes_guard(expr: &syn::Expr) -> Option<Option<Vec<String>>> {
    match expr {
        syn::Expr::Call(call) => match &*call.func {
            syn::Expr::Path(p) if p.path.segments.last()?.ident == "curvnet_set" => {
                Some(Some(segments(&p.path)))
            }
            _ => None,
        },
        syn::Expr::MethodCall(m) if m.method == "curvnet_set" || m.method == "set_current" => {
            Some(None)
        }
        syn::Expr::Macro(m) if m.mac.path.segments.last()?.ident == "curvnet_set" => Some(None),
        _ => None,
    }
}

/// Whether `ident` is written like a static (`FIBS`, `RT_TABLE2`).
fn static_like(ident: &syn::Ident) -> bool {
    let name = ident.to_string();
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn segments(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// The pattern of a `let`, without its type (`let g: CurVnetGuard = …`).
fn untyped(pat: &syn::Pat) -> &syn::Pat {
    match pat {
        syn::Pat::Type(typed) => &typed.pat,
        other => other,
    }
}

/// `Some(maker)` when the `let` binds a current-instance guard: its initializer makes one, or its
/// type is `CurVnetGuard` (made by any function).
fn local_guard(local: &syn::Local) -> Option<Option<Vec<String>>> {
    let init = local.init.as_ref()?;
    if let Some(maker) = makes_guard(&init.expr) {
        return Some(maker);
    }
    let syn::Pat::Type(typed) = &local.pat else {
        return None;
    };
    let syn::Type::Path(ty) = &*typed.ty else {
        return None;
    };
    (ty.path.segments.last()?.ident == "CurVnetGuard").then_some(None)
}

/// The argument of `drop(arg)` (any path ending in `drop`, one argument).
fn dropped_arg(expr: &syn::Expr) -> Option<&syn::Expr> {
    let syn::Expr::Call(call) = expr else {
        return None;
    };
    let syn::Expr::Path(p) = &*call.func else {
        return None;
    };
    (p.path.segments.last()?.ident == "drop" && call.args.len() == 1).then(|| &call.args[0])
}

/// The first `.await` of `stmt` outside closures, `async` blocks and items (which do not run here).
fn first_await(stmt: &syn::Stmt) -> Option<usize> {
    struct Finder(Option<usize>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_await(&mut self, e: &'ast syn::ExprAwait) {
            if self.0.is_none() {
                self.0 = Some(e.await_token.span().start().line);
            }
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let mut finder = Finder(None);
    finder.visit_stmt(stmt);
    finder.0
}

impl<'ast> Visit<'ast> for BodyVisitor {
    fn visit_block(&mut self, block: &'ast syn::Block) {
        // Guards bound to a variable in this block, live until `drop(var)` or the block's end.
        let mut live: Vec<(String, Range<usize>, Option<Vec<String>>)> = Vec::new();
        for stmt in &block.stmts {
            if !live.is_empty() {
                if let Some(at) = first_await(stmt) {
                    for (name, span, maker) in live.drain(..) {
                        self.awaited.push(AwaitedGuard {
                            span,
                            await_line: at,
                            name,
                            maker,
                            inline: Vec::new(),
                        });
                    }
                }
            }
            match stmt {
                syn::Stmt::Local(local) => {
                    if let (syn::Pat::Ident(id), Some(maker)) =
                        (untyped(&local.pat), local_guard(local))
                    {
                        live.push((id.ident.to_string(), stmt.span().byte_range(), maker));
                    }
                }
                syn::Stmt::Expr(expr, _) => {
                    if let Some(syn::Expr::Path(p)) = dropped_arg(expr) {
                        if let Some(var) = p.path.get_ident() {
                            live.retain(|(name, _, _)| var != name);
                        }
                    }
                }
                _ => {}
            }
        }
        syn::visit::visit_block(self, block);
    }

    fn visit_stmt(&mut self, stmt: &'ast syn::Stmt) {
        let mut dropped = |how: &'static str, maker: Option<Vec<String>>| {
            self.dropped.push(DroppedGuard {
                span: stmt.span().byte_range(),
                how,
                maker,
                inline: Vec::new(),
            });
        };
        match stmt {
            syn::Stmt::Local(local) => {
                if let (syn::Pat::Wild(_), Some(maker)) = (untyped(&local.pat), local_guard(local))
                {
                    dropped("`let _ = …`", maker);
                }
            }
            syn::Stmt::Expr(expr, Some(_)) => {
                if let Some(maker) = makes_guard(expr) {
                    dropped("a bare statement", maker);
                } else if let Some(maker) = dropped_arg(expr).and_then(makes_guard) {
                    dropped("`drop(…)`", maker);
                }
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
                // Which calls carry no instance is the rule's to say, once the path is resolved.
                let path = segments(&p.path);
                self.spawned_closures(&path.join("::"), Some(&path), call.args.iter());
                if !self.facts.call_paths.iter().any(|(p, _)| *p == path) {
                    self.facts.call_paths.push((path, span.clone()));
                }
                push_once(&mut self.facts.calls, name, span);
            }
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        if let syn::Expr::Path(receiver) = &*call.receiver {
            let writes = || {
                call.args
                    .iter()
                    .any(|arg| calls_a_writer(&quote::ToTokens::to_token_stream(arg)))
            };
            if let Some(accessor) = v_accessor(&receiver.path) {
                if writes() {
                    push_once(
                        &mut self.facts.writes,
                        accessor,
                        receiver.span().byte_range(),
                    );
                }
            } else if receiver
                .path
                .segments
                .last()
                .is_some_and(|s| static_like(&s.ident))
            {
                // Maybe a `#[vnet]` static imported under another name: the model resolves it.
                let path = segments(&receiver.path);
                if !self.facts.receivers.iter().any(|(p, _, _)| *p == path) {
                    self.facts
                        .receivers
                        .push((path, receiver.span().byte_range(), writes()));
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
            self.spawned_closures(&format!(".{name}"), None, call.args.iter());
        }
        syn::visit::visit_expr_method_call(self, call);
    }
}

impl BodyVisitor {
    /// Records `V_` accessors in closures handed to `spawner` when nothing in the closure enters an
    /// instance.
    fn spawned_closures<'a>(
        &mut self,
        spawner: &str,
        path: Option<&Vec<String>>,
        args: impl Iterator<Item = &'a syn::Expr>,
    ) {
        for arg in args {
            let closure = match arg {
                syn::Expr::Closure(c) => &c.body,
                syn::Expr::Async(a) => {
                    self.spawned_in(spawner, path, &quote::ToTokens::to_token_stream(&a.block));
                    continue;
                }
                _ => continue,
            };
            self.spawned_in(spawner, path, &quote::ToTokens::to_token_stream(closure));
        }
    }

    fn spawned_in(&mut self, spawner: &str, path: Option<&Vec<String>>, tokens: &TokenStream) {
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
                    path: path.cloned(),
                    inline: Vec::new(),
                });
            }
        }
    }
}
