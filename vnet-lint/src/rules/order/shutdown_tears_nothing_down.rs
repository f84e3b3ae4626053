//! `VN208 shutdown-tears-nothing-down`: a modevent handler whose shutdown arm does nothing while the
//! module has per-instance state.

use super::Located;
use crate::diag::Finding;
use crate::model::{Model, Unit};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// For a module with `#[vnet_sysinit]` hooks, looks at the `ModEvent::Shutdown` arm of its event
    /// handler: it should call the module's teardown (its `#[vnet_sysuninit]` hooks, `vnet_foreach`, or
    /// `V_` state), or decline explicitly with `ModError::unsupported()`.
    ///
    /// ## Why is this bad?
    /// At shutdown only the handler runs, no SYSUNINIT and no VNET_SYSUNINIT: "it may have to simulate the
    /// calling of the other handlers". An arm that just returns `Ok(())` leaves every instance's state as
    /// it was (open files, sockets, hardware).
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_module(mymod, SI_SUB_PROTO_BEGIN, SI_ORDER_MIDDLE)]
    /// fn mymod_modevent(event: ModEvent) -> Result<(), ModError> {
    ///     match event {
    ///         ModEvent::Shutdown => Ok(()), // tears nothing down
    ///         _ => Ok(()),
    ///     }
    /// }
    ///
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_MIDDLE + 2)]
    /// fn mymod_vnet_init() {}
    /// #[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_MIDDLE + 2)]
    /// fn mymod_vnet_uninit() {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// ModEvent::Shutdown => {
    ///     vnet_foreach(|_| mymod_vnet_uninit());
    ///     mymod_uninit();
    ///     Ok(())
    /// }
    /// // or, when nothing needs doing: ModEvent::Shutdown => Err(ModError::unsupported()),
    /// ```
    ///
    /// ## Known problems
    /// Only a `match` arm naming `Shutdown` is read; a wildcard arm is not.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(shutdown-tears-nothing-down): reason` above the handler.
    pub ShutdownTearsNothingDown => "VN208", "shutdown-tears-nothing-down", Ordering, Warn, since "0.2.0",
    "shutdown arm that tears nothing down while the module has per-instance state"
}

/// Calls that leave a value unchanged: result constructors.
const NEUTRAL: &[&str] = &["Ok", "Err", "new", "Some", "into", "from"];

/// Reports empty shutdown arms of modules with per-instance state.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for (m, module) in model.modules.iter().enumerate() {
        let Some(arm) = &module.shutdown_arm else {
            continue;
        };
        let per_instance = model
            .hooks
            .iter()
            .any(|h| h.unit == Unit::Module(m) && h.kind.per_instance());
        let declines = arm.calls.iter().any(|(n, _)| n == "unsupported");
        let does_something = !arm.reads.is_empty()
            || arm
                .calls
                .iter()
                .any(|(n, _)| !NEUTRAL.contains(&n.as_str()));
        if !per_instance || declines || does_something || !module.site.selected {
            continue;
        }
        out.push(Located {
            finding: Finding::new(
                &ShutdownTearsNothingDown::RULE,
                module.site.file,
                module.site.span.clone(),
                format!(
                    "the shutdown arm of `{}` tears nothing down, but module `{}` has per-instance state",
                    module.handler, module.name
                ),
            )
            .with_label("only this handler runs at shutdown")
            .with_help(
                "simulate the teardown in the `ModEvent::Shutdown` arm (`vnet_foreach(|_| my_vnet_uninit())`, \
                 then the SYSUNINIT), or return `Err(ModError::unsupported())` if nothing needs doing",
            ),
            item_start: module.site.item_start,
        });
    }
}
