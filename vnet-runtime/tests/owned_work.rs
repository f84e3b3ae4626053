//! Work that follows its instance and stops before it goes: threads,
//! callouts, owned tasks and per-instance event handlers. Each test checks
//! the instance the work saw, and that none of it runs once the instance's
//! teardown hooks have started.

#![cfg(feature = "vimage")]

use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use vnet_runtime::callout::Callout;
use vnet_runtime::eventhandler::Event;
use vnet_runtime::{thread, vnet, vnet_sysuninit, Cancelled, Error, Vnet, VnetFutureExt};

/// Which instance this copy belongs to (set by each test after create).
#[vnet]
static OWNER_ID: AtomicU64 = AtomicU64::new(u64::MAX);

/// Ids of instances whose teardown hooks have started.
static TORN: Mutex<Option<HashSet<u64>>> = Mutex::new(None);
/// Work that ran in an instance after its teardown started.
static LATE_RUNS: AtomicUsize = AtomicUsize::new(0);
/// Work in progress, per instance id, seen by the first teardown hook.
static IN_PROGRESS: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());
static BUSY_AT_TEARDOWN: AtomicUsize = AtomicUsize::new(0);

/// The first per-instance teardown hook (highest key runs first).
#[vnet_sysuninit(SI_SUB_VNET_DONE, SI_ORDER_ANY)]
fn mark_teardown_started() {
    let id = Vnet::current().expect("hooks run in their instance").id();
    TORN.lock()
        .unwrap()
        .get_or_insert_with(HashSet::new)
        .insert(id);
    let busy = IN_PROGRESS
        .lock()
        .unwrap()
        .iter()
        .filter(|(i, n)| *i == id && *n > 0)
        .count();
    BUSY_AT_TEARDOWN.fetch_add(busy, SeqCst);
}

/// Call at the start of each unit of work: checks the instance and that its
/// teardown has not started.
fn work_in(expected: &Vnet) {
    let cur = Vnet::current().expect("work runs with its instance current");
    assert_eq!(cur, *expected, "work saw another instance");
    assert_eq!(V_OWNER_ID.with(|o| o.load(SeqCst)), expected.id());
    if TORN
        .lock()
        .unwrap()
        .as_ref()
        .is_some_and(|t| t.contains(&cur.id()))
    {
        LATE_RUNS.fetch_add(1, SeqCst);
    }
}

/// Marks work in progress in the current instance while alive.
struct InProgress(u64);
impl InProgress {
    fn new() -> Self {
        let id = Vnet::current().unwrap().id();
        let mut p = IN_PROGRESS.lock().unwrap();
        match p.iter_mut().find(|(i, _)| *i == id) {
            Some((_, n)) => *n += 1,
            None => p.push((id, 1)),
        }
        InProgress(id)
    }
}
impl Drop for InProgress {
    fn drop(&mut self) {
        let mut p = IN_PROGRESS.lock().unwrap();
        if let Some((_, n)) = p.iter_mut().find(|(i, _)| *i == self.0) {
            *n -= 1;
        }
    }
}

fn create(name: &str) -> Vnet {
    let v = Vnet::create(name).unwrap();
    V_OWNER_ID.with_in(&v, |o| o.store(v.id(), SeqCst));
    v
}

fn assert_clean() {
    assert_eq!(LATE_RUNS.load(SeqCst), 0, "work ran after teardown started");
    assert_eq!(
        BUSY_AT_TEARDOWN.load(SeqCst),
        0,
        "work was in progress when teardown started"
    );
}

// ---- threads ------------------------------------------------------------

#[test]
fn spawned_threads_run_in_the_current_or_given_instance() {
    let a = create("thr-a");
    let b = create("thr-b");
    let from_current = a.enter(|| thread::spawn_current(Vnet::current));
    let given = thread::spawn_in(&b, || {
        (Vnet::current(), V_OWNER_ID.with(|o| o.load(SeqCst)))
    });
    assert_eq!(from_current.join().unwrap(), Some(a.clone()));
    assert_eq!(given.join().unwrap(), (Some(b.clone()), b.id()));
    // No instance current: the `_current` form refuses, naming the handle form.
    let refused = std::panic::catch_unwind(|| thread::spawn_current(Vnet::current))
        .expect_err("spawn_current with no current instance panics");
    let message = refused
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("thread::spawn_current") && message.contains("thread::spawn_in(&vnet, f)"),
        "{message}"
    );
    // Scoped, borrowing from the stack.
    let mut seen = Vec::new();
    std::thread::scope(|s| {
        let h1 = thread::spawn_scoped_in(s, &a, Vnet::current);
        let h2 = b.enter(|| thread::spawn_scoped_current(s, Vnet::current));
        seen.push(h1.join().unwrap());
        seen.push(h2.join().unwrap());
    });
    assert_eq!(seen, [Some(a.clone()), Some(b.clone())]);
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn destroy_stops_and_waits_for_owned_threads_before_teardown() {
    let v = create("thr-stop");
    let iterations = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let iterations = iterations.clone();
            let expected = v.clone();
            thread::spawn_in(&v, move || {
                while !thread::stop_requested() {
                    let _p = InProgress::new();
                    work_in(&expected);
                    iterations.fetch_add(1, SeqCst);
                    std::thread::sleep(Duration::from_micros(200));
                }
                // Still in the instance while winding down.
                work_in(&expected);
            })
        })
        .collect();
    while iterations.load(SeqCst) < 10 {
        std::thread::yield_now();
    }
    v.destroy().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    assert_clean();
}

