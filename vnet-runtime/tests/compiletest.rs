//! Compile-fail and compile-pass tests of the attribute macros, pinned with
//! blessed `.stderr` files (`TRYBUILD=overwrite cargo test --test compiletest`
//! to bless; review the diff). Blessed with rustc 1.95.

#![cfg(feature = "vimage")]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
