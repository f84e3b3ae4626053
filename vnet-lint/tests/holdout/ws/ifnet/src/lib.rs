//! Module `ifnet`, depending on `route` (the workspace's other crate, renamed `routing` in Cargo.toml).

mod asyncs;
mod foreign;
mod keys;
mod late;
pub mod reexport;
mod stats;
mod work;

use routing::tables;
use vnet_runtime::subsystem::*;
use vnet_runtime::{vnet_module, vnet_sysinit, vnet_sysuninit, ModError, ModEvent};

#[vnet_module(ifnet, SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, depend(route, 1, 1, 1))]
fn ifnet_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Shutdown => Err(ModError::unsupported()),
        _ => Ok(()),
    }
}

// H1: reads `V_RT_NUMFIBS` through `tables::indirect()` → `numfibs()` (another crate, two calls deep),
// which `vnet_route_init` sets later. Key through a `const` in another module.
#[vnet_sysinit(SI_SUB_PROTO_IF, keys::IF_ORDER)]
fn vnet_loif_init() {
    let _ = tables::indirect(); // EXPECT VN206
}

// H2: reads it through `stats::snapshot()` (another module of this crate, a renamed import).
#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_ANY)]
fn vnet_if_clone_init() {
    stats::snapshot(); // EXPECT VN206
}

// H3: keyed after `vnet_route_init`: fine.
#[vnet_sysinit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY)]
fn vnet_if_attach_init() {
    let _ = routing::tables::indirect();
}

// H4: a local function that shares the name of route's `numfibs` and reads nothing.
fn numfibs() -> u32 {
    1
}

#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_THIRD)]
fn vnet_if_local_init() {
    let _ = numfibs();
}

// H10: teardown runs in reverse key order: `vnet_route_uninit` (SI_SUB_PROTO_DOMAIN) has already reset
// `V_RT_NUMFIBS` when this one (SI_SUB_PROTO_IF) reads it through `tables::numfibs()`.
#[vnet_sysuninit(SI_SUB_PROTO_IF, keys::IF_ORDER)]
fn vnet_loif_uninit() {
    let _ = tables::numfibs(); // EXPECT VN210
}

// H11: keyed after route's teardown key, so it runs before it: fine.
#[vnet_sysuninit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY)]
fn vnet_if_attach_uninit() {
    let _ = tables::numfibs();
}
