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
// Without `std` only `#[vnet]` statics and their accessors remain (plain globals, `vimage` off).
#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(not(feature = "std"))]
extern crate core as std;

#[cfg(feature = "std")]
pub mod callout;
#[cfg(feature = "std")]
mod context;
#[cfg(feature = "std")]
mod error;
// Libraries whose statics fall back to vnet0 (no current instance).
#[cfg(feature = "std")]
pub mod eventhandler;
mod fallback;
#[cfg(feature = "std")]
mod future;
#[cfg(feature = "std")]
#[cfg_attr(not(feature = "vimage"), path = "instance_off.rs")]
mod instance;
#[cfg(feature = "std")]
mod instrument;
mod key;
#[cfg(feature = "std")]
mod lifecycle;
#[cfg(all(test, loom, feature = "vimage"))]
mod loom_tests;
// Work owned by an instance or module, stopped before teardown (issue 10).
#[cfg(feature = "std")]
mod owned;
#[cfg(feature = "std")]
mod policy;
// A `static mut` made per instance, keeping its own synchronization.
#[cfg(feature = "std")]
pub mod prelude;
pub mod registry;
mod static_mut;
#[cfg(feature = "std")]
pub mod subsystem;
#[cfg(feature = "vimage")]
mod sync;
#[cfg(feature = "std")]
mod test_support;
#[cfg(feature = "std")]
pub mod thread;
#[cfg(feature = "std")]
pub mod trace;
// Issue 10 (tunables, per-CPU statistics, introspection).
#[cfg(feature = "std")]
pub mod introspect;
#[cfg(feature = "std")]
pub mod pcpu;
#[cfg(feature = "std")]
pub mod tunable;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private0;

#[cfg(feature = "std")]
pub use context::{CurVnetGuard, CurVnetGuardIsNotSend};
#[cfg(feature = "std")]
pub use error::{DestroyError, Error, Holder};
#[cfg(feature = "std")]
pub use future::Bound;
#[cfg(feature = "vimage")]
#[doc(hidden)]
pub use instance::graveyard_len;
#[cfg(feature = "vimage")]
#[doc(hidden)]
pub use instance::list::check_consistency as check_instance_index;
#[cfg(feature = "std")]
pub use instance::{boot, vnet0, vnet_foreach, Vnet, VnetBuilder, VnetState, WeakVnet};
#[cfg(feature = "std")]
pub use instrument::{Cancelled, Owned, VnetFutureExt};
pub use key::VnetKey;
#[cfg(feature = "std")]
pub use lifecycle::{module, BootOptions};
#[doc(hidden)]
#[cfg(feature = "std")]
pub use owned::owned_work_len;
#[cfg(feature = "std")]
pub use policy::ContextPolicy;
pub use static_mut::StaticMut;
#[cfg(feature = "std")]
pub use vnet_macros::vnet_test;
pub use vnet_macros::{global, vnet};
#[cfg(feature = "std")]
pub use vnet_macros::{sysinit, sysuninit, vnet_module, vnet_sysinit, vnet_sysuninit};

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
/// in the instance (and is refused with [`Error::Busy`], naming this thread,
/// having changed nothing) or is seen by it (and this call panics): the body
/// never runs beside the teardown hooks. A destroy called on this thread
/// while the guard lives is refused with [`Error::DestroyFromWithin`].
///
/// For synchronous code only: never hold the guard across `.await` (see
/// [`CurVnetGuard`]); bind the future with
/// [`in_vnet`](VnetFutureExt::in_vnet) or
/// [`owned_by`](VnetFutureExt::owned_by).
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
#[cfg(feature = "std")]
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
