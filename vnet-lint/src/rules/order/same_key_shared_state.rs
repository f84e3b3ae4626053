//! `VN207 same-key-shared-state`: two init hooks with the same `(subsystem, order)` where one uses state
//! the other initializes.

use super::reads_state_initialized_later::{initializers, only_reads};
use super::Located;
use crate::diag::Finding;
use crate::model::{keys, Model};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports an init hook that reads a `#[vnet]` static which another init hook with exactly the same
    /// `(subsystem, order)` sets up (changes, with `store`, `insert`, `reset`…). Both the read and the
    /// setup may happen in functions the hooks call, in other modules and crates of the selection
    /// (followed through the resolver, as for `VN206`); the message names the calls followed.
    ///
    /// ## Why is this bad?
    /// At equal keys the runtime orders hooks by kind, then module name, then function name: which one runs
    /// first is an accident of names. Renaming a function or a module silently reorders them.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY)]
    /// fn a_attach() { V_TABLE.with(|t| t.attach()); }
    /// #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY)]
    /// fn b_table_init() { V_TABLE.with(|t| t.reset()); }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST)]
    /// fn b_table_init() { V_TABLE.with(|t| t.reset()); }
    /// #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND)]
    /// fn a_attach() { V_TABLE.with(|t| t.attach()); }
    /// ```
    ///
    /// ## Known problems
    /// Writes are recognized by method name (`store`, `insert`, `reset`, `clear`, `fetch_add`…, see
    /// `VN206`); a hook that sets state up through a method of another name counts as a reader.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(same-key-shared-state): reason` above the hook.
    pub SameKeySharedState => "VN207", "same-key-shared-state", Ordering, Warn, since "0.2.0",
    "two init hooks tied on (subsystem, order) where one uses the other's state"
}

/// Reports users of state initialized by a hook with the same key.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for hook in model
        .hooks
        .iter()
        .filter(|h| h.kind.is_init() && h.site.selected)
    {
        let mut uses: Vec<(&String, std::ops::Range<usize>, String)> = hook
            .body
            .reads
            .iter()
            .map(|(a, span)| (a, span.clone(), String::new()))
            .collect();
        for reach in hook.reach.iter().filter(|r| !r.writes) {
            if !uses.iter().any(|(a, _, _)| **a == reach.accessor) {
                let through = format!(
                    " through {} ({}:{})",
                    reach.path(),
                    model.file_name(reach.file),
                    reach.line
                );
                uses.push((&reach.accessor, reach.call.clone(), through));
            }
        }
        for (accessor, span, through) in uses {
            if !only_reads(hook, accessor) {
                continue;
            }
            let tied = initializers(model, accessor).into_iter().find(|i| {
                i.name != hook.name
                    && (i.subsystem.value, i.order.value)
                        == (hook.subsystem.value, hook.order.value)
            });
            let Some(other) = tied else { continue };
            out.push(Located {
                finding: Finding::new(
                    &SameKeySharedState::RULE,
                    hook.site.file,
                    span,
                    format!(
                        "`{}` uses `{accessor}`{through}, which `{}` initializes at the same key ({}, {}): their order is decided by names",
                        hook.name,
                        other.name,
                        keys::subsystem_name(hook.subsystem.value),
                        keys::order_name(hook.order.value)
                    ),
                )
                .with_label("tied with its initializer")
                .with_help(format!(
                    "give `{}` a lower order than `{}` (for example `{} + 1` for the user)",
                    other.name, hook.name, other.order.written
                )),
                item_start: hook.site.item_start,
            });
        }
    }
}
