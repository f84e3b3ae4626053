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

use crate::context::{PinId, ThreadRecord};
use crate::graveyard::Graveyard;
use crate::instance::state::{self, admit, admit_counted, close, start_teardown, WorkMark};
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
    record.push_slot(0, PIN, pin_only, false);
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
            assert_eq!(world.state.load(SeqCst), state::STOPPING);
            // No owned work to stop here: straight to the teardown.
            start_teardown(&[&world.state]);
            world.torn.store(true, SeqCst);
            assert_eq!(
                world.inside.load(SeqCst),
                0,
                "teardown started with a body running"
            );
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
            start_teardown(&[&world.state]);
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
                world.records[0].push_slot(0, pin, false, false);
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
                record.push_slot(0, child_pin, false, false);
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
            start_teardown(&[&*child, &*parent]);
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

/// Whether any of `records` pins `PIN` outside a run of its owned work: what
/// makes `destroy` refuse (`destroy::refusal`, for one instance).
fn pinned_by_others(records: &[ThreadRecord]) -> bool {
    let mut busy = false;
    for r in records {
        r.doomed_pins(&|p| std::ptr::eq(p, PIN), |_, _, owned_work| {
            busy |= !owned_work;
        });
    }
    busy
}

/// The instance's owned work for the models: a run (callout, owned thread
/// or task poll) that checks its cancel flag, marks itself, enters, runs
/// and leaves; `done` when it will not run again.
struct Work {
    cancelled: AtomicBool,
    done: AtomicBool,
}

/// One run of owned work on `record`, exactly as `Running::in_instance`
/// and the enter side do it: cancelled first, mark, push, admit, body, pop,
/// unmark. Whether it ran.
fn owned_run(world: &EnterWorld, work: &Work, record: &ThreadRecord) -> bool {
    if work.cancelled.load(SeqCst) {
        return false;
    }
    let now = world.state.load(std::sync::atomic::Ordering::Acquire);
    if now != state::LIVE && now != state::CLOSING && now != state::STOPPING {
        return false;
    }
    let mark = WorkMark::begin(&world.state);
    // The run's push of its own instance is tagged (`context::begin_work`).
    record.push_slot(0, PIN, false, true);
    let admitted = admit(&world.state);
    if admitted {
        world.inside.fetch_add(1, SeqCst);
        assert!(
            !world.torn.load(SeqCst),
            "owned work ran beside the teardown"
        );
        world.inside.fetch_sub(1, SeqCst);
    }
    record.truncate(0);
    drop(mark);
    admitted
}

/// The destroy side after a successful `close`: cancel the work, wait
/// until its run in progress ended, then the teardown.
fn stop_then_tear_down(world: &EnterWorld, work: &Work) {
    work.cancelled.store(true, SeqCst);
    while !work.done.load(SeqCst) {
        thread::yield_now();
    }
    start_teardown(&[&world.state]);
    world.torn.store(true, SeqCst);
    assert_eq!(world.inside.load(SeqCst), 0, "teardown beside a body");
}

/// Owned work running inside its own instance (a callout firing, an owned
/// thread) never makes destroy busy, and once destroy is committed
/// (`STOPPING`) a run caught mid-way is still admitted and finishes before
/// the teardown; nothing runs beside the teardown.
#[test]
fn loom_owned_work_inside_its_instance_is_stopped_not_busy() {
    let n = explore("owned_work_is_stopped_not_busy", || {
        let world = Arc::new(EnterWorld {
            state: AtomicU8::new(state::LIVE),
            records: [ThreadRecord::new(), ThreadRecord::new()],
            inside: AtomicUsize::new(0),
            torn: AtomicBool::new(false),
        });
        let work = Arc::new(Work {
            cancelled: AtomicBool::new(false),
            done: AtomicBool::new(false),
        });
        let worker = {
            let (world, work) = (world.clone(), work.clone());
            thread::spawn(move || {
                // Two runs (a callout re-arming itself, an owned thread's
                // loop), unless cancelled in between.
                let mut runs = 0;
                for _ in 0..2 {
                    let cancelled_before = work.cancelled.load(SeqCst);
                    let ran = owned_run(&world, &work, &world.records[0]);
                    assert!(
                        ran || cancelled_before || work.cancelled.load(SeqCst),
                        "owned work refused while its instance was not cancelled"
                    );
                    runs += usize::from(ran);
                }
                work.done.store(true, SeqCst);
                runs
            })
        };
        let closed = close(&[&world.state], || {
            pinned_by_others(&world.records).then_some(())
        });
        assert!(closed.is_ok(), "owned work made destroy busy");
        stop_then_tear_down(&world, &work);
        worker.join().unwrap();
    });
    assert!(n > 1);
}

/// A destroy refused because a request holds the instance (a guard on
/// another thread) changes nothing: the owned work was not cancelled and
/// runs afterwards, the instance is live and can be entered; a later
/// destroy, once the request is over, goes through and stops the work.
#[test]
fn loom_refused_destroy_changes_nothing_and_work_goes_on() {
    let n = explore("refused_destroy_then_more_work", || {
        let world = Arc::new(EnterWorld {
            state: AtomicU8::new(state::LIVE),
            records: [ThreadRecord::new(), ThreadRecord::new()],
            inside: AtomicUsize::new(0),
            torn: AtomicBool::new(false),
        });
        let work = Work {
            cancelled: AtomicBool::new(false),
            done: AtomicBool::new(false),
        };
        // The request: entered on record 1 until it is over.
        let request = {
            let world = world.clone();
            thread::spawn(move || enter(&world, 1, false))
        };
        let first = close(&[&world.state], || {
            pinned_by_others(&world.records).then_some(())
        });
        let admitted = request.join().unwrap();
        match first {
            Err(()) => {
                // Refused: the request was in; nothing changed.
                assert!(admitted, "Busy without an admitted request");
                assert_eq!(world.state.load(SeqCst), state::LIVE);
                assert!(!work.cancelled.load(SeqCst));
                // More work: the owned work runs, a new enter gets in.
                assert!(owned_run(&world, &work, &world.records[0]));
                assert!(enter(&world, 1, false));
                // Then destroy again: nothing holds it now.
                let second = close(&[&world.state], || {
                    pinned_by_others(&world.records).then_some(())
                });
                assert!(second.is_ok());
            }
            Ok(()) => {
                // Committed: a request after the verdict is refused.
                assert!(!enter(&world, 1, false));
            }
        }
        work.done.store(true, SeqCst);
        stop_then_tear_down(&world, &work);
        assert!(!owned_run(&world, &work, &world.records[0]));
    });
    assert!(n > 1);
}
