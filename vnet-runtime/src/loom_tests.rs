//! Loom models of the pin protocol: the runtime's own thread
//! records, state-word protocol and graveyard, with loom's atomics, fences
//! and mutex (`crate::sync`), explored exhaustively within the preemption
//! bound.
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
//!     cargo test -p vnet-runtime --release --lib loom_tests -- --nocapture
//! ```
//!
//! Each model counts its executions (interleavings explored) and prints the
//! count.

use std::sync::atomic::Ordering::SeqCst;

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::Arc;
use loom::thread;

use crate::context::{Graveyard, PinId, ThreadRecord};
use crate::instance::state::{self, admit, admit_counted, close};
use crate::sync::atomic::{fence, AtomicU8};

/// Runs `f` under loom (bounds from `LOOM_*` variables) and returns how
/// many executions it explored.
fn explore(name: &str, f: impl Fn() + Sync + Send + 'static) -> usize {
    explore_bounded(name, None, f)
}

/// [`explore`] with at most `max_preemptions` (when given) whatever the
/// environment says: three-thread models stay within CI's time that way.
fn explore_bounded(
    name: &str,
    max_preemptions: Option<usize>,
    f: impl Fn() + Sync + Send + 'static,
) -> usize {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    let started = std::time::Instant::now();
    let mut builder = loom::model::Builder::new();
    // An enter that finds CLOSING spins (with `yield_now`) until destroy's
    // verdict; loom counts each turn as a branch.
    builder.max_branches = 100_000;
    if let Some(max) = max_preemptions {
        builder.preemption_bound = Some(builder.preemption_bound.map_or(max, |b| b.min(max)));
    }
    builder.check(move || {
        counter.fetch_add(1, SeqCst);
        f();
    });
    let n = count.load(SeqCst);
    println!(
        "loom model {name}: {n} interleavings explored in {:.1?}",
        started.elapsed()
    );
    n
}

/// Whether `pin` is on any of `records`.
fn pinned_in(records: &[ThreadRecord], pin: PinId) -> bool {
    records.iter().any(|r| r.has_pin(pin))
}

