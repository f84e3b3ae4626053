//! With the `vimage` feature off, the same source compiles to plain globals
//! and one instance. Run with
//! `cargo test -p vnet-runtime --no-default-features`.

#![cfg(not(feature = "vimage"))]

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use vnet_runtime::{curvnet_set, vnet, vnet0, vnet_foreach, Error, Vnet};

#[vnet]
static PLAIN: AtomicU32 = AtomicU32::new(9);

#[test]
fn statics_are_plain_globals_usable_without_an_instance() {
    // No instance has to be current: it is a direct access.
    V_PLAIN.with(|p| p.fetch_add(1, Relaxed));
    let _guard = curvnet_set(&vnet0());
    assert!(V_PLAIN.with(|p| p.load(Relaxed)) >= 10);
    assert_eq!(V_PLAIN.name(), "PLAIN");
}

#[test]
fn only_vnet0_exists() {
    assert_eq!(Vnet::create("x").unwrap_err(), Error::VimageDisabled);
    assert_eq!(
        Vnet::builder("x").children_max(2).create().unwrap_err(),
        Error::VimageDisabled
    );
    let refused = vnet0().destroy().unwrap_err();
    assert_eq!(*refused.error(), Error::Vnet0);
    assert_eq!(refused.into_vnet(), vnet0());
    assert_eq!(Vnet::list(), vec![vnet0()]);
    assert_eq!(Vnet::current(), Some(vnet0()));
    assert_eq!(Vnet::lookup("vnet0"), Some(vnet0()));
    let mut visits = 0;
    vnet_foreach(|v| {
        assert!(v.is_default());
        visits += 1;
    });
    assert_eq!(visits, 1, "VNET_FOREACH runs its body exactly once");
}

#[test]
fn the_registry_still_lists_the_statics() {
    let info = vnet_runtime::registry::statics()
        .find(|s| s.name == "PLAIN")
        .unwrap();
    assert_eq!((info.size, info.align, info.offset), (4, 4, None));
}

#[test]
fn the_value_lives_inline_in_the_static() {
    // No indirection: `with` hands out the static's own storage.
    let key = std::ptr::addr_of!(V_PLAIN) as usize;
    let value = V_PLAIN.with(|p| p as *const AtomicU32 as usize);
    assert!((key..key + size_of_val(&V_PLAIN)).contains(&value));
}
