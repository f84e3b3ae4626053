//! Events and their handlers, after FreeBSD's eventhandler(9), with the
//! VNET flavours.
//!
//! | FreeBSD | here |
//! | --- | --- |
//! | `EVENTHANDLER_DECLARE(ifnet_arrival_event, ...)` | `static IFNET_ARRIVAL: Event<Ifnet> = Event::new("ifnet_arrival_event");` |
//! | `EVENTHANDLER_REGISTER(...)` in a VNET_SYSINIT | [`Event::register_current`] or [`Event::register_in`] |
//! | `VNET_GLOBAL_EVENTHANDLER_REGISTER(...)` | [`Event::register_global`] (every instance) |
//! | `EVENTHANDLER_DEREGISTER(...)` | [`EventTag::deregister`] |
//! | `EVENTHANDLER_INVOKE(...)` in a vnet | [`Event::invoke_current`] or [`Event::invoke_in`] |
//! | `EVENTHANDLER_INVOKE(...)` outside any vnet | [`Event::invoke_all`] |
//!
//! An event raised in an instance ([`Event::invoke_current`],
//! [`Event::invoke_in`]) reaches that instance's handlers and every global
//! handler, run with that instance current, and nothing registered in
//! another instance. [`Event::invoke_all`] does the same once for every live
//! instance, in creation order. A global handler is registered once and so
//! runs for instances created after it, too.
//!
//! Handlers are owned: one registered in an instance is removed (and waited
//! for, if it is running) when the instance is destroyed, before its
//! VNET_SYSUNINITs run; a global one with [`EventTag::owned_by_module`] is
//! removed when that module is unloaded. Once [`EventTag::deregister`] or
//! such a removal returns, the handler never runs again.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
//! use vnet_runtime::eventhandler::Event;
//! use vnet_runtime::{global, vnet, Vnet};
//!
//! /// An interface came up: its name.
//! #[global(reason = "an event's handler list is process-wide, like FreeBSD's")]
//! static IFNET_ARRIVAL: Event<str> = Event::new("ifnet_arrival_event");
//!
//! #[vnet]
//! static ARRIVALS: AtomicU32 = AtomicU32::new(0);
//!
//! # if !vnet_runtime::VIMAGE { return; }
//! let tag = IFNET_ARRIVAL.register_global(|_name| {
//!     V_ARRIVALS.with(|a| a.fetch_add(1, Relaxed)); // the raising instance's counter
//! });
//! let red = Vnet::create("evh-red").unwrap();
//! let blue = Vnet::create("evh-blue").unwrap(); // created after the registration
//! blue.enter(|| IFNET_ARRIVAL.invoke_current("lo0")); // only blue's
//! IFNET_ARRIVAL.invoke_all("em0"); // every instance
//! assert_eq!(V_ARRIVALS.with_in(&red, |a| a.load(Relaxed)), 1);
//! assert_eq!(V_ARRIVALS.with_in(&blue, |a| a.load(Relaxed)), 2);
//! tag.deregister();
//! red.destroy().unwrap();
//! blue.destroy().unwrap();
//! ```

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RecursiveRwLock, RwLock};

use crate::instance::{vnet_foreach, Vnet};
use crate::owned::{self, Registration, Running, Work};

type HandlerFn<A> = dyn Fn(&A) + Send + Sync + 'static;

/// An event: a list of handlers taking `&A`. Declare it as a `static`.
pub struct Event<A: ?Sized + 'static> {
    name: &'static str,
    handlers: RwLock<Handlers<A>>,
}

/// An event's handlers, by scope, each list in registration order (ids
/// grow): raising the event in an instance, or removing one instance's
/// handler, never looks at other instances' handlers.
struct Handlers<A: ?Sized + 'static> {
    global: Vec<Arc<Handler<A>>>,
    scoped: BTreeMap<u64, Vec<Arc<Handler<A>>>>,
    len: usize,
}

