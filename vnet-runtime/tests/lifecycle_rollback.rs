//! Rollback paths that need their own boot: a module whose init fails
//! during the boot sequence (it and the boot modules that depend on it are
//! undone, in reverse, and the boot goes on), and a SYSINIT failing in a load
//! after boot.

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{
    sysinit, sysuninit, trace, vnet_module, vnet_sysinit, vnet_sysuninit, BootOptions,
};

fn ok(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

// `dependent` loads first (its key is lower) but needs `flaky`.
#[vnet_module(dependent, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST, depend(flaky, 1, 1, 1))]
fn dependent_modevent(event: ModEvent) -> Result<(), ModError> {
    ok(event)
}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = dependent)]
fn dependent_vnet_init() {}

#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = dependent)]
fn dependent_vnet_uninit() {}

#[vnet_module(flaky, SI_SUB_PROTO_IF, SI_ORDER_FIRST)]
fn flaky_modevent(event: ModEvent) -> Result<(), ModError> {
    ok(event)
}

#[sysinit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = flaky)]
fn flaky_init() {}

#[sysuninit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = flaky)]
fn flaky_uninit() {}

#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_THIRD, module = flaky)]
fn flaky_vnet_init() -> Result<(), &'static str> {
    Err("no interfaces")
}

// Unrelated: its steps come after the failure and still run.
#[vnet_module(steady, SI_SUB_PROTO_FIREWALL, SI_ORDER_FIRST)]
fn steady_modevent(event: ModEvent) -> Result<(), ModError> {
    ok(event)
}

#[sysinit(SI_SUB_PROTO_FIREWALL, SI_ORDER_SECOND, module = steady)]
fn steady_init() {}

// Not loaded at boot; its SYSINIT fails.
#[vnet_module(late, SI_SUB_PSEUDO, SI_ORDER_FIRST)]
fn late_modevent(event: ModEvent) -> Result<(), ModError> {
    ok(event)
}

#[sysinit(SI_SUB_PSEUDO, SI_ORDER_SECOND, module = late)]
fn late_init() -> Result<(), String> {
    Err("late_init refused".to_owned())
}

#[sysuninit(SI_SUB_PSEUDO, SI_ORDER_FIRST, module = late)]
fn late_uninit() {}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn boot_failure_undoes_the_module_and_its_dependents_and_boot_goes_on() {
    let err = BootOptions::new()
        .modules(["dependent", "steady"])
        .boot()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "hook `flaky_vnet_init` of module `flaky` failed: no interfaces (in vnet `vnet0`)"
    );
    assert_eq!(
        trace::boot_lines(),
        lines(
            r#"
            MODEVENT(load) dependent subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST version=1
            VNET_SYSINIT dependent_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=dependent
            MODEVENT(load) flaky subsystem=SI_SUB_PROTO_IF order=SI_ORDER_FIRST version=1
            SYSINIT flaky_init subsystem=SI_SUB_PROTO_IF order=SI_ORDER_SECOND module=flaky
            VNET_SYSINIT flaky_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_IF order=SI_ORDER_THIRD module=flaky result=failed error="no interfaces"
            SYSUNINIT flaky_uninit subsystem=SI_SUB_PROTO_IF order=SI_ORDER_SECOND module=flaky
            MODEVENT(unload) flaky
            VNET_SYSUNINIT dependent_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=dependent
            MODEVENT(unload) dependent
            MODEVENT(load) steady subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_FIRST version=1
            SYSINIT steady_init subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_SECOND module=steady
            "#
        )
    );
    assert!(!module::is_loaded("dependent") && !module::is_loaded("flaky"));
    assert!(module::is_loaded("steady"));

    // A failing SYSINIT in a load after boot: the module event is undone.
    let (err, lines_) = trace::capture(|| module::load("late").unwrap_err());
    assert_eq!(
        err.to_string(),
        "hook `late_init` of module `late` failed: late_init refused"
    );
    assert_eq!(
        lines_,
        lines(
            r#"
            MODEVENT(load) late subsystem=SI_SUB_PSEUDO order=SI_ORDER_FIRST version=1
            SYSINIT late_init subsystem=SI_SUB_PSEUDO order=SI_ORDER_SECOND module=late result=failed error="late_init refused"
            SYSUNINIT late_uninit subsystem=SI_SUB_PSEUDO order=SI_ORDER_FIRST module=late
            MODEVENT(unload) late
            "#
        )
    );
    assert!(!module::is_loaded("late"));
}
