//! Attribute macros of [vnet-runtime](https://docs.rs/vnet-runtime). Use them
//! through `vnet_runtime`, which re-exports them.
//!
//! Each macro is a pipeline: parse into our own types that keep the original
//! tokens, validate (collecting every error, each on the offending tokens),
//! then expand into calls of `::vnet_runtime::__private0` plumbing. On error
//! the expansion still defines the item's names, so use sites do not cascade.
//! There is no runtime logic here.

mod global;
mod hook;
mod module;
mod symbol;
mod vnet_static;
mod vnet_test;

use proc_macro::TokenStream;

/// Makes a static per-instance: `#[vnet] static FOO: T = init;` defines the
/// accessor `V_FOO`, and every instance gets its own `FOO`, starting from
/// `init`.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// /// Interfaces attached to this instance.
/// #[vnet_runtime::vnet]
/// pub static IF_COUNT: AtomicU32 = AtomicU32::new(0);
///
/// vnet_runtime::vnet0().enter(|| V_IF_COUNT.with(|n| n.fetch_add(1, Ordering::Relaxed)));
/// ```
///
/// The initializer must be a constant expression (as for any static); the
/// type must be `Send + Sync`. `static mut`, generics and other items are
/// refused with a message saying what to write instead. The static's
/// attributes stay with it: docs on the accessor, `cfg` and lint attributes
/// (`allow`, `deny`, …; `expect` acts as `allow`) on everything generated.
/// The name `FOO` itself is no accessor: `FOO.with(..)` is an error that says
/// to write `V_FOO`.
/// `#[vnet(crate = path)]` names the runtime for crates that re-export it.
#[proc_macro_attribute]
pub fn vnet(attr: TokenStream, item: TokenStream) -> TokenStream {
    vnet_static::expand(attr.into(), item.into()).into()
}

/// Marks a global as intentionally process-wide, with the reason, so
/// `cargo vnet-lint` leaves it alone (FreeBSD's porting guide: a driver for one piece of
/// hardware stays global). The item is unchanged.
///
/// ```
/// use std::sync::Mutex;
///
/// #[vnet_runtime::global(reason = "one serial port per machine")]
/// static CONSOLE: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// # CONSOLE.lock().unwrap().push(1);
/// ```
#[proc_macro_attribute]
pub fn global(attr: TokenStream, item: TokenStream) -> TokenStream {
    global::expand(attr.into(), item.into()).into()
}

/// A once-per-process init hook (FreeBSD's `SYSINIT`): runs when its module
/// loads (at boot for the base), at its `(subsystem, order)` among the other
/// steps. `fn name()` returning `()` or `Result<(), E: Display>`; an error or
/// panic fails the load, which is rolled back.
///
/// ```
/// use vnet_runtime::subsystem::*;
///
/// #[vnet_runtime::sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
/// fn proto_init() {}
/// ```
///
/// Arguments: `(SUBSYSTEM, ORDER)`, any constant `u32` expressions (the
/// `SI_SUB_*`/`SI_ORDER_*` names need no import), then optionally
/// `module = name` (required in a crate that declares several modules) and
/// `crate = path`.
#[proc_macro_attribute]
pub fn sysinit(attr: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(hook::Kind::Sysinit, attr.into(), item.into()).into()
}

/// A once-per-process teardown hook (FreeBSD's `SYSUNINIT`): runs when its
/// module unloads, in reverse `(subsystem, order)`. Same arguments as
/// [`macro@sysinit`].
///
/// ```
/// #[vnet_runtime::sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
/// fn proto_uninit() {}
/// ```
#[proc_macro_attribute]
pub fn sysuninit(attr: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(hook::Kind::Sysuninit, attr.into(), item.into()).into()
}

/// A per-instance init hook (FreeBSD's `VNET_SYSINIT`): runs with the
/// instance current, on every instance that exists when its module loads and
/// on every instance created later. The subsystem must lie in
/// `(SI_SUB_VNET, SI_SUB_VNET_DONE]`. Same arguments as [`macro@sysinit`].
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// #[vnet_runtime::vnet]
/// static READY: AtomicBool = AtomicBool::new(false);
///
/// #[vnet_runtime::vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
/// fn ready_init() {
///     V_READY.with(|r| r.store(true, Ordering::Relaxed));
/// }
///
/// let v = vnet_runtime::Vnet::create("ready").unwrap();
/// assert!(V_READY.with_in(&v, |r| r.load(Ordering::Relaxed)));
/// v.destroy().unwrap();
/// ```
#[proc_macro_attribute]
pub fn vnet_sysinit(attr: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(hook::Kind::VnetSysinit, attr.into(), item.into()).into()
}