impl<A: ?Sized + 'static> Handlers<A> {
    fn push(&mut self, handler: Arc<Handler<A>>) {
        match handler.scope {
            None => self.global.push(handler),
            Some(vnet) => self.scoped.entry(vnet).or_default().push(handler),
        }
        self.len += 1;
    }

    /// Takes `handler` out (if still in).
    fn remove(&mut self, handler: &Handler<A>) -> Option<Arc<Handler<A>>> {
        let list = match handler.scope {
            None => &mut self.global,
            Some(vnet) => self.scoped.get_mut(&vnet)?,
        };
        let i = list
            .iter()
            .position(|h| std::ptr::eq(Arc::as_ptr(h), handler))?;
        let removed = list.remove(i);
        if let Some(vnet) = handler.scope.filter(|_| list.is_empty()) {
            self.scoped.remove(&vnet);
        }
        self.len -= 1;
        Some(removed)
    }

    /// The handlers an event raised in instance `vnet` runs: its own and
    /// the global ones, merged in registration order.
    fn for_vnet(&self, vnet: u64) -> Vec<Arc<Handler<A>>> {
        let own = self.scoped.get(&vnet).map_or(&[][..], Vec::as_slice);
        let mut out = Vec::with_capacity(own.len() + self.global.len());
        let (mut g, mut o) = (self.global.iter().peekable(), own.iter().peekable());
        loop {
            let next = match (g.peek(), o.peek()) {
                (Some(a), Some(b)) if a.id < b.id => g.next(),
                (Some(_), Some(_)) | (None, Some(_)) => o.next(),
                (Some(_), None) => g.next(),
                (None, None) => break,
            };
            out.extend(next.cloned());
        }
        out
    }
}

struct Handler<A: ?Sized + 'static> {
    id: u64,
    /// The instance it is registered in (its id), or `None` for a global one.
    scope: Option<u64>,
    f: Box<HandlerFn<A>>,
    removed: AtomicBool,
    /// Held shared by every run; taken exclusively to wait for runs to end.
    runs: RecursiveRwLock<()>,
    event: &'static Event<A>,
    regs: Mutex<Vec<Registration>>,
    /// Where it was registered (for the report of a long wait).
    made_at: &'static std::panic::Location<'static>,
}

