//! The operations on instances: boot and vnet0, create, destroy, lookup,
//! enter, and `vnet_foreach`. The only part of `instance` that runs
//! lifecycle hooks.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{OnceLock, Weak};

use parking_lot::ReentrantMutex;

use super::destroy::release_reservations;
use super::{list, state, Instance, Vnet, VnetState};
use crate::context;
use crate::lifecycle;
use crate::registry;
use crate::sync::atomic::AtomicU8;
use crate::Error;

static VNET0: OnceLock<Vnet> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Starts the runtime (idempotent): lays out the per-instance block from
/// every `#[vnet]` static linked into the binary, creates `vnet0`, and runs
/// the boot sequence of the lifecycle.
///
/// Any call that needs the runtime boots it on first use, so calling `boot`
/// is optional; call it early to choose when boot hooks run.
///
/// ```
/// vnet_runtime::boot();
/// assert_eq!(vnet_runtime::vnet0().name(), "vnet0");
/// ```
pub fn boot() {
    booted();
}

/// Set once the boot sequence has finished.
static BOOTED: AtomicBool = AtomicBool::new(false);
/// Serializes boot; re-entrant so that boot hooks may use the runtime. The
/// flag says whether this process's boot sequence has started.
static BOOT_LOCK: ReentrantMutex<Cell<bool>> = ReentrantMutex::new(Cell::new(false));

#[inline]
fn booted() -> &'static Vnet {
    match VNET0.get() {
        Some(vnet0) if BOOTED.load(Acquire) => vnet0,
        _ => boot_slow(),
    }
}

#[cold]
fn boot_slow() -> &'static Vnet {
    let started = BOOT_LOCK.lock();
    let vnet0 = VNET0.get_or_init(|| {
        let vnet0 =
            Vnet::new_unpublished("vnet0", None, None).expect("vnet0's name is free at boot");
        vnet0.instance().set_state(VnetState::Live);
        list::write().push(&vnet0);
        vnet0
    });
    if !started.replace(true) {
        // Hooks that call back into the runtime re-enter this lock on this
        // thread and see the boot as started; other threads wait for it.
        lifecycle::boot(vnet0);
        BOOTED.store(true, Release);
    }
    vnet0
}

/// The default instance, created at boot and never destroyed.
///
/// ```
/// let v = vnet_runtime::vnet0();
/// assert_eq!(v, vnet_runtime::Vnet::lookup("vnet0").unwrap());
/// ```
pub fn vnet0() -> Vnet {
    booted().clone()
}

/// Options for a new instance: parent and limit on children (jail's
/// `children.max`).
///
/// ```
/// use vnet_runtime::Vnet;
/// let parent = Vnet::builder("parent").children_max(1).create().unwrap();
/// let child = Vnet::builder("child").parent(&parent).create().unwrap();
/// assert!(Vnet::builder("second").parent(&parent).create().is_err());
/// assert_eq!(child.parent().unwrap(), parent);
/// parent.destroy().unwrap(); // destroys `child` first
/// # drop(child);
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct VnetBuilder {
    name: String,
    parent: Option<Vnet>,
    children_max: Option<usize>,
}

impl VnetBuilder {
    /// Makes the new instance a child of `parent`.
    pub fn parent(mut self, parent: &Vnet) -> Self {
        self.parent = Some(parent.clone());
        self
    }

    /// Limits how many children the new instance may have (default: no limit).
    pub fn children_max(mut self, max: usize) -> Self {
        self.children_max = Some(max);
        self
    }

    /// Creates the instance: copies the initial value of every static into a
    /// new block, runs every per-instance init hook (VNET_SYSINIT) with the
    /// instance current, then publishes it to the instance list.
    ///
    /// A failing hook undoes the hooks that had run and leaves no instance.
    pub fn create(self) -> Result<Vnet, Error> {
        booted();
        if context::inside_foreach() {
            return Err(Error::InsideForeach);
        }
        let vnet = Vnet::new_unpublished(&self.name, self.parent, self.children_max)?;
        // Hold the lifecycle read lock from the first hook until the instance
        // is in the list, so a module loaded concurrently either sees the new
        // instance in the list or has its hooks in the set we run.
        let lifecycle = lifecycle::read();
        if let Err(err) = lifecycle::create(&lifecycle, &vnet) {
            // The hooks undid their own work; give back the name and the
            // parent's child slot. Dropping `vnet` frees the block.
            vnet.instance().set_state(VnetState::Destroyed);
            release_reservations(vnet.instance());
            return Err(err);
        }
        {
            let mut list = list::write();
            // The parent may have been destroyed while our hooks ran (it only
            // saw published children): then this child must not appear.
            let orphaned = vnet.parent().filter(|p| p.state() != VnetState::Live);
            if orphaned.is_none() {
                vnet.instance().set_state(VnetState::Live);
                list.push(&vnet);
            }
            drop(list);
            if let Some(parent) = orphaned {
                vnet.instance().set_state(VnetState::Dying);
                lifecycle::destroy(&lifecycle, &vnet);
                vnet.instance().set_state(VnetState::Destroyed);
                release_reservations(vnet.instance());
                return Err(Error::Destroyed(parent.name().to_owned()));
            }
        }
        drop(lifecycle);
        Ok(vnet)
    }
}