#[test]
fn a_thread_may_not_start_in_a_destroyed_instance() {
    let v = create("thr-gone");
    let keep = v.clone();
    v.destroy().unwrap();
    let refused = std::panic::catch_unwind(|| thread::spawn_in(&keep, || ())).unwrap_err();
    let message = refused
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("thr-gone") && message.contains("was destroyed"),
        "says destroyed, not being destroyed: {message}"
    );
}

#[test]
fn sleep_returns_false_when_the_instance_goes() {
    let v = create("thr-sleep");
    let (tx, rx) = mpsc::channel();
    let t = thread::spawn_in(&v, move || {
        tx.send(()).unwrap();
        thread::sleep(Duration::from_secs(600))
    });
    rx.recv().unwrap();
    let started = std::time::Instant::now();
    v.destroy().unwrap();
    assert!(!t.join().unwrap(), "sleep reports the stop");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_thread_destroying_its_own_instance_is_refused_not_deadlocked() {
    let v = create("thr-self");
    let handle = v.clone();
    let t = thread::spawn_in(&v, move || {
        let refused = handle.destroy().unwrap_err();
        // Refused with nothing changed: this thread was not asked to stop.
        (refused.into_error(), thread::stop_requested())
    });
    let (error, stop_requested) = t.join().unwrap();
    assert!(
        matches!(&error, Error::DestroyFromWithin { from, .. } if from.contains("its own thread")),
        "{error}"
    );
    assert!(!stop_requested);
    // The instance is live and accepts work.
    assert_eq!(
        thread::spawn_in(&v, Vnet::current).join().unwrap(),
        Some(v.clone())
    );
    v.destroy().unwrap();
}

/// A thread that ignores its stop request keeps `destroy` waiting; after a
/// few seconds `destroy` says so, naming the thread and where it was
/// spawned (never silence).
#[test]
fn a_long_wait_on_an_owned_thread_is_reported_with_where_it_was_spawned() {
    let v = create("thr-deaf");
    let (tx, rx) = mpsc::channel();
    let line = line!() + 1;
    let t = thread::spawn_in(&v, move || {
        tx.send(()).unwrap();
        // Never looks at stop_requested: ends on its own, later.
        std::thread::sleep(Duration::from_millis(3500));
    });
    rx.recv().unwrap();
    let (destroyed, lines) = vnet_runtime::trace::capture(|| v.destroy());
    destroyed.unwrap();
    t.join().unwrap();
    let report = lines
        .iter()
        .find(|l| l.contains("has waited"))
        .unwrap_or_else(|| panic!("no report of the wait: {lines:?}"));
    assert!(
        report.contains("owned thread") && report.contains(&format!("{}:{line}:", file!())),
        "names the thread and where it was spawned: {report}"
    );
    assert!(report.contains("stop_requested"), "{report}");
}

// ---- callouts -----------------------------------------------------------

#[test]
fn a_callout_fires_once_in_its_instance() {
    let a = create("co-a");
    let b = create("co-b");
    let (tx, rx) = mpsc::channel();
    let ca = Callout::new_in(&a);
    let cb = b.enter(Callout::new_current);
    for (c, v) in [(&ca, &a), (&cb, &b)] {
        let tx = tx.clone();
        let expected = v.clone();
        assert!(c.reset(Duration::from_millis(2), move || {
            work_in(&expected);
            tx.send(Vnet::current().unwrap().name().to_owned()).unwrap();
        }));
    }
    let mut got = vec![rx.recv().unwrap(), rx.recv().unwrap()];
    got.sort();
    assert_eq!(got, ["co-a", "co-b"]);
    assert!(
        rx.recv_timeout(Duration::from_millis(30)).is_err(),
        "fires once"
    );
    assert!(!ca.pending() && !cb.pending());
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn reset_replaces_and_stop_disarms() {
    let v = create("co-reset");
    let c = Callout::new_in(&v);
    let (tx, rx) = mpsc::channel();
    let tx1 = tx.clone();
    assert!(c.reset(Duration::from_millis(5), move || tx1.send("first").unwrap()));
    assert!(c.reset(Duration::from_millis(10), move || tx
        .send("second")
        .unwrap()));
    assert_eq!(rx.recv().unwrap(), "second");
    assert!(rx.recv_timeout(Duration::from_millis(30)).is_err());
    assert!(c.reset(Duration::from_millis(5), || panic!(
        "stopped callouts never fire"
    )));
    assert!(c.stop());
    assert!(!c.stop());
    std::thread::sleep(Duration::from_millis(20));
    v.destroy().unwrap();
}

#[test]
fn drain_waits_for_a_running_callback() {
    let v = create("co-drain");
    let c = Callout::new_in(&v);
    let (started_tx, started_rx) = mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    c.reset(Duration::ZERO, move || {
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        f.store(true, SeqCst);
    });
    started_rx.recv().unwrap();
    assert!(c.running());
    assert!(!c.drain(), "nothing was pending, one was running");
    assert!(
        finished.load(SeqCst),
        "drain returned before the callback ended"
    );
    v.destroy().unwrap();
}

#[test]
fn a_self_rearming_callout_never_fires_after_teardown_started() {
    for round in 0..5 {
        let v = create(&format!("co-periodic-{round}"));
        let fired = Arc::new(AtomicU64::new(0));
        fn arm(c: Callout, expected: Vnet, fired: Arc<AtomicU64>) {
            let again = c.clone();
            c.reset(Duration::from_micros(100), move || {
                let _p = InProgress::new();
                work_in(&expected);
                fired.fetch_add(1, SeqCst);
                std::thread::sleep(Duration::from_micros(300));
                arm(again, expected, fired);
            });
        }
        let c = Callout::new_in(&v);
        arm(c.clone(), v.clone(), fired.clone());
        while fired.load(SeqCst) < 3 {
            std::thread::yield_now();
        }
        v.destroy().unwrap();
        let after = fired.load(SeqCst);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(fired.load(SeqCst), after, "fired after destroy returned");
        assert!(!c.reset(Duration::ZERO, || ()), "stays stopped");
    }
    assert_clean();
}

#[test]
fn work_made_for_a_destroyed_instance_never_runs() {
    static LATE_EVENT: Event<()> = Event::new("late");
    let v = create("co-gone");
    let keep = v.clone();
    v.destroy().unwrap();
    let c = Callout::new_in(&keep);
    assert!(!c.reset(Duration::ZERO, || panic!("fired for a destroyed instance")));
    assert!(!c.pending());
    let _tag = LATE_EVENT.register_in(&keep, |_| panic!("ran for a destroyed instance"));
    assert!(LATE_EVENT.is_empty());
    let mut task = Box::pin(async { panic!("polled for a destroyed instance") }.owned_by(&keep));
    let out: Poll<Result<(), Cancelled>> =
        task.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert_eq!(out, Poll::Ready(Err(Cancelled)));
    assert!(std::panic::catch_unwind(|| thread::spawn_in(&keep, || ())).is_err());
}

#[test]
fn work_registered_while_the_instance_closes_never_runs_in_its_teardown() {
    // Owned threads keep making callouts, handlers and tasks in their
    // instance while it is destroyed: whatever slips in around the stop
    // must not run once teardown started.
    static CHURN: Event<()> = Event::new("churn");
    for round in 0..10 {
        let v = create(&format!("churn-{round}"));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let expected = v.clone();
                thread::spawn_in(&v, move || {
                    let mut keep = Vec::new();
                    while !thread::stop_requested() {
                        let e = expected.clone();
                        let c = Callout::new_current();
                        c.reset(Duration::ZERO, move || work_in(&e));
                        let e = expected.clone();
                        let tag = CHURN.register_current(move |_| work_in(&e));
                        CHURN.invoke_current(&());
                        keep.push((c, tag));
                        if keep.len() > 50 {
                            keep.clear();
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(3));
        v.destroy().unwrap();
        for w in workers {
            w.join().unwrap();
        }
    }
    assert_clean();
}

// ---- owned tasks --------------------------------------------------------

#[test]
fn an_owned_task_is_dropped_in_its_instance_and_cancelled_on_destroy() {
    let v = create("task-owned");
    struct DropProbe(Vnet, Arc<AtomicBool>);
    impl Drop for DropProbe {
        fn drop(&mut self) {
            work_in(&self.0);
            self.1.store(true, SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let probe = DropProbe(v.clone(), dropped.clone());
    let expected = v.clone();
    let mut task = Box::pin(
        async move {
            let _probe = probe;
            work_in(&expected);
            std::future::pending::<()>().await;
        }
        .owned_by(&v),
    );
    let mut cx = Context::from_waker(Waker::noop());
    assert!(task.as_mut().poll(&mut cx).is_pending());
    assert_eq!(Vnet::current(), None, "nothing leaks out of a poll");
    v.destroy().unwrap();
    assert!(dropped.load(SeqCst), "destroy dropped the future");
    assert_eq!(task.as_mut().poll(&mut cx), Poll::Ready(Err(Cancelled)));
    assert_clean();
}

#[test]
fn a_completed_owned_task_returns_its_output() {
    let v = create("task-done");
    let mut task = Box::pin(async { Vnet::current().unwrap().name().to_owned() }.owned_by(&v));
    let out = task.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert_eq!(out, Poll::Ready(Ok("task-done".to_owned())));
    drop(task);
    assert_eq!(
        vnet_runtime::__private0::owned_work_len(&v),
        0,
        "a finished task deregisters"
    );
    v.destroy().unwrap();
}

// ---- per-instance event handlers ----------------------------------------

static PACKET: Event<u32> = Event::new("packet");

#[test]
fn a_handler_registered_in_an_instance_goes_with_it() {
    let a = create("evl-a");
    let b = create("evl-b");
    let seen = Arc::new(Mutex::new(Vec::new()));
    for v in [&a, &b] {
        let seen = seen.clone();
        let expected = v.clone();
        let _tag = v.enter(|| {
            PACKET.register_current(move |n| {
                work_in(&expected);
                seen.lock().unwrap().push((expected.name().to_owned(), *n));
            })
        });
    }
    PACKET.invoke_in(&a, &1);
    b.enter(|| PACKET.invoke_current(&2));
    assert_eq!(
        *seen.lock().unwrap(),
        [("evl-a".to_owned(), 1), ("evl-b".to_owned(), 2)]
    );
    let before = PACKET.len();
    a.destroy().unwrap();
    assert_eq!(PACKET.len(), before - 1, "a's handler was removed");
    PACKET.invoke_all(&3); // fanned out: only b is left with a handler
    assert_eq!(
        seen.lock().unwrap().last().unwrap(),
        &("evl-b".to_owned(), 3)
    );
    b.destroy().unwrap();
    assert_clean();
}

#[test]
fn destroy_waits_for_a_running_handler() {
    static SLOW: Event<()> = Event::new("slow");
    let v = create("evl-slow");
    let expected = v.clone();
    let _tag = SLOW.register_in(&v, move |_| {
        let _p = InProgress::new();
        work_in(&expected);
        std::thread::sleep(Duration::from_millis(30));
    });
    let (tx, rx) = mpsc::channel();
    let raiser = {
        let v = v.clone();
        std::thread::spawn(move || {
            tx.send(()).unwrap();
            SLOW.invoke_in(&v, &());
        })
    };
    rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    // Either busy (the raiser has it current) or waits for the handler.
    loop {
        match v
            .clone()
            .destroy()
            .map_err(vnet_runtime::DestroyError::into_error)
        {
            Ok(()) => break,
            Err(Error::Busy { .. }) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("{e}"),
        }
    }
    raiser.join().unwrap();
    assert_clean();
}

// ---- work started by a VNET_SYSINIT, before the instance is live -----------

/// What the work started at creation saw: (callout fired in, thread ran in).
#[vnet]
static STARTED_AT_CREATION: Mutex<(Option<String>, Option<String>)> = Mutex::new((None, None));

/// The callout armed at creation (stored in its own instance).
#[vnet]
static CREATION_CALLOUT: Mutex<Option<Callout>> = Mutex::new(None);

#[vnet_runtime::vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
fn start_work_at_creation() {
    let me = Vnet::current().unwrap();
    if !me.name().starts_with("sysinit-work") {
        return;
    }
    // Fires at once, while the instance is still being created: it must
    // wait for the instance to be live, not be lost.
    let c = Callout::new_current();
    c.reset(Duration::ZERO, || {
        let name = Vnet::current().unwrap().name().to_owned();
        V_STARTED_AT_CREATION.with(|s| s.lock().unwrap().0 = Some(name));
    });
    V_CREATION_CALLOUT.with(|s| *s.lock().unwrap() = Some(c));
    let _detached = thread::spawn_current(|| {
        let name = Vnet::current().unwrap().name().to_owned();
        V_STARTED_AT_CREATION.with(|s| s.lock().unwrap().1 = Some(name));
    });
    // Give both a chance to run before creation finishes.
    std::thread::sleep(Duration::from_millis(5));
}

#[test]
fn work_started_by_an_init_hook_runs_once_the_instance_is_live() {
    let v = create("sysinit-work-1");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = V_STARTED_AT_CREATION.with_in(&v, |s| s.lock().unwrap().clone());
        if seen.0.is_some() && seen.1.is_some() {
            assert_eq!(seen, (Some(v.name().to_owned()), Some(v.name().to_owned())));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "work started at creation was lost"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    v.destroy().unwrap();
}