impl<A: ?Sized + 'static> Event<A> {
    /// A new event with no handlers; `name` is for messages.
    ///
    /// ```
    /// use vnet_runtime::eventhandler::Event;
    /// static SHUTDOWN: Event<()> = Event::new("shutdown_pre_sync");
    /// assert_eq!(SHUTDOWN.name(), "shutdown_pre_sync");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Event {
            name,
            handlers: RwLock::new(Handlers {
                global: Vec::new(),
                scoped: BTreeMap::new(),
                len: 0,
            }),
        }
    }

    /// The event's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// [`register_in`](Self::register_in) the instance current on this
    /// thread (`EVENTHANDLER_REGISTER` from a VNET_SYSINIT).
    ///
    /// # Panics
    /// When no instance is current (under the default-instance policy, vnet0
    /// is); see [No current instance](crate#no-current-instance).
    ///
    /// ```
    /// use vnet_runtime::eventhandler::Event;
    /// static PING: Event<u32> = Event::new("ping");
    /// let tag = vnet_runtime::vnet0().enter(|| PING.register_current(|n| assert_eq!(*n, 7)));
    /// PING.invoke_in(&vnet_runtime::vnet0(), &7);
    /// tag.deregister();
    /// ```
    #[track_caller]
    pub fn register_current(&'static self, f: impl Fn(&A) + Send + Sync + 'static) -> EventTag {
        let vnet = Vnet::current_or_panic("Event::register_current", "event.register_in(&vnet, f)");
        self.register_in(&vnet, f)
    }

    /// Registers `f` in `vnet`: it runs only for events raised in that
    /// instance, and goes with it. While `vnet` is being destroyed (or
    /// after), nothing is registered: the handler would be removed at once,
    /// so it never runs.
    #[track_caller]
    pub fn register_in(
        &'static self,
        vnet: &Vnet,
        f: impl Fn(&A) + Send + Sync + 'static,
    ) -> EventTag {
        let handler = self.handler(Some(vnet.id()), Box::new(f));
        let weak: Weak<Handler<A>> = Arc::downgrade(&handler);
        // Linked under the registry's answer: a handler of a closing
        // instance is never linked (its `cancel` would not see it).
        let mut handlers = self.handlers.write();
        match owned::register_in_instance(vnet, handler.id, weak) {
            Ok(reg) => {
                handler.regs.lock().push(reg);
                handlers.push(handler.clone());
            }
            Err(_) => handler.removed.store(true, Release),
        }
        drop(handlers);
        EventTag { handler }
    }

    /// Registers `f` once for every instance (`VNET_GLOBAL_EVENTHANDLER_REGISTER`):
    /// each event raised in an instance runs it with that instance current,
    /// for instances created later too.
    ///
    /// ```
    /// use vnet_runtime::eventhandler::Event;
    /// static LINK_UP: Event<str> = Event::new("link_up");
    /// let tag = LINK_UP.register_global(|_| assert!(vnet_runtime::Vnet::current().is_some()));
    /// LINK_UP.invoke_all("em0");
    /// tag.deregister();
    /// ```
    #[track_caller]
    pub fn register_global(&'static self, f: impl Fn(&A) + Send + Sync + 'static) -> EventTag {
        let handler = self.handler(None, Box::new(f));
        self.handlers.write().push(handler.clone());
        EventTag { handler }
    }

    #[track_caller]
    fn handler(&'static self, scope: Option<u64>, f: Box<HandlerFn<A>>) -> Arc<Handler<A>> {
        Arc::new(Handler {
            id: owned::next_id(),
            scope,
            f,
            removed: AtomicBool::new(false),
            runs: RecursiveRwLock::new(()),
            event: self,
            regs: Mutex::new(Vec::new()),
            made_at: std::panic::Location::caller(),
        })
    }

    /// [`invoke_in`](Self::invoke_in) the instance current on this thread
    /// (`EVENTHANDLER_INVOKE` in a vnet): its handlers and the global ones,
    /// in registration order, on this thread.
    ///
    /// # Panics
    /// When no instance is current (under the default-instance policy, vnet0
    /// is); see [No current instance](crate#no-current-instance).
    ///
    /// ```
    /// use vnet_runtime::eventhandler::Event;
    /// static SEEN: Event<u32> = Event::new("seen");
    /// let tag = SEEN.register_global(|n| assert_eq!(*n, 1));
    /// vnet_runtime::vnet0().enter(|| SEEN.invoke_current(&1));
    /// tag.deregister();
    /// ```
    #[track_caller]
    pub fn invoke_current(&self, args: &A) {
        let vnet = Vnet::current_or_panic("Event::invoke_current", "event.invoke_in(&vnet, args)");
        self.run_for(vnet.id(), args);
    }

    /// Raises the event once in every live instance, each current in turn
    /// (`EVENTHANDLER_INVOKE` outside any vnet: an interface arrival seen by
    /// every stack). The instance list is read-locked while the handlers run
    /// (as in [`vnet_foreach`]): they may not create or destroy instances.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    /// use vnet_runtime::eventhandler::Event;
    /// static BOOT: Event<()> = Event::new("boot");
    /// static RUNS: AtomicUsize = AtomicUsize::new(0);
    /// let tag = BOOT.register_global(|_| { RUNS.fetch_add(1, Relaxed); });
    /// BOOT.invoke_all(&());
    /// assert_eq!(RUNS.load(Relaxed), vnet_runtime::Vnet::list().len());
    /// tag.deregister();
    /// ```
    pub fn invoke_all(&self, args: &A) {
        vnet_foreach(|v| self.run_for(v.id(), args));
    }

    /// Raises the event in `vnet` only, with `vnet` current.
    ///
    /// # Panics
    /// When `vnet` was destroyed.
    pub fn invoke_in(&self, vnet: &Vnet, args: &A) {
        vnet.enter(|| self.run_for(vnet.id(), args));
    }

    fn run_for(&self, vnet: u64, args: &A) {
        let handlers = self.handlers.read().for_vnet(vnet);
        for h in handlers {
            let _run = h.runs.read();
            // Checked under the run lock: `wait` takes it exclusively after
            // setting `removed`, so no run starts after a removal returned.
            if h.removed.load(Acquire) {
                continue;
            }
            let _running = Running::enter(h.id, owned::Kind::Handler, h.scope);
            (h.f)(args);
        }
    }

    /// How many handlers are registered (in every instance, and global).
    ///
    /// ```
    /// use vnet_runtime::eventhandler::Event;
    /// static QUIET: Event<()> = Event::new("quiet");
    /// assert_eq!(QUIET.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.handlers.read().len
    }

    /// Whether no handler is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<A: ?Sized + 'static> std::fmt::Debug for Event<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("name", &self.name)
            .field("handlers", &self.len())
            .finish()
    }
}

