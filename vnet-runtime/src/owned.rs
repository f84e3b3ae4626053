//! Work owned by an instance or a module, stopped before it goes.
//!
//! Threads ([`crate::thread`]), owned tasks ([`crate::VnetFutureExt::owned_by`]),
//! timers ([`crate::callout`]) and event handlers ([`crate::eventhandler`])
//! register here under their owner: the instance they run in, and optionally
//! the module they belong to. Once a destroy is committed (its busy check
//! found nothing in the way but this work, see `instance::state`),
//! [`stop_instance_work`] *cancels* every item the instance owns (no new run
//! starts) and then *waits* for runs in progress to end, before any
//! VNET_SYSUNINIT runs, so no teardown hook races its own instance's
//! background work (FreeBSD leaves this to each module: "don't forget to
//! unregister event handlers", `callout_drain`). A wait longer than a few
//! seconds is reported on stderr, naming the item and where it was made,
//! and again at a slow interval until it ends. A module's work is stopped
//! the same way by [`stop_module_work`] when the module is unloaded, after
//! its `MODEVENT(unload)` and before its teardown hooks.
//!
//! A refused destroy never gets here: it changes nothing, and the work goes
//! on. An instance whose work was stopped accepts no new work (its state is
//! no longer live); a module is reopened once its work is stopped, for a
//! later load.
//!
//! Each owner's items are found by its key (an instance's id), never by
//! looking at other owners'. The registry holds items weakly: an item
//! dropped by its user deregisters itself and is never waited for.
//! Registering and deregistering take one process-wide lock (once per
//! thread, task, callout or handler, never per run).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Weak;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::{Vnet, VnetState};

/// One piece of owned work.
pub(crate) trait Work: Send + Sync {
    /// Makes sure no new run starts (a pending timer is disarmed, a handler
    /// unlinked, a thread asked to stop). Must not block.
    fn cancel(&self);
    /// Blocks until no run is in progress and none will start, or until
    /// `timeout` passed; returns whether it is over. Never called from a
    /// run of this item on the same thread.
    fn wait_for(&self, timeout: Duration) -> bool;
    /// What the item is and where it was made, for the report of a long
    /// wait (`owned thread `worker` spawned at src/main.rs:10:5`).
    fn describe(&self) -> String;
}

/// What kind of work a run is, as a refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A thread started with [`crate::thread::spawn_in`] and friends.
    Thread,
    /// A task made with `owned_by`.
    Task,
    /// A callout's callback.
    Callout,
    /// An event handler.
    Handler,
}

#[cfg_attr(not(feature = "vimage"), allow(dead_code))]
impl Kind {
    /// "its own callout" and so on.
    pub(crate) fn as_its_own(self) -> &'static str {
        match self {
            Kind::Thread => "its own thread (thread::spawn_in)",
            Kind::Task => "its own task (owned_by)",
            Kind::Callout => "its own callout",
            Kind::Handler => "its own event handler",
        }
    }
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

/// One run of a work item on this thread.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "vimage"), allow(dead_code))]
struct Run {
    id: u64,
    kind: Kind,
    /// The instance that owns the item (its id).
    owner: Option<u64>,
}

thread_local! {
    /// Work items running on this thread (a timer callback, a handler, an
    /// owned thread's body): stopping one of them from inside itself must not
    /// wait for itself, and destroying its own instance from it is refused.
    static RUNNING: RefCell<Vec<Run>> = const { RefCell::new(Vec::new()) };
}

/// A new work id, unique for the life of the process.
pub(crate) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Relaxed)
}

/// Marks work `id` as running on this thread until dropped.
pub(crate) struct Running {
    id: u64,
    /// The run's mark on the context stack and state word (a run that
    /// enters its owning instance itself).
    #[cfg(feature = "vimage")]
    entered: Option<(crate::context::PinId, crate::instance::state::WorkMark)>,
}

impl Running {
    /// A run of work `id` (of `kind`, owned by the instance with id
    /// `owner`, if any) that does not itself enter its instance: an event
    /// handler, run inside its invoker's `enter`.
    pub(crate) fn enter(id: u64, kind: Kind, owner: Option<u64>) -> Running {
        RUNNING.with(|r| r.borrow_mut().push(Run { id, kind, owner }));
        Running {
            id,
            #[cfg(feature = "vimage")]
            entered: None,
        }
    }

