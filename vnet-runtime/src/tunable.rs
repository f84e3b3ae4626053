//! Tunables: change, at run time, the initial value that *future* instances
//! get for a `#[vnet]` static (FreeBSD's `CTLFLAG_VNET | CTLFLAG_RWTUN`
//! sysctls and loader tunables, which edit the master copy new vnets start
//! from).
//!
//! The template block (see [`registry`](crate::registry)) is never written:
//! a tuned static keeps a *typed* override here, a factory that makes a
//! fresh `T`. When a new block is built it is copied from the template as
//! usual, then every override replaces its static's value with a freshly
//! made one (the template's copy, a valid `T`, is dropped). No byte of a
//! value is ever patched, so a `Drop` type sees only values it made itself,
//! each dropped exactly once. Live instances are never touched.
//!
//! An override set before [`boot`](crate::boot) also applies to vnet0 (a
//! loader tunable); one set later only to instances created afterwards.
//!
//! With the `vimage` feature off there is one instance, vnet0, live from the
//! start and never created again: tuning is recorded (so [`tuned`] and
//! [`VnetKey::is_tuned`](crate::VnetKey::is_tuned) report it) but has nothing to apply to, and the
//! global keeps its value. Code that tunes compiles and runs unchanged.
//!
//! ```
//! use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
//! use vnet_runtime::Vnet;
//!
//! /// `net.inet.ip.ttl`: the TTL of packets this stack sends.
//! #[vnet_runtime::vnet]
//! static DEFAULT_TTL: AtomicU8 = AtomicU8::new(64);
//!
//! # if !vnet_runtime::VIMAGE { return; }
//! let old = Vnet::create("ttl-old").unwrap();
//! V_DEFAULT_TTL.set_initial_with(|| AtomicU8::new(32));
//! let new = Vnet::create("ttl-new").unwrap();
//! assert_eq!(V_DEFAULT_TTL.with_in(&old, |t| t.load(Relaxed)), 64); // live: untouched
//! assert_eq!(V_DEFAULT_TTL.with_in(&new, |t| t.load(Relaxed)), 32); // future: tuned
//! V_DEFAULT_TTL.reset_initial();
//! # old.destroy().unwrap(); new.destroy().unwrap();
//! ```

use std::any::Any;
use std::sync::Arc;

use parking_lot::RwLock;

/// Makes a fresh value of a tuned static, type-erased.
type Factory = Arc<dyn Fn() -> Box<dyn Any + Send> + Send + Sync>;

/// Replaces the value at an address with a made one ([`replace`]).
#[cfg(feature = "vimage")]
type ReplaceFn = unsafe fn(*mut u8, Box<dyn Any + Send>);

/// One tuned static.
struct Override {
    /// Address of the static's `VnetKey` (its identity).
    key: usize,
    /// Its name, for [`tuned`].
    name: &'static str,
    make: Factory,
    /// Where the static lives in a block (read when a block is built).
    #[cfg(feature = "vimage")]
    offset: &'static std::sync::atomic::AtomicUsize,
    /// Puts a value made by `make` in place of the static's value.
    #[cfg(feature = "vimage")]
    replace: ReplaceFn,
}

/// Every override, in the order they were first set.
static OVERRIDES: RwLock<Vec<Override>> = RwLock::new(Vec::new());

/// Names of the `#[vnet]` statics whose initial value is tuned, in the order
/// they were tuned.
///
/// ```
/// #[vnet_runtime::vnet]
/// static MTU: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1500);
///
/// V_MTU.set_initial_with(|| std::sync::atomic::AtomicU32::new(9000));
/// assert!(vnet_runtime::tunable::tuned().contains(&"MTU"));
/// V_MTU.reset_initial();
/// assert!(!vnet_runtime::tunable::tuned().contains(&"MTU"));
/// ```
pub fn tuned() -> Vec<&'static str> {
    OVERRIDES.read().iter().map(|o| o.name).collect()
}

