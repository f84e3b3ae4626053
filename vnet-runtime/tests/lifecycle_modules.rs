//! Modules: boot options, load after boot (dependencies first), vetoes,
//! forced unload, rollback of a failed load, shutdown, and the registration
//! race. Every test asserts the exact trace of what it did.
//!
//! The tests share one runtime and change which modules are loaded, so they
//! take `serial()` and leave the modules as they found them (`fw` loaded,
//! `proto` and `racer` not).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard, Once};

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::subsystem::*;
use vnet_runtime::{
    sysinit, sysuninit, trace, vnet_module, vnet_sysinit, vnet_sysuninit, Error, Vnet,
};

// ---- fw: version 2, loaded at boot ----------------------------------------

#[vnet_module(fw, SI_SUB_PROTO_FIREWALL, SI_ORDER_FIRST, version = 2)]
fn fw_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Load | ModEvent::Quiesce | ModEvent::Unload => Ok(()),
        ModEvent::Shutdown => Err(ModError::unsupported()),
    }
}

#[sysinit(SI_SUB_PROTO_FIREWALL, SI_ORDER_SECOND, module = fw)]
fn fw_init() {}

#[sysuninit(SI_SUB_PROTO_FIREWALL, SI_ORDER_SECOND, module = fw)]
fn fw_uninit() {}

#[vnet_sysinit(SI_SUB_PROTO_FIREWALL, SI_ORDER_THIRD, module = fw)]
fn fw_vnet_init() {}

#[vnet_sysuninit(SI_SUB_PROTO_FIREWALL, SI_ORDER_THIRD, module = fw)]
fn fw_vnet_uninit() {}

// ---- proto: the porting guide's mymod shape, depends on fw 2 -------------------------

const PROTO_MODULE_ORDER: u32 = SI_ORDER_ANY + 64;
const PROTO_SYSINIT_ORDER: u32 = PROTO_MODULE_ORDER + 1;
const PROTO_VNET_ORDER: u32 = PROTO_MODULE_ORDER + 2;

static PROTO_BUSY: AtomicBool = AtomicBool::new(false);
static PROTO_PINNED: AtomicBool = AtomicBool::new(false);
static PROTO_FAIL_LOAD: AtomicBool = AtomicBool::new(false);

#[vnet_module(
    proto,
    SI_SUB_PROTO_BEGIN,
    PROTO_MODULE_ORDER,
    version = 1,
    depend(fw, 2, 2, 2)
)]
fn proto_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Load if PROTO_FAIL_LOAD.load(SeqCst) => Err(ModError::new("no memory")),
        ModEvent::Quiesce if PROTO_BUSY.load(SeqCst) => Err(ModError::new("proto is busy")),
        ModEvent::Unload if PROTO_PINNED.load(SeqCst) => Err("pinned".into()),
        _ => Ok(()),
    }
}

#[sysinit(SI_SUB_PROTO_BEGIN, PROTO_SYSINIT_ORDER, module = proto)]
fn proto_init() {}

#[sysuninit(SI_SUB_PROTO_BEGIN, PROTO_SYSINIT_ORDER, module = proto)]
fn proto_uninit() {}

/// Fails in instances named `poison-*`.
#[vnet_sysinit(SI_SUB_PROTO_BEGIN, PROTO_VNET_ORDER, module = proto)]
fn proto_vnet_init() -> Result<(), String> {
    match Vnet::current() {
        Some(v) if v.name().starts_with("poison-") => Err("poisoned".to_owned()),
        Some(_) => Ok(()),
        None => Err("no current instance".to_owned()),
    }
}

#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, PROTO_VNET_ORDER, module = proto)]
fn proto_vnet_uninit() {}

// ---- orphan: wants a version of fw that is not linked -----------------------

#[vnet_module(orphan, SI_SUB_PSEUDO, SI_ORDER_ANY, depend(fw, 3, 3, 4))]
fn orphan_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

// ---- racer: counts its per-instance hooks ------------------------------------

static RACE_LOG: Mutex<Option<HashMap<String, String>>> = Mutex::new(None);

fn race_event(event: char) {
    let name = Vnet::current().unwrap().name().to_owned();
    if name.starts_with("race-") {
        RACE_LOG
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .entry(name)
            .or_default()
            .push(event);
    }
}