impl Vnet {
    /// Creates an instance named `name` with default options.
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::create("tenant-1").unwrap();
    /// assert_eq!(v.name(), "tenant-1");
    /// v.destroy().unwrap();
    /// ```
    pub fn create(name: &str) -> Result<Vnet, Error> {
        Vnet::builder(name).create()
    }

    /// A builder for an instance with options (parent, `children_max`).
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::builder("built").children_max(0).create().unwrap();
    /// v.destroy().unwrap();
    /// ```
    pub fn builder(name: &str) -> VnetBuilder {
        VnetBuilder {
            name: name.to_owned(),
            parent: None,
            children_max: None,
        }
    }

    /// The live instance named `name` (a hash lookup: its cost does not
    /// depend on how many instances exist).
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::create("findme").unwrap();
    /// assert_eq!(vnet_runtime::Vnet::lookup("findme"), Some(v.clone()));
    /// v.destroy().unwrap();
    /// assert_eq!(vnet_runtime::Vnet::lookup("findme"), None);
    /// ```
    pub fn lookup(name: &str) -> Option<Vnet> {
        booted();
        // A destroy that is stopping the instance's owned work keeps it
        // listed (for module unloads) but it is no longer live.
        list::lookup(name).filter(|v| v.state() == VnetState::Live)
    }

    /// Every live instance, in creation order (vnet0 first).
    ///
    /// ```
    /// assert_eq!(vnet_runtime::Vnet::list()[0].name(), "vnet0");
    /// ```
    pub fn list() -> Vec<Vnet> {
        booted();
        let mut all = list::snapshot();
        all.retain(|v| v.state() == VnetState::Live);
        all
    }

    /// The instance current on this thread, if any (with none current, vnet0
    /// under [`ContextPolicy::DefaultInstance`](crate::ContextPolicy)).
    ///
    /// ```
    /// let v = vnet_runtime::vnet0();
    /// assert_eq!(vnet_runtime::Vnet::current(), None);
    /// v.enter(|| assert_eq!(vnet_runtime::Vnet::current(), Some(v.clone())));
    /// ```
    pub fn current() -> Option<Vnet> {
        let Some(pin) = context::current_pin() else {
            // None current: vnet0 under the default-instance policy.
            return crate::policy::fallback_vnet();
        };
        // SAFETY: a pin on this thread's stack is a pinned, hence not freed,
        // `Instance`; it is used only here, before any restore.
        Vnet::from_live(unsafe { &*pin.cast::<Instance>() })
    }

    fn new_unpublished(
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
        let base = std::panic::catch_unwind(|| registry::layout().new_block());
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
        let _guard = crate::curvnet_set(self);
        f()
    }

