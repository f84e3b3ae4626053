//! Code written once against the runtime, run in both builds: with `vimage`
//! on it touches vnet0's copy, with it off the plain global.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use vnet_runtime::{curvnet_set, vnet, vnet0, vnet_foreach};

/// Bytes received.
#[vnet]
pub static RX_BYTES: AtomicU64 = AtomicU64::new(0);

#[vnet]
static LOG: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

fn receive(len: u64) {
    V_RX_BYTES.with(|b| b.fetch_add(len, Relaxed));
    V_LOG.with(|l| l.lock().unwrap().push("rx"));
}

#[test]
fn the_same_code_runs_with_vimage_on_and_off() {
    let v0 = vnet0();
    {
        let _guard = curvnet_set(&v0);
        receive(100);
        receive(20);
    }
    v0.enter(|| receive(3));
    assert_eq!(V_RX_BYTES.with_in(&v0, |b| b.load(Relaxed)), 123);
    let mut total = 0;
    vnet_foreach(|v| {
        if v.is_default() {
            total += V_RX_BYTES.with(|b| b.load(Relaxed));
            assert_eq!(V_LOG.with(|l| l.lock().unwrap().len()), 3);
        }
    });
    assert_eq!(total, 123);
}
