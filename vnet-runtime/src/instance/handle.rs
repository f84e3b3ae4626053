//! Handles: [`Vnet`] (counted, `Arc`) and [`WeakVnet`], and how the last
//! handle frees its instance.
//!
//! The `Instance` is allocated separately from the `Arc` and freed by hand,
//! because a thread's context may point at it after the last handle is gone
//! (a leaked guard): such an instance waits in the context's graveyard and is
//! freed once no thread has it current.

use std::cell::Cell;
use std::fmt;
use std::ptr::NonNull;
use std::sync::{Arc, Weak};

use super::{Instance, VnetState};
use crate::block;
use crate::context::{self, PinId};

/// A handle to one instance ("vnet"); cloning shares the instance.
///
/// An instance lives in the instance list from [`Vnet::create`] until
/// [`Vnet::destroy`]; handles may outlive that (a socket holding its vnet),
/// but a destroyed instance cannot be entered again.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// #[vnet_runtime::vnet]
/// static PACKETS: AtomicU32 = AtomicU32::new(0);
///
/// let a = vnet_runtime::Vnet::create("a").unwrap();
/// let b = vnet_runtime::Vnet::create("b").unwrap();
/// a.enter(|| V_PACKETS.with(|p| p.fetch_add(5, Ordering::Relaxed)));
/// b.enter(|| assert_eq!(V_PACKETS.with(|p| p.load(Ordering::Relaxed)), 0));
/// assert_eq!(V_PACKETS.with_in(&a, |p| p.load(Ordering::Relaxed)), 5);
/// a.destroy().unwrap();
/// b.destroy().unwrap();
/// ```
#[derive(Clone)]
pub struct Vnet(pub(super) Arc<Handle>);

pub(crate) struct Handle {
    pub(super) instance: NonNull<Instance>,
}

// SAFETY: `Handle` only shares `Instance`, which is Sync.
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

impl Drop for Handle {
    fn drop(&mut self) {
        // `Arc` runs this after the final `Release` decrement and an `Acquire`
        // fence, so every context push made with any handle is visible here.
        // SAFETY: this was the last handle; `free_instance` frees a leaked
        // `Instance` once, when nothing pins it.
        unsafe {
            crate::graveyard::defer_free(self.instance.as_ptr().cast_const().cast(), free_instance)
        };
    }
}

impl Vnet {
    /// Wraps a new, unshared instance in its first handle.
    pub(super) fn from_instance(instance: Instance) -> Vnet {
        let instance = NonNull::from(Box::leak(Box::new(instance)));
        Vnet(Arc::new_cyclic(|weak| {
            // SAFETY: the instance was just leaked and is not shared yet.
            unsafe { (*instance.as_ptr()).handle = weak.clone() };
            Handle { instance }
        }))
    }

    /// A handle to `instance` while one exists.
    pub(super) fn from_live(instance: &Instance) -> Option<Vnet> {
        instance.handle.upgrade().map(Vnet)
    }

    #[inline]
    pub(crate) fn instance(&self) -> &Instance {
        // SAFETY: the instance is freed only after the last handle is gone.
        unsafe { self.0.instance.as_ref() }
    }

    /// The instance's name.
    ///
    /// ```
    /// assert_eq!(vnet_runtime::vnet0().name(), "vnet0");
    /// ```
    pub fn name(&self) -> &str {
        self.instance().name()
    }

    /// A number unique to this instance for the life of the process.
    ///
    /// ```
    /// assert_eq!(vnet_runtime::vnet0().id(), 0);
    /// ```
    pub fn id(&self) -> u64 {
        self.instance().id
    }

    /// Whether this is the default instance, vnet0 (FreeBSD's `IS_DEFAULT_VNET`).
    ///
    /// ```
    /// assert!(vnet_runtime::vnet0().is_default());
    /// ```
    pub fn is_default(&self) -> bool {
        self.id() == 0
    }

    /// The parent instance, if it was created with one.
    ///
    /// ```
    /// assert_eq!(vnet_runtime::vnet0().parent(), None);
    /// ```
    pub fn parent(&self) -> Option<Vnet> {
        self.instance().parent.clone()
    }

