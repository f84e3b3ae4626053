//! The `V_` access with `vimage` on: the current block's base from the
//! thread's context plus the static's offset; a handle's block for
//! `with_in`; and the cold half when no instance is current (vnet0's block
//! under the default-instance policy, else the panic naming the static).

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};

use super::VnetKey;
use crate::instance::{Vnet, VnetState};

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
        let base = base_without_current(self.name, &self.fallback);
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

#[cold]
#[inline(never)]
fn destroyed_vnet(name: &str, vnet: &str) -> ! {
    panic!("V_{name} accessed in vnet `{vnet}`, which was destroyed")
}

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
static VNET0_BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// The base a `V_` access uses when this thread's base is null: vnet0's
/// block under `DefaultInstance`; under `Strict` (or while values are
/// being dropped) the panic naming the static.
///
/// This is the cold half of `VnetKey::with`: the hot half is one
/// thread-local load and a null check, as before the policy existed.
#[cold]
#[inline(never)]
fn base_without_current(name: &str, crate_declared: &AtomicBool) -> *mut u8 {
    // The flag is set when the statics are laid out (once, at the first
    // boot or access; no hook runs there): only a crate that declared
    // `fallback_to_vnet0!` makes that worth doing here.
    let crate_declared = !crate::fallback::CRATE_FALLBACKS.is_empty() && {
        crate::block::layout();
        crate_declared.load(Relaxed)
    };
    if !crate::policy::falls_back_for(crate_declared) {
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
