// A static's lint attributes reach everything #[vnet] generates from it, so
// a crate that denies warnings builds with them as it did with the plain
// static; `#![forbid(unsafe_code)]` crates can use #[vnet] (the expansion's
// unsafe code comes from the runtime).
#![deny(warnings)]
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use vnet_runtime::vnet;

#[allow(warnings)]
#[vnet]
static lower_case: AtomicU32 = AtomicU32::new(1);

#[allow(non_upper_case_globals)]
#[vnet]
pub static mixedCase: u32 = 2;

// `expect` is kept as `allow` (the registration always uses the accessor,
// so an expectation of `dead_code` could never be fulfilled).
#[expect(dead_code)]
#[vnet]
static NEVER_USED: u32 = 3;

#[cfg(any())]
#[vnet]
static CONFIGURED_OUT: u32 = 4;

/// Documented, and its docs stay on the accessor.
#[vnet]
pub static DOCUMENTED: u32 = 5;

fn main() {
    vnet_runtime::vnet0().enter(|| {
        assert_eq!(V_lower_case.with(|v| v.load(Ordering::Relaxed)), 1);
        assert_eq!(V_mixedCase.get(), 2);
        assert_eq!(V_DOCUMENTED.get(), 5);
    });
}
