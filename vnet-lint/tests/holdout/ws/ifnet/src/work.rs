// H6: spawns by identity, however imported.
use routing::V_RT_NUMFIBS;
use std::sync::atomic::Ordering::Relaxed;
use vnet_runtime::{curvnet_set, thread, Vnet};

pub fn runtime_spawn(v: &Vnet) {
    v.enter(|| {
        thread::spawn(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed)));
    });
}

pub fn runtime_spawn_reexported(v: &Vnet) {
    v.enter(|| {
        crate::reexport::spawn_here(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed)));
    });
}

pub fn runtime_spawn_in(v: &Vnet) {
    rt::thread::spawn_in(v, || V_RT_NUMFIBS.with(|n| n.load(Relaxed)));
}

pub mod plain {
    use routing::V_RT_NUMFIBS;
    use std::sync::atomic::Ordering::Relaxed;
    use std::thread;
    use std::thread::spawn as go;

    pub fn std_spawn() {
        thread::spawn(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed))); // EXPECT VN302
    }

    pub fn std_spawn_renamed() {
        go(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed))); // EXPECT VN302
    }

    pub fn std_spawn_reexported() {
        crate::reexport::spawn_plain(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed))); // EXPECT VN302
    }

    pub fn builder() {
        let _ = thread::Builder::new().spawn(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed))); // EXPECT VN302
    }

    pub fn blocking() {
        tokio::task::spawn_blocking(|| V_RT_NUMFIBS.with(|n| n.load(Relaxed))); // EXPECT VN302
    }

    pub fn entered(v: &vnet_runtime::Vnet) {
        let v = v.clone();
        thread::spawn(move || V_RT_NUMFIBS.with_in(&v, |n| n.load(Relaxed)));
    }
}

// H7: guards dropped at once, however written.
pub fn dropped(v: &Vnet) {
    drop(curvnet_set(v)); // EXPECT VN301
    V_RT_NUMFIBS.with(|n| n.load(Relaxed));
}

pub fn dropped_path(v: &Vnet) {
    let _ = vnet_runtime::curvnet_set(v); // EXPECT VN301
}

pub fn held(v: &Vnet) {
    let guard = curvnet_set(v);
    V_RT_NUMFIBS.with(|n| n.load(Relaxed));
    drop(guard);
}
