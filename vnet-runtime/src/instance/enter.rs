//! Entering an instance: the enter side of the protocol in [`super::state`]
//! (`curvnet_set`, `enter`, `V_X.with_in`'s pin, a bound future's first
//! poll), and the clear panic when an instance may not be entered.

use std::sync::atomic::Ordering::*;

use super::{state, Instance, Vnet, VnetState};
use crate::context::{self, CurVnetGuard};

/// An instance a bound future holds in use ([`Vnet::try_hold_future`]): its
/// pin and block, so each poll pushes them without a trip through the handle.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held {
    pin: context::PinId,
    base: *mut u8,
}

// SAFETY: the addresses are of an `Instance` (Sync) and its block (values
// are `Send + Sync`); they are only pushed on a context stack, by a holder
// that keeps a handle to the instance (so it is neither freed nor torn down).
unsafe impl Send for Held {}
// SAFETY: as above; a `Held` is never written through.
unsafe impl Sync for Held {}

impl Vnet {
    /// Runs `f` with this instance current on this thread, then restores the
    /// previous one (also when `f` panics).
    ///
    /// ```
    /// let v = vnet_runtime::vnet0();
    /// let name = v.enter(|| vnet_runtime::Vnet::current().unwrap().name().to_owned());
    /// assert_eq!(name, "vnet0");
    /// ```
    #[cfg_attr(debug_assertions, track_caller)]
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.push_current();
        f()
    }

    /// Makes this instance current for the lifecycle's own hooks, without
    /// the checks or the recursion record (FreeBSD's `CURVNET_SET_QUIET`):
    /// the instance is owned by the running operation.
    #[inline]
    pub(crate) fn push_quiet(&self) -> CurVnetGuard<'_> {
        push(self.instance())
    }

    /// Makes this instance current; see [`curvnet_set`](crate::curvnet_set).
    #[cfg_attr(debug_assertions, track_caller)]
    #[inline(always)]
    pub(crate) fn push_current(&self) -> CurVnetGuard<'_> {
        match self.try_push_current() {
            Some(guard) => guard,
            None => not_enterable(self.instance()),
        }
    }

    /// Makes this instance current, or `None` when it may not be entered
    /// (destroyed, being destroyed, or being created on another thread).
    /// The enter side of the protocol in [`super::state`].
    #[cfg_attr(debug_assertions, track_caller)]
    #[inline(always)]
    pub(crate) fn try_push_current(&self) -> Option<CurVnetGuard<'_>> {
        let instance = self.instance();
        if instance.state.load(Acquire) != state::LIVE {
            return self.try_push_cold();
        }
        #[cfg(debug_assertions)]
        log_recursion(instance);
        admit(push(instance), instance)
    }

    /// Not plainly live: its own hooks re-entering it (already current
    /// here, so pinned and owned by this thread's operation), or a destroy
    /// deciding (`CLOSING`: wait for its verdict) or stopping its owned
    /// work (`STOPPING`: that work only), or refused.
    #[cold]
    #[inline(never)]
    #[cfg_attr(debug_assertions, track_caller)]
    fn try_push_cold(&self) -> Option<CurVnetGuard<'_>> {
        let instance = self.instance();
        let now = instance.state.load(Acquire);
        if now != state::DESTROYED && context::is_current(instance.pin()) {
            return Some(push(instance));
        }
        // CLOSING: wait for the verdict. STOPPING: admitted only for the
        // instance's own owned work (see `state::admit`).
        if now != state::CLOSING && now != state::STOPPING {
            return None;
        }
        #[cfg(debug_assertions)]
        log_recursion(instance);
        admit(push(instance), instance)
    }

    /// Keeps this instance in use for a bound future, from its first poll
    /// to its end: `destroy` is refused with `Busy` until
    /// [`Vnet::unpin_future`]. The enter side of the protocol in
    /// [`super::state`], paid once per future instead of once per poll.
    /// `None` (nothing held) when the instance is not plainly live.
    #[inline]
    pub(crate) fn try_hold_future(&self) -> Option<Held> {
        let instance = self.instance();
        if instance.state.load(Acquire) != state::LIVE {
            return None;
        }
        state::admit_counted(&instance.futures, &instance.state).then(|| Held {
            pin: instance.pin(),
            base: instance.base(),
        })
    }

    /// Ends what [`Vnet::try_hold_future`] began.
    #[inline]
    pub(crate) fn unpin_future(&self) {
        self.instance().futures.fetch_sub(1, Release);
    }

    /// Makes this instance current for a poll of a future that holds it in
    /// use (`held`, from [`Vnet::try_hold_future`]): `destroy` cannot start
    /// its teardown meanwhile, so the push needs neither the fence nor the
    /// state check, and takes the pin and block from `held` rather than
    /// through the handle.
    #[inline(always)]
    pub(crate) fn push_held(&self, held: Held) -> CurVnetGuard<'_> {
        debug_assert!(self.instance().futures.load(Relaxed) > 0);
        debug_assert!(held.pin == self.instance().pin());
        #[cfg(debug_assertions)]
        log_recursion(self.instance());
        context::push(held.pin, held.base, || self.name().to_owned())
    }

    /// Pins this instance on this thread without making it current, for
    /// `V_X.with_in`: `destroy` is refused while the guard lives. `None`
    /// when it may not be used (as [`Vnet::try_push_current`]).
    #[inline]
    pub(crate) fn try_pin(&self) -> Option<CurVnetGuard<'_>> {
        let instance = self.instance();
        let now = instance.state.load(Acquire);
        if now != state::LIVE && now != state::CLOSING && now != state::STOPPING {
            return None;
        }
        admit(
            context::pin_only(instance.pin(), || instance.name().to_owned()),
            instance,
        )
    }
}

/// Pushes `instance` on this thread's stack and makes it current (no
/// check: the callers decide whether it may be entered).
#[inline(always)]
#[cfg_attr(debug_assertions, track_caller)]
fn push(instance: &Instance) -> CurVnetGuard<'_> {
    context::push(instance.pin(), instance.base(), || {
        instance.name().to_owned()
    })
}

/// The enter side once `guard` has published its pin: the guard when the
/// instance may be used, else `None` (unpinned again).
#[inline(always)]
fn admit<'a>(guard: CurVnetGuard<'a>, instance: &Instance) -> Option<CurVnetGuard<'a>> {
    if state::admit(&instance.state) {
        Some(guard)
    } else {
        drop(guard);
        None
    }
}

/// Records a set over a *different* current instance, with the caller's
/// location (FreeBSD's `VNET_DEBUG` recursion log; debug builds).
#[cfg(debug_assertions)]
#[track_caller]
fn log_recursion(instance: &Instance) {
    if let Some(outer) = context::current_pin() {
        if outer != instance.pin() {
            // SAFETY: the current pin is a pinned, not freed, instance.
            let outer = unsafe { &*outer.cast::<Instance>() };
            crate::record::log_recursion(
                std::panic::Location::caller(),
                outer.name(),
                instance.name(),
            );
        }
    }
}

/// An instance that is not live can only be re-entered from its own hooks
/// (where it is current already): a destroyed one never, and one being
/// created or torn down not from other code, which would race its hooks.
#[cold]
#[inline(never)]
fn not_enterable(instance: &Instance) -> ! {
    let name = instance.name();
    match instance.state() {
        VnetState::Destroyed => panic!("cannot make vnet `{name}` current: it was destroyed"),
        state => {
            panic!(
            "cannot make vnet `{name}` current: it is being {} (only its own hooks run in it now)",
            if state == VnetState::Creating { "created" } else { "destroyed" }
        )
        }
    }
}
