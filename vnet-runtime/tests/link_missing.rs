//! The hazard `link!` exists for: this test binary has `vnet-dep` as a
//! dependency but never names it, so the linker drops the crate and its
//! `#[vnet]` statics are silently missing from the registry (rustc 1.95,
//! linkme 0.3.37). If this test starts failing, the toolchain stopped
//! dropping such crates: update the docs of `link!` and this test.

#![cfg(feature = "vimage")]

#[test]
fn statics_of_a_crate_the_binary_never_names_are_missing() {
    vnet_runtime::boot();
    assert!(
        !vnet_runtime::registry::statics().any(|s| s.module_path == "vnet_dep"),
        "vnet_dep was linked although nothing names it"
    );
}