#[vnet_module(racer, SI_SUB_PROTO_IF, SI_ORDER_ANY)]
fn racer_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_FIRST, module = racer)]
fn racer_vnet_init() {
    race_event('i');
}

#[vnet_sysuninit(SI_SUB_PROTO_IF, SI_ORDER_FIRST, module = racer)]
fn racer_vnet_uninit() {
    race_event('u');
}

// ---- helpers ------------------------------------------------------------------

static SERIAL: Mutex<()> = Mutex::new(());
static BOOT: Once = Once::new();
static BOOT_RESULT: Mutex<Option<Result<(), Error>>> = Mutex::new(None);

/// Boots once with only `fw` at boot, then serializes the test.
fn serial() -> MutexGuard<'static, ()> {
    BOOT.call_once(|| {
        let result = vnet_runtime::BootOptions::new().modules(["fw"]).boot();
        *BOOT_RESULT.lock().unwrap() = Some(result);
    });
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

fn traced<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    trace::capture(f)
}

// ---- tests ----------------------------------------------------------------------

#[test]
fn boot_loads_only_the_chosen_modules_and_reports_version_mismatches() {
    let _s = serial();
    check(
        &trace::boot_lines(),
        "
        MODEVENT(load) fw subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_FIRST version=2
        SYSINIT fw_init subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_SECOND module=fw
        VNET_SYSINIT fw_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        ",
    );
    let err = BOOT_RESULT.lock().unwrap().clone().unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "module `orphan`: depends on module `fw` version 3..=4 (preferred 3), but the linked one is version 2"
    );
    assert_eq!(module::boot_errors(), vec![err]);
    let orphan = module::load("orphan").unwrap_err();
    assert!(orphan.to_string().contains("version 3..=4"), "{orphan}");
    let list = vnet_runtime::introspect::modules();
    let names: Vec<(&str, bool, bool)> =
        list.iter().map(|m| (m.name, m.loaded, m.usable)).collect();
    assert_eq!(
        names,
        [
            ("fw", true, true),
            ("orphan", false, false),
            ("proto", false, true),
            ("racer", false, true)
        ]
    );
    assert_eq!(
        vnet_runtime::BootOptions::new().boot(),
        Err(Error::AlreadyBooted)
    );
}

#[test]
fn unknown_modules_and_double_loads_are_refused() {
    let _s = serial();
    let err = module::load("nosuch").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("module `nosuch`: no module of this name is linked"),
        "{err}"
    );
    assert_eq!(
        module::load("fw").unwrap_err(),
        Error::Module {
            module: "fw".into(),
            reason: "already loaded".into()
        }
    );
    assert!(module::unload("proto")
        .unwrap_err()
        .to_string()
        .contains("not loaded"));
}

#[cfg(feature = "vimage")]
#[test]
fn load_after_boot_runs_modevent_sysinits_and_vnet_sysinits_on_every_instance_sorted() {
    let _s = serial();
    let a = Vnet::create("mods-a").unwrap();
    let ((), lines) = traced(|| module::load("proto").unwrap());
    check(
        &lines,
        "
        MODEVENT(load) proto subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+64 version=1
        SYSINIT proto_init subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        VNET_SYSINIT proto_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        VNET_SYSINIT proto_vnet_init vnet=mods-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        ",
    );
    // Later instances get the module's VNET_SYSINITs too, sorted with the others.
    let (b, lines) = traced(|| Vnet::create("mods-b").unwrap());
    check(
        &lines,
        "
        VNET_SYSINIT proto_vnet_init vnet=mods-b subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        VNET_SYSINIT fw_vnet_init vnet=mods-b subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        ",
    );
    let ((), lines) = traced(|| b.destroy().unwrap());
    check(
        &lines,
        "
        VNET_SYSUNINIT fw_vnet_uninit vnet=mods-b subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        VNET_SYSUNINIT proto_vnet_uninit vnet=mods-b subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        ",
    );
    // A module others depend on cannot be unloaded.
    let ((), lines) = traced(|| {
        let err = module::unload("fw").unwrap_err();
        assert_eq!(
            err.to_string(),
            "module `fw`: loaded module(s) proto depend on it: unload it first"
        );
    });
    assert!(lines.is_empty(), "{lines:?}");
    // Unload: quiesce, unload, then teardown in reverse, and not the handler after.
    let ((), lines) = traced(|| module::unload("proto").unwrap());
    check(
        &lines,
        "
        MODEVENT(quiesce) proto
        MODEVENT(unload) proto
        VNET_SYSUNINIT proto_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        VNET_SYSUNINIT proto_vnet_uninit vnet=mods-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        SYSUNINIT proto_uninit subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        ",
    );
    // Instances destroyed after the unload run only what is still loaded.
    let ((), lines) = traced(|| a.destroy().unwrap());
    check(
        &lines,
        "VNET_SYSUNINIT fw_vnet_uninit vnet=mods-a subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw",
    );
}

