//! The graveyard: frees that wait until their object is on no thread's
//! context stack.
//!
//! An instance's last handle may go while some thread still has it pinned (a
//! leaked guard). Its free then waits here, and a later sweep (a thread
//! exit, a destroy, another free) runs it once nothing pins it. Like
//! `context`, this module knows no instance type: a deferred free is an
//! opaque address and the function that frees it.

use crate::context::{self, PinId};

/// A free that waits until its pin is on no thread's stack.
pub(crate) struct Deferred {
    pin: PinId,
    free: unsafe fn(PinId),
}

/// Frees whose object was pinned when its last owner went. The scans of
/// the thread records are parameters, so the loom models run this same
/// code against their own records.
pub(crate) struct Graveyard(crate::sync::Mutex<Vec<Deferred>>);

// SAFETY: the pointers are owned by the graveyard (no owner remains).
unsafe impl Send for Graveyard {}
// SAFETY: as above; the list is behind a mutex.
unsafe impl Sync for Graveyard {}

impl Graveyard {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Graveyard(crate::sync::Mutex::new(Vec::new()))
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Graveyard(crate::sync::Mutex::new(Vec::new()))
    }

    /// The last owner of `pin` is gone: call `free(pin)` now, or park
    /// it until a sweep finds it unpinned. `is_pinned` scans the
    /// records for `pin`; `pinned` lists every pin (for the sweep).
    ///
    /// # Safety
    /// `free(pin)` must be sound once nothing pins `pin`, and nothing but
    /// the graveyard may call it after this.
    pub(crate) unsafe fn defer_free(
        &self,
        pin: PinId,
        free: unsafe fn(PinId),
        is_pinned: impl Fn(PinId) -> bool,
        pinned: impl FnOnce() -> Vec<PinId>,
    ) {
        if is_pinned(pin) {
            self.0.lock().push(Deferred { pin, free });
        } else {
            // SAFETY: no owner remains and no thread pins it (contract).
            unsafe { free(pin) };
            self.sweep(pinned);
        }
    }

    /// Runs the frees whose object is no longer pinned anywhere.
    pub(crate) fn sweep(&self, pinned: impl FnOnce() -> Vec<PinId>) {
        let ready: Vec<Deferred> = {
            let mut waiting = self.0.lock();
            if waiting.is_empty() {
                return;
            }
            let pinned = pinned();
            let (ready, still) = waiting
                .drain(..)
                .partition(|d| pinned.binary_search(&d.pin).is_err());
            *waiting = still;
            ready
        };
        for d in ready {
            // SAFETY: `defer_free`'s contract; it is no longer pinned.
            unsafe { (d.free)(d.pin) };
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.0.lock().len()
    }
}

#[cfg(not(loom))]
static GRAVEYARD: Graveyard = Graveyard::new();

#[cfg(not(loom))]
fn graveyard() -> &'static Graveyard {
    &GRAVEYARD
}

#[cfg(loom)]
loom::lazy_static! {
    static ref GRAVEYARD: Graveyard = Graveyard::new();
}

#[cfg(loom)]
fn graveyard() -> &'static Graveyard {
    &GRAVEYARD
}

/// The last owner of `pin` is gone: call `free(pin)` now, or once no
/// thread has it pinned (at a later sweep: a thread exit or a destroy).
///
/// # Safety
/// As [`Graveyard::defer_free`].
pub(crate) unsafe fn defer_free(pin: PinId, free: unsafe fn(PinId)) {
    // A thread exit may be what unpins it: sweep then.
    context::at_thread_exit(sweep);
    // SAFETY: the caller's contract.
    unsafe { graveyard().defer_free(pin, free, context::is_pinned, context::pinned) }
}

/// Runs the graveyard's frees whose object is no longer pinned anywhere.
pub(crate) fn sweep() {
    graveyard().sweep(context::pinned);
}

/// Number of frees waiting in the graveyard (a test hook).
pub fn graveyard_len() -> usize {
    graveyard().len()
}
