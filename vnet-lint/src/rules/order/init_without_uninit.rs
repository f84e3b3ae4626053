//! `VN205 init-without-uninit`: a VNET_SYSINIT without a VNET_SYSUNINIT in the same module (likewise
//! SYSINIT/SYSUNINIT), or a teardown hook keyed differently from its init.

use super::Located;
use crate::diag::Finding;
use crate::model::{keys, Hook, Model};
use crate::parse::lifecycle::HookKind;
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks that every module (and the base) with a `#[vnet_sysinit]` also has a `#[vnet_sysuninit]`,
    /// and with a `#[sysinit]` also a `#[sysuninit]`; and that a teardown hook paired with an init (by
    /// name: `x_init` and `x_uninit`/`x_destroy`, or the only two) uses the same `(subsystem, order)`.
    ///
    /// ## Why is this bad?
    /// Without a teardown, state leaks every time an instance goes or the module unloads. Teardown runs
    /// in reverse order of the keys, and a failed step tears down only hooks at or below the level it
    /// reached: an uninit keyed differently from its init does not mirror it, and may not run at all.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn vnet_x_init() { V_TABLE.with(|t| t.fill()); } // nothing empties it
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn vnet_x_init() { V_TABLE.with(|t| t.fill()); }
    /// #[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
    /// fn vnet_x_uninit() { V_TABLE.with(|t| t.clear()); }
    /// ```
    ///
    /// ## Known problems
    /// An init with nothing to undo still needs an (empty) teardown to pass; say why with an allow
    /// comment instead.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(init-without-uninit): reason` above the init hook.
    pub InitWithoutUninit => "VN205", "init-without-uninit", Ordering, Warn, since "0.2.0",
    "init hook without a teardown hook, or a teardown keyed differently from its init"
}

/// `x_init` → `x`, `x_uninit`/`x_destroy`/`x_fini` → `x`.
fn stem(name: &str) -> &str {
    for suffix in ["_uninit", "_destroy", "_fini", "_init"] {
        if let Some(s) = name.strip_suffix(suffix) {
            return s;
        }
    }
    name
}

/// Reports unpaired and non-mirrored init hooks.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    let mut units: Vec<_> = model.hooks.iter().map(|h| h.unit).collect();
    units.sort();
    units.dedup();
    for unit in units {
        for (init, uninit) in [
            (HookKind::VnetSysinit, HookKind::VnetSysuninit),
            (HookKind::Sysinit, HookKind::Sysuninit),
        ] {
            let of = |kind| -> Vec<&Hook> {
                model
                    .hooks
                    .iter()
                    .filter(|h| h.unit == unit && h.kind == kind)
                    .collect()
            };
            let (inits, uninits) = (of(init), of(uninit));
            for hook in &inits {
                if !hook.site.selected {
                    continue;
                }
                let by_stem = uninits.iter().any(|u| stem(&u.name) == stem(&hook.name));
                if uninits.is_empty() || (!by_stem && uninits.len() < inits.len()) {
                    out.push(Located {
                        finding: Finding::new(
                            &InitWithoutUninit::RULE,
                            hook.site.file,
                            hook.site.span.clone(),
                            format!(
                                "init hook `{}` ({}) has no {} in module `{}`",
                                hook.name,
                                init.event(),
                                uninit.event(),
                                model.unit_name(unit)
                            ),
                        )
                        .with_label("never undone")
                        .with_help(format!(
                            "add `#[{}({}, {})] fn {}_uninit() {{ … }}` that undoes it",
                            uninit.attribute(),
                            hook.subsystem.written,
                            hook.order.written,
                            stem(&hook.name)
                        ))
                        .with_note(if init.per_instance() {
                            "its state leaks every time an instance is destroyed or the module unloads"
                        } else {
                            "its state leaks every time the module unloads"
                        }),
                        item_start: hook.site.item_start,
                    });
                    continue;
                }
                let paired = uninits
                    .iter()
                    .find(|u| stem(&u.name) == stem(&hook.name))
                    .or_else(|| (inits.len() == 1 && uninits.len() == 1).then(|| &uninits[0]));
                let Some(u) = paired else { continue };
                let (a, b) = (
                    (hook.subsystem.value, hook.order.value),
                    (u.subsystem.value, u.order.value),
                );
                if a != b && u.site.selected {
                    out.push(Located {
                        finding: Finding::new(
                            &InitWithoutUninit::RULE,
                            u.site.file,
                            u.site.span.clone(),
                            format!(
                                "teardown hook `{}` ({}) is keyed ({}, {}) but its init `{}` ({}, {}): the teardown does not mirror the init",
                                u.name,
                                uninit.event(),
                                keys::subsystem_name(b.0),
                                keys::order_name(b.1),
                                hook.name,
                                keys::subsystem_name(a.0),
                                keys::order_name(a.1)
                            ),
                        )
                        .with_label("not mirrored")
                        .with_help(format!(
                            "use the init's key: `#[{}({}, {})]`",
                            uninit.attribute(),
                            hook.subsystem.written,
                            hook.order.written
                        )),
                        item_start: u.site.item_start,
                    });
                }
            }
        }
    }
}
