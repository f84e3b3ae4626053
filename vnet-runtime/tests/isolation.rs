//! Per-instance copies: every instance starts from the declared initial
//! values and keeps its own changes.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use vnet_runtime::{curvnet_set, registry, vnet, Vnet};

#[vnet]
static COUNTER: AtomicU64 = AtomicU64::new(100);

#[vnet]
static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A struct with several fields, to check that the whole value is per instance.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Config {
    mtu: u32,
    forwarding: bool,
    ttl: u8,
}

#[vnet]
static CONFIG: Mutex<Config> = Mutex::new(Config {
    mtu: 1500,
    forwarding: false,
    ttl: 64,
});

#[vnet]
static ZERO_SIZED: () = ();

#[vnet]
static BYTE: u8 = 0xAB;

fn mutate(i: u64) {
    V_COUNTER.with(|c| c.store(i * 1000, Relaxed));
    V_NAMES.with(|n| n.lock().unwrap().push(format!("instance-{i}")));
    V_CONFIG.with(|c| {
        let mut c = c.lock().unwrap();
        c.mtu = 9000 + i as u32;
        c.forwarding = true;
    });
}

fn initial_state() -> (u64, Vec<String>, Config, u8) {
    (
        V_COUNTER.with(|c| c.load(Relaxed)),
        V_NAMES.with(|n| n.lock().unwrap().clone()),
        V_CONFIG.with(|c| *c.lock().unwrap()),
        V_BYTE.get(),
    )
}

#[test]
fn each_instance_keeps_its_own_values() {
    let vnets: Vec<Vnet> = (0..8)
        .map(|i| Vnet::create(&format!("iso-{i}")).unwrap())
        .collect();
    for (i, v) in vnets.iter().enumerate() {
        v.enter(|| mutate(i as u64));
    }
    for (i, v) in vnets.iter().enumerate() {
        let i = i as u64;
        let _guard = curvnet_set(v);
        assert_eq!(V_COUNTER.with(|c| c.load(Relaxed)), i * 1000);
        assert_eq!(
            V_NAMES.with(|n| n.lock().unwrap().clone()),
            vec![format!("instance-{i}")]
        );
        assert_eq!(V_CONFIG.with(|c| c.lock().unwrap().mtu), 9000 + i as u32);
        assert_eq!(V_CONFIG.with(|c| c.lock().unwrap().ttl), 64);
        V_ZERO_SIZED.with(|unit| assert_eq!(*unit, ()));
    }
    for v in vnets {
        v.destroy().unwrap();
    }
}

#[test]
fn a_new_instance_starts_from_the_declared_values_after_heavy_mutation() {
    let first = Vnet::create("iso-heavy-first").unwrap();
    first.enter(|| {
        for i in 0..10_000 {
            mutate(i);
        }
    });
    // vnet0 is mutated too: new instances never copy it.
    vnet_runtime::vnet0().enter(|| mutate(77));
    let fresh = Vnet::create("iso-heavy-fresh").unwrap();
    let expected = (
        100,
        Vec::<String>::new(),
        Config {
            mtu: 1500,
            forwarding: false,
            ttl: 64,
        },
        0xAB,
    );
    assert_eq!(fresh.enter(initial_state), expected);
    // Destroying and re-creating with the same name starts over too.
    first.destroy().unwrap();
    let again = Vnet::create("iso-heavy-first").unwrap();
    assert_eq!(again.enter(initial_state), expected);
    again.destroy().unwrap();
    fresh.destroy().unwrap();
}

#[test]
fn with_in_reads_a_given_instance_without_making_it_current() {
    let a = Vnet::create("iso-with-in-a").unwrap();
    let b = Vnet::create("iso-with-in-b").unwrap();
    a.enter(|| V_COUNTER.with(|c| c.store(1, Relaxed)));
    b.enter(|| {
        V_COUNTER.with(|c| c.store(2, Relaxed));
        assert_eq!(V_COUNTER.with_in(&a, |c| c.load(Relaxed)), 1);
        assert_eq!(Vnet::current().unwrap(), b);
    });
    assert_eq!(Vnet::current(), None);
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn statics_from_another_crate_are_per_instance_too() {
    let a = Vnet::create("iso-dep-a").unwrap();
    let b = Vnet::create("iso-dep-b").unwrap();
    a.enter(|| {
        vnet_dep::V_DEP_COUNTER.with(|c| c.fetch_add(1, Relaxed));
        vnet_dep::remember("from a");
    });
    assert_eq!(vnet_dep::V_DEP_COUNTER.with_in(&a, |c| c.load(Relaxed)), 8);
    assert_eq!(vnet_dep::V_DEP_COUNTER.with_in(&b, |c| c.load(Relaxed)), 7);
    assert_eq!(
        vnet_dep::V_DEP_TABLE.with_in(&b, |t| t.lock().unwrap().len()),
        0
    );
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn the_registry_lists_every_static_with_its_layout() {
    vnet_runtime::boot();
    let mine: Vec<_> = registry::statics()
        .filter(|s| s.module_path == module_path!())
        .map(|s| (s.name, s.size, s.align))
        .collect();
    assert_eq!(
        mine,
        vec![
            ("BYTE", 1, 1),
            (
                "CONFIG",
                size_of::<Mutex<Config>>(),
                align_of::<Mutex<Config>>()
            ),
            ("COUNTER", 8, 8),
            (
                "NAMES",
                size_of::<Mutex<Vec<String>>>(),
                align_of::<Mutex<Vec<String>>>()
            ),
            ("ZERO_SIZED", 0, 1),
        ]
    );
    let counter = registry::statics().find(|s| s.name == "COUNTER").unwrap();
    assert!(counter.file.ends_with("isolation.rs"));
    assert_eq!(counter.offset.unwrap() % 8, 0);
    // Offsets do not overlap.
    let mut spans: Vec<(usize, usize)> = registry::statics()
        .filter(|s| s.size > 0)
        .map(|s| (s.offset.unwrap(), s.offset.unwrap() + s.size))
        .collect();
    spans.sort();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:?}");
}

#[test]
fn names_are_unique_among_live_instances() {
    let a = Vnet::create("iso-unique").unwrap();
    assert_eq!(
        Vnet::create("iso-unique").unwrap_err(),
        vnet_runtime::Error::NameInUse("iso-unique".into())
    );
    assert!(matches!(
        Vnet::create(""),
        Err(vnet_runtime::Error::InvalidName(_))
    ));
    assert!(matches!(
        Vnet::create("vnet0"),
        Err(vnet_runtime::Error::NameInUse(_))
    ));
    a.destroy().unwrap();
    Vnet::create("iso-unique").unwrap().destroy().unwrap();
}