    /// Where the instance is in its life.
    ///
    /// ```
    /// use vnet_runtime::{Vnet, VnetState};
    /// let v = Vnet::create("state-demo").unwrap();
    /// let keep = v.clone();
    /// assert_eq!(v.state(), VnetState::Live);
    /// v.destroy().unwrap();
    /// assert_eq!(keep.state(), VnetState::Destroyed);
    /// ```
    pub fn state(&self) -> VnetState {
        self.instance().state()
    }

    /// A [`WeakVnet`] to this instance.
    ///
    /// ```
    /// let v = vnet_runtime::vnet0();
    /// assert_eq!(v.downgrade().upgrade(), Some(v));
    /// ```
    pub fn downgrade(&self) -> WeakVnet {
        WeakVnet(Arc::downgrade(&self.0))
    }
}

/// A handle that does not keep its instance alive: for objects stored
/// *inside* the instance they point back to (a socket table holding its
/// sockets' vnet), which would otherwise keep it from ever being freed.
///
/// ```
/// let v = vnet_runtime::Vnet::create("weak-demo").unwrap();
/// let weak = v.downgrade();
/// assert_eq!(weak.upgrade(), Some(v.clone()));
/// v.destroy().unwrap();
/// assert_eq!(weak.upgrade(), None);
/// ```
#[derive(Clone)]
pub struct WeakVnet(Weak<Handle>);

impl WeakVnet {
    /// A handle again, while the instance is live (not yet destroyed).
    pub fn upgrade(&self) -> Option<Vnet> {
        self.0
            .upgrade()
            .map(Vnet)
            .filter(|v| v.state() != VnetState::Destroyed)
    }
}

impl fmt::Debug for WeakVnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.upgrade() {
            Some(v) => f.debug_tuple("WeakVnet").field(&v.name()).finish(),
            None => f.write_str("WeakVnet(<gone>)"),
        }
    }
}

impl PartialEq for Vnet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Vnet {}

impl std::hash::Hash for Vnet {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Debug for Vnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vnet")
            .field("name", &self.name())
            .field("id", &self.id())
            .field("state", &self.state())
            .finish()
    }
}

impl fmt::Display for Vnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Frees an instance: drops its values and its bookkeeping.
///
/// # Safety
/// `pin` is a leaked `Instance` (from `Vnet::from_instance`) with no handle
/// left and on no thread's context stack; called once.
unsafe fn free_instance(pin: PinId) {
    // SAFETY: the caller's contract: leaked by `from_instance`, unreachable.
    let instance = unsafe { Box::from_raw(pin.cast::<Instance>().cast_mut()) };
    let base = instance.base;
    // The values are dropped with *no* instance current: the order among
    // them is unspecified, so a `Drop` that reached another `V_` static of
    // this instance could see it dropped already, and one that reached the
    // caller's instance would touch the wrong tenant. Such an access panics
    // clearly instead; per-instance teardown belongs in a VNET_SYSUNINIT.
    // Not even the default-instance policy's vnet0 while dropping.
    crate::policy::enter_drop();
    let caller_base = context::clear_base();
    // SAFETY: the block came from `new_block` and is unreachable now.
    let dropped = std::panic::catch_unwind(|| unsafe { block::layout().free_block(base) });
    context::restore_base(caller_base);
    crate::policy::leave_drop();
    if let Err(panic) = dropped {
        // Every value was still dropped and the block freed, and the panic
        // hook already reported it. It must not unwind out of a handle's
        // `Drop`: hand it to the `destroy` that asked for it, if any.
        let _ = DROP_PANIC.try_with(|p| match p.take() {
            Some(None) => p.set(Some(Some(panic))),
            other => p.set(other),
        });
    }
    // Dropping the box drops the parent handle, which may free the parent.
}

thread_local! {
    /// `Some` while a `destroy` on this thread collects the first panic
    /// raised by a value's `Drop`; `None` otherwise (such panics are
    /// reported by the panic hook and not re-raised).
    static DROP_PANIC: Cell<Option<Option<Box<dyn std::any::Any + Send>>>> = const { Cell::new(None) };
}

/// Runs `f` (which drops handles) and returns the first panic a value's
/// `Drop` raised meanwhile.
pub(super) fn catch_drop_panics(f: impl FnOnce()) -> Option<Box<dyn std::any::Any + Send>> {
    let outer = DROP_PANIC.with(|p| p.replace(Some(None)));
    f();
    DROP_PANIC.with(|p| p.replace(outer)).flatten()
}
