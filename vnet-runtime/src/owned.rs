//! Work owned by an instance or a module, stopped before it goes.
//!
//! Threads ([`crate::thread`]), owned tasks ([`crate::VnetFutureExt::owned_by`]),
//! timers ([`crate::callout`]) and event handlers ([`crate::eventhandler`])
//! register here under their owner: the instance they run in, and optionally
//! the module they belong to. Before an instance's VNET_SYSUNINITs run,
//! [`stop_instance_work`] *cancels* every item it owns (no new run starts)
//! and then *waits* for runs in progress to end, so no teardown hook races
//! its own instance's background work (FreeBSD leaves this to each module:
//! "don't forget to unregister event handlers", `callout_drain`). A module's
//! work is stopped the same way by [`stop_module_work`] when the module is
//! unloaded, after its `MODEVENT(unload)` and before its teardown hooks.
//!
//! While an owner is being stopped it accepts no new work, so a timer
//! re-arming itself from its own callback cannot slip past the stop. An
//! instance stays closed for good once destroyed (one whose `destroy` was
//! refused is reopened); a module is reopened once its work is stopped, for
//! a later load.
//!
//! The registry holds items weakly: an item dropped by its user deregisters
//! itself and is never waited for. Registering and deregistering take one
//! process-wide lock (once per thread, task, callout or handler, never per
//! run).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Weak;

use parking_lot::Mutex;

use crate::{Vnet, VnetState};

/// One piece of owned work.
pub(crate) trait Work: Send + Sync {
    /// Makes sure no new run starts (a pending timer is disarmed, a handler
    /// unlinked, a thread asked to stop). Must not block.
    fn cancel(&self);
    /// Blocks until no run is in progress and none will start. Never called
    /// from a run of this item on the same thread.
    fn wait(&self);
}

/// Who owns a piece of work.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Owner {
    /// The instance with this id.
    Instance(u64),
    /// The module with this name.
    Module(String),
}

#[derive(Default)]
struct Entry {
    /// Stopped: new work is refused.
    closed: bool,
    items: Vec<(u64, Weak<dyn Work>)>,
}

static OWNERS: Mutex<BTreeMap<Owner, Entry>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Work items running on this thread (a timer callback, a handler, an
    /// owned thread's body): stopping one of them from inside itself must not
    /// wait for itself.
    static RUNNING: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// A new work id, unique for the life of the process.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Relaxed)
}

/// Marks work `id` as running on this thread until dropped.
pub(crate) struct Running(u64);

impl Running {
    pub(crate) fn enter(id: u64) -> Running {
        RUNNING.with(|r| r.borrow_mut().push(id));
        Running(id)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = RUNNING.try_with(|r| {
            let mut r = r.borrow_mut();
            if let Some(i) = r.iter().rposition(|&id| id == self.0) {
                r.remove(i);
            }
        });
    }
}

pub(crate) fn is_running_here(id: u64) -> bool {
    RUNNING
        .try_with(|r| r.borrow().contains(&id))
        .unwrap_or(false)
}

/// An item's place in the registry; dropping it deregisters the item.
#[derive(Debug)]
pub(crate) struct Registration {
    owner: Owner,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut owners = OWNERS.lock();
        if let Some(entry) = owners.get_mut(&self.owner) {
            entry.items.retain(|(id, _)| *id != self.id);
            if entry.items.is_empty() && !entry.closed {
                owners.remove(&self.owner);
            }
        }
    }
}

/// Why work could not be registered: its owner is stopping or gone.
#[derive(Debug)]
pub(crate) struct Closed;

/// Registers `work` (id `id`) as owned by `vnet`. Refused once the instance
/// started going (its work was stopped, or it is dying or destroyed).
pub(crate) fn register_in_instance(
    vnet: &Vnet,
    id: u64,
    work: Weak<dyn Work>,
) -> Result<Registration, Closed> {
    let owner = Owner::Instance(vnet.id());
    let mut owners = OWNERS.lock();
    // Checked under the registry lock: `stop_instance_work` closes the entry
    // under it before the state can leave `Live`.
    if matches!(vnet.state(), VnetState::Dying | VnetState::Destroyed) {
        return Err(Closed);
    }
    insert(&mut owners, owner, id, work)
}

