//! A crate that the binary never names is dropped by the linker, and its
//! `#[vnet]` statics with it (verified with linkme 0.3.37 and rustc 1.95).
//! This test binary names `vnet_dep` only through `link!`, the documented
//! one-line remedy, and checks that its statics are registered and usable.

vnet_runtime::link!(vnet_dep);

#[test]
fn link_brings_in_statics_of_a_crate_the_binary_never_names() {
    vnet_runtime::boot();
    let names: Vec<(&str, &str)> = vnet_runtime::registry::statics()
        .map(|s| (s.module_path, s.name))
        .collect();
    assert!(names.contains(&("vnet_dep", "DEP_COUNTER")), "{names:?}");
    assert!(names.contains(&("vnet_dep", "DEP_TABLE")), "{names:?}");
}