impl<A: ?Sized + 'static> Handler<A> {
    /// Unlinks the handler; runs in progress go on.
    fn unlink(&self) {
        self.removed.store(true, Release);
        let unlinked = self.event.handlers.write().remove(self);
        // Dropped outside the list's lock: the last reference drops the
        // user's closure, which may raise events.
        drop(unlinked);
    }

    /// Waits for runs in progress (not one of this thread's), at most
    /// `timeout`; whether they are over.
    fn wait_runs(&self, timeout: std::time::Duration) -> bool {
        // A run of this handler on this thread holds its run lock shared:
        // waiting for it exclusively would deadlock.
        owned::is_running_here(self.id) || self.runs.try_write_for(timeout).is_some()
    }
}

impl<A: ?Sized + 'static> Work for Handler<A> {
    fn cancel(&self) {
        self.unlink();
    }

    fn wait_for(&self, timeout: std::time::Duration) -> bool {
        self.wait_runs(timeout)
    }

    fn describe(&self) -> String {
        format!(
            "a handler of event `{}` registered at {}",
            self.event.name, self.made_at
        )
    }
}

/// A registered handler (FreeBSD's `eventhandler_tag`). Dropping the tag
/// leaves the handler registered; [`deregister`](Self::deregister) removes it.
#[must_use = "dropping the tag leaves the handler registered for good; keep it to deregister"]
pub struct EventTag {
    handler: Arc<dyn TagOps>,
}

trait TagOps: Send + Sync {
    fn deregister(&self);
    fn add_module(self: Arc<Self>, module: &str);
}

impl<A: ?Sized + 'static> TagOps for Handler<A> {
    fn deregister(&self) {
        self.unlink();
        while !self.wait_runs(std::time::Duration::from_secs(3600)) {}
    }

    fn add_module(self: Arc<Self>, module: &str) {
        let id = self.id;
        let weak: Weak<Handler<A>> = Arc::downgrade(&self);
        match owned::register_in_module(module, id, weak) {
            Ok(reg) => self.regs.lock().push(reg),
            // The module is being unloaded right now: the handler is its work.
            Err(_) => self.unlink(),
        }
    }
}

impl EventTag {
    /// Removes the handler (`EVENTHANDLER_DEREGISTER`) and waits until no run
    /// of it is in progress (except one on this thread, when a handler
    /// deregisters itself). It never runs again.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    /// use vnet_runtime::eventhandler::Event;
    /// static TICK: Event<()> = Event::new("tick");
    /// static RUNS: AtomicU32 = AtomicU32::new(0);
    /// let tag = TICK.register_global(|_| { RUNS.fetch_add(1, Relaxed); });
    /// tag.deregister();
    /// TICK.invoke_all(&());
    /// assert_eq!(RUNS.load(Relaxed), 0);
    /// ```
    pub fn deregister(self) {
        self.handler.deregister();
    }

    /// Also removes the handler when module `module` is unloaded, after its
    /// `MODEVENT(unload)` and before its teardown hooks (a global handler
    /// registered by a module's SYSINIT goes with the module).
    ///
    /// ```
    /// use vnet_runtime::eventhandler::Event;
    /// static EV: Event<()> = Event::new("ev");
    /// let _tag = EV.register_global(|_| {}).owned_by_module("some-module");
    /// assert_eq!(EV.len(), 1);
    /// ```
    pub fn owned_by_module(self, module: &str) -> EventTag {
        self.handler.clone().add_module(module);
        self
    }
}

impl std::fmt::Debug for EventTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventTag").finish_non_exhaustive()
    }
}
