//! A tunable set before boot is a loader tunable: vnet0, created at boot,
//! starts with it too. Its own binary, so nothing boots the runtime first.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use vnet_runtime::{vnet, vnet0, Vnet};

#[vnet]
static HZ: AtomicU32 = AtomicU32::new(100);

#[test]
fn an_override_set_before_boot_reaches_vnet0() {
    V_HZ.set_initial_with(|| AtomicU32::new(1000));
    vnet_runtime::boot();
    if vnet_runtime::VIMAGE {
        assert_eq!(V_HZ.with_in(&vnet0(), |h| h.load(Relaxed)), 1000);
        V_HZ.reset_initial();
        let v = Vnet::create("boot-tunable").unwrap();
        assert_eq!(V_HZ.with_in(&v, |h| h.load(Relaxed)), 100);
        assert_eq!(V_HZ.with_in(&vnet0(), |h| h.load(Relaxed)), 1000);
        v.destroy().unwrap();
    } else {
        // No instance is built with `vimage` off: the global keeps its value.
        assert_eq!(V_HZ.with(|h| h.load(Relaxed)), 100);
        assert!(V_HZ.reset_initial());
    }
}
