//! Tunables: the initial value of *future* instances changes at run time;
//! live instances never see it; values are made and dropped as values
//! (never byte-patched), each exactly once.
//!
//! The tests share the process's overrides and count drops, so they take
//! `serial()`.

#[cfg(feature = "vimage")]
use std::collections::BTreeMap;
#[cfg(feature = "vimage")]
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use vnet_runtime::{tunable, vnet, Vnet};

/// Serializes the tests, and boots first: an override set before boot
/// applies to vnet0 too (`tunable_boot.rs`), which these tests do not want.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    vnet_runtime::boot();
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// `net.inet.ip.ttl`.
#[cfg(feature = "vimage")]
#[vnet]
static TTL: AtomicU32 = AtomicU32::new(64);

#[cfg(feature = "vimage")]
#[test]
fn a_tunable_changes_future_instances_and_never_a_live_one() {
    let _serial = serial();
    let before = Vnet::create("tun-before").unwrap();
    before.enter(|| V_TTL.with(|t| t.store(70, Relaxed))); // a live instance's own change
    V_TTL.set_initial_with(|| AtomicU32::new(32));
    assert!(V_TTL.is_tuned());
    assert_eq!(V_TTL.tuned_initial().map(|t| t.into_inner()), Some(32));
    let after = Vnet::create("tun-after").unwrap();
    assert_eq!(
        V_TTL.with_in(&before, |t| t.load(Relaxed)),
        70,
        "live instance untouched"
    );
    assert_eq!(
        V_TTL.with_in(&after, |t| t.load(Relaxed)),
        32,
        "new instance tuned"
    );
    assert_eq!(
        vnet_runtime::vnet0().enter(|| V_TTL.with(|t| t.load(Relaxed))),
        64,
        "vnet0 was live before the tunable was set"
    );

    // Tuning again replaces the override; `after` keeps what it started with.
    V_TTL.set_initial_with(|| AtomicU32::new(16));
    let third = Vnet::create("tun-third").unwrap();
    assert_eq!(V_TTL.with_in(&third, |t| t.load(Relaxed)), 16);
    assert_eq!(V_TTL.with_in(&after, |t| t.load(Relaxed)), 32);
    assert_eq!(tunable::tuned().iter().filter(|n| **n == "TTL").count(), 1);

    assert!(V_TTL.reset_initial());
    assert!(!V_TTL.is_tuned());
    let reset = Vnet::create("tun-reset").unwrap();
    assert_eq!(
        V_TTL.with_in(&reset, |t| t.load(Relaxed)),
        64,
        "declared value again"
    );
    for v in [before, after, third, reset] {
        v.destroy().unwrap();
    }
}

/// A value with heap memory and a `Drop` that records which value it was.
#[cfg(feature = "vimage")]
struct Probe {
    label: Mutex<String>,
}

#[cfg(feature = "vimage")]
impl Drop for Probe {
    fn drop(&mut self) {
        let label = std::mem::take(&mut *self.label.lock().unwrap());
        if !label.is_empty() {
            *DROPS.lock().unwrap().entry(label).or_default() += 1;
        }
    }
}

/// How many times each non-default label was dropped.
#[cfg(feature = "vimage")]
static DROPS: Mutex<BTreeMap<String, u32>> = Mutex::new(BTreeMap::new());
#[cfg(feature = "vimage")]
static MADE: AtomicU64 = AtomicU64::new(0);

#[cfg(feature = "vimage")]
#[vnet]
static PROBE: Probe = Probe {
    label: Mutex::new(String::new()),
};

