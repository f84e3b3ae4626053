//! `V_` accessors: the handle a `#[vnet]` static turns into, its name and
//! tuning. The access itself is `key/access.rs` (`vimage` on) or
//! `key/access_off.rs` (off), swapped at the `mod` line.

use std::alloc::Layout;
#[cfg(feature = "vimage")]
use std::sync::atomic::{AtomicBool, AtomicUsize};

use crate::block::ErasedKey;

#[cfg(feature = "std")]
use crate::tunable;

#[cfg_attr(not(feature = "vimage"), path = "key/access_off.rs")]
mod access;

/// The accessor of one `#[vnet]` static, named `V_<NAME>` by the macro.
///
/// Access is closure-scoped, like [`std::thread::LocalKey::with`], so no
/// reference into an instance can outlive the scope in which it was current.
///
/// ```
/// use std::sync::Mutex;
///
/// #[vnet_runtime::vnet]
/// pub static ROUTES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
///
/// # if !vnet_runtime::VIMAGE { return; }
/// let v = vnet_runtime::Vnet::create("router").unwrap();
/// v.enter(|| V_ROUTES.with(|r| r.lock().unwrap().push(10)));
/// assert_eq!(V_ROUTES.with_in(&v, |r| r.lock().unwrap().len()), 1);
/// v.destroy().unwrap();
/// ```
pub struct VnetKey<T: 'static> {
    #[cfg(feature = "vimage")]
    offset: AtomicUsize,
    /// With `vimage`, the declared initial value, never used in place: boot
    /// copies its bytes into the template every instance starts from
    /// (FreeBSD's master copy of `set_vnet`). Without it, the value.
    value: T,
    name: &'static str,
    /// Set at boot when the static's crate declared
    /// [`fallback_to_vnet0!`](crate::fallback_to_vnet0): read only on the
    /// cold path (no current instance).
    #[cfg(feature = "vimage")]
    fallback: AtomicBool,
}

// SAFETY: every key is made by `#[vnet]` through `__new`, whose contract
// (checked by the expansion's `assert_vnet_value`) is `T: Send + Sync`. With
// `vimage` the value in the key is only ever byte-copied at boot.
unsafe impl<T> Sync for VnetKey<T> {}

impl<T> VnetKey<T> {
    /// # Safety
    /// Only for `#[vnet]`: `T` is `Send + Sync`, and (with `vimage`) the key
    /// is registered through a [`StaticDesc`](crate::registry::StaticDesc)
    /// so that boot assigns its offset before any access.
    #[doc(hidden)]
    pub const unsafe fn __new(name: &'static str, value: T) -> Self {
        VnetKey {
            #[cfg(feature = "vimage")]
            offset: AtomicUsize::new(crate::block::UNASSIGNED),
            value,
            name,
            #[cfg(feature = "vimage")]
            fallback: AtomicBool::new(false),
        }
    }
}

impl<T> VnetKey<T> {
    /// A copy of the value in the current instance.
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static MTU: u32 = 1500;
    /// assert_eq!(vnet_runtime::vnet0().enter(|| V_MTU.get()), 1500);
    /// ```
    #[inline(always)]
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(|value| *value)
    }

    /// The static's name as declared (`MTU` for `V_MTU`).
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static MTU: u32 = 1500;
    /// assert_eq!(V_MTU.name(), "MTU");
    /// ```
    pub fn name(&'static self) -> &'static str {
        self.name
    }

    /// [`name`](Self::name) for any borrow (the registry's).
    pub(crate) fn name_of(&self) -> &'static str {
        self.name
    }
}

/// Tuning (see [`tunable`](crate::tunable)).
#[cfg(feature = "std")]
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
        tunable::set(
            self.key_addr(),
            self.name(),
            #[cfg(feature = "vimage")]
            // SAFETY: the cell is only read (when a block is built).
            unsafe {
                self.__offset_cell()
            },
            make,
        );
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
        tunable::reset(self.key_addr())
    }

    /// Whether new instances get a tuned initial value for this static.
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static QUEUE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(50);
    /// assert!(!V_QUEUE.is_tuned());
    /// ```
    pub fn is_tuned(&'static self) -> bool {
        tunable::is_tuned(self.key_addr())
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
        tunable::made(self.key_addr())
    }

    fn key_addr(&'static self) -> usize {
        self as *const Self as usize
    }
}

impl<T> std::fmt::Debug for VnetKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VnetKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What the registry (`block`) reads of a key, with its type erased.
impl<T> ErasedKey for VnetKey<T> {
    fn name(&self) -> &'static str {
        VnetKey::name_of(self)
    }

    fn layout(&self) -> Layout {
        Layout::new::<T>()
    }

    #[cfg(feature = "vimage")]
    fn offset(&self) -> &AtomicUsize {
        self.offset_cell()
    }

    #[cfg(feature = "vimage")]
    fn fallback(&self) -> &std::sync::atomic::AtomicBool {
        self.fallback_cell()
    }

    #[cfg(feature = "vimage")]
    unsafe fn init(&self, at: *mut u8) {
        // SAFETY: the caller gives a writable, aligned, unused place for a
        // `T`; the key's value is a constant's bytes that nothing uses in
        // place, so the copy is a fresh evaluation of the initializer (as
        // copying the template is, see `new_block`).
        unsafe { std::ptr::copy_nonoverlapping(self.initial_value(), at.cast::<T>(), 1) }
    }

    #[cfg(feature = "vimage")]
    fn dropper(&self) -> Option<unsafe fn(*mut u8)> {
        unsafe fn drop_at<T>(at: *mut u8) {
            // SAFETY: the runtime passes the address of a live `T`, once.
            unsafe { std::ptr::drop_in_place(at.cast::<T>()) }
        }
        std::mem::needs_drop::<T>().then_some(drop_at::<T> as unsafe fn(*mut u8))
    }
}