fn all_pins(records: &[ThreadRecord]) -> Vec<PinId> {
    let mut out = Vec::new();
    for r in records {
        r.pins_into(&mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// One instance, two threads that enter it (one with `curvnet_set`'s
/// push, one with `with_in`'s pin-only push), one that destroys it.
struct EnterWorld {
    state: AtomicU8,
    records: [ThreadRecord; 2],
    /// Threads inside an admitted body.
    inside: AtomicUsize,
    /// Set when the teardown starts (destroy got `Ok`).
    torn: AtomicBool,
}

const PIN: PinId = 0x1000 as PinId;

/// The enter side exactly as `Vnet::try_push_current` runs it (minus the
/// thread-local lookup): check, publish the pin, admit, body, unpin.
fn enter(world: &EnterWorld, t: usize, pin_only: bool) -> bool {
    let now = world.state.load(std::sync::atomic::Ordering::Acquire);
    if now != state::LIVE && now != state::CLOSING {
        return false;
    }
    let record = &world.records[t];
    record.push_slot(0, PIN, pin_only);
    if !admit(&world.state) {
        record.truncate(0);
        return false;
    }
    world.inside.fetch_add(1, SeqCst);
    assert!(
        !world.torn.load(SeqCst),
        "an admitted body saw the teardown started"
    );
    world.inside.fetch_sub(1, SeqCst);
    record.truncate(0);
    true
}

#[test]
fn loom_enter_racing_destroy_is_refused_or_holds_it_off() {
    enter_racing_destroy("enter_racing_destroy", 1, None);
}

/// Two enterers (`curvnet_set` and `with_in`) and a destroyer: three
/// threads, so at most one preemption (two take hours).
#[test]
fn loom_two_enters_racing_destroy() {
    enter_racing_destroy("two_enters_racing_destroy", 2, Some(1));
}

fn enter_racing_destroy(name: &str, enterers: usize, max_preemptions: Option<usize>) {
    let n = explore_bounded(name, max_preemptions, move || {
        let world = Arc::new(EnterWorld {
            state: AtomicU8::new(state::LIVE),
            records: [ThreadRecord::new(), ThreadRecord::new()],
            inside: AtomicUsize::new(0),
            torn: AtomicBool::new(false),
        });
        let enterers: Vec<_> = (0..enterers)
            .map(|t| {
                let world = world.clone();
                thread::spawn(move || enter(&world, t, t == 1))
            })
            .collect();
        let closed = close(&[&world.state], || {
            all_pins(&world.records).contains(&PIN).then_some(0)
        });
        if closed.is_ok() {
            world.torn.store(true, SeqCst);
            assert_eq!(
                world.inside.load(SeqCst),
                0,
                "teardown started with a body running"
            );
            assert_eq!(world.state.load(SeqCst), state::DYING);
        } else {
            assert_eq!(
                world.state.load(SeqCst),
                state::LIVE,
                "a refused destroy reopens"
            );
        }
        let entered: Vec<bool> = enterers.into_iter().map(|h| h.join().unwrap()).collect();
        if closed.is_err() {
            // Busy means someone was pinned at the scan: an enter that got in.
            assert!(entered.iter().any(|e| *e), "Busy without an admitted enter");
        }
    });
    assert!(n > 1);
}

/// A bound future's first poll (`Vnet::try_hold_future`: counted on the
/// instance, not on a thread's stack) racing destroy, whose scan reads the
/// counter after its fence: the future either holds the instance (destroy
/// is `Busy`) or is refused; its polls never run beside the teardown.
#[test]
fn loom_bound_future_racing_destroy() {
    let n = explore("bound_future_racing_destroy", || {
        let world = Arc::new(EnterWorld {
            state: AtomicU8::new(state::LIVE),
            records: [ThreadRecord::new(), ThreadRecord::new()],
            inside: AtomicUsize::new(0),
            torn: AtomicBool::new(false),
        });
        let futures = Arc::new(AtomicUsize::new(0));
        let poller = {
            let (world, futures) = (world.clone(), futures.clone());
            thread::spawn(move || {
                if world.state.load(std::sync::atomic::Ordering::Acquire) != state::LIVE
                    || !admit_counted(&futures, &world.state)
                {
                    return false;
                }
                // Two polls while held: no fence, no state check.
                for _ in 0..2 {
                    world.inside.fetch_add(1, SeqCst);
                    assert!(!world.torn.load(SeqCst), "a poll saw the teardown started");
                    world.inside.fetch_sub(1, SeqCst);
                }
                futures.fetch_sub(1, std::sync::atomic::Ordering::Release);
                true
            })
        };
        let closed = close(&[&world.state], || {
            (futures.load(std::sync::atomic::Ordering::Relaxed) > 0).then_some(0)
        });
        if closed.is_ok() {
            world.torn.store(true, SeqCst);
            assert_eq!(world.inside.load(SeqCst), 0, "teardown beside a poll");
        }
        let held = poller.join().unwrap();
        if closed.is_err() {
            assert!(held, "Busy without a future holding the instance");
        }
    });
    assert!(n > 1);
}

/// An instance object for the graveyard model: its handle count and how
/// often it was freed.
struct Obj {
    handles: AtomicUsize,
    freed: AtomicUsize,
}

/// The free function handed to the graveyard.
///
/// # Safety
/// `pin` points at a live `Obj`.
unsafe fn free_obj(pin: PinId) {
    // SAFETY: the caller's contract; the model keeps the `Obj` alive.
    let obj = unsafe { &*pin.cast::<Obj>() };
    assert_eq!(obj.freed.fetch_add(1, SeqCst), 0, "freed twice");
}

/// Drops one handle the way `Arc` + `Handle::drop` do: the last one
/// (after the `Release` decrement and an `Acquire` fence) hands the object
/// to the graveyard.
fn drop_handle(obj: &Obj, pin: PinId, records: &[ThreadRecord], graveyard: &Graveyard) {
    if obj
        .handles
        .fetch_sub(1, std::sync::atomic::Ordering::Release)
        == 1
    {
        fence(std::sync::atomic::Ordering::Acquire);
        // SAFETY: the last handle is gone; `free_obj` frees once.
        unsafe {
            graveyard.defer_free(
                pin,
                free_obj,
                |p| pinned_in(records, p),
                || all_pins(records),
            )
        };
    }
}

struct GraveWorld {
    obj: Obj,
    records: [ThreadRecord; 2],
    graveyard: Graveyard,
}

#[test]
fn loom_last_handle_dropped_while_pinned_waits_in_the_graveyard() {
    let n = explore("graveyard", || {
        let world = Arc::new(GraveWorld {
            obj: Obj {
                handles: AtomicUsize::new(2),
                freed: AtomicUsize::new(0),
            },
            records: [ThreadRecord::new(), ThreadRecord::new()],
            graveyard: Graveyard::new(),
        });
        let pin: PinId = std::ptr::from_ref(&world.obj).cast();
        // Thread A enters with its handle and leaks the guard (stays
        // pinned), drops its handle, uses the instance, then unpins (an
        // outer restore or its exit) and sweeps.
        let a = {
            let world = world.clone();
            thread::spawn(move || {
                let pin: PinId = std::ptr::from_ref(&world.obj).cast();
                world.records[0].push_slot(0, pin, false);
                drop_handle(&world.obj, pin, &world.records, &world.graveyard);
                assert_eq!(world.obj.freed.load(SeqCst), 0, "freed while pinned");
                world.records[0].truncate(0);
                world.graveyard.sweep(|| all_pins(&world.records));
            })
        };
        // Thread B drops the other handle (say, `destroy`'s).
        drop_handle(&world.obj, pin, &world.records, &world.graveyard);
        world.graveyard.sweep(|| all_pins(&world.records));
        a.join().unwrap();
        world.graveyard.sweep(|| all_pins(&world.records));
        assert_eq!(
            world.obj.freed.load(SeqCst),
            1,
            "freed exactly once, in the end"
        );
        assert_eq!(world.graveyard.len(), 0);
    });
    assert!(n > 1);
}

/// Two destroys' worth of state words against one enterer nested in the
/// parent: the subtree is closed together, and a pin on either keeps both.
#[test]
fn loom_subtree_close_sees_a_pin_on_any_member() {
    let n = explore("subtree_close", || {
        let parent = Arc::new(AtomicU8::new(state::LIVE));
        let child = Arc::new(AtomicU8::new(state::LIVE));
        let record = Arc::new(ThreadRecord::new());
        let inside = Arc::new(AtomicBool::new(false));
        let torn = Arc::new(AtomicBool::new(false));
        let child_pin: PinId = 0x2000 as PinId;
        let enterer = {
            let (child, record, inside, torn) =
                (child.clone(), record.clone(), inside.clone(), torn.clone());
            thread::spawn(move || {
                record.push_slot(0, child_pin, false);
                let admitted = admit(&child);
                if admitted {
                    inside.store(true, SeqCst);
                    assert!(!torn.load(SeqCst), "admitted into a child being torn down");
                    inside.store(false, SeqCst);
                }
                record.truncate(0);
                admitted
            })
        };
        let closed = close(&[&*child, &*parent], || {
            let mut pins = Vec::new();
            record.pins_into(&mut pins);
            pins.contains(&child_pin).then_some(0)
        });
        if closed.is_ok() {
            torn.store(true, SeqCst);
            assert!(!inside.load(SeqCst), "teardown started with a body running");
        }
        let admitted = enterer.join().unwrap();
        match closed {
            Ok(()) => {
                assert_eq!(parent.load(SeqCst), state::DYING);
                assert_eq!(child.load(SeqCst), state::DYING);
            }
            Err(_) => {
                assert!(admitted);
                assert_eq!(parent.load(SeqCst), state::LIVE);
                assert_eq!(child.load(SeqCst), state::LIVE);
            }
        }
    });
    assert!(n > 1);
}
