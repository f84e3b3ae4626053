//! `VN201 order-key-unresolved`: a `(subsystem, order)`, version or `module =` argument the lint cannot
//! evaluate or resolve.

use super::Located;
use crate::diag::Finding;
use crate::model::{Model, Problem};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks that every `(subsystem, order)` argument of `#[sysinit]`, `#[sysuninit]`, `#[vnet_sysinit]`,
    /// `#[vnet_sysuninit]` and `#[vnet_module]`, every version, and every `module = name` can be resolved
    /// from source: integers, the runtime's `SI_SUB_*`/`SI_ORDER_*`, `const` items of the selection (through
    /// `use`, globs and paths), arithmetic, parentheses and casts.
    ///
    /// ## Why is this bad?
    /// The order of evaluation is the part of a port that bites ("good foot shooting material if you get it
    /// wrong"). A key the lint cannot compute is a hook whose place in the sequence nobody can check before
    /// the program runs; the lint never guesses it. A `module = name` that names no module, or a hook in a
    /// crate with several modules and no `module =`, is refused by the runtime at boot.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, compute_order())] // a const fn call
    /// fn init() {}
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// const MY_ORDER: u32 = SI_ORDER_ANY + 2;
    /// #[vnet_sysinit(SI_SUB_PROTO_BEGIN, MY_ORDER)]
    /// fn init() {}
    /// ```
    ///
    /// ## Known problems
    /// Constants computed by `const fn`, built by macros, or defined in crates outside the selection and
    /// its path dependencies cannot be evaluated: write them as arithmetic on named constants.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(order-key-unresolved): reason` above the hook; `[levels]` in `vnet-lint.toml`.
    pub OrderKeyUnresolved => "VN201", "order-key-unresolved", Ordering, Deny, since "0.2.0",
    "lifecycle key, version or module name the lint cannot resolve"
}

/// Reports every unevaluable argument and unknown or ambiguous module of a hook.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for problem in &model.problems {
        let (site, span, message, label, help) = match problem {
            Problem::Unevaluable { site, span, what, error } => (
                site,
                span.clone(),
                format!("the {what} argument cannot be evaluated: {error}"),
                "not evaluable from source".to_owned(),
                "write it with integers, `SI_SUB_*`/`SI_ORDER_*` and `const` items of the crate (arithmetic \
                 and casts are fine), so its place in the init order is known"
                    .to_owned(),
            ),
            Problem::UnknownModule { site, name } => (
                site,
                site.span.clone(),
                format!("`module = {name}` names no module declared in the selection"),
                "unknown module".to_owned(),
                format!("declare it with `#[vnet_module({name}, SUBSYSTEM, ORDER)]`, or fix the name"),
            ),
            Problem::AmbiguousModule { site, names } => (
                site,
                site.span.clone(),
                format!(
                    "this crate declares several modules ({}), so the hook's module is ambiguous",
                    names.join(", ")
                ),
                "which module?".to_owned(),
                format!("name it: `module = {}`", names[0]),
            ),
            _ => continue,
        };
        if !site.selected {
            continue;
        }
        out.push(Located {
            finding: Finding::new(&OrderKeyUnresolved::RULE, site.file, span, message)
                .with_label(label)
                .with_help(help),
            item_start: site.item_start,
        });
    }
}
