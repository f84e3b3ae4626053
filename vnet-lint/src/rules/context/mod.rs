//! `VN3xx`: the current instance. Each rule reads one file's facts and asks the model's resolver what
//! the functions called there are (a spawn that carries no instance, the runtime's guard…).

pub mod guard_dropped_at_once;
pub mod guard_held_across_await;
pub mod v_accessor_in_spawned_closure;

use crate::diag::{FileId, Finding};
use crate::model::names::Named;
use crate::model::Model;
use crate::parse::lifecycle::LifecycleFacts;

/// Every context rule over the facts of file `file`, whose module path is `module`.
pub fn check(
    model: &Model,
    file: FileId,
    module: &[String],
    facts: &LifecycleFacts,
) -> Vec<(Finding, usize)> {
    let mut out = Vec::new();
    guard_dropped_at_once::check(model, file, module, facts, &mut out);
    guard_held_across_await::check(model, file, module, facts, &mut out);
    v_accessor_in_spawned_closure::check(model, file, module, facts, &mut out);
    out
}

/// Whether the function `maker` (written in `module` + `inline`) makes the runtime's current-instance
/// guard: `curvnet_set` of the runtime however imported, or a `curvnet_set` the resolver cannot place
/// (not one of the selection's own functions). Methods and macros (`None`) are the runtime's.
pub(crate) fn is_guard_maker(
    model: &Model,
    module: &[String],
    inline: &[String],
    maker: Option<&Vec<String>>,
) -> bool {
    let Some(path) = maker else {
        return true;
    };
    let scope: Vec<String> = module.iter().chain(inline).cloned().collect();
    match model.names.resolve(&scope, path) {
        Some(Named::External(p)) => p.first().is_some_and(|k| k == "vnet_runtime"),
        Some(_) => false,
        None => true,
    }
}
