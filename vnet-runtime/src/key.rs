//! `V_` accessors: the handle a `#[vnet]` static turns into.

#[cfg(feature = "vimage")]
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

#[cfg(feature = "std")]
use crate::Vnet;

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
            offset: AtomicUsize::new(crate::registry::UNASSIGNED),
            value,
            name,
            #[cfg(feature = "vimage")]
            fallback: AtomicBool::new(false),
        }
    }
}

#[cfg(feature = "vimage")]
impl<T> VnetKey<T> {
    /// The offset cell, for the registry.
    pub(crate) fn offset_cell(&self) -> &AtomicUsize {
        &self.offset
    }

    /// The crate-level fallback flag, for the registry.
    pub(crate) fn fallback_cell(&self) -> &AtomicBool {
        &self.fallback
    }

    /// The declared initial value (never used in place: see `value`).
    pub(crate) fn initial_value(&self) -> *const T {
        &self.value
    }

    /// # Safety
    /// Only for the runtime (tunables): whoever stores into the cell must store an
    /// offset laid out for `T` inside every block.
    #[doc(hidden)]
    pub const unsafe fn __offset_cell(&'static self) -> &'static AtomicUsize {
        &self.offset
    }

    /// Calls `f` with this static's value in the current instance.
    ///
    /// With no instance current on this thread, the process's
    /// [`ContextPolicy`](crate::ContextPolicy) decides: vnet0's value under
    /// `DefaultInstance`, a panic under `Strict` (the default).
    ///
    /// # Panics
    /// Under [`ContextPolicy::Strict`](crate::ContextPolicy::Strict), when no
    /// instance is current on this thread; the message names the static and
    /// how to make an instance current.
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let base = crate::context::current_base();
        if base.is_null() {
            // Cold: the default-instance policy (vnet0's block) or the panic.
            return self.with_no_current(f);
        }
        let offset = self.offset.load(Relaxed);
        // SAFETY: a non-null base is the block of an instance on this thread's
        // context stack, which is neither freed nor dropped while it is there
        // (it cannot leave the stack during `f` without ending the borrow of
        // the handle that put it there). Offsets are assigned at boot, before
        // any instance exists, and lie inside every block, aligned for `T`;
        // the block holds an initialized `T` there. Values are `Sync`.
        f(unsafe { &*base.add(offset).cast::<T>() })
    }

    /// [`with`](Self::with) on a thread with no current instance: vnet0's
    /// value under the default-instance policy, else the panic. Out of line
    /// and cold, so the access path stays a load, a test and a tail jump.
    #[cold]
    #[inline(never)]
    fn with_no_current<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        let base = crate::policy::base_without_current(self.name, &self.fallback);
        let offset = self.offset.load(Relaxed);
        // SAFETY: `base` is vnet0's block, which is never freed (the runtime
        // keeps a handle to vnet0 for the life of the process and vnet0 is
        // never destroyed); offset as in `with`.
        f(unsafe { &*base.add(offset).cast::<T>() })
    }

    /// Calls `f` with this static's value in `vnet`, without making it current.
    ///
    /// The instance is pinned for the call: a concurrent
    /// [`Vnet::destroy`] fails with `Busy` meanwhile (or, if it started
    /// first, this call panics), so `f` never sees the instance's teardown.
    ///
    /// # Panics
    /// When `vnet` was destroyed, or is being destroyed or created by
    /// another thread (from its own hooks, where it is current, it works).
    pub fn with_in<R>(&'static self, vnet: &Vnet, f: impl FnOnce(&T) -> R) -> R {
        let instance = vnet.instance();
        // Pinned for the call, so a concurrent `destroy` is refused (Busy)
        // rather than running the teardown hooks beside `f`; already
        // current on this thread (its own hooks), it is pinned already.
        let _pin = if crate::context::is_current(instance.pin()) {
            if instance.state() == crate::VnetState::Destroyed {
                destroyed_vnet(self.name, instance.name());
            }
            None
        } else {
            match vnet.try_pin() {
                Some(pin) => Some(pin),
                None => unusable_vnet(self.name, instance.name(), instance.state()),
            }
        };
        let offset = self.offset.load(Relaxed);
        // SAFETY: the borrowed handle keeps the instance's values alive (they
        // are dropped only after the last handle is gone); offset as in `with`.
        f(unsafe { &*instance.base().add(offset).cast::<T>() })
    }
}

#[cfg(not(feature = "vimage"))]
impl<T> VnetKey<T> {
    /// Calls `f` with the value (with `vimage` off there is one instance and
    /// the static is a plain global).
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
    }

    /// Calls `f` with the value in `vnet` (always vnet0 with `vimage` off).
    #[cfg(feature = "std")]
    pub fn with_in<R>(&'static self, _vnet: &Vnet, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
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

impl<T> std::fmt::Debug for VnetKey<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VnetKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "vimage")]
#[cold]
#[inline(never)]
fn destroyed_vnet(name: &str, vnet: &str) -> ! {
    panic!("V_{name} accessed in vnet `{vnet}`, which was destroyed")
}

#[cfg(feature = "vimage")]
#[cold]
#[inline(never)]
fn unusable_vnet(name: &str, vnet: &str, state: crate::VnetState) -> ! {
    match state {
        crate::VnetState::Destroyed => destroyed_vnet(name, vnet),
        crate::VnetState::Creating => panic!(
            "V_{name} accessed in vnet `{vnet}` from another thread while it is being created \
             (only its own init hooks use it now)"
        ),
        _ => panic!(
            "V_{name} accessed in vnet `{vnet}` while it is being destroyed \
             (only its own teardown hooks use it now)"
        ),
    }
}
