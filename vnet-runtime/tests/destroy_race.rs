//! The destroy/enter window: two threads enter an instance while a
//! third creates and destroys instances in a loop. An `enter` racing
//! `destroy` either gets in first (then destroy is refused with `Busy`) or
//! is refused (its `enter` panics); the entered body never runs while the
//! instance's VNET_SYSUNINIT runs, and the instance is live inside it.
//!
//! Before the protocol in `instance/state.rs`, this scenario saw a body
//! running beside the teardown hook, or a non-live instance inside `enter`,
//! about 12 times in 40,000 cycles (release, 2 cores).
#![cfg(feature = "vimage")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use vnet_runtime::{vnet, vnet_sysuninit, Error, Vnet, VnetState};

/// Threads inside an `enter` body of this instance.
#[vnet]
static INSIDE: AtomicU32 = AtomicU32::new(0);
/// Set when the instance's teardown hook starts.
#[vnet]
static TORN: AtomicBool = AtomicBool::new(false);

/// Broken promises, counted (asserted zero at the end).
static BODY_DURING_TEARDOWN: AtomicU64 = AtomicU64::new(0);
static NOT_LIVE_INSIDE: AtomicU64 = AtomicU64::new(0);
static TORN_INSIDE: AtomicU64 = AtomicU64::new(0);

#[vnet_sysuninit(SI_SUB_PSEUDO, SI_ORDER_ANY)]
fn race_uninit() {
    V_TORN.with(|t| t.store(true, SeqCst));
    if V_INSIDE.with(|i| i.load(SeqCst)) != 0 {
        BODY_DURING_TEARDOWN.fetch_add(1, SeqCst);
    }
    // Give a late body time to show up beside the hook.
    for _ in 0..50 {
        std::hint::spin_loop();
    }
    if V_INSIDE.with(|i| i.load(SeqCst)) != 0 {
        BODY_DURING_TEARDOWN.fetch_add(1, SeqCst);
    }
}

fn body(v: &Vnet) {
    V_INSIDE.with(|i| i.fetch_add(1, SeqCst));
    if v.state() != VnetState::Live || Vnet::current().as_ref() != Some(v) {
        NOT_LIVE_INSIDE.fetch_add(1, SeqCst);
    }
    if V_TORN.with(|t| t.load(SeqCst)) {
        TORN_INSIDE.fetch_add(1, SeqCst);
    }
    std::hint::spin_loop();
    V_INSIDE.with(|i| i.fetch_sub(1, SeqCst));
}

#[test]
fn enter_racing_destroy_gets_in_first_or_is_refused() {
    let cycles: u64 = if cfg!(debug_assertions) {
        4_000
    } else {
        40_000
    };
    // Refused enters panic by design; keep the output readable.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.to_string();
        if !msg.contains("cannot make vnet") {
            default_hook(info);
        }
    }));
    let current: Arc<Mutex<Option<Vnet>>> = Arc::new(Mutex::new(None));
    let done = Arc::new(AtomicBool::new(false));
    let entered = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let enterers: Vec<_> = (0..2)
        .map(|_| {
            let (current, done, entered, refused) = (
                current.clone(),
                done.clone(),
                entered.clone(),
                refused.clone(),
            );
            std::thread::spawn(move || {
                while !done.load(SeqCst) {
                    let Some(v) = current.lock().unwrap().clone() else {
                        std::thread::yield_now();
                        continue;
                    };
                    match catch_unwind(AssertUnwindSafe(|| v.enter(|| body(&v)))) {
                        Ok(()) => entered.fetch_add(1, SeqCst),
                        Err(_) => refused.fetch_add(1, SeqCst),
                    };
                    // with_in pins too: it is refused or holds destroy off.
                    let _ = catch_unwind(AssertUnwindSafe(|| {
                        V_TORN.with_in(&v, |t| {
                            if t.load(SeqCst) {
                                TORN_INSIDE.fetch_add(1, SeqCst);
                            }
                        })
                    }));
                }
            })
        })
        .collect();
    let mut busy = 0u64;
    for i in 0..cycles {
        let v = Vnet::create(&format!("race-{i}")).unwrap();
        let attempts = entered.load(SeqCst) + refused.load(SeqCst);
        *current.lock().unwrap() = Some(v.clone());
        // Let an enterer reach this instance (bounded), then race it.
        for _ in 0..10_000 {
            if entered.load(SeqCst) + refused.load(SeqCst) > attempts {
                break;
            }
            std::thread::yield_now();
        }
        for _ in 0..(i % 7) * 20 {
            std::hint::spin_loop();
        }
        // The race: one destroy against the enterers. Refused (Busy), stop
        // handing the instance out and retry until the last enter is over.
        loop {
            match v
                .clone()
                .destroy()
                .map_err(vnet_runtime::DestroyError::into_error)
            {
                Ok(()) => break,
                Err(Error::Busy { .. }) => {
                    busy += 1;
                    *current.lock().unwrap() = None;
                    std::thread::yield_now();
                }
                Err(e) => panic!("destroy failed: {e}"),
            }
        }
        assert_eq!(v.state(), VnetState::Destroyed);
        *current.lock().unwrap() = None;
    }
    done.store(true, SeqCst);
    for t in enterers {
        t.join().unwrap();
    }
    let _ = std::panic::take_hook();
    eprintln!(
        "{cycles} cycles: {} enters, {} refused, {busy} destroys refused (Busy)",
        entered.load(SeqCst),
        refused.load(SeqCst)
    );
    assert_eq!(
        BODY_DURING_TEARDOWN.load(SeqCst),
        0,
        "a body ran beside VNET_SYSUNINIT"
    );
    assert_eq!(
        NOT_LIVE_INSIDE.load(SeqCst),
        0,
        "an instance was not live inside enter"
    );
    assert_eq!(
        TORN_INSIDE.load(SeqCst),
        0,
        "a body saw the teardown started"
    );
    assert!(entered.load(SeqCst) > 0, "the enterers got in at all");
}
