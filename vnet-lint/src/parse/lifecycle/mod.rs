//! One file → the plain facts the init-order model and the resolver need: `const` items, `use`
//! declarations, lifecycle hooks (`#[sysinit]`, `#[sysuninit]`, `#[vnet_sysinit]`, `#[vnet_sysuninit]`),
//! modules (`#[vnet_module]`), and for each function what it reads, writes and calls. Facts hold byte
//! ranges and strings, never syn trees or spans.
//!
//! `const_expr` reads key expressions, `collect` walks the items, `body` walks function bodies; the
//! fact types are here.

pub mod body;
pub mod collect;
pub mod const_expr;

pub use collect::collect;
use const_expr::ConstExpr;
use std::ops::Range;

/// Which kind of hook an attribute declares; the names are the runtime trace's event words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// `#[sysinit]`: once per process, at load.
    Sysinit,
    /// `#[sysuninit]`: once per process, at unload.
    Sysuninit,
    /// `#[vnet_sysinit]`: once per instance.
    VnetSysinit,
    /// `#[vnet_sysuninit]`: once per instance, at teardown.
    VnetSysuninit,
}

impl HookKind {
    /// The word the runtime's trace lines start with.
    ///
    /// ```
    /// assert_eq!(vnet_lint::parse::lifecycle::HookKind::VnetSysinit.event(), "VNET_SYSINIT");
    /// ```
    pub fn event(self) -> &'static str {
        match self {
            HookKind::Sysinit => "SYSINIT",
            HookKind::Sysuninit => "SYSUNINIT",
            HookKind::VnetSysinit => "VNET_SYSINIT",
            HookKind::VnetSysuninit => "VNET_SYSUNINIT",
        }
    }

    /// Whether it runs once per instance.
    pub fn per_instance(self) -> bool {
        matches!(self, HookKind::VnetSysinit | HookKind::VnetSysuninit)
    }

    /// Whether it is an init (not a teardown) hook.
    pub fn is_init(self) -> bool {
        matches!(self, HookKind::Sysinit | HookKind::VnetSysinit)
    }

    /// The attribute that declares it.
    pub fn attribute(self) -> &'static str {
        match self {
            HookKind::Sysinit => "sysinit",
            HookKind::Sysuninit => "sysuninit",
            HookKind::VnetSysinit => "vnet_sysinit",
            HookKind::VnetSysuninit => "vnet_sysuninit",
        }
    }

    fn from_attribute(name: &str) -> Option<HookKind> {
        Some(match name {
            "sysinit" => HookKind::Sysinit,
            "sysuninit" => HookKind::Sysuninit,
            "vnet_sysinit" => HookKind::VnetSysinit,
            "vnet_sysuninit" => HookKind::VnetSysuninit,
            _ => return None,
        })
    }
}

/// A `const NAME: T = expr;` item.
#[derive(Clone, Debug)]
pub struct ConstDef {
    /// Inline `mod` blocks around it, outermost first (empty at the file's top level).
    pub inline: Vec<String>,
    /// The constant's name.
    pub name: String,
    /// Its value as written.
    pub expr: ConstExpr,
}

/// One name a `use` brings in: `alias` (or `None` for a glob) stands for `path`.
#[derive(Clone, Debug)]
pub struct UseFact {
    /// Inline `mod` blocks around the `use`.
    pub inline: Vec<String>,
    /// The name in scope; `None` for `path::*`.
    pub alias: Option<String>,
    /// The full path as written, segments (`crate`, `self`, `super` kept).
    pub path: Vec<String>,
}

/// What a function body does that ordering rules look at.
#[derive(Clone, Debug, Default)]
pub struct BodyFacts {
    /// `V_` accessors used, by name (`V_RULES`), first use's byte range.
    pub reads: Vec<(String, Range<usize>)>,
    /// `V_` accessors whose value the body changes (`V_X.with(|x| x.store(…))`: a method that writes,
    /// such as `store`, `insert`, `reset`, `clear`, `fetch_add`), by name.
    pub writes: Vec<(String, Range<usize>)>,
    /// Functions called by name (last path segment), first call's byte range.
    pub calls: Vec<(String, Range<usize>)>,
    /// Functions called, by path as written (`route::numfibs`), first call's byte range: the
    /// resolver follows them.
    pub call_paths: Vec<(Vec<String>, Range<usize>)>,
    /// Receivers of method calls named like statics but not `V_…` (`FIBS.with(…)` after
    /// `use routing::V_FIBS as FIBS`): path, byte range, whether the call changes the value.
    pub receivers: Vec<(Vec<String>, Range<usize>, bool)>,
    /// Calls whose name says they register a handler or callback (`register`, `subscribe`,
    /// `add_handler`, `eventhandler_register`…), by name.
    pub registers: Vec<(String, Range<usize>)>,
    /// Calls whose name says they unregister one (`unregister`, `deregister`, `unsubscribe`,
    /// `remove_handler`…), by name.
    pub unregisters: Vec<(String, Range<usize>)>,
}

