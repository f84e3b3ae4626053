//! FreeBSD's VIMAGE ("vnet") model for Rust: run many isolated instances of
//! a program built on global state, in one process.
//!
//! Mark each global that must be per-instance with [`#[vnet]`](vnet). Every
//! instance ([`Vnet`]) gets its own copy, starting from the declared initial
//! value; code reaches the copy of the *current* instance through the
//! generated `V_` accessor, and each thread has its own current instance
//! (FreeBSD's `curvnet`).
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use vnet_runtime::{curvnet_set, vnet, vnet_foreach, Vnet};
//! # if !vnet_runtime::VIMAGE { return Ok(()); }
//!
//! /// Packets seen by this network stack instance.
//! #[vnet]
//! pub static PACKETS: AtomicU64 = AtomicU64::new(0);
//!
//! fn input() {
//!     V_PACKETS.with(|p| p.fetch_add(1, Ordering::Relaxed));
//! }
//!
//! let red = Vnet::create("red")?;
//! let blue = Vnet::create("blue")?;
//! {
//!     let _guard = curvnet_set(&red); // CURVNET_SET(red)
//!     input();
//!     input();
//! } // CURVNET_RESTORE()
//! blue.enter(input);
//!
//! let mut seen = Vec::new();
//! vnet_foreach(|v| seen.push((v.name().to_owned(), V_PACKETS.with(|p| p.load(Ordering::Relaxed)))));
//! assert!(seen.contains(&("red".to_owned(), 2)));
//! assert!(seen.contains(&("blue".to_owned(), 1)));
//!
//! red.destroy()?;
//! blue.destroy()?;
//! # Ok::<(), vnet_runtime::Error>(())
//! ```
//!
//! | FreeBSD | here |
//! | --- | --- |
//! | `VNET_DEFINE(int, foo) = 3;` | `#[vnet] static FOO: AtomicI32 = AtomicI32::new(3);` |
//! | `V_foo`, `VNET(foo)` | `V_FOO.with(\|foo\| ...)` |
//! | `VNET_VNET(vnet, foo)` | `V_FOO.with_in(&vnet, \|foo\| ...)` |
//! | `CURVNET_SET(v)` … `CURVNET_RESTORE()` | `let _guard = curvnet_set(&v);` or `v.enter(\|\| ...)` |
//! | `VNET_LIST_RLOCK` + `VNET_FOREACH` | [`vnet_foreach`] |
//! | `vnet0`, `IS_DEFAULT_VNET` | [`vnet0()`], [`Vnet::is_default`] |
//!
//! # The `vimage` feature
//!
//! On by default. Without it the same source compiles to plain statics:
//! `V_FOO.with` is a direct access, vnet0 is the only instance, and
//! [`Vnet::create`] returns [`Error::VimageDisabled`].
//!
//! # Tests: `#[vnet_test]`
//!
//! [`#[vnet_test]`](vnet_test) is written instead of `#[test]`: every test
//! runs in a fresh instance named after it, so tests that share `#[vnet]`
//! statics run in parallel and each starts from the declared initial values.
//!
//! # No current instance: the policy
//!
//! A `V_` access on a thread with no current instance panics
//! ([`ContextPolicy::Strict`], the default) or works on vnet0
//! ([`ContextPolicy::DefaultInstance`], for incremental ports), chosen once
//! per process with [`context_policy!`] or [`BootOptions::context_policy`].
//!
//! # Linking crates that only register
//!
//! `#[vnet]` statics are collected by the linker. A dependency that the
//! binary never names is not linked at all, and its statics are *silently*
//! missing. Name such crates once in the binary:
//!
//! ```text
//! vnet_runtime::link!(my_firewall, my_protocol); // same as `use my_firewall as _;` ...
//! ```
//!
//! [`registry::statics`] lists what was linked, so a test can compare it with
//! `cargo vnet-lint list`.

#![warn(missing_docs)]

mod boot;
pub mod callout;
mod context;
mod error;
pub mod eventhandler;
mod future;
#[cfg(feature = "vimage")]
mod graveyard;
#[cfg_attr(not(feature = "vimage"), path = "instance_off.rs")]
mod instance;
pub mod introspect;
mod key;
mod lifecycle;
#[cfg(all(test, loom, feature = "vimage"))]
mod loom_tests;
pub mod module;
mod owned;
pub mod pcpu;
mod policy;
pub mod prelude;
pub mod registry;
pub mod subsystem;
#[cfg(feature = "vimage")]
mod sync;
mod task;
mod test_support;
pub mod thread;
pub mod trace;
pub mod tunable;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private0;

pub use boot::{boot, vnet0, BootOptions};
pub use context::CurVnetGuard;
pub use error::Error;
pub use future::{Bound, VnetFutureExt};
pub use instance::{vnet_foreach, Vnet, VnetBuilder, VnetState, WeakVnet};
pub use key::VnetKey;
pub use policy::ContextPolicy;
pub use task::{Cancelled, Owned};
pub use vnet_macros::vnet_test;
pub use vnet_macros::{
    global, sysinit, sysuninit, vnet, vnet_module, vnet_sysinit, vnet_sysuninit,
};

/// Whether this build virtualizes (the `vimage` feature, FreeBSD's
/// `options VIMAGE`): `false` means `#[vnet]` statics are plain globals and
/// vnet0 is the only instance.
///
/// ```
/// if vnet_runtime::VIMAGE {
///     assert!(vnet_runtime::Vnet::create("probe").unwrap().destroy().is_ok());
/// }
/// ```
pub const VIMAGE: bool = cfg!(feature = "vimage");

/// Makes `vnet` current on this thread until the guard is dropped
/// (CURVNET_SET; dropping the guard is CURVNET_RESTORE). Guards nest.
///
/// Setting and restoring are a few plain stores to this thread's context: no
/// locking, no atomic read-modify-write, no reference counting. Setting adds
/// one fence, so that a concurrent [`Vnet::destroy`] either sees this thread
/// in the instance (and fails with [`Error::Busy`]) or is seen by it (and
/// this call panics): the body never runs beside the teardown hooks.
///
/// # Panics
/// When `vnet` was destroyed, or is being destroyed (or created) by another
/// thread.
///
/// ```
/// use vnet_runtime::{curvnet_set, Vnet};
/// # if !vnet_runtime::VIMAGE { return; }
/// let a = Vnet::create("guard-a").unwrap();
/// let b = Vnet::create("guard-b").unwrap();
/// {
///     let _outer = curvnet_set(&a);
///     {
///         let _inner = curvnet_set(&b);
///         assert_eq!(Vnet::current().unwrap(), b);
///     }
///     assert_eq!(Vnet::current().unwrap(), a);
/// }
/// assert_eq!(Vnet::current(), None);
/// # a.destroy().unwrap(); b.destroy().unwrap();
/// ```
#[inline]
#[cfg_attr(debug_assertions, track_caller)]
pub fn curvnet_set(vnet: &Vnet) -> CurVnetGuard<'_> {
    vnet.push_current()
}

/// Links crates that contribute `#[vnet]` statics or lifecycle hooks but are
/// never named by the binary, which the linker would otherwise drop
/// (silently losing their statics and hooks). Write it once, in the binary.
///
/// ```
/// vnet_runtime::link!(vnet_runtime);
/// ```
#[macro_export]
macro_rules! link {
    ($($krate:ident),+ $(,)?) => {
        $(
            #[allow(unused_imports)]
            use $krate as _;
        )+
    };
}