#[test]
fn quiesce_veto_leaves_everything_loaded_and_forced_unload_ignores_it() {
    let _s = serial();
    module::load("proto").unwrap();
    PROTO_BUSY.store(true, SeqCst);
    let (err, lines) = traced(|| module::unload("proto").unwrap_err());
    check(
        &lines,
        r#"MODEVENT(quiesce) proto result=vetoed error="proto is busy""#,
    );
    assert_eq!(
        err.to_string(),
        "module `proto`: unload vetoed by MODEVENT(quiesce): proto is busy"
    );
    assert!(module::is_loaded("proto"));
    let ((), lines) = traced(|| module::unload_forced("proto").unwrap());
    PROTO_BUSY.store(false, SeqCst);
    check(
        &lines,
        r#"
        MODEVENT(quiesce) proto result=veto-ignored error="proto is busy"
        MODEVENT(unload) proto
        VNET_SYSUNINIT proto_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        SYSUNINIT proto_uninit subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        "#,
    );
    assert!(!module::is_loaded("proto"));
}

#[test]
fn unload_veto_holds_even_when_forced() {
    let _s = serial();
    module::load("proto").unwrap();
    PROTO_PINNED.store(true, SeqCst);
    let (err, lines) = traced(|| module::unload_forced("proto").unwrap_err());
    check(
        &lines,
        r#"
        MODEVENT(quiesce) proto
        MODEVENT(unload) proto result=vetoed error="pinned"
        "#,
    );
    assert_eq!(
        err.to_string(),
        "module `proto`: unload vetoed by MODEVENT(unload): pinned"
    );
    assert!(module::is_loaded("proto"));
    PROTO_PINNED.store(false, SeqCst);
    module::unload("proto").unwrap();
}

#[test]
fn a_failed_modevent_load_leaves_the_module_unloaded() {
    let _s = serial();
    PROTO_FAIL_LOAD.store(true, SeqCst);
    let (err, lines) = traced(|| module::load("proto").unwrap_err());
    PROTO_FAIL_LOAD.store(false, SeqCst);
    check(
        &lines,
        r#"MODEVENT(load) proto subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+64 version=1 result=failed error="no memory""#,
    );
    assert_eq!(
        err,
        Error::Hook {
            hook: "MODEVENT(load)".into(),
            module: "proto".into(),
            reason: "no memory".into()
        }
    );
    assert!(!module::is_loaded("proto"));
}

#[cfg(feature = "vimage")]
#[test]
fn a_failed_vnet_sysinit_rolls_back_the_load_on_every_instance() {
    let _s = serial();
    let poison = Vnet::create("poison-1").unwrap();
    let (err, lines) = traced(|| module::load("proto").unwrap_err());
    check(
        &lines,
        r#"
        MODEVENT(load) proto subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+64 version=1
        SYSINIT proto_init subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        VNET_SYSINIT proto_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        VNET_SYSINIT proto_vnet_init vnet=poison-1 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto result=failed error="poisoned"
        VNET_SYSUNINIT proto_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        SYSUNINIT proto_uninit subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        MODEVENT(unload) proto
        "#,
    );
    assert_eq!(
        err.to_string(),
        "hook `proto_vnet_init` of module `proto` failed: poisoned (in vnet `poison-1`)"
    );
    assert!(!module::is_loaded("proto"));
    // Nothing of proto is left registered: a new instance runs fw only.
    let (v, lines) = traced(|| Vnet::create("mods-after-rollback").unwrap());
    assert_eq!(lines.len(), 1, "{lines:?}");
    v.destroy().unwrap();
    poison.destroy().unwrap();
}

