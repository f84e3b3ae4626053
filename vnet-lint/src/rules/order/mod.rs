//! `VN2xx`: init order. Each rule is a function from the whole-selection [`Model`] to findings; only
//! sites in selected files are reported (path dependencies are read for context).

pub mod init_without_uninit;
pub mod module_dependency;
pub mod order_key_unresolved;
pub mod reads_state_initialized_later;
pub mod reads_state_torn_down;
pub mod same_key_shared_state;
pub mod shutdown_tears_nothing_down;
pub mod unregistered_handler;
pub mod vnet_hook_outside_vnet;
pub mod vnet_sysinit_before_module;

use crate::diag::Finding;
use crate::model::Model;

/// A finding with the byte offset of the item it is about (allow comments sit above that item).
pub struct Located {
    /// The finding.
    pub finding: Finding,
    /// Where the flagged item starts.
    pub item_start: usize,
}

/// Every ordering rule over `model`, in code order.
pub fn check(model: &Model) -> Vec<Located> {
    let mut out = Vec::new();
    order_key_unresolved::check(model, &mut out);
    vnet_hook_outside_vnet::check(model, &mut out);
    vnet_sysinit_before_module::check(model, &mut out);
    module_dependency::check(model, &mut out);
    init_without_uninit::check(model, &mut out);
    reads_state_initialized_later::check(model, &mut out);
    same_key_shared_state::check(model, &mut out);
    shutdown_tears_nothing_down::check(model, &mut out);
    unregistered_handler::check(model, &mut out);
    reads_state_torn_down::check(model, &mut out);
    out
}
