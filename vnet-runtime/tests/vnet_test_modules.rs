//! `#[vnet_test(modules(...))]`: the named modules are loaded before the
//! test's instance is created, so their VNET_SYSINITs ran in it. A binary of
//! its own: loading and unloading are process-wide.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{vnet, vnet_test};

#[vnet_runtime::vnet_module(probe, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY, version = 1)]
fn probe_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Load | ModEvent::Unload => Ok(()),
        _ => Err(ModError::unsupported()),
    }
}

#[vnet]
static PROBE_READY: AtomicBool = AtomicBool::new(false);

#[vnet_runtime::vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
fn probe_vnet_init() {
    mark_probe_ready();
}

fn mark_probe_ready() {
    V_PROBE_READY.with(|r| r.store(true, Relaxed));
}

#[vnet_test(modules(probe))]
#[ignore = "run by `named_modules_are_loaded_before_the_instance_is_created`"]
fn needs_probe() {
    assert!(module::is_loaded("probe"));
    assert!(
        V_PROBE_READY.with(|r| r.load(Relaxed)),
        "probe's VNET_SYSINIT ran in this instance"
    );
}

#[vnet_test(modules("not_linked"))]
#[ignore = "run by `a_module_that_cannot_load_fails_the_test`"]
fn needs_a_missing_module() {}

#[test]
fn named_modules_are_loaded_before_the_instance_is_created() {
    vnet_runtime::boot();
    module::unload("probe").unwrap();
    assert!(!module::is_loaded("probe"));
    needs_probe();
    assert!(module::is_loaded("probe"), "it stays loaded, like kldload");
    needs_probe(); // loaded already: nothing to do
}

#[test]
fn a_module_that_cannot_load_fails_the_test() {
    let payload = std::panic::catch_unwind(needs_a_missing_module).unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("#[vnet_test] `needs_a_missing_module` needs module `not_linked`"),
        "{message}"
    );
}
