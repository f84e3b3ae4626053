//! `VN202 vnet-hook-outside-vnet`: a per-instance hook whose subsystem is not in
//! `(SI_SUB_VNET, SI_SUB_VNET_DONE]`.

use super::Located;
use crate::diag::Finding;
use crate::model::{keys, Model, Problem};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks that `#[vnet_sysinit]` and `#[vnet_sysuninit]` hooks use a subsystem above `SI_SUB_VNET` and
    /// at most `SI_SUB_VNET_DONE`.
    ///
    /// ## Why is this bad?
    /// Below `SI_SUB_VNET` the default instance does not exist yet; above `SI_SUB_VNET_DONE` the boot is
    /// over. FreeBSD asserts this range, and the runtime refuses such a hook (it never runs). The lint says
    /// so in the editor, before a build.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_sysinit(SI_SUB_KLD, SI_ORDER_ANY)]
    /// fn init() {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn init() {}
    /// ```
    ///
    /// ## Known problems
    /// None known.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(vnet-hook-outside-vnet): reason` above the hook.
    pub VnetHookOutsideVnet => "VN202", "vnet-hook-outside-vnet", Ordering, Deny, since "0.2.0",
    "per-instance hook with a subsystem outside (SI_SUB_VNET, SI_SUB_VNET_DONE]"
}

/// Reports per-instance hooks outside the instance subsystems.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for problem in &model.problems {
        let Problem::VnetHookOutsideVnet { hook } = problem else {
            continue;
        };
        if !hook.site.selected {
            continue;
        }
        let value = hook.subsystem.value;
        let side = if value <= keys::SI_SUB_VNET {
            "it would run before the default instance exists"
        } else {
            "it would run after the end of boot"
        };
        out.push(Located {
            finding: Finding::new(
                &VnetHookOutsideVnet::RULE,
                hook.site.file,
                hook.subsystem_span.clone(),
                format!(
                    "per-instance hook `{}` uses subsystem {} ({}), outside (SI_SUB_VNET, SI_SUB_VNET_DONE]",
                    hook.name,
                    hook.subsystem.written,
                    keys::subsystem_name(value)
                ),
            )
            .with_label(side)
            .with_help(
                "use a subsystem above `SI_SUB_VNET` and at most `SI_SUB_VNET_DONE`, such as \
                 `SI_SUB_PROTO_BEGIN`, or make it a `#[sysinit]` if it runs once per process",
            )
            .with_note("the runtime refuses this hook at boot: it never runs"),
            item_start: hook.site.item_start,
        });
    }
}
