//! `VN209 unregistered-handler`: an event handler or callback registered in an init hook and never
//! unregistered by the module's teardown hooks.

use super::Located;
use crate::diag::Finding;
use crate::model::Model;
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a call whose name says it registers a handler or callback (`register…`, `…_register`,
    /// `subscribe`, `add_handler`) in a `#[sysinit]` or `#[vnet_sysinit]`, when no teardown hook of the same
    /// module calls one that unregisters (`unregister…`, `deregister…`, `unsubscribe`, `remove_handler`).
    ///
    /// ## Why is this bad?
    /// "Don't forget to unregister event handlers": once the module unloads or the instance goes, the
    /// registered callback still points at code and state that are gone.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn init() { ifnet_events().register(on_link_change); }
    /// #[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn uninit() {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn uninit() { ifnet_events().unregister(on_link_change); }
    /// ```
    ///
    /// ## Known problems
    /// Calls are matched by name, in the hooks' own bodies only (not in functions they call).
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(unregistered-handler): reason` above the registering statement.
    pub UnregisteredHandler => "VN209", "unregistered-handler", Ordering, Warn, since "0.2.0",
    "handler registered in an init hook and never unregistered in a teardown hook"
}

/// Reports registrations without a matching unregistration.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for hook in model
        .hooks
        .iter()
        .filter(|h| h.kind.is_init() && h.site.selected)
    {
        let unregisters = model
            .hooks
            .iter()
            .any(|u| u.unit == hook.unit && !u.kind.is_init() && !u.body.unregisters.is_empty());
        if unregisters {
            continue;
        }
        for (name, span) in &hook.body.registers {
            out.push(Located {
                finding: Finding::new(
                    &UnregisteredHandler::RULE,
                    hook.site.file,
                    span.clone(),
                    format!(
                        "`{}` registers a handler with `{name}`, and no teardown hook of module `{}` unregisters it",
                        hook.name,
                        model.unit_name(hook.unit)
                    ),
                )
                .with_label("registered, never unregistered")
                .with_help(format!(
                    "unregister it in the matching `#[{}]` hook",
                    if hook.kind.per_instance() { "vnet_sysuninit" } else { "sysuninit" }
                )),
                item_start: span.start,
            });
        }
    }
}
