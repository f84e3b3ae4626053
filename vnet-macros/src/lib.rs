//! Attribute macros of [vnet-runtime](https://docs.rs/vnet-runtime). Use them
//! through `vnet_runtime`, which re-exports them.
//!
//! Each macro is a pipeline: parse into our own types that keep the original
//! tokens, validate (collecting every error, each on the offending tokens),
//! then expand into calls of `::vnet_runtime::__private0` plumbing. On error
//! the expansion still defines the item's names, so use sites do not cascade.
//! There is no runtime logic here.

mod global;
mod vnet_static;

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
/// refused with a message saying what to write instead.
/// `#[vnet(crate = path)]` names the runtime for crates that re-export it.
#[proc_macro_attribute]
pub fn vnet(attr: TokenStream, item: TokenStream) -> TokenStream {
    vnet_static::expand(attr.into(), item.into()).into()
}

/// Marks a global as intentionally process-wide, with the reason, so
/// `cargo vnet-lint` leaves it alone (the seed: a driver for one piece of
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
