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
//! # No current instance
//!
//! One rule for every call that works *in* an instance, as tokio does for
//! its runtime handle:
//!
//! * a `*_current` form takes the instance current on this thread, and with
//!   none it panics with a message that names the call and its handle form:
//!   [`thread::spawn_current`], [`thread::spawn_scoped_current`],
//!   [`Callout::new_current`](callout::Callout::new_current),
//!   [`Event::register_current`](eventhandler::Event::register_current),
//!   [`Event::invoke_current`](eventhandler::Event::invoke_current),
//!   [`in_current_vnet`](VnetFutureExt::in_current_vnet);
//! * every other form takes the instance as a handle and never looks at the
//!   current one: [`thread::spawn_in`], [`Callout::new_in`](callout::Callout::new_in),
//!   [`Event::register_in`](eventhandler::Event::register_in),
//!   [`Event::invoke_in`](eventhandler::Event::invoke_in),
//!   [`in_vnet`](VnetFutureExt::in_vnet), [`owned_by`](VnetFutureExt::owned_by),
//!   `V_X.with_in(&vnet, …)`;
//! * work of no instance or of every instance says so in its name:
//!   [`Callout::process_wide`](callout::Callout::process_wide) (no instance),
//!   [`Event::register_global`](eventhandler::Event::register_global) and
//!   [`Event::invoke_all`](eventhandler::Event::invoke_all) (every instance),
//!   [`vnet_foreach`].
//!
//! A `V_` access (`V_X.with`, `V_X.get`) is the one `_current`-style call
//! without the suffix. With no instance current it panics naming the static
//! ([`ContextPolicy::Strict`], the default), or works on vnet0
//! ([`ContextPolicy::DefaultInstance`], for incremental ports), chosen once
//! per process with [`context_policy!`] or [`BootOptions::context_policy`].
//! Under `DefaultInstance` the `*_current` forms use vnet0 too.
//!
//! ```
//! use vnet_runtime::{thread, Vnet};
//! # if !vnet_runtime::VIMAGE { return; }
//! let v = Vnet::create("rule-doc").unwrap();
//! let by_handle = thread::spawn_in(&v, Vnet::current);
//! let by_current = v.enter(|| thread::spawn_current(Vnet::current));
//! assert_eq!(by_handle.join().unwrap(), Some(v.clone()));
//! assert_eq!(by_current.join().unwrap(), Some(v.clone()));
//! // No instance current here: the `_current` form refuses.
//! assert!(std::panic::catch_unwind(|| thread::spawn_current(|| ())).is_err());
//! v.destroy().unwrap();
//! ```
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

mod block;
#[cfg(feature = "std")]
mod boot;
#[cfg(feature = "std")]
pub mod callout;
#[cfg(feature = "std")]
#[cfg_attr(not(feature = "vimage"), path = "context_off.rs")]
mod context;
#[cfg(feature = "std")]
mod error;
#[cfg(feature = "std")]
pub mod eventhandler;
// Libraries whose statics fall back to vnet0 (no current instance).
mod fallback;
#[cfg(feature = "std")]
mod future;
#[cfg(all(feature = "std", feature = "vimage"))]
mod graveyard;
#[cfg(feature = "std")]
#[cfg_attr(not(feature = "vimage"), path = "instance_off.rs")]
mod instance;
#[cfg(feature = "std")]
pub mod introspect;
mod key;
#[cfg(feature = "std")]
mod lifecycle;
#[cfg(all(test, loom, feature = "vimage"))]
mod loom_tests;
#[cfg(feature = "std")]
pub mod module;
// Work owned by an instance or module, stopped before teardown.
#[cfg(feature = "std")]
mod owned;
#[cfg(feature = "std")]
pub mod pcpu;
#[cfg(feature = "std")]
mod policy;
#[cfg(feature = "std")]
pub mod prelude;
#[cfg(feature = "std")]
mod record;
pub mod registry;
// A `static mut` made per instance, keeping its own synchronization.
mod static_mut;
#[cfg(feature = "std")]
pub mod subsystem;
#[cfg(feature = "vimage")]
mod sync;
#[cfg(feature = "std")]
mod task;
#[cfg(feature = "std")]
mod test_support;
#[cfg(feature = "std")]
pub mod thread;
#[cfg(feature = "std")]
pub mod trace;
#[cfg(feature = "std")]
pub mod tunable;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private0;

#[cfg(feature = "std")]
pub use boot::{boot, vnet0, BootOptions};
#[cfg(feature = "std")]
pub use context::{CurVnetGuard, CurVnetGuardIsNotSend};
#[cfg(feature = "std")]
pub use error::{Error, Holder};
#[cfg(feature = "std")]
pub use future::{Bound, VnetFutureExt};
#[cfg(feature = "std")]
pub use instance::{vnet_foreach, DestroyError, Vnet, VnetBuilder, VnetState, WeakVnet};
pub use key::VnetKey;
#[cfg(feature = "std")]
pub use policy::ContextPolicy;
pub use static_mut::StaticMut;
#[cfg(feature = "std")]
pub use task::{Cancelled, Owned};
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
