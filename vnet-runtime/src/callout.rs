//! Timers after FreeBSD's callout(9): a callback that fires once after a
//! delay, with its instance current; `reset` (re)arms, `stop` disarms,
//! `drain` disarms and waits for a callback in progress.
//!
//! | FreeBSD | here |
//! | --- | --- |
//! | `callout_init(&c, 1)` in a VNET_SYSINIT | [`Callout::new_current`] (the current instance) or [`Callout::new_in`] |
//! | `callout_init(&c, 1)` outside any vnet | [`Callout::process_wide`] |
//! | `callout_reset(&c, ticks, fn, arg)` | [`Callout::reset`] |
//! | `callout_stop(&c)` | [`Callout::stop`] |
//! | `callout_drain(&c)` | [`Callout::drain`] |
//! | `callout_pending(&c)` | [`Callout::pending`] |
//!
//! Callbacks run on one runtime thread (`vnet-callout`, started on first use)
//! that keeps every armed callout in a heap ordered by deadline, like the
//! softclock thread of one CPU: keep callbacks short, and hand long work to
//! a [thread](crate::thread) or a task.
//!
//! A callout is owned by its instance: when the instance is destroyed, the
//! callout is stopped and drained *before* its VNET_SYSUNINITs run, and it
//! cannot be armed again ([`Callout::reset`] returns `false` and does
//! nothing). [`Callout::owned_by_module`] also ties it to a module's unload.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
//! use std::time::Duration;
//! use vnet_runtime::{callout::Callout, vnet, Vnet};
//!
//! #[vnet]
//! static TICKS: AtomicU32 = AtomicU32::new(0);
//!
//! # if !vnet_runtime::VIMAGE { return; }
//! let v = Vnet::create("callout-doc").unwrap();
//! let c = Callout::new_in(&v);
//! let (tx, rx) = std::sync::mpsc::channel();
//! c.reset(Duration::from_millis(5), move || {
//!     V_TICKS.with(|t| t.fetch_add(1, Relaxed)); // `v` is current here
//!     tx.send(()).unwrap();
//! });
//! rx.recv().unwrap();
//! assert_eq!(V_TICKS.with_in(&v, |t| t.load(Relaxed)), 1);
//! v.destroy().unwrap();
//! assert!(!c.reset(Duration::ZERO, || unreachable!()), "a callout of a destroyed instance stays stopped");
//! ```

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::{Arc, OnceLock, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::instance::{Vnet, VnetState, WeakVnet};
use crate::owned::{self, Kind, Registration, Running, Work};

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// A timer; cloning shares it. See the [module docs](self).
#[derive(Clone)]
pub struct Callout {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    /// `None`: fires with no instance current (a process-wide callout).
    vnet: Option<WeakVnet>,
    state: Mutex<State>,
    idle: Condvar,
    regs: Mutex<Vec<Registration>>,
    /// Where it was made (for the report of a long wait).
    made_at: &'static std::panic::Location<'static>,
}

struct State {
    /// Bumped by every reset and stop: a heap entry of an older generation is stale.
    generation: u64,
    pending: Option<Callback>,
    deadline: Option<Instant>,
    running: Option<ThreadId>,
    /// Stopped for good: its owner went.
    retired: bool,
}

impl Callout {
    /// [`new_in`](Self::new_in) with the instance current on this thread.
    ///
    /// # Panics
    /// When no instance is current (under the default-instance policy, vnet0
    /// is); see [No current instance](crate#no-current-instance).
    ///
    /// ```
    /// use vnet_runtime::{callout::Callout, vnet0};
    /// let c = vnet0().enter(Callout::new_current);
    /// assert_eq!(c.vnet(), Some(vnet0()));
    /// ```
    #[track_caller]
    pub fn new_current() -> Callout {
        Callout::new_in(&Vnet::current_or_panic(
            "Callout::new_current",
            "Callout::new_in(&vnet)",
        ))
    }

    /// A callout of `vnet`: its callback runs with `vnet` current, and it is
    /// stopped and drained when `vnet` is destroyed.
    ///
    /// Made while `vnet` is being destroyed (or after), the callout is
    /// stopped for good from the start: [`reset`](Self::reset) returns
    /// `false`, like a callout its instance's teardown stopped.
    ///
    /// ```
    /// use vnet_runtime::{callout::Callout, vnet0};
    /// assert!(!Callout::new_in(&vnet0()).pending());
    /// ```
    #[track_caller]
    pub fn new_in(vnet: &Vnet) -> Callout {
        let c = Callout::build(Some(vnet.downgrade()));
        let weak: Weak<Inner> = Arc::downgrade(&c.inner);
        match owned::register_in_instance(vnet, c.inner.id, weak) {
            Ok(reg) => c.inner.regs.lock().push(reg),
            Err(_) => c.inner.retire(),
        }
        c
    }

    /// A callout of no instance: its callback runs with no instance current
    /// (it may walk the instances with [`vnet_foreach`](crate::vnet_foreach)),
    /// and no instance's teardown stops it.
    ///
    /// ```
    /// use vnet_runtime::callout::Callout;
    /// assert_eq!(Callout::process_wide().vnet(), None);
    /// ```
    #[track_caller]
    pub fn process_wide() -> Callout {
        Callout::build(None)
    }

    #[track_caller]
    fn build(vnet: Option<WeakVnet>) -> Callout {
        Callout {
            inner: Arc::new(Inner {
                id: owned::next_id(),
                vnet,
                state: Mutex::new(State {
                    generation: 0,
                    pending: None,
                    deadline: None,
                    running: None,
                    retired: false,
                }),
                idle: Condvar::new(),
                regs: Mutex::new(Vec::new()),
                made_at: std::panic::Location::caller(),
            }),
        }
    }

    /// Also stops this callout (for good) when module `module` is unloaded,
    /// after its `MODEVENT(unload)` and before its teardown hooks.
    ///
    /// ```
    /// use vnet_runtime::callout::Callout;
    /// let c = Callout::process_wide().owned_by_module("doc-module");
    /// assert!(!c.pending());
    /// ```
    pub fn owned_by_module(self, module: &str) -> Callout {
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        match owned::register_in_module(module, self.inner.id, weak) {
            Ok(reg) => self.inner.regs.lock().push(reg),
            // The module is being unloaded right now: the callout is its work.
            Err(_) => self.inner.retire(),
        }
        self
    }

    /// The instance the callback runs in (`None` for a process-wide callout,
    /// or once the instance was destroyed).
    pub fn vnet(&self) -> Option<Vnet> {
        self.inner.vnet.as_ref().and_then(WeakVnet::upgrade)
    }

    /// Arms the callout to run `f` once, `delay` from now, replacing a
    /// pending callback (`callout_reset`). Returns whether the callout was
    /// armed; `false` when it was stopped for good because its instance or
    /// module went (then `f` is dropped, never run). A callback may re-arm
    /// its own callout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vnet_runtime::callout::Callout;
    /// let c = Callout::process_wide();
    /// assert!(c.reset(Duration::from_secs(60), || {}));
    /// assert!(c.pending());
    /// assert!(c.stop());
    /// ```
    pub fn reset(&self, delay: Duration, f: impl FnOnce() + Send + 'static) -> bool {
        let deadline = Instant::now() + delay;
        let (generation, old) = {
            let mut st = self.inner.state.lock();
            if st.retired {
                return false;
            }
            st.generation += 1;
            st.deadline = Some(deadline);
            (st.generation, st.pending.replace(Box::new(f)))
        };
        drop(old);
        wheel().push(Entry {
            deadline,
            generation,
            callout: Arc::downgrade(&self.inner),
        });
        true
    }

    /// Disarms the callout (`callout_stop`); a callback already running goes
    /// on. Returns whether a callback was pending.
    ///
    /// ```
    /// use vnet_runtime::callout::Callout;
    /// assert!(!Callout::process_wide().stop());
    /// ```
    pub fn stop(&self) -> bool {
        let old = {
            let mut st = self.inner.state.lock();
            st.generation += 1;
            st.deadline = None;
            st.pending.take()
        };
        old.is_some()
    }

    /// Disarms the callout and waits until no callback is running
    /// (`callout_drain`). From the callout's own callback it does not wait
    /// (that would wait for itself). Returns whether a callback was pending.
    ///
    /// ```
    /// use std::time::Duration;
    /// use vnet_runtime::callout::Callout;
    /// let c = Callout::process_wide();
    /// c.reset(Duration::from_secs(60), || {});
    /// assert!(c.drain());
    /// assert!(!c.pending());
    /// ```
    pub fn drain(&self) -> bool {
        let was_pending = self.stop();
        self.inner.wait_idle();
        was_pending
    }

    /// Whether a callback is armed and has not started (`callout_pending`).
    pub fn pending(&self) -> bool {
        self.inner.state.lock().pending.is_some()
    }

    /// Whether the callback is running right now (on the timer thread).
    pub fn running(&self) -> bool {
        self.inner.state.lock().running.is_some()
    }
}

impl std::fmt::Debug for Callout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.inner.state.lock();
        f.debug_struct("Callout")
            .field("vnet", &self.inner.vnet)
            .field("pending", &st.pending.is_some())
            .field("running", &st.running.is_some())
            .field("retired", &st.retired)
            .finish()
    }
}

