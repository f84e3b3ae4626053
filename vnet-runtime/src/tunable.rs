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
//! [`VnetKey::is_tuned`] report it) but has nothing to apply to, and the
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

use crate::VnetKey;

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

impl<T: Send + Sync + 'static> VnetKey<T> {
    /// Instances created from now on start with a clone of `value` instead
    /// of the declared initial value. Live instances keep theirs.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use vnet_runtime::Vnet;
    ///
    /// #[vnet_runtime::vnet]
    /// static GREETING: Mutex<String> = Mutex::new(String::new());
    ///
    /// # if !vnet_runtime::VIMAGE { return; }
    /// // `Mutex` is not `Clone`: use `set_initial_with` for it; here the
    /// // value is made per instance from a clonable `String`.
    /// let hello = String::from("hello");
    /// V_GREETING.set_initial_with(move || Mutex::new(hello.clone()));
    /// let v = Vnet::create("greeting").unwrap();
    /// assert_eq!(*V_GREETING.with_in(&v, |g| g.lock().unwrap().clone()), *"hello");
    /// V_GREETING.reset_initial();
    /// # v.destroy().unwrap();
    /// ```
    pub fn set_initial(&'static self, value: T)
    where
        T: Clone,
    {
        self.set_initial_with(move || value.clone());
    }

    /// Instances created from now on start with a value made by `make`
    /// instead of the declared initial value. Live instances keep theirs.
    /// Replaces an earlier override of this static.
    ///
    /// `make` is called once per new instance, on the creating thread,
    /// before the instance exists (it is not current; do not use `V_`
    /// accessors to build the value). It should
    /// only build the value: creating instances from it (at boot, vnet0 is
    /// being created) is not supported.
    ///
    /// A panic in `make` propagates out of [`Vnet::create`](crate::Vnet::create),
    /// which then creates nothing.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    ///
    /// #[vnet_runtime::vnet]
    /// static BACKLOG: AtomicU32 = AtomicU32::new(128);
    ///
    /// # if !vnet_runtime::VIMAGE { return; }
    /// V_BACKLOG.set_initial_with(|| AtomicU32::new(1024));
    /// let v = vnet_runtime::Vnet::create("backlog").unwrap();
    /// assert_eq!(V_BACKLOG.with_in(&v, |b| b.load(Relaxed)), 1024);
    /// V_BACKLOG.reset_initial();
    /// # v.destroy().unwrap();
    /// ```
    pub fn set_initial_with(&'static self, make: impl Fn() -> T + Send + Sync + 'static) {
        let key = self.key_addr();
        let entry = Override {
            key,
            name: self.name(),
            make: Arc::new(move || Box::new(make()) as Box<dyn Any + Send>),
            #[cfg(feature = "vimage")]
            // SAFETY: the cell is only read here (when a block is built).
            offset: unsafe { self.__offset_cell() },
            #[cfg(feature = "vimage")]
            replace: replace::<T>,
        };
        let mut all = OVERRIDES.write();
        match all.iter_mut().find(|o| o.key == key) {
            Some(slot) => *slot = entry,
            None => all.push(entry),
        }
    }

    /// Instances created from now on start with the declared initial value
    /// again. Returns whether the static was tuned.
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static LIMIT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    /// assert!(!V_LIMIT.reset_initial());
    /// V_LIMIT.set_initial_with(|| std::sync::atomic::AtomicU32::new(2));
    /// assert!(V_LIMIT.reset_initial());
    /// ```
    pub fn reset_initial(&'static self) -> bool {
        let key = self.key_addr();
        let mut all = OVERRIDES.write();
        let before = all.len();
        all.retain(|o| o.key != key);
        all.len() != before
    }

    /// Whether new instances get a tuned initial value for this static.
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static QUEUE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(50);
    /// assert!(!V_QUEUE.is_tuned());
    /// ```
    pub fn is_tuned(&'static self) -> bool {
        let key = self.key_addr();
        OVERRIDES.read().iter().any(|o| o.key == key)
    }

    /// The value the next instance would start with, when tuned (a fresh
    /// one, made by the override); `None` when the declared initial value
    /// applies.
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static HOPS: u8 = 64;
    /// V_HOPS.set_initial(16);
    /// assert_eq!(V_HOPS.tuned_initial(), Some(16));
    /// V_HOPS.reset_initial();
    /// assert_eq!(V_HOPS.tuned_initial(), None);
    /// ```
    pub fn tuned_initial(&'static self) -> Option<T> {
        let key = self.key_addr();
        let make = OVERRIDES
            .read()
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.make.clone())?;
        let value = make();
        Some(
            *value
                .downcast::<T>()
                .expect("an override makes its static's type"),
        )
    }

    fn key_addr(&'static self) -> usize {
        self as *const Self as usize
    }
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
