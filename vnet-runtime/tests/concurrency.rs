//! Many threads creating, entering, iterating and destroying instances at
//! once. Bounded in count; every invariant is checked at the end.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Barrier};

use vnet_runtime::{curvnet_set, vnet, vnet_foreach, Vnet, VnetState};

#[vnet]
static OWNER: AtomicU64 = AtomicU64::new(u64::MAX);

#[vnet]
static TOUCHES: AtomicU64 = AtomicU64::new(0);

static LIVE_DROPS: AtomicUsize = AtomicUsize::new(0);

struct CountsDrop;
impl Drop for CountsDrop {
    fn drop(&mut self) {
        LIVE_DROPS.fetch_add(1, SeqCst);
    }
}

#[vnet]
static DROPPER: CountsDrop = CountsDrop;

const THREADS: u64 = 6;
const ROUNDS: u64 = 150;

#[test]
fn concurrent_create_enter_iterate_destroy() {
    vnet_runtime::boot();
    let drops_before = LIVE_DROPS.load(SeqCst);
    let barrier = Arc::new(Barrier::new(THREADS as usize + 2));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));

    // One thread iterates all the time and checks that every instance it
    // sees is live, fully initialized and owned consistently.
    let iterator = {
        let barrier = barrier.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            barrier.wait();
            let mut loops = 0u64;
            while !stop.load(Acquire) && loops < 100_000 {
                vnet_foreach(|v| {
                    assert_eq!(v.state(), VnetState::Live);
                    assert_eq!(Vnet::current().as_ref(), Some(v));
                    let owner = V_OWNER.with(|o| o.load(Relaxed));
                    if let Some(name) = v.name().strip_prefix("conc-") {
                        let thread: u64 = name.split('-').next().unwrap().parse().unwrap();
                        assert!(
                            owner == thread || owner == u64::MAX,
                            "{} has owner {owner}",
                            v.name()
                        );
                    }
                    V_TOUCHES.with(|t| t.fetch_add(1, Relaxed));
                });
                loops += 1;
            }
        })
    };

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine: Vec<Vnet> = Vec::new();
                for round in 0..ROUNDS {
                    let v = Vnet::create(&format!("conc-{t}-{round}")).unwrap();
                    {
                        let _g = curvnet_set(&v);
                        assert_eq!(
                            V_OWNER.with(|o| o.load(Relaxed)),
                            u64::MAX,
                            "fresh instance"
                        );
                        V_OWNER.with(|o| o.store(t, Relaxed));
                    }
                    mine.push(v);
                    // Destroy an older one now and then; keep a few alive.
                    if round % 3 == 2 {
                        let old = mine.remove(0);
                        assert_eq!(V_OWNER.with_in(&old, |o| o.load(Relaxed)), t);
                        old.destroy().unwrap();
                    }
                }
                mine
            })
        })
        .collect();
    barrier.wait();
    let survivors: Vec<Vnet> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    stop.store(true, Release);
    iterator.join().unwrap();

    // Every survivor is live, in the list, and kept its owner's value.
    let listed = Vnet::list();
    for v in &survivors {
        assert!(listed.contains(v), "{} missing from the list", v.name());
        let t: u64 = v.name()["conc-".len()..]
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(V_OWNER.with_in(v, |o| o.load(Relaxed)), t);
    }
    drop(listed); // its handles would keep the values alive past destroy
    let destroyed = (THREADS * ROUNDS) as usize - survivors.len();
    assert_eq!(
        LIVE_DROPS.load(SeqCst) - drops_before,
        destroyed,
        "one drop per destroyed instance"
    );
    for v in survivors {
        v.destroy().unwrap();
    }
    assert_eq!(
        LIVE_DROPS.load(SeqCst) - drops_before,
        (THREADS * ROUNDS) as usize
    );
    assert!(!Vnet::list().iter().any(|v| v.name().starts_with("conc-")));
}
