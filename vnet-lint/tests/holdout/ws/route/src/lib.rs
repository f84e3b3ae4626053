//! Module `route`: loads first, sets its per-instance state up at (SI_SUB_PROTO_DOMAIN, keys::ROUTE_ORDER).

pub mod keys;
pub mod tables;

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use vnet_runtime::subsystem::*;
use vnet_runtime::{vnet, vnet_module, vnet_sysinit, vnet_sysuninit, ModError, ModEvent};

#[vnet]
pub static RT_NUMFIBS: AtomicU32 = AtomicU32::new(0);

#[vnet_module(route, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn route_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Shutdown => Err(ModError::unsupported()),
        _ => Ok(()),
    }
}

#[vnet_sysinit(SI_SUB_PROTO_DOMAIN, keys::ROUTE_ORDER)]
fn vnet_route_init() {
    V_RT_NUMFIBS.with(|n| n.store(16, Relaxed));
}

#[vnet_sysuninit(SI_SUB_PROTO_DOMAIN, keys::ROUTE_ORDER)]
fn vnet_route_uninit() {
    V_RT_NUMFIBS.with(|n| n.store(0, Relaxed));
}
