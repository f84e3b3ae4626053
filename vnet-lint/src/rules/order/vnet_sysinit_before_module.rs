//! `VN203 vnet-sysinit-before-module`: a VNET_SYSINIT ordered before its own module's load event or one
//! of its SYSINITs.

use super::Located;
use crate::diag::Finding;
use crate::model::{keys, Model, Unit};
use crate::parse::lifecycle::HookKind;
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks that each `#[vnet_sysinit]` of a module is ordered at or after the module's own
    /// `#[vnet_module]` key and after every `#[sysinit]` of that module.
    ///
    /// ## Why is this bad?
    /// FreeBSD's order puts them `MODULE`, then `SYSINIT` "a bit later", then `VNET` "later still" on purpose:
    /// the per-instance init uses what the module's load event and its once-per-process init set up. A
    /// VNET_SYSINIT keyed earlier runs first, on every instance, against state that does not exist yet.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_module(mymod, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn mymod_modevent(e: ModEvent) -> Result<(), ModError> { Ok(()) }
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)] // before the module loads
    /// fn mymod_vnet_init() {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// const MYMOD_MODULE_ORDER: u32 = SI_ORDER_ANY - 2;
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, MYMOD_MODULE_ORDER + 2)]
    /// fn mymod_vnet_init() {}
    /// ```
    ///
    /// ## Known problems
    /// Only hooks of the same module are compared; orderings between modules are the dependency rules'.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(vnet-sysinit-before-module): reason` above the hook.
    pub VnetSysinitBeforeModule => "VN203", "vnet-sysinit-before-module", Ordering, Deny, since "0.2.0",
    "VNET_SYSINIT ordered before its own module's load event or SYSINIT"
}

/// Reports per-instance inits keyed before their module's load or once-per-process inits.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for hook in &model.hooks {
        let (HookKind::VnetSysinit, Unit::Module(m), true) =
            (hook.kind, hook.unit, hook.site.selected)
        else {
            continue;
        };
        let level = (hook.subsystem.value, hook.order.value);
        let module = &model.modules[m];
        let earlier = if level < (module.subsystem.value, module.order.value) {
            Some((
                format!("the load event of module `{}`", module.name),
                &module.subsystem,
                &module.order,
            ))
        } else {
            model
                .hooks
                .iter()
                .find(|s| {
                    s.kind == HookKind::Sysinit
                        && s.unit == hook.unit
                        && level < (s.subsystem.value, s.order.value)
                })
                .map(|s| (format!("SYSINIT `{}`", s.name), &s.subsystem, &s.order))
        };
        let Some((what, sub, order)) = earlier else {
            continue;
        };
        out.push(Located {
            finding: Finding::new(
                &VnetSysinitBeforeModule::RULE,
                hook.site.file,
                hook.order_span.clone(),
                format!(
                    "per-instance init `{}` (VNET_SYSINIT) runs before {what}",
                    hook.name
                ),
            )
            .with_label(format!(
                "runs at ({}, {})",
                keys::subsystem_name(hook.subsystem.value),
                keys::order_name(hook.order.value)
            ))
            .with_help(format!(
                "key it after {what}'s ({}, {}): FreeBSD's order is MODULE, then SYSINIT (\"a bit \
                 later\"), then VNET (\"later still\"), e.g. the module's order + 2",
                sub.written, order.written
            )),
            item_start: hook.site.item_start,
        });
    }
}