/// One lifecycle hook.
#[derive(Clone, Debug)]
pub struct HookFact {
    /// Which attribute declared it.
    pub kind: HookKind,
    /// The function's name.
    pub name: String,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
    /// The subsystem argument.
    pub subsystem: ConstExpr,
    /// Byte range of the subsystem argument.
    pub subsystem_span: Range<usize>,
    /// The order argument.
    pub order: ConstExpr,
    /// Byte range of the order argument.
    pub order_span: Range<usize>,
    /// `module = name`, when given.
    pub module: Option<String>,
    /// Byte range of the function's name.
    pub span: Range<usize>,
    /// Byte offset where the item starts (its first attribute), for allow comments.
    pub item_start: usize,
    /// One-based line of the function's name.
    pub line: usize,
    /// What its body does.
    pub body: BodyFacts,
}

/// One `depend(name, min, preferred, max)`.
#[derive(Clone, Debug)]
pub struct DependFact {
    /// The module depended on.
    pub name: String,
    /// Lowest acceptable version.
    pub min: ConstExpr,
    /// Preferred version.
    pub preferred: ConstExpr,
    /// Highest acceptable version.
    pub max: ConstExpr,
    /// Byte range of the `depend(…)` argument.
    pub span: Range<usize>,
}

/// One `#[vnet_module(name, SUB, ORDER, version = N, depend(…))]`.
#[derive(Clone, Debug)]
pub struct ModuleFact {
    /// The module's name.
    pub name: String,
    /// Byte range of the name argument.
    pub name_span: Range<usize>,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
    /// The subsystem argument.
    pub subsystem: ConstExpr,
    /// Byte range of the subsystem argument.
    pub subsystem_span: Range<usize>,
    /// The order argument.
    pub order: ConstExpr,
    /// Byte range of the order argument.
    pub order_span: Range<usize>,
    /// `version = N` (1 when not given).
    pub version: ConstExpr,
    /// Its dependencies.
    pub depends: Vec<DependFact>,
    /// The event handler's name.
    pub handler: String,
    /// Byte range of the handler's name.
    pub span: Range<usize>,
    /// Byte offset where the item starts.
    pub item_start: usize,
    /// One-based line of the handler's name.
    pub line: usize,
    /// What the handler's `Shutdown` arm does, when the handler matches on the event.
    pub shutdown_arm: Option<BodyFacts>,
}

/// A current-instance guard dropped as soon as it is made.
#[derive(Clone, Debug)]
pub struct DroppedGuard {
    /// Byte range of the statement.
    pub span: Range<usize>,
    /// How it was written (`let _ = …`, a bare statement, `drop(…)`).
    pub how: &'static str,
    /// The function called to make it (`curvnet_set`, `vnet_runtime::curvnet_set`); `None` for a
    /// method or a macro.
    pub maker: Option<Vec<String>>,
    /// Inline `mod` blocks around it, for resolving `maker`.
    pub inline: Vec<String>,
}

/// A current-instance guard held in a variable across an `.await`.
#[derive(Clone, Debug)]
pub struct AwaitedGuard {
    /// Byte range of the `let` statement that makes it.
    pub span: Range<usize>,
    /// One-based line of the first `.await` it is held across.
    pub await_line: usize,
    /// The variable.
    pub name: String,
    /// The function called to make it; `None` for a method or a macro.
    pub maker: Option<Vec<String>>,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
}

/// A `V_` accessor used inside a closure handed to a spawn, timer or callback registration.
#[derive(Clone, Debug)]
pub struct SpawnedAccess {
    /// The accessor's name.
    pub name: String,
    /// Byte range of the accessor.
    pub span: Range<usize>,
    /// The call the closure was handed to, as written (`thread::spawn`, `tokio::spawn`, `.spawn`).
    pub spawner: String,
    /// The path of the function called (`None` for a method such as `.spawn`), for resolving it.
    pub path: Option<Vec<String>>,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
}

