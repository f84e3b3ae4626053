//! Stress: many threads create, enter (also with nested guards), iterate,
//! load and unload modules and destroy, for a bounded time; then the
//! invariants are checked.
//!
//! - every live instance ran each loaded module's VNET_SYSINIT exactly once,
//!   and each instance's init and teardown of a module alternate (never
//!   twice in a row, never a teardown without an init), ending torn down
//!   once everything is destroyed;
//! - no `enter` body runs in an instance while its teardown runs, and an
//!   entered instance is live for the whole body;
//! - every value of every instance is dropped exactly once (drop counts);
//! - the list is consistent (only vnet0 is left; nothing in the graveyard).
//!
//! `STRESS_SECS` (default 3) bounds the run, `STRESS_THREADS` (default 6)
//! sets the number of threads. The run prints how many operations it did.

#![cfg(feature = "vimage")]

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{
    curvnet_set, vnet, vnet_foreach, vnet_module, vnet_sysinit, vnet_sysuninit, BootOptions, Error,
    Vnet, VnetState,
};

// ---- instrumented statics and modules ---------------------------------------------

/// Values created by this test's own code (`arm`) and values dropped.
static ARMED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Counts its own drop once armed (an instance that was created for real).
struct Ledger(AtomicBool);

impl Ledger {
    const fn new() -> Ledger {
        Ledger(AtomicBool::new(false))
    }

    fn arm(&self) {
        assert!(!self.0.swap(true, SeqCst), "armed twice");
        ARMED.fetch_add(1, SeqCst);
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if *self.0.get_mut() {
            DROPPED.fetch_add(1, SeqCst);
        }
    }
}

#[vnet]
static LEDGER: Ledger = Ledger::new();

/// `enter` bodies running in this instance right now.
#[vnet]
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// Per module: whether its VNET_SYSINIT has run here (and not its teardown).
#[vnet]
static HOOKED: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

#[vnet]
static BUMPS: AtomicU64 = AtomicU64::new(0);

const MODULES: [&str; 2] = ["stress_a", "stress_b"];

/// Per (instance id, module): the hooks that ran, `i` for init, `u` for teardown.
static EVENTS: Mutex<Option<HashMap<(u64, usize), String>>> = Mutex::new(None);
/// What went wrong, in words.
static VIOLATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn violation(what: String) {
    let mut v = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner());
    if v.len() < 20 {
        v.push(what);
    }
}

/// Breaches of "an `enter` either gets in before teardown starts (and the
/// destroy is refused) or is refused": the destroy/enter window.
static WINDOW: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn window(what: String) {
    let mut w = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    if w.len() < 20 {
        w.push(what);
    }
}

fn hook_event(m: usize, event: char) {
    let v = Vnet::current().expect("a per-instance hook runs with its instance current");
    let mut events = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    let seq = events
        .get_or_insert_with(HashMap::new)
        .entry((v.id(), m))
        .or_default();
    if seq.ends_with(event) || (event == 'u' && seq.is_empty()) {
        violation(format!(
            "{} of {} in {v}: after {seq:?}",
            if event == 'i' { "init" } else { "teardown" },
            MODULES[m]
        ));
    }
    seq.push(event);
    drop(events);
    if event == 'i' {
        V_HOOKED.with(|h| h[m].fetch_add(1, SeqCst));
    } else {
        V_HOOKED.with(|h| h[m].fetch_sub(1, SeqCst));
        if v.state() == VnetState::Dying && V_INSIDE.with(|i| i.load(SeqCst)) != 0 {
            window(format!("an enter body runs in {v} while it is torn down"));
        }
    }
}

fn modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_module(stress_a, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn stress_a_modevent(event: ModEvent) -> Result<(), ModError> {
    modevent(event)
}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = stress_a)]
fn stress_a_vinit() {
    hook_event(0, 'i');
}

#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = stress_a)]
fn stress_a_vuninit() {
    hook_event(0, 'u');
}

#[vnet_module(stress_b, SI_SUB_PROTO_IF, SI_ORDER_FIRST)]
fn stress_b_modevent(event: ModEvent) -> Result<(), ModError> {
    modevent(event)
}

