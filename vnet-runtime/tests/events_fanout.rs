//! Events fanned out to every instance (VNET_GLOBAL_EVENTHANDLER_REGISTER),
//! and a module's handlers and timers stopped when the module is unloaded.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use vnet_runtime::callout::Callout;
use vnet_runtime::eventhandler::{Event, EventTag};
use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{sysinit, sysuninit, vnet, vnet_module, Vnet};

/// Tests share the handler lists; run them one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

static IFNET_ARRIVAL: Event<str> = Event::new("ifnet_arrival_event");

#[vnet]
static ARRIVALS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn arrivals(v: &Vnet) -> Vec<String> {
    V_ARRIVALS.with_in(v, |a| a.lock().unwrap().clone())
}

#[test]
fn a_global_handler_runs_in_each_instance_including_later_ones() {
    let _s = serial();
    let early = Vnet::create("fan-early").unwrap();
    let tag = IFNET_ARRIVAL.register_global(|ifname| {
        let me = Vnet::current().expect("a fanned-out handler runs in an instance");
        V_ARRIVALS.with(|a| a.lock().unwrap().push(format!("{ifname}@{}", me.name())));
    });
    let late = Vnet::create("fan-late").unwrap();
    // No instance current: every live instance, each with itself current.
    IFNET_ARRIVAL.invoke_all("lo0");
    assert_eq!(arrivals(&early), ["lo0@fan-early"]);
    assert_eq!(
        arrivals(&late),
        ["lo0@fan-late"],
        "the later instance was missed"
    );
    assert!(arrivals(&vnet_runtime::vnet0()).contains(&"lo0@vnet0".to_owned()));
    // Raised inside one instance: only that one.
    late.enter(|| IFNET_ARRIVAL.invoke_current("em0"));
    IFNET_ARRIVAL.invoke_in(&early, "em1");
    assert_eq!(arrivals(&early), ["lo0@fan-early", "em1@fan-early"]);
    assert_eq!(arrivals(&late), ["lo0@fan-late", "em0@fan-late"]);
    tag.deregister();
    IFNET_ARRIVAL.invoke_all("gone0");
    assert_eq!(
        arrivals(&late).len(),
        2,
        "a deregistered handler never runs"
    );
    early.destroy().unwrap();
    late.destroy().unwrap();
}

#[test]
fn local_handlers_only_hear_their_own_instance() {
    let _s = serial();
    let a = Vnet::create("fan-a").unwrap();
    let b = Vnet::create("fan-b").unwrap();
    let _ta = a.enter(|| {
        IFNET_ARRIVAL
            .register_current(|n| V_ARRIVALS.with(|x| x.lock().unwrap().push(format!("local:{n}"))))
    });
    b.enter(|| IFNET_ARRIVAL.invoke_current("em0"));
    assert!(arrivals(&a).is_empty(), "a heard b's event");
    a.enter(|| IFNET_ARRIVAL.invoke_current("em1"));
    assert_eq!(arrivals(&a), ["local:em1"]);
    a.destroy().unwrap();
    b.destroy().unwrap();
}

// ---- a module owning a global handler and a timer -------------------------

static LINK_EVENT: Event<u32> = Event::new("link_event");
static MODULE_RUNS: AtomicU32 = AtomicU32::new(0);
static TICKS: AtomicUsize = AtomicUsize::new(0);
static TAG: Mutex<Option<EventTag>> = Mutex::new(None);
static TIMER: Mutex<Option<Callout>> = Mutex::new(None);
/// Set by the module's SYSUNINIT: work seen after it is a failure.
static UNLOADED: AtomicU32 = AtomicU32::new(0);
static LATE: AtomicU32 = AtomicU32::new(0);

#[vnet_module(evmod, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST, version = 1)]
fn evmod_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Load | ModEvent::Unload => Ok(()),
        _ => Err(ModError::unsupported()),
    }
}

fn tick(c: Callout) {
    let again = c.clone();
    c.reset(Duration::from_micros(200), move || {
        if UNLOADED.load(SeqCst) > 0 {
            LATE.fetch_add(1, SeqCst);
        }
        TICKS.fetch_add(1, SeqCst);
        tick(again);
    });
}

#[sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND)]
fn evmod_init() {
    UNLOADED.store(0, SeqCst);
    let tag = LINK_EVENT
        .register_global(|_| {
            if UNLOADED.load(SeqCst) > 0 {
                LATE.fetch_add(1, SeqCst);
            }
            MODULE_RUNS.fetch_add(1, SeqCst);
        })
        .owned_by_module("evmod");
    *TAG.lock().unwrap() = Some(tag);
    let c = Callout::process_wide().owned_by_module("evmod");
    tick(c.clone());
    *TIMER.lock().unwrap() = Some(c);
}

#[sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND)]
fn evmod_uninit() {
    UNLOADED.store(1, SeqCst);
    // Nothing to deregister by hand: the module's work is gone already.
    let c = TIMER.lock().unwrap().take().unwrap();
    assert!(
        !c.pending() && !c.running(),
        "the module's timer was stopped first"
    );
    TAG.lock().unwrap().take();
}

#[test]
fn unloading_a_module_stops_its_handlers_and_timers_first() {
    let _s = serial();
    vnet_runtime::boot();
    assert!(module::is_loaded("evmod"));
    let v = Vnet::create("fan-mod").unwrap();
    MODULE_RUNS.store(0, SeqCst);
    LINK_EVENT.invoke_all(&1);
    let instances = Vnet::list().len() as u32;
    assert_eq!(
        MODULE_RUNS.load(SeqCst),
        instances,
        "one run per live instance"
    );
    while TICKS.load(SeqCst) < 3 {
        std::thread::yield_now();
    }
    module::unload("evmod").unwrap();
    let ticks = TICKS.load(SeqCst);
    LINK_EVENT.invoke_all(&2);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        MODULE_RUNS.load(SeqCst),
        instances,
        "handler ran after unload"
    );
    assert_eq!(TICKS.load(SeqCst), ticks, "timer ran after unload");
    assert_eq!(LATE.load(SeqCst), 0);
    assert!(LINK_EVENT.is_empty());
    // Loaded again, it registers again.
    module::load("evmod").unwrap();
    LINK_EVENT.invoke_all(&3);
    assert_eq!(MODULE_RUNS.load(SeqCst), 2 * instances);
    module::unload("evmod").unwrap();
    v.destroy().unwrap();
}