/// Tunes the static whose key is at `key`: instances created from now on
/// get a value made by `make` (replacing an earlier override of it).
pub(crate) fn set<T: Send + Sync + 'static>(
    key: usize,
    name: &'static str,
    #[cfg(feature = "vimage")] offset: &'static std::sync::atomic::AtomicUsize,
    make: impl Fn() -> T + Send + Sync + 'static,
) {
    let entry = Override {
        key,
        name,
        make: Arc::new(move || Box::new(make()) as Box<dyn Any + Send>),
        #[cfg(feature = "vimage")]
        offset,
        #[cfg(feature = "vimage")]
        replace: replace::<T>,
    };
    let mut all = OVERRIDES.write();
    match all.iter_mut().find(|o| o.key == key) {
        Some(slot) => *slot = entry,
        None => all.push(entry),
    }
}

/// Forgets the override of the static at `key`; whether there was one.
pub(crate) fn reset(key: usize) -> bool {
    let mut all = OVERRIDES.write();
    let before = all.len();
    all.retain(|o| o.key != key);
    all.len() != before
}

/// Whether the static at `key` is tuned.
pub(crate) fn is_tuned(key: usize) -> bool {
    OVERRIDES.read().iter().any(|o| o.key == key)
}

/// A value made by the override of the static at `key`, if tuned.
pub(crate) fn made<T: 'static>(key: usize) -> Option<T> {
    let make = OVERRIDES
        .read()
        .iter()
        .find(|o| o.key == key)
        .map(|o| o.make.clone())?;
    Some(
        *make()
            .downcast::<T>()
            .expect("an override makes its static's type"),
    )
}

/// Puts `value` (made by an override of a static of type `T`) at `at`,
/// dropping the value that was there.
///
/// # Safety
/// `at` holds a live `T`, aligned, that nothing else references.
#[cfg(feature = "vimage")]
unsafe fn replace<T: 'static>(at: *mut u8, value: Box<dyn Any + Send>) {
    let value = *value
        .downcast::<T>()
        .expect("an override makes its static's type");
    let at = at.cast::<T>();
    // SAFETY: `at` holds a live `T` (the caller's contract). The old value is
    // moved out and the new one written before the old one is dropped, so
    // the slot holds a valid `T` even if that drop panics.
    let old = unsafe { at.read() };
    // SAFETY: as above; `write` does not drop the moved-out bytes.
    unsafe { at.write(value) };
    drop(old);
}

/// Values made by the overrides for one new block, ready to be put in place.
#[cfg(feature = "vimage")]
pub(crate) struct Prepared(Vec<(usize, ReplaceFn, Box<dyn Any + Send>)>);

/// Makes every tuned static's value for a new block. Runs the factories
/// after releasing the overrides' lock (a factory may tune); a panic there
/// propagates before any block exists.
#[cfg(feature = "vimage")]
pub(crate) fn prepare() -> Prepared {
    let overrides: Vec<_> = OVERRIDES
        .read()
        .iter()
        .map(|o| (o.offset, o.replace, o.make.clone()))
        .collect();
    Prepared(
        overrides
            .into_iter()
            .map(|(offset, replace, make)| {
                let offset = offset.load(std::sync::atomic::Ordering::Relaxed);
                (offset, replace, make())
            })
            .collect(),
    )
}

#[cfg(feature = "vimage")]
impl Prepared {
    /// Puts the made values in place in `block`.
    ///
    /// # Safety
    /// `block` is a fresh copy of the template (every static holds a live
    /// value at its offset) that nothing else references yet.
    pub(crate) unsafe fn apply(self, block: *mut u8) {
        for (offset, replace, value) in self.0 {
            // SAFETY: the offset was assigned at layout (before any block
            // exists) for the override's static, whose type `replace` was
            // made for; the block holds a live value there.
            unsafe { replace(block.add(offset), value) };
        }
    }
}
