// Per-instance hooks run for every instance, so they must come after the
// instance machinery exists and before it is done: FreeBSD asserts
// SI_SUB_VNET < subsystem <= SI_SUB_VNET_DONE. A known name is refused on the
// name; a computed subsystem by a constant assertion naming the hook.
use vnet_runtime::subsystem::SI_SUB_VNET;
use vnet_runtime::{vnet_sysinit, vnet_sysuninit};

#[vnet_sysinit(SI_SUB_KLD, SI_ORDER_ANY)]
fn too_early() {}

const MY_SUB: u32 = SI_SUB_VNET;

#[vnet_sysuninit(MY_SUB, 0)]
fn computed_too_early() {}

fn main() {
    too_early();
    computed_too_early();
}
