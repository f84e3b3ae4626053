//! Values are dropped exactly once per destroyed instance, and never for an
//! instance that is not destroyed.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use vnet_runtime::{vnet, Vnet};

/// Drops of `Tracked` values, by tag.
static DROPS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

#[derive(Debug)]
struct Tracked {
    tag: usize,
    payload: Option<Vec<u8>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPS[self.tag].fetch_add(1, SeqCst);
    }
}

#[vnet]
static FIRST: Tracked = Tracked {
    tag: 0,
    payload: None,
};

#[vnet]
static SECOND: Mutex<Tracked> = Mutex::new(Tracked {
    tag: 1,
    payload: None,
});

/// A value whose `Drop` panics; the others must still be dropped. The
/// alignment puts it first in the block, so the others are dropped after it.
#[repr(align(64))]
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        DROPS[2].fetch_add(1, SeqCst);
        if std::thread::panicking() {
            return;
        }
        if PANIC_ARMED.load(SeqCst) {
            panic!("drop of PanicsOnDrop");
        }
    }
}

static PANIC_ARMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[vnet]
static THIRD: PanicsOnDrop = PanicsOnDrop;

fn drops() -> [usize; 3] {
    [
        DROPS[0].load(SeqCst),
        DROPS[1].load(SeqCst),
        DROPS[2].load(SeqCst),
    ]
}

// One test function: the counters are process-wide and tests run in parallel.
#[test]
fn each_value_is_dropped_exactly_once_per_destroyed_instance() {
    vnet_runtime::boot();
    let before = drops();

    // Instances that are created, used and destroyed.
    let vnets: Vec<Vnet> = (0..5)
        .map(|i| Vnet::create(&format!("drop-{i}")).unwrap())
        .collect();
    for v in &vnets {
        v.enter(|| {
            V_SECOND.with(|s| s.lock().unwrap().payload = Some(vec![1, 2, 3]));
        });
    }
    assert_eq!(drops(), before, "nothing is dropped while instances live");
    for v in vnets {
        v.destroy().unwrap();
    }
    assert_eq!(drops(), [before[0] + 5, before[1] + 5, before[2] + 5]);

    // A handle kept past destroy delays the drop until it goes.
    let kept = Vnet::create("drop-kept").unwrap();
    let handle = kept.clone();
    kept.destroy().unwrap();
    assert_eq!(drops(), [before[0] + 5, before[1] + 5, before[2] + 5]);
    drop(handle);
    assert_eq!(drops(), [before[0] + 6, before[1] + 6, before[2] + 6]);

    // A panicking Drop does not stop the other values from being dropped.
    let v = Vnet::create("drop-panics").unwrap();
    PANIC_ARMED.store(true, SeqCst);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.destroy()));
    PANIC_ARMED.store(false, SeqCst);
    assert!(result.is_err(), "the panic from Drop propagates");
    assert_eq!(drops(), [before[0] + 7, before[1] + 7, before[2] + 7]);

    // vnet0 and instances never destroyed are never dropped.
    let _alive = Vnet::create("drop-never").unwrap();
    assert_eq!(drops(), [before[0] + 7, before[1] + 7, before[2] + 7]);
}
