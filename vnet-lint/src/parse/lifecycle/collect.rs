//! The item collector: `const`s, `use`s, inline modules, hooks, modules and every free function.

use super::body::BodyVisitor;
use super::const_expr::ConstExpr;
use super::{
    BodyFacts, ConstDef, DependFact, FnFact, HookFact, HookKind, LifecycleFacts, ModuleFact,
    UseFact,
};
use proc_macro2::{TokenStream, TokenTree};
use std::ops::Range;
use syn::spanned::Spanned;
use syn::visit::Visit;

/// Parses `text` and collects its model facts; `None` when it does not parse (the globals pass reports
/// that as `parse-error`). Call on a thread with a large stack.
pub fn collect(text: &str) -> Option<LifecycleFacts> {
    let file = crate::parse::parse_source(text).ok()?;
    let mut collector = Collector {
        src: text,
        inline: Vec::new(),
        facts: LifecycleFacts::default(),
    };
    collector.items(&file.items);
    Some(collector.facts)
}

struct Collector<'src> {
    /// The file's text, for expressions the facts keep as written.
    src: &'src str,
    inline: Vec<String>,
    facts: LifecycleFacts,
}

impl Collector<'_> {
    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            self.item(item);
        }
    }

    fn item(&mut self, item: &syn::Item) {
        // Test code is not in the binary whose order the model describes.
        let attrs: &[syn::Attribute] = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Const(c) => &c.attrs,
            _ => &[],
        };
        if attrs.iter().any(crate::parse::cfg::is_test_attr) {
            return;
        }
        match item {
            syn::Item::Const(c) => self.facts.consts.push(ConstDef {
                inline: self.inline.clone(),
                name: c.ident.to_string(),
                expr: ConstExpr::from_syn(&c.expr, self.src),
            }),
            syn::Item::Use(u) => {
                for flat in crate::parse::uses::flatten(&u.tree) {
                    self.facts.uses.push(UseFact {
                        inline: self.inline.clone(),
                        alias: flat.alias,
                        path: flat.path,
                    });
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    self.inline.push(m.ident.to_string());
                    self.facts.inline_modules.push(self.inline.clone());
                    self.items(items);
                    self.inline.pop();
                }
            }
            syn::Item::Fn(f) => self.function(f),
            syn::Item::Impl(i) => {
                for item in &i.items {
                    if let syn::ImplItem::Fn(f) = item {
                        if !f.attrs.iter().any(crate::parse::cfg::is_test_attr) {
                            let mut body = BodyVisitor::default();
                            body.visit_block(&f.block);
                            self.context_facts(&mut body);
                        }
                    }
                }
            }
            syn::Item::ExternCrate(e) => {
                if let Some((_, rename)) = &e.rename {
                    self.facts.uses.push(UseFact {
                        inline: self.inline.clone(),
                        alias: Some(rename.to_string()),
                        path: vec![e.ident.to_string()],
                    });
                }
            }
            syn::Item::Static(st) => {
                let is_vnet = st
                    .attrs
                    .iter()
                    .any(|a| a.path().segments.last().is_some_and(|s| s.ident == "vnet"));
                if is_vnet {
                    self.facts
                        .vnet_statics
                        .push((format!("V_{}", st.ident), self.inline.clone()));
                }
            }
            _ => {}
        }
    }

    fn function(&mut self, f: &syn::ItemFn) {
        let name = f.sig.ident.to_string();
        let mut body = BodyVisitor::default();
        body.visit_block(&f.block);
        self.context_facts(&mut body);
        let item_start = f.attrs.first().map_or_else(
            || f.span().byte_range().start,
            |a| a.span().byte_range().start,
        );
        self.function_attrs(f, &name, item_start, &body);
        self.facts.functions.push(FnFact {
            line: f.sig.ident.span().start().line,
            name,
            inline: self.inline.clone(),
            body: body.facts,
        });
    }

    /// The guards and spawned closures of one body, in this module.
    fn context_facts(&mut self, body: &mut BodyVisitor) {
        for mut guard in body.dropped.drain(..) {
            guard.inline.clone_from(&self.inline);
            self.facts.dropped_guards.push(guard);
        }
        for mut access in body.spawned.drain(..) {
            access.inline.clone_from(&self.inline);
            self.facts.spawned_accesses.push(access);
        }
        for mut guard in body.awaited.drain(..) {
            guard.inline.clone_from(&self.inline);
            self.facts.awaited_guards.push(guard);
        }
    }

    /// Hooks and modules the attributes of `f` declare.
    fn function_attrs(
        &mut self,
        f: &syn::ItemFn,
        name: &str,
        item_start: usize,
        body: &BodyVisitor,
    ) {
        for attr in &f.attrs {
            let Some(last) = attr.path().segments.last() else {
                continue;
            };
            let attr_name = last.ident.to_string();
            let args = match &attr.meta {
                syn::Meta::List(list) => split_args(list.tokens.clone(), self.src),
                _ => Vec::new(),
            };
            if HookKind::from_attribute(&attr_name).is_some() || attr_name == "vnet_module" {
                for arg in &args {
                    if let Arg::Named(n, ConstExpr::Path(path)) = arg {
                        if let ([alias], "crate") = (path.as_slice(), n.as_str()) {
                            let own = ["crate", "self", "super", "vnet_runtime"];
                            if !own.contains(&alias.as_str())
                                && !self.facts.runtime_aliases.contains(alias)
                            {
                                self.facts.runtime_aliases.push(alias.clone());
                            }
                        }
                    }
                }
            }
            if let Some(kind) = HookKind::from_attribute(&attr_name) {
                if let Some(hook) = self.hook(kind, name, f, &args, item_start, &body.facts) {
                    self.facts.hooks.push(hook);
                }
            } else if attr_name == "vnet_module" {
                if let Some(module) = self.module(name, f, &args, item_start) {
                    self.facts.modules.push(module);
                }
            }
        }
    }

    fn hook(
        &self,
        kind: HookKind,
        name: &str,
        f: &syn::ItemFn,
        args: &[Arg],
        item_start: usize,
        body: &BodyFacts,
    ) -> Option<HookFact> {
        let mut positional = args.iter().filter_map(|a| match a {
            Arg::Positional(expr, span) => Some((expr, span)),
            _ => None,
        });
        let (subsystem, subsystem_span) = positional.next()?;
        let (order, order_span) = positional.next()?;
        let module = args.iter().find_map(|a| match a {
            Arg::Named(n, v) if n == "module" => match v {
                ConstExpr::Path(p) if p.len() == 1 => Some(p[0].clone()),
                _ => None,
            },
            _ => None,
        });
        Some(HookFact {
            kind,
            name: name.to_owned(),
            inline: self.inline.clone(),
            subsystem: subsystem.clone(),
            subsystem_span: subsystem_span.clone(),
            order: order.clone(),
            order_span: order_span.clone(),
            module,
            span: f.sig.ident.span().byte_range(),
            item_start,
            line: f.sig.ident.span().start().line,
            body: body.clone(),
        })
    }

    fn module(
        &self,
        handler: &str,
        f: &syn::ItemFn,
        args: &[Arg],
        item_start: usize,
    ) -> Option<ModuleFact> {
        let mut positional = args.iter().filter_map(|a| match a {
            Arg::Positional(expr, span) => Some((expr, span)),
            _ => None,
        });
        let (name, name_span) = match positional.next()? {
            (ConstExpr::Path(p), span) if p.len() == 1 => (p[0].clone(), span.clone()),
            _ => return None,
        };
        let (subsystem, subsystem_span) = positional.next()?;
        let (order, order_span) = positional.next()?;
        let version = args
            .iter()
            .find_map(|a| match a {
                Arg::Named(n, v) if n == "version" => Some(v.clone()),
                _ => None,
            })
            .unwrap_or(ConstExpr::Int(1));
        let depends = args
            .iter()
            .filter_map(|a| match a {
                Arg::Depend(parts, span) => match parts.as_slice() {
                    [ConstExpr::Path(n), min, preferred, max, ..] if n.len() == 1 => {
                        Some(DependFact {
                            name: n[0].clone(),
                            min: min.clone(),
                            preferred: preferred.clone(),
                            max: max.clone(),
                            span: span.clone(),
                        })
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        Some(ModuleFact {
            name,
            name_span,
            inline: self.inline.clone(),
            subsystem: subsystem.clone(),
            subsystem_span: subsystem_span.clone(),
            order: order.clone(),
            order_span: order_span.clone(),
            version,
            depends,
            handler: handler.to_owned(),
            span: f.sig.ident.span().byte_range(),
            item_start,
            line: f.sig.ident.span().start().line,
            shutdown_arm: shutdown_arm(&f.block),
        })
    }
}

/// One argument of a hook or module attribute.
enum Arg {
    Positional(ConstExpr, Range<usize>),
    Named(String, ConstExpr),
    /// `depend(…)`: its comma-separated parts.
    Depend(Vec<ConstExpr>, Range<usize>),
}

/// Splits attribute tokens at top-level commas and reads each part.
fn split_args(tokens: TokenStream, src: &str) -> Vec<Arg> {
    let mut parts: Vec<Vec<TokenTree>> = vec![Vec::new()];
    for tree in tokens {
        match &tree {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("one part").push(tree),
        }
    }
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .filter_map(|part| {
            let span =
                part.first()?.span().byte_range().start..part.last()?.span().byte_range().end;
            if let [TokenTree::Ident(name), TokenTree::Punct(eq), rest @ ..] = part.as_slice() {
                if eq.as_char() == '=' && !rest.is_empty() {
                    let value: TokenStream = rest.iter().cloned().collect();
                    let value = syn::parse2::<syn::Expr>(value)
                        .map(|e| ConstExpr::from_syn(&e, src))
                        .unwrap_or_else(|_| ConstExpr::Unsupported(String::new()));
                    return Some(Arg::Named(name.to_string(), value));
                }
            }
            if let [TokenTree::Ident(name), TokenTree::Group(group)] = part.as_slice() {
                if name == "depend" {
                    let inner = split_args(group.stream(), src)
                        .into_iter()
                        .filter_map(|a| match a {
                            Arg::Positional(e, _) => Some(e),
                            _ => None,
                        })
                        .collect();
                    return Some(Arg::Depend(inner, span));
                }
            }
            let stream: TokenStream = part.into_iter().collect();
            let expr = syn::parse2::<syn::Expr>(stream).ok()?;
            Some(Arg::Positional(ConstExpr::from_syn(&expr, src), span))
        })
        .collect()
}

/// The body of the `Shutdown` arm of the handler's `match`, if it has one.
fn shutdown_arm(block: &syn::Block) -> Option<BodyFacts> {
    struct Finder(Option<BodyFacts>);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_arm(&mut self, arm: &'ast syn::Arm) {
            let names_shutdown = quote::ToTokens::to_token_stream(&arm.pat)
                .into_iter()
                .any(|t| matches!(&t, TokenTree::Ident(i) if i == "Shutdown"));
            if names_shutdown && self.0.is_none() {
                let mut body = BodyVisitor::default();
                body.visit_expr(&arm.body);
                self.0 = Some(body.facts);
            }
            syn::visit::visit_arm(self, arm);
        }
    }
    let mut finder = Finder(None);
    finder.visit_block(block);
    finder.0
}