/// Registers `work` (id `id`) as owned by module `name`.
pub(crate) fn register_in_module(
    name: &str,
    id: u64,
    work: Weak<dyn Work>,
) -> Result<Registration, Closed> {
    let mut owners = OWNERS.lock();
    insert(&mut owners, Owner::Module(name.to_owned()), id, work)
}

fn insert(
    owners: &mut BTreeMap<Owner, Entry>,
    owner: Owner,
    id: u64,
    work: Weak<dyn Work>,
) -> Result<Registration, Closed> {
    let entry = owners.entry(owner.clone()).or_default();
    if entry.closed {
        return Err(Closed);
    }
    entry.items.push((id, work));
    Ok(Registration { owner, id })
}

/// Closes `owner` and stops its work: cancel everything, then wait for
/// every run in progress (except runs of this very thread).
fn stop(owner: &Owner) {
    let items = {
        let mut owners = OWNERS.lock();
        let entry = owners.entry(owner.clone()).or_default();
        entry.closed = true;
        std::mem::take(&mut entry.items)
    };
    let live: Vec<(u64, std::sync::Arc<dyn Work>)> = items
        .into_iter()
        .filter_map(|(id, w)| w.upgrade().map(|w| (id, w)))
        .collect();
    for (_, work) in &live {
        work.cancel();
    }
    for (id, work) in &live {
        if !is_running_here(*id) {
            work.wait();
        }
    }
}

/// Lets `owner` accept work again and forgets it if it has none.
fn reopen(owner: &Owner) {
    let mut owners = OWNERS.lock();
    if let Some(entry) = owners.get_mut(owner) {
        entry.closed = false;
        if entry.items.is_empty() {
            owners.remove(owner);
        }
    }
}

/// The work of a set of instances, stopped for their destruction. Dropping
/// it reopens those still live (their `destroy` was refused) and forgets the
/// destroyed ones. It holds no handle, so the last handle of a destroyed
/// instance is still dropped by `destroy` itself.
#[cfg(feature = "vimage")]
#[must_use = "the instances accept work again when this is dropped"]
pub(crate) struct StoppedWork(Vec<(u64, crate::WeakVnet)>);

#[cfg(feature = "vimage")]
impl Drop for StoppedWork {
    fn drop(&mut self) {
        for (id, weak) in &self.0 {
            let owner = Owner::Instance(*id);
            if weak.upgrade().is_some_and(|v| v.state() == VnetState::Live) {
                reopen(&owner);
            } else {
                // Destroyed (or dying): registration checks the state from
                // now on, so the closed entry is no longer needed.
                OWNERS.lock().remove(&owner);
            }
        }
    }
}

/// Stops the work owned by `vnet` and by every instance below it (children
/// before parents): cancels it, then waits for what is running. Called by
/// `Vnet::destroy` before the busy check and the VNET_SYSUNINITs.
#[cfg(feature = "vimage")]
pub(crate) fn stop_instance_work(vnet: &Vnet) -> StoppedWork {
    let mut doomed: Vec<(usize, Vnet)> = Vnet::list()
        .into_iter()
        .filter_map(|v| {
            let mut depth = 0;
            let mut cur = Some(v.clone());
            while let Some(c) = cur {
                if c == *vnet {
                    return Some((depth, v));
                }
                cur = c.parent();
                depth += 1;
            }
            None
        })
        .collect();
    doomed.sort_by_key(|d| std::cmp::Reverse(d.0));
    for (_, v) in &doomed {
        stop(&Owner::Instance(v.id()));
    }
    StoppedWork(
        doomed
            .into_iter()
            .map(|(_, v)| (v.id(), v.downgrade()))
            .collect(),
    )
}

/// Stops the work owned by module `name` (its timers and global event
/// handlers) and reopens it for a later load. Called by `module::unload`
/// after `MODEVENT(unload)` agreed and before the module's teardown hooks.
pub(crate) fn stop_module_work(name: &str) {
    let owner = Owner::Module(name.to_owned());
    stop(&owner);
    reopen(&owner);
}

/// How many items `vnet` owns that are still registered (tests).
#[doc(hidden)]
pub fn owned_work_len(vnet: &Vnet) -> usize {
    OWNERS
        .lock()
        .get(&Owner::Instance(vnet.id()))
        .map_or(0, |e| {
            e.items.iter().filter(|(_, w)| w.strong_count() > 0).count()
        })
}
