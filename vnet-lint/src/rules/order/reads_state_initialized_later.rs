//! `VN206 reads-state-initialized-later`: an init hook that reads state another hook initializes later in
//! the same sequence, or state of a module its own module does not depend on.

use super::Located;
use crate::diag::Finding;
use crate::model::names::Named;
use crate::model::{keys, Hook, Model, Unit};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// For every `#[sysinit]` and `#[vnet_sysinit]`, looks at the `V_` accessors it uses and the functions
    /// of other crates it calls. A `#[vnet]` static is set up by the init hooks that change it
    /// (`V_X.with(|x| x.store(…))`, `insert`, `reset`, `clear`, `fetch_add`…). The rule reports a hook that
    /// only reads a static before every hook that sets it up has run (by the runtime's sort), and a hook
    /// that uses the state (the module of the crate declaring the static) or functions of a module its own
    /// module does not depend on.
    ///
    /// ## Why is this bad?
    /// Hooks run in `(subsystem, order)` order, across every module, in one sequence. A hook keyed before
    /// the hook that sets state up reads the declared initial value (or a half-built table); a hook that
    /// uses a module it does not depend on runs whether or not that module loaded. FreeBSD's porting guide: "good foot
    /// shooting material if you get it wrong".
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_ANY)]           // runs first
    /// fn attach() { V_ROUTES.with(|r| r.add_default()); }
    /// #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY)]       // sets V_ROUTES up, later
    /// fn routes_init() { V_ROUTES.with(|r| r.reset()); }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_sysinit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY)] // after SI_SUB_PROTO_DOMAIN
    /// fn attach() { V_ROUTES.with(|r| r.add_default()); }
    /// ```
    ///
    /// Calls are followed through the resolver, into functions of other modules and other crates of the
    /// selection, transitively: a hook that reads state through `route::numfibs()` is reported at the
    /// call, and the message names every call followed and where the state is read. A call into a
    /// function of another module whose load event runs after the hook is reported too.
    ///
    /// ## Known problems
    /// Writes are recognized by method name only. Calls are followed eight levels deep, through free
    /// functions only (methods, closures and trait calls are not followed).
    /// Ties on `(subsystem, order)` are `VN207`'s. A crate that declares several modules owns its
    /// statics through no module (no dependency check for them).
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(reads-state-initialized-later): reason` above the hook.
    pub ReadsStateInitializedLater => "VN206", "reads-state-initialized-later", Ordering, Deny, since "0.2.0",
    "init hook that uses state initialized later, or of a module it does not depend on"
}

fn level(hook: &Hook) -> (u32, u32) {
    (hook.subsystem.value, hook.order.value)
}

/// The init hooks (of modules that load) that change the static behind `accessor`, themselves or
/// through the functions they call.
/// The first hook that sets `accessor` up, when every one of them runs after `hook`.
fn set_up_later<'m>(model: &'m Model, accessor: &str, hook: &Hook) -> Option<&'m Hook> {
    let inits = initializers(model, accessor);
    if inits.is_empty() || !inits.iter().all(|i| level(i) > level(hook)) {
        return None;
    }
    inits.into_iter().min_by_key(|i| level(i))
}

/// The label of a use that comes before `first` sets `accessor` up.
fn set_up_later_label(accessor: &str, first: &Hook) -> String {
    format!(
        "`{accessor}` is set up later, at ({}, {})",
        keys::subsystem_name(first.subsystem.value),
        keys::order_name(first.order.value)
    )
}

pub(crate) fn initializers<'m>(model: &'m Model, accessor: &str) -> Vec<&'m Hook> {
    model
        .hooks
        .iter()
        .filter(|h| h.kind.is_init() && model.loads(h.unit))
        .filter(|h| changes(h, accessor))
        .collect()
}

/// Whether `hook` changes the static behind `accessor`, itself or through a function it calls.
pub(crate) fn changes(hook: &Hook, accessor: &str) -> bool {
    hook.body.writes.iter().any(|(n, _)| n == accessor)
        || hook
            .reach
            .iter()
            .any(|r| r.writes && r.accessor == accessor)
}

/// Whether `hook` only reads `accessor` (uses it without changing it, itself or through calls).
pub(crate) fn only_reads(hook: &Hook, accessor: &str) -> bool {
    !changes(hook, accessor)
}

/// Reports uses of state before its initialization, and across missing dependencies.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for hook in model
        .hooks
        .iter()
        .filter(|h| h.kind.is_init() && h.site.selected)
    {
        if !model.loads(hook.unit) {
            continue;
        }
        let mut report =
            |span: std::ops::Range<usize>, message: String, label: String, help: String| {
                out.push(Located {
                    finding: Finding::new(
                        &ReadsStateInitializedLater::RULE,
                        hook.site.file,
                        span,
                        message,
                    )
                    .with_label(label)
                    .with_help(help),
                    item_start: hook.site.item_start,
                });
            };
        // Uses before every hook that sets the state up.
        let mut reported = Vec::new();
        for (accessor, span) in &hook.body.reads {
            if !only_reads(hook, accessor) {
                continue;
            }
            let Some(first) = set_up_later(model, accessor, hook) else {
                continue;
            };
            reported.push(accessor.clone());
            report(
                span.clone(),
                format!(
                    "`{}` uses `{accessor}` before `{}` (module `{}`) sets it up",
                    hook.name,
                    first.name,
                    model.unit_name(first.unit)
                ),
                set_up_later_label(accessor, first),
                format!(
                    "key `{}` after `{}`: a higher subsystem, or the same subsystem and a higher order than ({}, {})",
                    hook.name, first.name, first.subsystem.written, first.order.written
                ),
            );
        }
        // Uses through the functions it calls, in this module, others and other crates.
        for reach in &hook.reach {
            let accessor = &reach.accessor;
            if reach.writes || !only_reads(hook, accessor) || reported.contains(accessor) {
                continue;
            }
            let Some(first) = set_up_later(model, accessor, hook) else {
                continue;
            };
            reported.push(accessor.clone());
            report(
                reach.call.clone(),
                format!(
                    "`{}` reads `{accessor}` through {} ({}:{}), which `{}` (module `{}`) sets up later",
                    hook.name,
                    reach.path(),
                    model.file_name(reach.file),
                    reach.line,
                    first.name,
                    model.unit_name(first.unit)
                ),
                set_up_later_label(accessor, first),
                format!(
                    "key `{}` after `{}`: a higher subsystem, or the same subsystem and a higher order than ({}, {}); or move the call into a later hook",
                    hook.name, first.name, first.subsystem.written, first.order.written
                ),
            );
        }
        // State and functions of modules this hook's module does not depend on.
        let mut uses: Vec<(std::ops::Range<usize>, Unit, String)> = Vec::new();
        for (accessor, span) in &hook.body.reads {
            if let (Some(owner), false) = (model.owner_of(accessor), reported.contains(accessor)) {
                uses.push((span.clone(), owner, format!("`{accessor}`")));
            }
        }
        let mut called: Vec<(std::ops::Range<usize>, usize, String)> = Vec::new();
        for (path, span) in &hook.body.call_paths {
            let Some(Named::Fn(module, _)) = model.names.resolve(&hook.scope, path) else {
                continue;
            };
            let krate = Model::crate_of(&module);
            if krate == hook.krate {
                continue;
            }
            if let Some(owner @ Unit::Module(o)) = model.unit_of_crate(krate) {
                let shown = path.join("::");
                uses.push((span.clone(), owner, format!("`{shown}()`")));
                called.push((span.clone(), o, shown));
            }
        }
        // Functions of a module that loads later in the boot sequence.
        let mut late = Vec::new();
        for (span, o, name) in called {
            let module = &model.modules[o];
            let loads_at = (module.subsystem.value, module.order.value);
            if Unit::Module(o) != hook.unit
                && model.loads(Unit::Module(o))
                && loads_at > level(hook)
            {
                late.push(span.clone());
                report(
                    span,
                    format!(
                        "`{}` calls `{name}()` of module `{}`, which loads later in the boot sequence",
                        hook.name, module.name
                    ),
                    format!(
                        "`{}` loads at ({}, {})",
                        module.name,
                        keys::subsystem_name(loads_at.0),
                        keys::order_name(loads_at.1)
                    ),
                    format!(
                        "key `{}` after module `{}` ({}, {}), or move the call into a later hook",
                        hook.name, module.name, module.subsystem.written, module.order.written
                    ),
                );
            }
        }
        for (span, owner, what) in uses {
            if late.contains(&span) {
                continue;
            }
            let missing = match (hook.unit, owner) {
                (Unit::Module(m), Unit::Module(o)) => m != o && !model.depends_on(m, o),
                (Unit::Base, Unit::Module(_)) => true,
                _ => false,
            };
            if !missing {
                continue;
            }
            let mine = model.unit_name(hook.unit).to_owned();
            let theirs = model.unit_name(owner).to_owned();
            report(
                span,
                format!(
                    "`{}` (module `{mine}`) uses {what} of module `{theirs}`, which `{mine}` does not depend on",
                    hook.name
                ),
                format!("state of module `{theirs}`"),
                if hook.unit == Unit::Base {
                    format!("declare a module for this crate with `depend({theirs}, …)`, or move the hook into `{theirs}`")
                } else {
                    format!("add `depend({theirs}, MIN, PREFERRED, MAX)` to `#[vnet_module({mine}, …)]`")
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{Model, ModelFile};
    use crate::parse::lifecycle::collect;

    fn model(files: &[(&str, &str)]) -> Model {
        Model::build(
            files
                .iter()
                .enumerate()
                .map(|(i, (krate, text))| ModelFile {
                    file: i,
                    module: vec![(*krate).to_owned()],
                    selected: true,
                    facts: collect(text).expect("parses"),
                })
                .collect(),
        )
    }

    const ROUTES: &str = "
        use vnet_runtime::subsystem::*;
        #[vnet] static TABLE: Table = Table::new();
        #[vnet_module(routes, SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST)]
        fn routes_modevent(e: ModEvent) -> Result<(), ModError> { Ok(()) }
        #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY)]
        fn routes_init() { V_TABLE.with(|t| t.reset()); }
        pub fn lookup() {}
    ";

    fn codes(model: &Model) -> Vec<String> {
        let mut out = Vec::new();
        super::check(model, &mut out);
        out.into_iter().map(|l| l.finding.message).collect()
    }

    #[test]
    fn state_and_functions_of_a_module_not_depended_on() {
        let ifnet = |depend: &str| {
            format!(
                "use vnet_runtime::subsystem::*;
                #[vnet_module(ifnet, SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_FIRST{depend})]
                fn ifnet_modevent(e: ModEvent) -> Result<(), ModError> {{ Ok(()) }}
                #[vnet_sysinit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY)]
                fn attach() {{ V_TABLE.with(|t| t.len()); routes::lookup(); }}"
            )
        };
        let without = model(&[("routes", ROUTES), ("ifnet", &ifnet(""))]);
        let messages = codes(&without);
        assert_eq!(messages.len(), 2, "{messages:?}");
        // ifnet's hook runs after routes loads, so only the missing dependency is reported.
        assert!(
            messages[0].contains("`V_TABLE` of module `routes`, which `ifnet` does not depend on")
        );
        assert!(messages[1].contains("`routes::lookup()` of module `routes`"));
        let with = model(&[
            ("routes", ROUTES),
            ("ifnet", &ifnet(", depend(routes, 1, 1, 1)")),
        ]);
        assert!(codes(&with).is_empty(), "{:?}", codes(&with));
    }
}
