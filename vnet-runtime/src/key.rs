//! `V_` accessors: the handle a `#[vnet]` static turns into.

use std::marker::PhantomData;
#[cfg(feature = "vimage")]
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};

use crate::instance::Vnet;
#[cfg(feature = "vimage")]
use crate::instance::VnetState;
use crate::tunable;

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
    #[cfg(not(feature = "vimage"))]
    value: T,
    name: &'static str,
    _type: PhantomData<fn() -> T>,
}

#[cfg(feature = "vimage")]
impl<T> VnetKey<T> {
    /// # Safety
    /// Only for `define_static!`: the key must be registered (through a
    /// `StaticDesc` of the same type) so that boot assigns its offset.
    #[doc(hidden)]
    pub const unsafe fn __new(name: &'static str) -> Self {
        VnetKey {
            offset: AtomicUsize::new(crate::block::UNASSIGNED),
            name,
            _type: PhantomData,
        }
    }

    /// # Safety
    /// Only for `define_static!`: whoever stores into the cell must store an
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
        let base = base_without_current(self.name);
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
            if instance.state() == VnetState::Destroyed {
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
    #[doc(hidden)]
    pub const fn __new(name: &'static str, value: T) -> Self {
        VnetKey {
            value,
            name,
            _type: PhantomData,
        }
    }

    /// Calls `f` with the value (with `vimage` off there is one instance and
    /// the static is a plain global).
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
    }

    /// Calls `f` with the value in `vnet` (always vnet0 with `vimage` off).
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
}

/// Tuning (see [`tunable`](crate::tunable)).
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

#[cfg(feature = "vimage")]
#[cold]
#[inline(never)]
fn destroyed_vnet(name: &str, vnet: &str) -> ! {
    panic!("V_{name} accessed in vnet `{vnet}`, which was destroyed")
}

#[cfg(feature = "vimage")]
#[cold]
#[inline(never)]
fn unusable_vnet(name: &str, vnet: &str, state: VnetState) -> ! {
    match state {
        VnetState::Destroyed => destroyed_vnet(name, vnet),
        VnetState::Creating => panic!(
            "V_{name} accessed in vnet `{vnet}` from another thread while it is being created \
             (only its own init hooks use it now)"
        ),
        _ => panic!(
            "V_{name} accessed in vnet `{vnet}` while it is being destroyed \
             (only its own teardown hooks use it now)"
        ),
    }
}

/// vnet0's block, once looked up. vnet0 is never destroyed and the
/// runtime keeps a handle to it for the life of the process, so its block
/// is never freed.
#[cfg(feature = "vimage")]
static VNET0_BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// The base a `V_` access uses when this thread's base is null: vnet0's
/// block under `DefaultInstance`; under `Strict` (or while values are
/// being dropped) the panic naming the static.
///
/// This is the cold half of `VnetKey::with`: the hot half is one
/// thread-local load and a null check, as before the policy existed.
#[cfg(feature = "vimage")]
#[cold]
#[inline(never)]
fn base_without_current(name: &str) -> *mut u8 {
    if !crate::policy::falls_back() {
        no_current_vnet(name);
    }
    let base = VNET0_BASE.load(Acquire);
    if !base.is_null() {
        return base;
    }
    let base = crate::boot::vnet0().instance().base();
    VNET0_BASE.store(base, Release);
    base
}

#[cfg(feature = "vimage")]
#[cold]
#[inline(never)]
fn no_current_vnet(name: &str) -> ! {
    panic!(
        "V_{name} accessed with no current vnet on this thread: make an instance current \
         first, with `vnet.enter(|| ...)`, `let _guard = curvnet_set(&vnet);`, or \
         `vnet_foreach(...)` (spawned threads and callbacks start with none; use \
         `V_{name}.with_in(&vnet, ...)` to read a given instance, or declare \
         `vnet_runtime::context_policy!(DefaultInstance)` in the binary to work on vnet0)"
    )
}