#[cfg(feature = "vimage")]
#[test]
fn tuned_values_of_a_drop_type_are_made_fresh_and_dropped_once() {
    let _serial = serial();
    V_PROBE.set_initial_with(|| Probe {
        label: Mutex::new(format!("tuned-{}", MADE.fetch_add(1, Relaxed))),
    });
    let a = Vnet::create("tun-drop-a").unwrap();
    let b = Vnet::create("tun-drop-b").unwrap();
    let label = |v: &Vnet| V_PROBE.with_in(v, |p| p.label.lock().unwrap().clone());
    let (la, lb) = (label(&a), label(&b));
    assert!(la.starts_with("tuned-") && lb.starts_with("tuned-"));
    assert_ne!(
        la, lb,
        "each instance gets its own value, not a shared copy"
    );
    // Mutating one instance's value never reaches the other or the next.
    V_PROBE.with_in(&a, |p| p.label.lock().unwrap().push_str("-changed"));
    assert_eq!(label(&b), lb);
    assert!(V_PROBE.reset_initial());
    assert!(
        DROPS.lock().unwrap().is_empty(),
        "nothing tuned dropped yet"
    );
    a.destroy().unwrap();
    b.destroy().unwrap();
    let drops = DROPS.lock().unwrap().clone();
    assert_eq!(
        drops,
        BTreeMap::from([(format!("{la}-changed"), 1), (lb, 1)]),
        "each made value dropped exactly once, with its instance"
    );
    // `tuned_initial` makes (and gives away) a value too.
    V_PROBE.set_initial_with(|| Probe {
        label: Mutex::new("peek".into()),
    });
    drop(V_PROBE.tuned_initial());
    V_PROBE.reset_initial();
    assert_eq!(DROPS.lock().unwrap().get("peek"), Some(&1));
}

#[cfg(feature = "vimage")]
#[test]
fn a_panicking_factory_creates_nothing_and_frees_the_name() {
    let _serial = serial();
    #[vnet]
    static FRAGILE: AtomicU32 = AtomicU32::new(1);
    V_FRAGILE.set_initial_with(|| panic!("tunable factory failed"));
    let caught = std::panic::catch_unwind(|| Vnet::create("tun-fragile"));
    assert!(caught.is_err(), "the factory's panic reaches the caller");
    assert!(Vnet::lookup("tun-fragile").is_none());
    V_FRAGILE.reset_initial();
    let v = Vnet::create("tun-fragile").expect("the name was given back");
    assert_eq!(V_FRAGILE.with_in(&v, |f| f.load(Relaxed)), 1);
    v.destroy().unwrap();
}

#[cfg(feature = "vimage")]
#[test]
fn tuning_while_instances_are_created_never_reaches_a_live_instance() {
    let _serial = serial();
    #[vnet]
    static KNOB: AtomicU32 = AtomicU32::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    /// Stops the tuner also when an assertion below fails.
    struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
    impl Drop for Stop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Relaxed);
        }
    }
    std::thread::scope(|s| {
        let _stop = Stop(&stop);
        s.spawn(|| {
            let mut n = 1u32;
            while !stop.load(Relaxed) {
                let value = n;
                V_KNOB.set_initial_with(move || AtomicU32::new(value));
                n += 1;
            }
        });
        let mut made = Vec::new();
        for i in 0..50 {
            let v = Vnet::create(&format!("tun-race-{i}")).unwrap();
            let start = V_KNOB.with_in(&v, |k| k.load(Relaxed));
            made.push((v, start));
            // Every earlier instance still has the value it started with.
            for (w, first) in &made {
                assert_eq!(V_KNOB.with_in(w, |k| k.load(Relaxed)), *first);
            }
        }
        drop(_stop);
        for (v, _) in made {
            v.destroy().unwrap();
        }
    });
    V_KNOB.reset_initial();
}

/// With `vimage` off there is no future instance: tuning is recorded and the
/// one global keeps its value.
#[cfg(not(feature = "vimage"))]
#[test]
fn without_vimage_tuning_is_recorded_and_changes_nothing() {
    let _serial = serial();
    #[vnet]
    static HOPS: u32 = 5;
    V_HOPS.set_initial(9);
    assert!(V_HOPS.is_tuned());
    assert!(tunable::tuned().contains(&"HOPS"));
    assert_eq!(V_HOPS.tuned_initial(), Some(9));
    assert_eq!(V_HOPS.get(), 5, "the one instance is live: untouched");
    let mut seen = Vec::new();
    vnet_runtime::vnet_foreach(|_| seen.push(V_HOPS.get()));
    assert_eq!(seen, [5]);
    assert!(Vnet::create("no-future-instances").is_err());
    assert!(V_HOPS.reset_initial());
}