    /// Makes this instance current; see [`curvnet_set`](crate::curvnet_set).
    #[cfg_attr(debug_assertions, track_caller)]
    #[inline]
    pub(crate) fn push_current(&self) -> context::CurVnetGuard<'_> {
        match self.try_push_current() {
            Some(guard) => guard,
            None => not_enterable(self.instance()),
        }
    }

    /// Makes this instance current, or `None` when it may not be entered
    /// (destroyed, being destroyed, or being created on another thread).
    /// The enter side of the protocol in [`super::state`].
    #[cfg_attr(debug_assertions, track_caller)]
    #[inline]
    pub(crate) fn try_push_current(&self) -> Option<context::CurVnetGuard<'_>> {
        let instance = self.instance();
        if instance.state.load(Acquire) != state::LIVE {
            return self.try_push_cold();
        }
        #[cfg(debug_assertions)]
        log_recursion(instance);
        let guard = context::push(instance.pin(), instance.base(), || {
            instance.name().to_owned()
        });
        if state::admit(&instance.state) {
            Some(guard)
        } else {
            drop(guard);
            None
        }
    }

    /// Not plainly live: its own hooks re-entering it (already current
    /// here, so pinned and owned by this thread's operation), or a destroy
    /// deciding (`CLOSING`: wait for its verdict) or stopping its owned
    /// work (`STOPPING`: that work only), or refused.
    #[cold]
    #[inline(never)]
    #[cfg_attr(debug_assertions, track_caller)]
    fn try_push_cold(&self) -> Option<context::CurVnetGuard<'_>> {
        let instance = self.instance();
        let now = instance.state.load(Acquire);
        if now != state::DESTROYED && context::is_current(instance.pin()) {
            return Some(context::push(instance.pin(), instance.base(), || {
                instance.name().to_owned()
            }));
        }
        // CLOSING: wait for the verdict. STOPPING: admitted only for the
        // instance's own owned work (see `state::admit`).
        if now != state::CLOSING && now != state::STOPPING {
            return None;
        }
        #[cfg(debug_assertions)]
        log_recursion(instance);
        let guard = context::push(instance.pin(), instance.base(), || {
            instance.name().to_owned()
        });
        if state::admit(&instance.state) {
            Some(guard)
        } else {
            drop(guard);
            None
        }
    }

    /// Keeps this instance in use for a bound future, from its first poll
    /// to its end: `destroy` is refused with `Busy` until
    /// [`Vnet::unpin_future`]. The enter side of the protocol in
    /// [`super::state`], paid once per future instead of once per poll.
    /// `false` (nothing held) when the instance is not plainly live.
    #[inline]
    pub(crate) fn try_pin_future(&self) -> bool {
        let instance = self.instance();
        if instance.state.load(Acquire) != state::LIVE {
            return false;
        }
        state::admit_counted(&instance.futures, &instance.state)
    }

    /// Ends what [`Vnet::try_pin_future`] began.
    #[inline]
    pub(crate) fn unpin_future(&self) {
        self.instance().futures.fetch_sub(1, Release);
    }

    /// Makes this instance current for a poll of a future that holds it in
    /// use ([`Vnet::try_pin_future`]): `destroy` cannot start its teardown
    /// meanwhile, so the push needs neither the fence nor the state check.
    #[inline]
    pub(crate) fn push_pinned(&self) -> context::CurVnetGuard<'_> {
        let instance = self.instance();
        debug_assert!(instance.futures.load(Relaxed) > 0);
        #[cfg(debug_assertions)]
        log_recursion(instance);
        context::push(instance.pin(), instance.base(), || {
            instance.name().to_owned()
        })
    }

    /// Pins this instance on this thread without making it current, for
    /// `V_X.with_in`: `destroy` is refused while the guard lives. `None`
    /// when it may not be used (as [`Vnet::try_push_current`]).
    #[inline]
    pub(crate) fn try_pin(&self) -> Option<context::CurVnetGuard<'_>> {
        let instance = self.instance();
        let now = instance.state.load(Acquire);
        if now != state::LIVE && now != state::CLOSING && now != state::STOPPING {
            return None;
        }
        let guard = context::pin_only(instance.pin(), || instance.name().to_owned());
        if state::admit(&instance.state) {
            Some(guard)
        } else {
            drop(guard);
            None
        }
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
            crate::trace::log_recursion(
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

/// Runs `f` once for every live instance, in creation order, with that
/// instance current (FreeBSD's `VNET_LIST_RLOCK` + `VNET_FOREACH` +
/// `CURVNET_SET`). The instance list is read-locked for the whole loop, so no
/// instance is created or destroyed meanwhile.
///
/// ```
/// let mut names = Vec::new();
/// vnet_runtime::vnet_foreach(|v| names.push(v.name().to_owned()));
/// assert_eq!(names[0], "vnet0");
/// ```
pub fn vnet_foreach(mut f: impl FnMut(&Vnet)) {
    booted();
    let list = list::read();
    let _scope = context::ForeachScope::enter();
    for slot in list.slots() {
        // SAFETY: a live slot's instance is kept alive by its handle, which
        // stays listed while the list is read-locked.
        let instance = unsafe { &*slot.instance };
        if instance.state.load(Acquire) == state::STOPPING {
            // Its destroy is committed (stopping its owned work).
            continue;
        }
        let _guard = context::push(instance.pin(), slot.base, || instance.name().to_owned());
        f(slot.vnet.as_ref().expect("live slot"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// The one way to drop the last handle of an instance that is current on
    /// a thread: a set that races `destroy` (entering during teardown) and
    /// is leaked. Emulated here by pushing without the state check.
    #[test]
    fn last_handle_dropped_while_pinned_is_freed_when_the_thread_exits() {
        let v = Vnet::create("unit-grave").unwrap();
        let handle = v.clone();
        v.destroy().unwrap();
        let (pinned_tx, pinned_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let i = handle.instance();
            std::mem::forget(context::push(i.pin(), i.base(), String::new));
            let base = context::current_base();
            drop(handle); // the last handle, while current here
            pinned_tx
                .send((crate::graveyard_len(), base == context::current_base()))
                .unwrap();
            exit_rx.recv().unwrap();
        });
        let (in_graveyard, base_kept) = pinned_rx.recv().unwrap();
        assert!(in_graveyard >= 1, "the instance waits in the graveyard");
        assert!(base_kept);
        exit_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(crate::graveyard_len(), 0, "thread exit frees it");
    }
}
