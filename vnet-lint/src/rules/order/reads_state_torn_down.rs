//! `VN210 reads-state-torn-down`: a teardown hook that uses state another teardown hook of the same
//! sequence has already torn down — the mirror of `VN206`.

use super::reads_state_initialized_later::changes;
use super::Located;
use crate::diag::Finding;
use crate::model::{keys, Hook, Model};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// For every `#[vnet_sysuninit]` and `#[sysuninit]`, looks at the `#[vnet]` statics it uses, itself
    /// or through the functions it calls (followed into other modules and crates of the selection). A
    /// static is torn down by the teardown hooks that change it (`clear`, `reset`, `store`, `take`…).
    /// The rule reports a teardown hook that only reads a static when every teardown hook of the same
    /// sequence that tears it down runs before it.
    ///
    /// ## Why is this bad?
    /// Teardown runs in reverse order of the keys: the hook with the highest `(subsystem, order)` runs
    /// first. A teardown keyed below the one that empties a table runs after it and reads the emptied
    /// (or freed) state. FreeBSD moved per-instance teardown into ordered `VNET_SYSUNINIT`s for exactly
    /// this reason.
    ///
    /// ## Example
    /// ```rust,ignore
    /// #[vnet_sysuninit(SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY)]   // runs first at teardown
    /// fn routes_uninit() { V_ROUTES.with(|r| r.clear()); }
    /// #[vnet_sysuninit(SI_SUB_PROTO_IF, SI_ORDER_ANY)]       // runs later: the table is empty
    /// fn detach() { V_ROUTES.with(|r| r.remove_default()); }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_sysuninit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY)] // above SI_SUB_PROTO_DOMAIN: runs first
    /// fn detach() { V_ROUTES.with(|r| r.remove_default()); }
    /// ```
    ///
    /// ## Known problems
    /// Writes are recognized by method name only. Calls are followed eight levels deep, through free
    /// functions only. Ties on `(subsystem, order)` are not reported (the tie order is by name).
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(reads-state-torn-down): reason` above the teardown hook.
    pub ReadsStateTornDown => "VN210", "reads-state-torn-down", Ordering, Deny, since "0.2.0",
    "teardown hook that uses state another teardown hook already tore down"
}

fn level(hook: &Hook) -> (u32, u32) {
    (hook.subsystem.value, hook.order.value)
}

/// The teardown hooks of `hook`'s sequence (same kind, modules that load) that change `accessor`.
fn tearers<'m>(model: &'m Model, hook: &Hook, accessor: &str) -> Vec<&'m Hook> {
    model
        .hooks
        .iter()
        .filter(|h| h.kind == hook.kind && model.loads(h.unit))
        .filter(|h| !(h.name == hook.name && h.site == hook.site))
        .filter(|h| changes(h, accessor))
        .collect()
}

/// Reports teardown hooks that use state already torn down.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for hook in model
        .hooks
        .iter()
        .filter(|h| !h.kind.is_init() && h.site.selected && model.loads(h.unit))
    {
        // (accessor, where, how it is reached)
        let mut uses: Vec<(String, std::ops::Range<usize>, Option<String>)> = hook
            .body
            .reads
            .iter()
            .map(|(a, span)| (a.clone(), span.clone(), None))
            .collect();
        for reach in hook.reach.iter().filter(|r| !r.writes) {
            if !uses.iter().any(|(a, _, _)| *a == reach.accessor) {
                uses.push((
                    reach.accessor.clone(),
                    reach.call.clone(),
                    Some(format!(
                        " through {} ({}:{})",
                        reach.path(),
                        model.file_name(reach.file),
                        reach.line
                    )),
                ));
            }
        }
        for (accessor, span, through) in uses {
            if changes(hook, &accessor) {
                continue;
            }
            let before = tearers(model, hook, &accessor);
            if before.is_empty() || !before.iter().all(|t| level(t) > level(hook)) {
                continue;
            }
            let last = before.iter().min_by_key(|t| level(t)).expect("not empty");
            out.push(Located {
                finding: Finding::new(
                    &ReadsStateTornDown::RULE,
                    hook.site.file,
                    span,
                    format!(
                        "`{}` reads `{accessor}`{}, which `{}` (module `{}`) already tore down: teardown runs in reverse key order",
                        hook.name,
                        through.unwrap_or_default(),
                        last.name,
                        model.unit_name(last.unit)
                    ),
                )
                .with_label(format!(
                    "`{accessor}` was torn down at ({}, {})",
                    keys::subsystem_name(last.subsystem.value),
                    keys::order_name(last.order.value)
                ))
                .with_help(format!(
                    "key `{}` above `{}`'s ({}, {}) so it runs first, or stop using `{accessor}` in teardown",
                    hook.name, last.name, last.subsystem.written, last.order.written
                )),
                item_start: hook.site.item_start,
            });
        }
    }
}
