//! Re-entrancy: hooks and module handlers that call back into the lifecycle
//! (load, unload or shut down modules) are refused instead of deadlocking on
//! the lifecycle lock or running a module's sequence twice; shutdown runs
//! once.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{sysinit, trace, vnet_module, vnet_sysinit, BootOptions, Error, Vnet};

/// What `reentrant_vnet_init` does when it runs.
static ACTION: AtomicU8 = AtomicU8::new(0);
const NOTHING: u8 = 0;
const LOAD: u8 = 1;
const SHUTDOWN: u8 = 2;
const UNLOAD_SELF: u8 = 3;

static OUTCOME: Mutex<Option<String>> = Mutex::new(None);

#[vnet_module(reent, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn reent_modevent(event: ModEvent) -> Result<(), ModError> {
    if event == ModEvent::Quiesce && ACTION.load(SeqCst) == UNLOAD_SELF {
        let result = module::unload("reent");
        *OUTCOME.lock().unwrap() = Some(format!("{result:?}"));
    }
    Ok(())
}

#[vnet_module(other, SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND)]
fn other_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_THIRD, module = reent)]
fn reentrant_vnet_init() {
    match ACTION.load(SeqCst) {
        LOAD => {
            let result = module::load("other");
            *OUTCOME.lock().unwrap() = Some(format!("{result:?}"));
        }
        SHUTDOWN => {
            module::shutdown();
            *OUTCOME.lock().unwrap() = Some("shut down".to_owned());
        }
        _ => {}
    }
}

#[sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_FOURTH, module = other)]
fn other_init() {}

static SERIAL: Mutex<()> = Mutex::new(());
static BOOT: Once = Once::new();

fn serial() -> MutexGuard<'static, ()> {
    BOOT.call_once(|| BootOptions::new().modules(["reent"]).boot().unwrap());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on another thread; fails the test if it does not finish in time
/// (a deadlock).
fn within_deadline<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("deadlocked (or panicked)")
}

#[test]
fn a_hook_loading_a_module_during_create_is_refused_not_deadlocked() {
    let _s = serial();
    ACTION.store(LOAD, SeqCst);
    let created = within_deadline(|| Vnet::create("reent-load").map(|v| v.destroy()));
    ACTION.store(NOTHING, SeqCst);
    created.unwrap().unwrap();
    let outcome = OUTCOME.lock().unwrap().take().unwrap();
    assert!(
        outcome.starts_with("Err(Module") && outcome.contains("lifecycle"),
        "{outcome}"
    );
    assert!(!module::is_loaded("other"));
}

#[test]
fn a_hook_calling_shutdown_during_create_does_not_deadlock() {
    let _s = serial();
    ACTION.store(SHUTDOWN, SeqCst);
    let created = within_deadline(|| {
        trace::capture(|| Vnet::create("reent-shutdown").and_then(|v| Ok(v.destroy()?)))
    });
    ACTION.store(NOTHING, SeqCst);
    let (result, lines) = created;
    // The hook panicked (shutdown refused): the creation failed and said why.
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Hook { .. }), "{err}");
    assert!(err.to_string().contains("shutdown"), "{err}");
    assert!(
        lines.iter().all(|l| !l.starts_with("MODEVENT")),
        "{lines:?}"
    );
    assert!(OUTCOME.lock().unwrap().take().is_none());
}

#[test]
fn a_handler_unloading_its_own_module_is_refused() {
    let _s = serial();
    ACTION.store(UNLOAD_SELF, SeqCst);
    let (result, lines) = within_deadline(|| trace::capture(|| module::unload("reent")));
    ACTION.store(NOTHING, SeqCst);
    result.unwrap();
    let outcome = OUTCOME.lock().unwrap().take().unwrap();
    assert!(outcome.starts_with("Err(Module"), "{outcome}");
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("MODEVENT(quiesce)"))
            .count(),
        1,
        "{lines:?}"
    );
    module::load("reent").unwrap();
}

#[test]
fn shutdown_runs_once() {
    let _s = serial();
    let ((), first) = trace::capture(module::shutdown);
    assert_eq!(first, ["MODEVENT(shutdown) reent"]);
    let ((), second) = trace::capture(module::shutdown);
    assert!(second.is_empty(), "{second:?}");
}

/// Shutdown takes the lifecycle lock exclusively: inside `vnet_foreach` (the
/// instance list read-locked) that deadlocks against a concurrent create,
/// which holds the lifecycle lock and waits for the list. Refused loudly.
#[test]
#[should_panic(expected = "cannot run inside vnet_foreach")]
fn shutdown_inside_vnet_foreach_is_refused() {
    let _s = serial();
    vnet_runtime::vnet_foreach(|_| module::shutdown());
}