#[cfg(feature = "vimage")]
#[test]
fn a_failed_load_also_unloads_the_dependencies_it_loaded() {
    let _s = serial();
    module::unload("fw").unwrap();
    let poison = Vnet::create("poison-2").unwrap();
    let (err, lines) = traced(|| module::load("proto").unwrap_err());
    check(
        &lines,
        r#"
        MODEVENT(load) fw subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_FIRST version=2
        SYSINIT fw_init subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_SECOND module=fw
        VNET_SYSINIT fw_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        VNET_SYSINIT fw_vnet_init vnet=poison-2 subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        MODEVENT(load) proto subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+64 version=1
        SYSINIT proto_init subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        VNET_SYSINIT proto_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        VNET_SYSINIT proto_vnet_init vnet=poison-2 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto result=failed error="poisoned"
        VNET_SYSUNINIT proto_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=proto
        SYSUNINIT proto_uninit subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=proto
        MODEVENT(unload) proto
        VNET_SYSUNINIT fw_vnet_uninit vnet=vnet0 subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        VNET_SYSUNINIT fw_vnet_uninit vnet=poison-2 subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_THIRD module=fw
        SYSUNINIT fw_uninit subsystem=SI_SUB_PROTO_FIREWALL order=SI_ORDER_SECOND module=fw
        MODEVENT(unload) fw
        "#,
    );
    assert!(err.to_string().contains("poisoned"));
    assert!(!module::is_loaded("fw") && !module::is_loaded("proto"));
    let ((), lines) = traced(|| poison.destroy().unwrap());
    assert!(lines.is_empty(), "{lines:?}");
    module::load("fw").unwrap();
}

#[test]
fn shutdown_sends_only_modevent_shutdown_newest_first() {
    let _s = serial();
    module::load("proto").unwrap();
    let ((), lines) = traced(module::shutdown);
    check(
        &lines,
        "
        MODEVENT(shutdown) proto
        MODEVENT(shutdown) fw result=unsupported
        ",
    );
    assert!(module::is_loaded("proto") && module::is_loaded("fw"));
    module::unload("proto").unwrap();
}

/// Module load and unload racing with creation and destruction on other
/// threads: every instance that ends up live ran the module's per-instance
/// init exactly once per load, and every initialized one its teardown
/// exactly once.
#[cfg(feature = "vimage")]
#[test]
fn no_registration_race() {
    let _s = serial();
    const THREADS: usize = 3;
    const ROUNDS: usize = 150;
    let kept: Vec<Vnet> = std::thread::scope(|s| {
        let loader = s.spawn(|| {
            for _ in 0..ROUNDS / 2 {
                module::load("racer").unwrap();
                std::thread::yield_now();
                module::unload("racer").unwrap();
            }
            module::load("racer").unwrap();
        });
        let makers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    let mut kept = Vec::new();
                    for i in 0..ROUNDS {
                        let v = Vnet::create(&format!("race-{t}-{i}")).unwrap();
                        if i % 3 == 0 {
                            kept.push(v);
                        } else {
                            v.destroy().unwrap();
                        }
                    }
                    kept
                })
            })
            .collect();
        loader.join().unwrap();
        makers.into_iter().flat_map(|m| m.join().unwrap()).collect()
    });
    let log = RACE_LOG.lock().unwrap().take().unwrap_or_default();
    for t in 0..THREADS {
        for i in 0..ROUNDS {
            let name = format!("race-{t}-{i}");
            let events = log.get(&name).map(String::as_str).unwrap_or("");
            let alternates = events
                .chars()
                .enumerate()
                .all(|(k, c)| c == if k % 2 == 0 { 'i' } else { 'u' });
            assert!(alternates, "{name}: {events}");
            let live = kept.iter().any(|v| v.name() == name);
            if live {
                assert!(
                    events.ends_with('i'),
                    "{name} is live with racer loaded: {events}"
                );
            } else {
                assert!(
                    events.is_empty() || events.ends_with('u'),
                    "{name} was destroyed: {events}"
                );
            }
        }
    }
    module::unload("racer").unwrap();
    for v in kept {
        v.destroy().unwrap();
    }
}

#[cfg(not(feature = "vimage"))]
#[test]
fn without_vimage_a_module_load_runs_its_vnet_sysinits_once() {
    let _s = serial();
    let ((), lines) = traced(|| module::load("proto").unwrap());
    assert_eq!(
        lines.iter().filter(|l| l.contains("vnet=vnet0")).count(),
        1,
        "{lines:?}"
    );
    module::unload("proto").unwrap();
}