/// A per-instance teardown hook (FreeBSD's `VNET_SYSUNINIT`): runs with the
/// instance current when it is destroyed or its module unloads, in reverse
/// `(subsystem, order)`. Same arguments as [`macro@vnet_sysinit`].
///
/// ```
/// #[vnet_runtime::vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
/// fn ready_uninit() {}
/// ```
#[proc_macro_attribute]
pub fn vnet_sysuninit(attr: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(hook::Kind::VnetSysuninit, attr.into(), item.into()).into()
}

/// Declares a module on its event handler (FreeBSD's `DECLARE_MODULE`,
/// `MODULE_VERSION` and `MODULE_DEPEND`): `#[vnet_module(name, SUBSYSTEM,
/// ORDER, version = N, depend(other, min, preferred, max), ...)]` on
/// `fn(ModEvent) -> Result<(), ModError>`. The lifecycle hooks of the crate
/// belong to it. `depend(.., crate = krate)` names the crate that declares
/// `other` when it is not called `other`.
///
/// ```
/// use vnet_runtime::module::{ModError, ModEvent};
///
/// #[vnet_runtime::vnet_module(mymod, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY + 64, version = 1)]
/// fn mymod_modevent(event: ModEvent) -> Result<(), ModError> {
///     match event {
///         ModEvent::Load | ModEvent::Unload => Ok(()),
///         _ => Err(ModError::unsupported()),
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn vnet_module(attr: TokenStream, item: TokenStream) -> TokenStream {
    module::expand(attr.into(), item.into()).into()
}

/// A test that runs in a fresh instance of its own, written instead of
/// `#[test]`: it boots the runtime, creates an instance named after the test
/// (its path, as the test harness prints it), runs the body with it current,
/// and destroys it afterwards, also when the body panics (the panic message
/// then names the instance). Every `#[vnet]` static starts from its declared
/// initial value in every test, so tests that share them run in parallel.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use vnet_runtime::vnet_test;
///
/// #[vnet_runtime::vnet]
/// static ROUTES: AtomicU32 = AtomicU32::new(0);
///
/// #[vnet_test]
/// fn adds_a_route() {
///     V_ROUTES.with(|r| r.fetch_add(1, Ordering::Relaxed));
///     assert_eq!(V_ROUTES.with(|r| r.load(Ordering::Relaxed)), 1); // never another test's
/// }
///
/// #[vnet_test(name = "tenant-a", modules(ipfw))]
/// #[ignore = "needs the ipfw module linked"]
/// fn with_arguments() -> Result<(), String> {
///     Ok(())
/// }
/// ```
///
/// - The body runs as written, in a function of the test's own name: its
///   inner attributes (`#![allow(..)]`) apply, and snapshot names derived
///   from the function (insta), backtraces and panics show the test.
/// - Tests returning `Result` work; `#[should_panic]` and `#[ignore]` go
///   below the attribute and keep working.
/// - Arguments: `name = "..."` (the instance's name instead of the test's
///   path), `parent = <expr>` (a `Vnet` or `&Vnet`: the instance is created
///   as its child), `modules(a, b)` (loaded before the instance is created,
///   unless loaded already; loading is process-wide, like `kldload`), and
///   `crate = path`.
/// - Async tests: write `#[vnet_test]` *above* the executor's attribute,
///   `#[vnet_test] #[tokio::test(flavor = "multi_thread")] async fn t() {}`.
///   The body is bound to the instance (`fut.in_vnet(&vnet)`): every poll of it runs
///   with the instance current, on whatever thread polls it. Tasks it spawns
///   see the instance when bound too: `tokio::spawn(fut.in_vnet(&vnet))`.
/// - Threads the test spawns start with no instance: give them its `Vnet`
///   (`Vnet::current()` in the body) and `enter` it. (Under the
///   default-instance policy a thread that does not would work on vnet0,
///   not on the test's instance.)
/// - Under either [`ContextPolicy`](../vnet_runtime/enum.ContextPolicy.html)
///   each test gets its own instance. Without the `vimage` feature the same
///   source compiles and every test runs on vnet0, the one instance.
#[proc_macro_attribute]
pub fn vnet_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    vnet_test::expand(attr.into(), item.into()).into()
}
