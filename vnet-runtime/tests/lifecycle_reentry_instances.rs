//! Hooks of a module load that create or destroy instances: every instance
//! that ends up live gets the module's per-instance init exactly once, an
//! instance destroyed meanwhile gets no init on its corpse and no teardown
//! for an init it never had, and a rollback tears down the instances created
//! during the load too.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard, Once};

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{trace, vnet_module, vnet_sysinit, vnet_sysuninit, BootOptions, Vnet};

static ACTION: AtomicU8 = AtomicU8::new(0);
const SPAWN_THEN_FAIL: u8 = 1;
const DESTROY_VICTIM: u8 = 2;

#[vnet_module(spawner, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn spawner_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = spawner)]
fn spawner_vnet_init() {
    let current = vnet_runtime::Vnet::current().unwrap();
    if current.name() != "vnet0" {
        return;
    }
    match ACTION.load(SeqCst) {
        SPAWN_THEN_FAIL => {
            Vnet::create("spawned").unwrap();
        }
        DESTROY_VICTIM => {
            Vnet::lookup("victim").unwrap().destroy().unwrap();
        }
        _ => {}
    }
}

#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = spawner)]
fn spawner_vnet_uninit() {}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_THIRD, module = spawner)]
fn spawner_vnet_late() -> Result<(), &'static str> {
    if ACTION.load(SeqCst) == SPAWN_THEN_FAIL {
        Err("late failure")
    } else {
        Ok(())
    }
}

static SERIAL: Mutex<()> = Mutex::new(());
static BOOT: Once = Once::new();

fn serial() -> MutexGuard<'static, ()> {
    BOOT.call_once(|| BootOptions::new().modules::<&str>([]).boot().unwrap());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn check(actual: &[String], expected: &str) {
    let expected: Vec<String> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(
        actual,
        expected.as_slice(),
        "\nactual:\n{}\n",
        actual.join("\n")
    );
}

#[test]
fn a_failed_load_also_tears_down_instances_its_hooks_created() {
    let _s = serial();
    ACTION.store(SPAWN_THEN_FAIL, SeqCst);
    let (result, lines) = trace::capture(|| module::load("spawner"));
    ACTION.store(0, SeqCst);
    assert!(result.is_err());
    check(
        &lines,
        r#"
        MODEVENT(load) spawner subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST version=1
        VNET_SYSINIT spawner_vnet_init vnet=spawned subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=spawner
        VNET_SYSINIT spawner_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=spawner
        VNET_SYSINIT spawner_vnet_late vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_THIRD module=spawner result=failed error="late failure"
        VNET_SYSUNINIT spawner_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=spawner
        VNET_SYSUNINIT spawner_vnet_uninit vnet=spawned subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=spawner
        MODEVENT(unload) spawner
        "#,
    );
    Vnet::lookup("spawned").unwrap().destroy().unwrap();
}

#[test]
fn an_instance_destroyed_by_a_hook_during_a_load_gets_neither_init_nor_teardown() {
    let _s = serial();
    let victim = Vnet::create("victim").unwrap();
    ACTION.store(DESTROY_VICTIM, SeqCst);
    let (result, lines) = trace::capture(|| module::load("spawner"));
    ACTION.store(0, SeqCst);
    result.unwrap();
    assert_eq!(victim.state(), vnet_runtime::VnetState::Destroyed);
    check(
        &lines,
        "
        MODEVENT(load) spawner subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST version=1
        VNET_SYSINIT spawner_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_SECOND module=spawner
        VNET_SYSINIT spawner_vnet_late vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_THIRD module=spawner
        ",
    );
    module::unload("spawner").unwrap();
}

static UNLOAD_VICTIM: AtomicU8 = AtomicU8::new(0);

#[vnet_module(unloader, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn unloader_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_FIRST, module = unloader)]
fn unloader_vnet_init() {}

#[vnet_sysuninit(SI_SUB_PROTO_IF, SI_ORDER_FIRST, module = unloader)]
fn unloader_vnet_uninit_low() {}

#[vnet_sysuninit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = unloader)]
fn unloader_vnet_uninit_high() {
    let current = vnet_runtime::Vnet::current().unwrap();
    if current.name() == "vnet0" && UNLOAD_VICTIM.swap(0, SeqCst) == 1 {
        Vnet::lookup("unload-victim").unwrap().destroy().unwrap();
    }
}

#[test]
fn an_instance_destroyed_by_a_hook_during_an_unload_is_torn_down_exactly_once() {
    let _s = serial();
    module::load("unloader").unwrap();
    let _victim = Vnet::create("unload-victim").unwrap();
    UNLOAD_VICTIM.store(1, SeqCst);
    let (result, lines) = trace::capture(|| module::unload("unloader"));
    result.unwrap();
    let lines: Vec<String> = lines
        .into_iter()
        .filter(|l| l.contains("unloader_vnet") || l.starts_with("MODEVENT"))
        .map(|l| l.split(" subsystem=").next().unwrap().to_owned())
        .collect();
    check(
        &lines,
        "
        MODEVENT(quiesce) unloader
        MODEVENT(unload) unloader
        VNET_SYSUNINIT unloader_vnet_uninit_high vnet=unload-victim
        VNET_SYSUNINIT unloader_vnet_uninit_low vnet=unload-victim
        VNET_SYSUNINIT unloader_vnet_uninit_high vnet=vnet0
        VNET_SYSUNINIT unloader_vnet_uninit_low vnet=vnet0
        ",
    );
}