impl Inner {
    fn retire(&self) {
        let old = {
            let mut st = self.state.lock();
            st.retired = true;
            st.generation += 1;
            st.deadline = None;
            st.pending.take()
        };
        drop(old);
    }

    fn wait_idle(&self) {
        while !self.wait_idle_for(Duration::from_secs(3600)) {}
    }

    /// Waits until no callback runs (but one on this thread), at most
    /// `timeout`; whether none runs.
    fn wait_idle_for(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let me = std::thread::current().id();
        let mut st = self.state.lock();
        while st.running.is_some_and(|t| t != me) {
            if self.idle.wait_until(&mut st, deadline).timed_out() {
                return !st.running.is_some_and(|t| t != me);
            }
        }
        true
    }

    /// Runs the callback armed as `generation`, if it still is.
    fn fire(&self, generation: u64, me: &Weak<Inner>) {
        let callback = {
            let mut st = self.state.lock();
            if st.generation != generation || st.retired {
                return;
            }
            let Some(callback) = st.pending.take() else {
                return;
            };
            st.deadline = None;
            st.running = Some(std::thread::current().id());
            callback
        };
        /// Marks the callout idle again, also when the callback panics.
        struct Idle<'a>(&'a Inner);
        impl Drop for Idle<'_> {
            fn drop(&mut self) {
                self.0.state.lock().running = None;
                self.0.idle.notify_all();
            }
        }
        // An instance still running its init hooks (the callout was armed by
        // a VNET_SYSINIT) cannot be entered yet: try again in a moment.
        if let Some(v) = self.vnet.as_ref().and_then(WeakVnet::upgrade) {
            if v.state() == VnetState::Creating {
                self.requeue(generation, callback, me);
                return;
            }
        }
        let _idle = Idle(self);
        let owner = self.vnet.as_ref().and_then(WeakVnet::upgrade);
        let _running = match &owner {
            Some(v) => Running::in_instance(self.id, Kind::Callout, v),
            None => Running::enter(self.id, Kind::Callout, None),
        };
        let run = || match &self.vnet {
            None => callback(),
            // A destroyed instance never runs its callbacks; instance work is
            // stopped before the state leaves `Live`, so a live instance
            // stays live until this callback returns.
            Some(weak) => match weak.upgrade() {
                Some(v) if v.state() == VnetState::Live => v.enter(callback),
                _ => drop(callback),
            },
        };
        // The timer thread outlives a panicking callback; the panic hook
        // has reported it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
    }
}

