//! Instances: what one is ([`Instance`], its state word, how a new one is
//! made), and where the rest lives:
//!
//! * [`handle`] — [`Vnet`] (a counted handle), [`WeakVnet`], and how the
//!   last handle frees an instance (through the graveyard);
//! * [`list`] — the instance list in creation order, its name index and its
//!   children index;
//! * [`state`] — the state word and the enter/destroy protocol;
//! * [`enter`] — the enter side of that protocol (`curvnet_set`, `enter`,
//!   pins for `with_in` and bound futures);
//! * [`create`], [`lookup`], [`destroy`] — creating, finding and destroying
//!   instances: the operations that boot the runtime and run lifecycle
//!   hooks, so they sit above `boot` and `lifecycle` (see ARCHITECTURE.md's
//!   layer order), while the parts above sit below both.
//!
//! **Architecture Invariant:** an instance's values are dropped, and its
//! memory freed, only when its last handle is gone *and* no thread has it on
//! its context stack. `destroy` only runs the teardown hooks and drops the
//! list's handles.

use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Weak;

use crate::block;
use crate::sync::atomic::AtomicU8;
use crate::Error;

mod create;
mod destroy;
mod enter;
pub(crate) mod handle;
pub(crate) mod list;
mod lookup;
mod refused;
pub(crate) mod state;

pub use create::VnetBuilder;
pub(crate) use enter::Held;
pub use handle::{Vnet, WeakVnet};
pub use lookup::vnet_foreach;
pub use refused::DestroyError;

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
        self.state.store(state as u8, Release);
    }
}

/// Ids in creation order (vnet0 is 0).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Vnet {
    /// vnet0, live and listed (once, by boot).
    pub(crate) fn new_vnet0() -> Vnet {
        let vnet0 =
            Vnet::new_unpublished("vnet0", None, None).expect("vnet0's name is free at boot");
        vnet0.instance().set_state(VnetState::Live);
        list::write().push(&vnet0);
        vnet0
    }

    /// A new instance, not yet listed: reserves its name and its parent's
    /// child slot (given back by `destroy::release_reservations`) and builds its
    /// block from the template.
    pub(crate) fn new_unpublished(
        name: &str,
        parent: Option<Vnet>,
        children_max: Option<usize>,
    ) -> Result<Vnet, Error> {
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(Error::InvalidName(name.to_owned()));
        }
        if let Some(parent) = &parent {
            let p = parent.instance();
            if p.state() != VnetState::Live {
                return Err(Error::Destroyed(p.name.to_string()));
            }
            let max = p.children_max.unwrap_or(usize::MAX);
            p.children
                .fetch_update(AcqRel, Acquire, |n| (n < max).then_some(n + 1))
                .map_err(|_| Error::ChildLimit {
                    parent: p.name.to_string(),
                    max,
                })?;
        }
        if !list::reserve_name(name) {
            if let Some(parent) = &parent {
                parent.instance().children.fetch_sub(1, AcqRel);
            }
            return Err(Error::NameInUse(name.to_owned()));
        }
        // Tunables run user factories while the block is built: give the
        // name and the parent's slot back if one panics.
        let base = std::panic::catch_unwind(|| block::layout().new_block());
        let base = base.unwrap_or_else(|panic| {
            list::release_name(name);
            if let Some(parent) = &parent {
                parent.instance().children.fetch_sub(1, AcqRel);
            }
            std::panic::resume_unwind(panic)
        });
        Ok(Vnet::from_instance(Instance {
            base,
            name: name.into(),
            id: NEXT_ID.fetch_add(1, Relaxed),
            parent,
            children_max,
            children: AtomicUsize::new(0),
            state: AtomicU8::new(VnetState::Creating as u8),
            futures: crate::sync::atomic::AtomicUsize::new(0),
            slot: AtomicUsize::new(usize::MAX),
            handle: Weak::new(),
        }))
    }
}