/// A free function.
#[derive(Clone, Debug)]
pub struct FnFact {
    /// Its name.
    pub name: String,
    /// Inline `mod` blocks around it.
    pub inline: Vec<String>,
    /// One-based line of its name.
    pub line: usize,
    /// What its body does.
    pub body: BodyFacts,
}

/// Every fact of one file the model needs.
#[derive(Clone, Debug, Default)]
pub struct LifecycleFacts {
    /// `const` items.
    pub consts: Vec<ConstDef>,
    /// `use` declarations, flattened.
    pub uses: Vec<UseFact>,
    /// Inline `mod name { … }` blocks (their paths), so paths through them resolve.
    pub inline_modules: Vec<Vec<String>>,
    /// Lifecycle hooks.
    pub hooks: Vec<HookFact>,
    /// Modules.
    pub modules: Vec<ModuleFact>,
    /// Every free function's body facts, by name (hooks and handlers included).
    pub functions: Vec<FnFact>,
    /// Guards dropped at once.
    pub dropped_guards: Vec<DroppedGuard>,
    /// `V_` accessors in closures handed to calls, where the closure makes no instance current (the
    /// rule resolves the call to tell spawns that carry no instance).
    pub spawned_accesses: Vec<SpawnedAccess>,
    /// Guards held across an `.await`.
    pub awaited_guards: Vec<AwaitedGuard>,
    /// `#[vnet]` statics declared here, by accessor name (`V_RULES`), with the inline `mod` blocks
    /// around each.
    pub vnet_statics: Vec<(String, Vec<String>)>,
    /// Names a hook or module attribute gives the runtime crate (`crate = rt`): a dependency renamed
    /// in `Cargo.toml` needs it on every attribute, so paths through it (`rt::subsystem::…`) are the
    /// runtime's.
    pub runtime_aliases: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use const_expr::ConstExpr;

    #[test]
    fn hooks_modules_consts_and_uses() {
        let src = r#"
            use vnet_runtime::subsystem::*;
            use crate::keys::{ORDER as O, self};
            const A: u32 = SI_ORDER_ANY + (2 * 3) as u32;
            #[vnet_module(m, SI_SUB_PSEUDO, A, version = 2, depend(other, 1, 2, 3))]
            fn m_modevent(e: ModEvent) -> Result<(), ModError> { match e { ModEvent::Shutdown => Ok(()), _ => Ok(()) } }
            #[vnet_runtime::vnet_sysinit(SI_SUB_PSEUDO, O, module = m)]
            fn init() { V_X.with(|x| ()); helper(); }
        "#;
        let facts = collect(src).unwrap();
        assert_eq!(facts.consts.len(), 1);
        assert_eq!(facts.uses.len(), 3);
        assert_eq!(facts.uses[2].alias.as_deref(), Some("keys"));
        assert_eq!(facts.modules[0].depends[0].name, "other");
        assert_eq!(facts.modules[0].version, ConstExpr::Int(2));
        let hook = &facts.hooks[0];
        assert_eq!(hook.kind, HookKind::VnetSysinit);
        assert_eq!(hook.module.as_deref(), Some("m"));
        assert_eq!(hook.body.reads[0].0, "V_X");
        assert!(hook.body.calls.iter().any(|(n, _)| n == "helper"));
        assert!(facts.modules[0].shutdown_arm.is_some());
    }

    #[test]
    fn odd_attributes_and_keys_never_panic() {
        let cases = [
            "#[sysinit] fn f() {}",
            "#[sysinit(,,,)] fn f() {}",
            "#[sysinit(= 1, module =)] fn f() {}",
            "#[vnet_module(m, depend())] fn f(e: E) {}",
            "#[vnet_module(m, 1, 2, version = , depend(x, 1))] fn f(e: E) {}",
            "#[vnet_module] fn f(e: E) {}",
            "const A: u32 = -(-170141183460469231731687303715884105727 - 1); #[sysinit(A, A << 200)] fn f() {}",
            "const A: u32 = B; const B: u32 = A; #[vnet_sysinit(A, 1 / 0)] fn f() {}",
            "fn f() { std::thread::spawn(|| V_); let _ = curvnet_set; curvnet_set!(); }",
        ];
        for text in cases {
            let facts = collect(text).unwrap_or_default();
            let model = crate::model::Model::build(vec![crate::model::ModelFile {
                file: 0,
                module: vec!["c".into()],
                selected: true,
                facts,
            }]);
            let _ = crate::model::sequence::sequences(&model);
        }
    }
}