impl Inner {
    /// Puts back a callback taken from generation `generation`, to fire
    /// shortly, unless the callout was reset or stopped meanwhile.
    fn requeue(&self, generation: u64, callback: Callback, me: &Weak<Inner>) {
        let deadline = Instant::now() + Duration::from_millis(1);
        let mut st = self.state.lock();
        st.running = None;
        self.idle.notify_all();
        if st.generation != generation || st.retired {
            drop(st);
            drop(callback);
            return;
        }
        st.pending = Some(callback);
        st.deadline = Some(deadline);
        drop(st);
        wheel().push(Entry {
            deadline,
            generation,
            callout: me.clone(),
        });
    }
}

impl Work for Inner {
    fn cancel(&self) {
        self.retire();
    }

    fn wait_for(&self, timeout: Duration) -> bool {
        self.wait_idle_for(timeout)
    }

    fn describe(&self) -> String {
        format!("a callout made at {} (its callback)", self.made_at)
    }
}

/// One armed callout in the heap.
struct Entry {
    deadline: Instant,
    generation: u64,
    callout: Weak<Inner>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so the `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other
            .deadline
            .cmp(&self.deadline)
            .then(other.generation.cmp(&self.generation))
    }
}

/// The timer thread's heap.
struct Wheel {
    heap: Mutex<BinaryHeap<Entry>>,
    changed: Condvar,
}

impl Wheel {
    fn push(&self, entry: Entry) {
        let mut heap = self.heap.lock();
        let earliest = heap.peek().is_none_or(|top| entry.deadline < top.deadline);
        heap.push(entry);
        if earliest {
            self.changed.notify_one();
        }
    }

    fn run(&self) -> ! {
        let mut heap = self.heap.lock();
        loop {
            let now = Instant::now();
            match heap.peek() {
                Some(top) if top.deadline <= now => {
                    let entry = heap.pop().expect("peeked");
                    drop(heap);
                    if let Some(callout) = entry.callout.upgrade() {
                        callout.fire(entry.generation, &entry.callout);
                    }
                    heap = self.heap.lock();
                }
                Some(top) => {
                    let deadline = top.deadline;
                    self.changed.wait_until(&mut heap, deadline);
                }
                None => self.changed.wait(&mut heap),
            }
        }
    }
}

fn wheel() -> &'static Wheel {
    static WHEEL: OnceLock<&'static Wheel> = OnceLock::new();
    WHEEL.get_or_init(|| {
        let wheel: &'static Wheel = Box::leak(Box::new(Wheel {
            heap: Mutex::new(BinaryHeap::new()),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("vnet-callout".to_owned())
            .spawn(move || wheel.run())
            .expect("the callout thread starts");
        wheel
    })
}