#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = stress_b)]
fn stress_b_vinit() {
    hook_event(1, 'i');
}

#[vnet_sysuninit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = stress_b)]
fn stress_b_vuninit() {
    hook_event(1, 'u');
}

// ---- the workers --------------------------------------------------------------------

/// xorshift64*: enough randomness for picking operations, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A panic that `enter`/`curvnet_set` may raise when the instance was
/// destroyed by another thread meanwhile.
fn is_refusal(panic: &(dyn std::any::Any + Send)) -> bool {
    let msg = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    (msg.contains("cannot make vnet") && msg.contains("current"))
        || (msg.starts_with("V_") && msg.ends_with("which was destroyed"))
}

/// Keeps the expected refusals (see [`is_refusal`]) off stderr.
fn quiet_refusals() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_refusal(info.payload()) {
            report(info);
        }
    }));
}

/// The body every `enter` runs: the instance must be live and current for
/// all of it.
fn entered_body(v: &Vnet) {
    V_INSIDE.with(|i| i.fetch_add(1, SeqCst));
    if v.state() != VnetState::Live {
        window(format!("{v} is {:?} inside enter", v.state()));
    }
    if Vnet::current().as_ref() != Some(v) {
        violation(format!("{v} entered but {:?} is current", Vnet::current()));
    }
    V_BUMPS.with(|b| b.fetch_add(1, SeqCst));
    std::thread::yield_now();
    if v.state() != VnetState::Live {
        window(format!("{v} became {:?} inside enter", v.state()));
    }
    V_INSIDE.with(|i| i.fetch_sub(1, SeqCst));
}

#[derive(Default)]
struct Counts {
    ops: [AtomicU64; 8],
}

const OP_NAMES: [&str; 8] = [
    "create", "enter", "guards", "foreach", "destroy", "load", "unload", "refused",
];

/// The instance the racer creates and destroys in a loop, for the workers
/// to enter while it goes (the destroy/enter window).
static HOT: Mutex<Option<Vnet>> = Mutex::new(None);

/// Creates and destroys one instance after another (retrying while busy);
/// the workers enter it meanwhile.
fn racer(deadline: Instant, counts: &Counts) {
    let mut serial = 0u64;
    while Instant::now() < deadline {
        serial += 1;
        let v = match Vnet::create(&format!("hot-{serial}")) {
            Ok(v) => v,
            Err(e) => {
                violation(format!("create hot: {e}"));
                continue;
            }
        };
        V_LEDGER.with_in(&v, Ledger::arm);
        *HOT.lock().unwrap() = Some(v.clone());
        counts.ops[0].fetch_add(1, SeqCst);
        loop {
            match v
                .clone()
                .destroy()
                .map_err(vnet_runtime::DestroyError::into_error)
            {
                Ok(()) => break,
                Err(Error::Busy { .. } | Error::ChildrenCreating(_)) => {
                    counts.ops[7].fetch_add(1, SeqCst);
                    std::thread::yield_now();
                }
                Err(e) => {
                    violation(format!("destroy hot: {e}"));
                    break;
                }
            }
        }
        counts.ops[4].fetch_add(1, SeqCst);
    }
    *HOT.lock().unwrap() = None;
}

