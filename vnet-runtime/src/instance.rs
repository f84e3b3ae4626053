//! Instances: what one is ([`Instance`], its state word), and where the
//! rest lives:
//!
//! * [`handle`] — [`Vnet`] (a counted handle), [`WeakVnet`], and how the
//!   last handle frees an instance (through the context's graveyard);
//! * [`list`] — the instance list in creation order, its name index and its
//!   children index;
//! * [`state`] — the state word and the enter/destroy protocol;
//! * [`ops`] — boot, create, destroy, lookup, enter and `vnet_foreach`: the
//!   public operations, the only part that calls into the lifecycle.
//!
//! Layering (no module imports one above it): `context` (per-thread pins,
//! graveyard; knows no instance) ← `instance::{handle, list}` ←
//! `lifecycle` (runs hooks on a `Vnet`) ← `instance::ops`.
//!
//! **Architecture Invariant:** an instance's values are dropped, and its
//! memory freed, only when its last handle is gone *and* no thread has it on
//! its context stack. `destroy` only runs the teardown hooks and drops the
//! list's handles.

use std::sync::atomic::AtomicUsize;
use std::sync::Weak;

use crate::sync::atomic::AtomicU8;

mod destroy;
pub(crate) mod handle;
pub(crate) mod list;
mod ops;
pub(crate) mod state;

pub use handle::{Vnet, WeakVnet};
pub use ops::{boot, vnet0, vnet_foreach, VnetBuilder};

/// Number of instance frees waiting in the graveyard (for tests and
/// introspection).
#[doc(hidden)]
pub fn graveyard_len() -> usize {
    crate::context::graveyard_len()
}

/// Lifecycle state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum VnetState {
    /// Its init hooks are running; not yet in the list.
    Creating = 0,
    /// In the list and usable.
    Live = 1,
    /// Out of the list; its teardown hooks are running.
    Dying = 2,
    /// Torn down; it can no longer be entered.
    Destroyed = 3,
}

/// One instance: its block of statics and its bookkeeping.
pub(crate) struct Instance {
    base: *mut u8,
    name: Box<str>,
    id: u64,
    parent: Option<Vnet>,
    children_max: Option<usize>,
    /// Children reserved (being created) or listed: checked against
    /// `children_max`.
    children: AtomicUsize,
    /// A [`VnetState`], or `state::CLOSING` / `state::STOPPING` (see [`state`]).
    pub(crate) state: AtomicU8,
    /// Bound futures that have started and not finished: each keeps the
    /// instance in use (destroy is refused with `Busy`), so their polls need
    /// no fence (see [`state`]).
    pub(crate) futures: crate::sync::atomic::AtomicUsize,
    /// Position in the instance list's slots while listed (owned by the
    /// list's write lock).
    slot: AtomicUsize,
    handle: Weak<handle::Handle>,
}

// SAFETY: the block behind `base` holds `Send + Sync` values only (the macro
// asserts it for every `#[vnet]` static); every other field is Sync.
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

impl Instance {
    #[inline(always)]
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// This instance's address as the context's pin.
    #[inline(always)]
    pub(crate) fn pin(&self) -> crate::context::PinId {
        std::ptr::from_ref(self).cast()
    }

    #[inline]
    pub(crate) fn state(&self) -> VnetState {
        use std::sync::atomic::Ordering::Acquire;
        match self.state.load(Acquire) {
            state::CREATING => VnetState::Creating,
            // CLOSING is a destroy deciding; it may still be refused.
            state::LIVE | state::CLOSING => VnetState::Live,
            // STOPPING: a destroy is committed and stopping owned work.
            state::DYING | state::STOPPING => VnetState::Dying,
            _ => VnetState::Destroyed,
        }
    }

    pub(crate) fn set_state(&self, state: VnetState) {
        use std::sync::atomic::Ordering::Release;
        self.state.store(state as u8, Release);
    }
}
