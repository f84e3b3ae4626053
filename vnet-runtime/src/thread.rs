//! Threads that run in an instance for their whole life (FreeBSD's kernel
//! threads started with `CURVNET_SET` around their body).
//!
//! [`spawn_in`] runs a closure on a new thread with a given instance
//! current, [`spawn_current`] with the caller's current instance (see
//! [No current instance](crate#no-current-instance)), and
//! [`spawn_scoped_in`] / [`spawn_scoped_current`] do the same inside
//! [`std::thread::scope`]. Such a
//! thread is *owned* by its instance: destroying the instance first asks the
//! thread to stop ([`stop_requested`] turns true and [`sleep`] returns
//! early) and then waits until its closure has returned, before any
//! VNET_SYSUNINIT runs. A thread that never looks at [`stop_requested`] makes
//! `destroy` wait for it to end on its own; after a few seconds `destroy`
//! says so on stderr, naming where the thread was spawned, and repeats it
//! at a slow interval. An owned thread does not keep its instance busy: a
//! `destroy` is refused only for what it cannot stop itself (the instance
//! current on a thread it does not own, a bound future, a call from inside
//! the instance), and a refused `destroy` changes nothing: its threads are
//! not asked to stop and go on.
//!
//! A thread started from a VNET_SYSINIT waits until its instance is live
//! (all its init hooks ran) before running `f`.
//!
//! ```
//! use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
//! use std::sync::Arc;
//! use std::time::Duration;
//! use vnet_runtime::{thread, vnet, Vnet};
//!
//! #[vnet]
//! static TICKS: AtomicU64 = AtomicU64::new(0);
//!
//! # if !vnet_runtime::VIMAGE { return; }
//! let v = Vnet::create("thread-doc").unwrap();
//! let done = Arc::new(AtomicBool::new(false));
//! let worker = thread::spawn_in(&v, {
//!     let done = done.clone();
//!     move || {
//!         // `v` is current for the thread's whole life.
//!         while thread::sleep(Duration::from_millis(1)) {
//!             V_TICKS.with(|t| t.fetch_add(1, SeqCst));
//!         }
//!         done.store(true, SeqCst);
//!     }
//! });
//! std::thread::sleep(Duration::from_millis(20));
//! v.destroy().unwrap(); // asks the worker to stop and waits for it first
//! assert!(done.load(SeqCst));
//! worker.join().unwrap();
//! ```

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::{JoinHandle, Scope, ScopedJoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::instance::{Vnet, VnetState};
use crate::owned::{self, Kind, Registration, Running, Work};

/// The stop flag and exit signal of one owned thread.
struct ThreadWork {
    id: u64,
    /// Where it was spawned (for the report of a long wait).
    spawned_at: &'static std::panic::Location<'static>,
    state: Mutex<ThreadState>,
    changed: Condvar,
}

struct ThreadState {
    stop: bool,
    done: bool,
    thread: Option<Thread>,
}

impl Work for ThreadWork {
    fn cancel(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.stop = true;
        if let Some(t) = &st.thread {
            t.unpark();
        }
        self.changed.notify_all();
    }

    fn wait_for(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !st.done {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = self
                .changed
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    fn describe(&self) -> String {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let name = st
            .thread
            .as_ref()
            .and_then(|t| t.name().map(|n| format!(" `{n}`")));
        format!(
            "owned thread{} spawned at {}",
            name.unwrap_or_default(),
            self.spawned_at
        )
    }
}

thread_local! {
    /// The owned-thread record of this thread, if it is one.
    static THIS: std::cell::RefCell<Option<Arc<ThreadWork>>> = const { std::cell::RefCell::new(None) };
}

/// Whether this thread was asked to stop because its instance is being
/// destroyed. Always `false` on a thread not started by this module.
///
/// ```
/// assert!(!vnet_runtime::thread::stop_requested());
/// ```
pub fn stop_requested() -> bool {
    THIS.with(|t| {
        t.borrow()
            .as_ref()
            .is_some_and(|w| w.state.lock().unwrap_or_else(|e| e.into_inner()).stop)
    })
}

/// Sleeps for `duration`, waking early when this thread is asked to stop.
/// Returns `true` when the whole duration passed without a stop request,
/// `false` when a stop was requested (so `while thread::sleep(d) { ... }` is
/// a periodic loop that ends with its instance).
///
/// ```
/// use std::time::Duration;
/// assert!(vnet_runtime::thread::sleep(Duration::from_millis(1)));
/// ```
pub fn sleep(duration: Duration) -> bool {
    let deadline = Instant::now() + duration;
    let Some(work) = THIS.with(|t| t.borrow().clone()) else {
        std::thread::sleep(duration);
        return true;
    };
    let mut st = work.state.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if st.stop {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        st = work
            .changed
            .wait_timeout(st, deadline - now)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

/// What a spawned closure needs: its instance, and its record when owned.
struct Start {
    vnet: Option<Vnet>,
    owned: Option<(Arc<ThreadWork>, Registration)>,
}

impl Start {
    #[track_caller]
    fn new(vnet: Option<Vnet>) -> Start {
        let Some(v) = vnet else {
            return Start {
                vnet: None,
                owned: None,
            };
        };
        let id = owned::next_id();
        let work = Arc::new(ThreadWork {
            id,
            spawned_at: std::panic::Location::caller(),
            state: Mutex::new(ThreadState {
                stop: false,
                done: false,
                thread: None,
            }),
            changed: Condvar::new(),
        });
        let weak: Weak<ThreadWork> = Arc::downgrade(&work);
        let Ok(reg) = owned::register_in_instance(&v, id, weak) else {
            panic!(
                "cannot spawn a thread in vnet `{}`: it {}",
                v.name(),
                if v.state() == crate::VnetState::Destroyed {
                    "was destroyed"
                } else {
                    "is being destroyed"
                }
            );
        };
        Start {
            vnet: Some(v),
            owned: Some((work, reg)),
        }
    }

    /// The thread's body: set up, run `f` with the instance current, signal.
    fn run<T>(self, f: impl FnOnce() -> T) -> T {
        let Some(vnet) = self.vnet else {
            return f();
        };
        let (work, reg) = self.owned.expect("an owned thread has its record");
        work.state.lock().unwrap_or_else(|e| e.into_inner()).thread = Some(std::thread::current());
        THIS.with(|t| *t.borrow_mut() = Some(work.clone()));
        /// Signals the end even when `f` panics, after the instance was
        /// restored (so `destroy` does not find this thread still in it).
        struct Done(Arc<ThreadWork>, Option<Registration>);
        impl Drop for Done {
            fn drop(&mut self) {
                let _ = THIS.try_with(|t| t.borrow_mut().take());
                drop(self.1.take());
                let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
                st.done = true;
                self.0.changed.notify_all();
            }
        }
        let _done = Done(work.clone(), Some(reg));
        let _running = Running::in_instance(work.id, Kind::Thread, &vnet);
        let _guard = enter_when_live(&vnet);
        f()
    }
}

/// Makes `vnet` current for the thread's body. A thread started by a
/// VNET_SYSINIT starts before its instance is live: it waits until the
/// instance's init hooks have all run. One whose instance's destroy was
/// committed before it started still runs (with [`stop_requested`] true),
/// as the destroy waits for it.
///
/// # Panics
/// When the instance's creation failed or it was torn down meanwhile.
fn enter_when_live(vnet: &Vnet) -> crate::context::CurVnetGuard<'_> {
    loop {
        if vnet.state() == VnetState::Creating {
            std::thread::sleep(Duration::from_micros(100));
            continue;
        }
        match vnet.try_push_current() {
            Some(guard) => return guard,
            None => panic!(
                "vnet `{}` was destroyed (or its creation failed) before this thread started",
                vnet.name()
            ),
        }
    }
}

/// [`spawn_in`] with this thread's current instance: a thread that runs `f`
/// with it current for its whole life, owned by it (see the
/// [module docs](self)).
///
/// # Panics
/// When no instance is current (under the default-instance policy, vnet0
/// is), when the current instance is being destroyed, or when the OS cannot
/// create a thread.
///
/// ```
/// use vnet_runtime::{thread, Vnet};
/// # if !vnet_runtime::VIMAGE { return; }
/// let v = Vnet::create("spawn-doc").unwrap();
/// let name = v.enter(|| thread::spawn_current(|| Vnet::current().unwrap().name().to_owned()));
/// assert_eq!(name.join().unwrap(), "spawn-doc");
/// v.destroy().unwrap();
/// ```
#[track_caller]
pub fn spawn_current<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let vnet = Vnet::current_or_panic("thread::spawn_current", "thread::spawn_in(&vnet, f)");
    spawn_in(&vnet, f)
}

/// Spawns a thread that runs `f` with `vnet` current for its whole life,
/// owned by `vnet` (see the [module docs](self)).
///
/// # Panics
/// When `vnet` is being destroyed or was destroyed, or the OS cannot create a
/// thread.
///
/// ```
/// use vnet_runtime::{thread, vnet0, Vnet};
/// let t = thread::spawn_in(&vnet0(), Vnet::current);
/// assert_eq!(t.join().unwrap(), Some(vnet0()));
/// ```
#[track_caller]
pub fn spawn_in<F, T>(vnet: &Vnet, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let start = Start::new(Some(vnet.clone()));
    std::thread::spawn(move || start.run(f))
}

/// [`spawn_current`] inside a [`std::thread::scope`]: the thread may borrow
/// from the enclosing stack and is joined when the scope ends.
///
/// # Panics
/// As [`spawn_current`].
///
/// ```
/// use vnet_runtime::{thread, Vnet};
/// # if !vnet_runtime::VIMAGE { return; }
/// let v = Vnet::create("scoped-doc").unwrap();
/// let mut seen = Vec::new();
/// std::thread::scope(|s| {
///     let h = v.enter(|| thread::spawn_scoped_current(s, Vnet::current));
///     seen.push(h.join().unwrap());
/// });
/// assert_eq!(seen, [Some(v.clone())]);
/// v.destroy().unwrap();
/// ```
#[track_caller]
pub fn spawn_scoped_current<'scope, 'env, F, T>(
    scope: &'scope Scope<'scope, 'env>,
    f: F,
) -> ScopedJoinHandle<'scope, T>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    let vnet = Vnet::current_or_panic(
        "thread::spawn_scoped_current",
        "thread::spawn_scoped_in(scope, &vnet, f)",
    );
    spawn_scoped_in(scope, &vnet, f)
}

/// [`spawn_in`] inside a [`std::thread::scope`].
///
/// ```
/// use vnet_runtime::{thread, vnet0, Vnet};
/// let v = vnet0();
/// let mut n = 0;
/// std::thread::scope(|s| {
///     thread::spawn_scoped_in(s, &v, || {
///         assert_eq!(Vnet::current(), Some(vnet0()));
///         n += 1;
///     });
/// });
/// assert_eq!(n, 1);
/// ```
#[track_caller]
pub fn spawn_scoped_in<'scope, 'env, F, T>(
    scope: &'scope Scope<'scope, 'env>,
    vnet: &Vnet,
    f: F,
) -> ScopedJoinHandle<'scope, T>
where
    F: FnOnce() -> T + Send + 'scope,
    T: Send + 'scope,
{
    let start = Start::new(Some(vnet.clone()));
    scope.spawn(move || start.run(f))
}