fn worker(tid: usize, pool: &Mutex<Vec<Vnet>>, deadline: Instant, counts: &Counts) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((tid as u64 + 1) << 17));
    let pick = |rng: &mut Rng| {
        if rng.below(3) == 0 {
            if let Some(hot) = HOT.lock().unwrap().clone() {
                return Some(hot);
            }
        }
        let pool = pool.lock().unwrap();
        (!pool.is_empty()).then(|| pool[rng.below(pool.len())].clone())
    };
    let mut serial = 0u64;
    while Instant::now() < deadline {
        let op = rng.below(100);
        let kind = match op {
            0..=19 => {
                serial += 1;
                let mut builder = Vnet::builder(&format!("t{tid}-{serial}"));
                if rng.below(3) == 0 {
                    if let Some(parent) = pick(&mut rng) {
                        builder = builder.parent(&parent);
                    }
                }
                if rng.below(4) == 0 {
                    builder = builder.children_max(rng.below(3));
                }
                match builder.create() {
                    Ok(v) => {
                        // A parent destroyed meanwhile takes its new child
                        // along: then it is not armed (and not counted).
                        let _ = catch_unwind(|| V_LEDGER.with_in(&v, Ledger::arm));
                        pool.lock().unwrap().push(v);
                        0
                    }
                    Err(Error::Destroyed(_) | Error::ChildLimit { .. }) => 7,
                    Err(e) => {
                        violation(format!("create: {e}"));
                        7
                    }
                }
            }
            20..=49 => {
                let Some(v) = pick(&mut rng) else { continue };
                match catch_unwind(AssertUnwindSafe(|| v.enter(|| entered_body(&v)))) {
                    Ok(()) => 1,
                    Err(p) if is_refusal(&*p) => 7,
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            50..=59 => {
                let (Some(a), Some(b)) = (pick(&mut rng), pick(&mut rng)) else {
                    continue;
                };
                let nested = catch_unwind(AssertUnwindSafe(|| {
                    let _outer = curvnet_set(&a);
                    {
                        let _inner = curvnet_set(&b);
                        entered_body(&b);
                    }
                    entered_body(&a);
                }));
                match nested {
                    Ok(()) => 2,
                    Err(p) if is_refusal(&*p) => 7,
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            60..=69 => {
                let mut seen = 0;
                vnet_foreach(|v| {
                    seen += 1;
                    if v.state() != VnetState::Live || Vnet::current().as_ref() != Some(v) {
                        violation(format!("vnet_foreach visits {v} in state {:?}", v.state()));
                    }
                    V_BUMPS.with(|b| b.fetch_add(1, SeqCst));
                });
                if seen == 0 {
                    violation("vnet_foreach saw no instance (vnet0 is always live)".into());
                }
                3
            }
            70..=87 => {
                let v = {
                    let mut pool = pool.lock().unwrap();
                    if pool.is_empty() {
                        continue;
                    }
                    let i = rng.below(pool.len());
                    pool.swap_remove(i)
                };
                match v
                    .clone()
                    .destroy()
                    .map_err(vnet_runtime::DestroyError::into_error)
                {
                    Ok(()) => 4,
                    // Its parent took it down already.
                    Err(Error::Destroyed(_)) => 7,
                    Err(Error::Busy { .. } | Error::ChildrenCreating(_)) => {
                        pool.lock().unwrap().push(v);
                        7
                    }
                    Err(e) => {
                        violation(format!("destroy: {e}"));
                        7
                    }
                }
            }
            _ => {
                let m = MODULES[rng.below(2)];
                let (kind, result) = if rng.below(2) == 0 {
                    (5, module::load(m))
                } else {
                    (6, module::unload(m))
                };
                match result {
                    Ok(()) => kind,
                    Err(Error::Module { reason, .. })
                        if reason == "already loaded" || reason == "not loaded" =>
                    {
                        7
                    }
                    Err(e) => {
                        violation(format!("module {m}: {e}"));
                        7
                    }
                }
            }
        };
        counts.ops[kind].fetch_add(1, SeqCst);
    }
}

/// The tests share the runtime and its counters: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn boot() -> std::sync::MutexGuard<'static, ()> {
    static BOOT: std::sync::Once = std::sync::Once::new();
    BOOT.call_once(|| {
        BootOptions::new()
            .modules(["stress_a"])
            .boot()
            .expect("boot");
        quiet_refusals();
    });
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `threads` workers (none: only enterers of the hot instance) and the
/// racer until the deadline; returns the operation counts.
fn run(threads: usize, secs: u64, only_hot: bool) -> Arc<Counts> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let pool = Arc::new(Mutex::new(Vec::<Vnet>::new()));
    let counts = Arc::new(Counts::default());
    let mut handles: Vec<_> = (0..threads)
        .map(|tid| {
            let (pool, counts) = (pool.clone(), counts.clone());
            std::thread::spawn(move || {
                if only_hot {
                    enterer(deadline, &counts)
                } else {
                    worker(tid, &pool, deadline, &counts)
                }
            })
        })
        .collect();
    let racing = counts.clone();
    handles.push(std::thread::spawn(move || racer(deadline, &racing)));
    for h in handles {
        h.join().expect("a worker panicked");
    }
    let summary: Vec<String> = OP_NAMES
        .iter()
        .zip(&counts.ops)
        .map(|(n, c)| format!("{n}={}", c.load(SeqCst)))
        .collect();
    let total: u64 = counts.ops.iter().map(|c| c.load(SeqCst)).sum();
    eprintln!(
        "stress: {threads} threads + racer, {secs} s, {total} operations ({})",
        summary.join(" ")
    );
    // Leftovers of the pool go with the racer's last instance.
    for v in std::mem::take(&mut *pool.lock().unwrap()) {
        match v.destroy().map_err(vnet_runtime::DestroyError::into_error) {
            Ok(()) | Err(Error::Destroyed(_)) => {}
            Err(e) => panic!("final destroy: {e}"),
        }
    }
    counts
}

/// Enters the hot instance over and over.
fn enterer(deadline: Instant, counts: &Counts) {
    while Instant::now() < deadline {
        let Some(v) = HOT.lock().unwrap().clone() else {
            std::thread::yield_now();
            continue;
        };
        match catch_unwind(AssertUnwindSafe(|| v.enter(|| entered_body(&v)))) {
            Ok(()) => counts.ops[1].fetch_add(1, SeqCst),
            Err(p) if is_refusal(&*p) => counts.ops[7].fetch_add(1, SeqCst),
            Err(p) => std::panic::resume_unwind(p),
        };
        // Let the racer's destroy find the instance unused now and then.
        std::thread::yield_now();
    }
}

#[test]
fn many_threads_keep_the_lifecycle_invariants() {
    let _serial = boot();
    let secs = env("STRESS_SECS", 3);
    let threads = env("STRESS_THREADS", 6) as usize;
    let counts = run(threads, secs, false);
    assert!(counts.ops[0].load(SeqCst) > 0 && counts.ops[4].load(SeqCst) > 0);
    let violations = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(violations.is_empty(), "{}", violations.join("\n"));

    // Quiescent: each live instance ran each loaded module's init once.
    let loaded = MODULES.map(module::is_loaded);
    for v in Vnet::list() {
        for (m, loaded) in loaded.iter().enumerate() {
            let hooked = V_HOOKED.with_in(&v, |h| h[m].load(SeqCst));
            assert_eq!(hooked, usize::from(*loaded), "{} in {v}", MODULES[m]);
            let events = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
            let seq = events
                .as_ref()
                .and_then(|e| e.get(&(v.id(), m)))
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                seq.ends_with('i'),
                *loaded,
                "{} in {v}: {seq:?}",
                MODULES[m]
            );
        }
    }

    // Tear everything down: every instance torn down once per init, every
    // value dropped once, nothing left behind.
    for m in MODULES {
        if module::is_loaded(m) {
            module::unload(m).unwrap();
        }
    }
    assert_eq!(Vnet::list(), vec![vnet_runtime::vnet0()]);
    assert_eq!(vnet_runtime::__private0::graveyard_len(), 0);
    for ((id, m), seq) in EVENTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .into_iter()
        .flatten()
    {
        assert!(
            seq.ends_with('u'),
            "instance {id}, {}: {seq:?} (not torn down)",
            MODULES[*m]
        );
    }
    assert_eq!(DROPPED.load(SeqCst), ARMED.load(SeqCst), "values dropped");
    let violations = VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner());
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    let window = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        window.is_empty(),
        "enter overlapped teardown:\n{}",
        window.join("\n")
    );
    drop(window);
    module::load("stress_a").unwrap();
}

/// Two threads enter an instance while a third creates and destroys
/// instances in a loop (the original reproduction of the race): no `enter` body may
/// run in an instance being torn down, nor find it not live.
#[test]
fn enter_never_overlaps_teardown() {
    let _serial = boot();
    WINDOW.lock().unwrap_or_else(|e| e.into_inner()).clear();
    let counts = run(2, env("STRESS_SECS", 3), true);
    assert!(counts.ops[1].load(SeqCst) > 0, "nothing was entered");
    let window = WINDOW.lock().unwrap_or_else(|e| e.into_inner());
    assert!(window.is_empty(), "{}", window.join("\n"));
}