    /// A run of work `id` owned by `vnet` that enters `vnet` next (its first
    /// push): a callout's callback, an owned thread's body, an owned task's
    /// poll. Marked so that a destroy tells its pins from others (it will
    /// stop this run itself) and lets it finish once committed.
    pub(crate) fn in_instance(id: u64, kind: Kind, vnet: &crate::Vnet) -> Running {
        #[cfg_attr(not(feature = "vimage"), allow(unused_mut))]
        let mut running = Running::enter(id, kind, Some(vnet.id()));
        #[cfg(feature = "vimage")]
        {
            let instance = vnet.instance();
            let mark = crate::instance::state::WorkMark::begin(&instance.state);
            running.entered = Some((crate::context::begin_work(instance.pin()), mark));
        }
        running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        #[cfg(feature = "vimage")]
        if let Some((previous, _mark)) = self.entered.take() {
            crate::context::end_work(previous);
        }
        let _ = RUNNING.try_with(|r| {
            let mut r = r.borrow_mut();
            if let Some(i) = r.iter().rposition(|run| run.id == self.id) {
                r.remove(i);
            }
        });
    }
}

pub(crate) fn is_running_here(id: u64) -> bool {
    RUNNING
        .try_with(|r| r.borrow().iter().any(|run| run.id == id))
        .unwrap_or(false)
}

/// The kind of the innermost work running on this thread whose owner
/// `doomed` accepts (a destroy called from inside its own work).
#[cfg(feature = "vimage")]
pub(crate) fn running_work_of(doomed: impl Fn(u64) -> bool) -> Option<Kind> {
    RUNNING
        .try_with(|r| {
            r.borrow()
                .iter()
                .rev()
                .find(|run| run.owner.is_some_and(&doomed))
                .map(|run| run.kind)
        })
        .ok()
        .flatten()
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
    // Checked under the registry lock: a committed destroy leaves `Live`
    // (`STOPPING`, reported as `Dying`) before `stop_instance_work` takes
    // the entry under it, so work registered after that is refused here.
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

/// Closes `owner` (forgets it when `forget`) and stops its work: cancel
/// everything, then wait for every run in progress (except runs of this
/// very thread), saying so when a wait takes long.
fn stop(owner: &Owner, forget: bool) {
    let items = {
        let mut owners = OWNERS.lock();
        if forget {
            owners.remove(owner).map(|e| e.items).unwrap_or_default()
        } else {
            let entry = owners.entry(owner.clone()).or_default();
            entry.closed = true;
            std::mem::take(&mut entry.items)
        }
    };
    if items.is_empty() {
        return;
    }
    let live: Vec<(u64, std::sync::Arc<dyn Work>)> = items
        .into_iter()
        .filter_map(|(id, w)| w.upgrade().map(|w| (id, w)))
        .collect();
    for (_, work) in &live {
        work.cancel();
    }
    for (id, work) in &live {
        if !is_running_here(*id) {
            wait_reporting(owner, &**work);
        }
    }
}

/// How long a stop waits for one item before saying so.
const FIRST_REPORT: Duration = Duration::from_secs(3);
/// How often it says so again while the wait goes on.
const REPEAT_REPORT: Duration = Duration::from_secs(10);

/// Waits for `work`; past [`FIRST_REPORT`], and every [`REPEAT_REPORT`]
/// after, reports on stderr (and to trace captures) what it waits for.
fn wait_reporting(owner: &Owner, work: &dyn Work) {
    let started = Instant::now();
    let mut next = FIRST_REPORT;
    while !work.wait_for(next.saturating_sub(started.elapsed())) {
        if started.elapsed() < next {
            continue;
        }
        let whose = match owner {
            Owner::Instance(_) => "destroying its vnet",
            Owner::Module(_) => "unloading its module",
        };
        let hint = if work.describe().starts_with("owned thread") {
            " (a thread must return once thread::stop_requested() is true;              thread::sleep wakes early for it)"
        } else {
            ""
        };
        crate::record::report(format!(
            "vnet: {whose} has waited {:.0} s for {} to end{hint}",
            started.elapsed().as_secs_f64(),
            work.describe(),
        ));
        next += REPEAT_REPORT;
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

/// Stops the work owned by `vnet`: cancels it, then waits for what is
/// running. Called by a committed `Vnet::destroy` for each instance of the
/// subtree (children first), before the VNET_SYSUNINITs; costs what `vnet`
/// owns, whatever other instances own.
#[cfg(feature = "vimage")]
pub(crate) fn stop_instance_work(vnet: &Vnet) {
    stop(&Owner::Instance(vnet.id()), true);
}

/// Stops the work owned by module `name` (its timers and global event
/// handlers) and reopens it for a later load. Called by `module::unload`
/// after `MODEVENT(unload)` agreed and before the module's teardown hooks.
pub(crate) fn stop_module_work(name: &str) {
    let owner = Owner::Module(name.to_owned());
    stop(&owner, false);
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
