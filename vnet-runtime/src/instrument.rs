//! Futures in an instance, in the style of tracing's `Instrument`:
//! `fut.in_vnet(&v)`, `fut.in_current_vnet()`, and tasks owned by their
//! instance (`fut.owned_by(&v)`), cancelled when it is destroyed.
//!
//! Executor-agnostic: nothing here depends on an async runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::owned::{self, Kind, Registration, Running, Work};
use crate::{Bound, Vnet};

/// Runs futures in an instance; implemented for every [`Future`].
///
/// ```
/// use std::future::Future;
/// use std::task::{Context, Poll, Waker};
/// use vnet_runtime::{Vnet, VnetFutureExt};
///
/// let v = vnet_runtime::vnet0();
/// let mut fut = Box::pin(async { Vnet::current() }.in_vnet(&v));
/// let out = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
/// assert_eq!(out, Poll::Ready(Some(v)));
/// ```
pub trait VnetFutureExt: Future + Sized {
    /// Binds the future to `vnet`: every poll (and its drop) runs with it
    /// current, and only then, so other tasks polled on the same thread
    /// never see it. The same as [`Vnet::bind`].
    ///
    /// The binding for a server's *request*: from its first poll until it
    /// is dropped it holds `vnet`, so [`Vnet::destroy`] is refused with
    /// [`Error::Busy`](crate::Error::Busy) ([`Holder::Futures`](crate::Holder::Futures))
    /// and changes nothing until the request finished or was aborted.
    /// Background work that should end with the instance is
    /// [`owned_by`](Self::owned_by) instead.
    fn in_vnet(self, vnet: &Vnet) -> Bound<Self> {
        vnet.bind(self)
    }

    /// Binds the future to the instance current where it is *created* (not
    /// where it is polled), like tracing's `in_current_span`.
    ///
    /// # Panics
    /// When no instance is current.
    ///
    /// ```
    /// use vnet_runtime::{vnet0, VnetFutureExt};
    /// let fut = vnet0().enter(|| async {}.in_current_vnet());
    /// assert_eq!(fut.vnet(), &vnet0());
    /// ```
    #[track_caller]
    fn in_current_vnet(self) -> Bound<Self> {
        match Vnet::current() {
            Some(v) => v.bind(self),
            None => panic!("in_current_vnet: no instance is current on this thread"),
        }
    }

    /// Makes the future a task *owned* by `vnet`: it runs with `vnet` current
    /// like [`in_vnet`](Self::in_vnet), and when `vnet` is destroyed, before
    /// its VNET_SYSUNINITs run, the future is dropped (waiting for a poll in
    /// progress on another thread to end) and the task is woken to complete
    /// with [`Cancelled`]. Polling the task takes an uncontended lock.
    ///
    /// Made while `vnet` is being destroyed (or after), the task is
    /// cancelled from the start: its future is dropped unpolled and the task
    /// completes with [`Cancelled`].
    ///
    /// The binding for *background* work: an owned task never makes
    /// [`Vnet::destroy`] busy (even while it is being polled), and a
    /// destroy refused for another reason does not touch it; it goes on.
    ///
    /// ```
    /// use std::future::Future;
    /// use std::task::{Context, Poll, Waker};
    /// use vnet_runtime::{Cancelled, Vnet, VnetFutureExt};
    /// # if !vnet_runtime::VIMAGE { return; }
    /// let v = Vnet::create("owned-doc").unwrap();
    /// let mut task = Box::pin(std::future::pending::<()>().owned_by(&v));
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(task.as_mut().poll(&mut cx).is_pending());
    /// v.destroy().unwrap(); // drops the pending future first
    /// assert_eq!(task.as_mut().poll(&mut cx), Poll::Ready(Err(Cancelled)));
    /// ```
    #[track_caller]
    fn owned_by(self, vnet: &Vnet) -> Owned<Self>
    where
        Self: Send + 'static,
    {
        Owned::new(vnet, self)
    }
}

impl<F: Future> VnetFutureExt for F {}

/// An owned task's instance was destroyed before the task completed.
///
/// ```
/// assert_eq!(vnet_runtime::Cancelled.to_string(), "the task's vnet was destroyed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the task's vnet was destroyed")
    }
}

impl std::error::Error for Cancelled {}

/// A future owned by its instance; see [`VnetFutureExt::owned_by`].
#[must_use = "futures do nothing unless polled"]
pub struct Owned<F: Future + Send + 'static> {
    task: Arc<Task<F>>,
    _reg: Option<Registration>,
}

struct Task<F> {
    id: u64,
    vnet: Vnet,
    future: Mutex<Option<Pin<Box<F>>>>,
    waker: Mutex<Option<Waker>>,
    cancelled: AtomicBool,
    /// Where it was made (for the report of a long wait).
    made_at: &'static std::panic::Location<'static>,
}

impl<F: Future + Send + 'static> Owned<F> {
    #[track_caller]
    fn new(vnet: &Vnet, future: F) -> Self {
        let id = owned::next_id();
        let task = Arc::new(Task {
            id,
            vnet: vnet.clone(),
            future: Mutex::new(Some(Box::pin(future))),
            waker: Mutex::new(None),
            cancelled: AtomicBool::new(false),
            made_at: std::panic::Location::caller(),
        });
        let weak = Arc::downgrade(&task);
        let reg = owned::register_in_instance(vnet, id, weak).ok();
        if reg.is_none() {
            // The instance is going: the task is cancelled from the start,
            // and its future dropped here, unpolled (in the instance while
            // it is still live, as teardown would).
            task.cancelled.store(true, Ordering::Relaxed);
            task.drop_future();
        }
        Owned { task, _reg: reg }
    }

    /// The instance that owns the task.
    ///
    /// ```
    /// use vnet_runtime::{vnet0, VnetFutureExt};
    /// assert_eq!(async {}.owned_by(&vnet0()).vnet(), &vnet0());
    /// ```
    pub fn vnet(&self) -> &Vnet {
        &self.task.vnet
    }
}

impl<F: Future + Send + 'static> std::fmt::Debug for Owned<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owned")
            .field("vnet", &self.task.vnet)
            .field("cancelled", &self.task.cancelled.load(Ordering::Relaxed))
            .finish()
    }
}

impl<F: Future + Send + 'static> Future for Owned<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let task = &self.task;
        let mut slot = task.future.lock();
        // Cancelled: the instance is going; its teardown drops the future.
        if task.cancelled.load(Ordering::Relaxed) {
            return Poll::Ready(Err(Cancelled));
        }
        let Some(future) = slot.as_mut() else {
            return Poll::Ready(Err(Cancelled));
        };
        {
            let mut waker = task.waker.lock();
            match &*waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        let _running = Running::in_instance(task.id, Kind::Task, &task.vnet);
        let _guard = crate::curvnet_set(&task.vnet);
        match future.as_mut().poll(cx) {
            Poll::Ready(out) => {
                // Dropped here, in the instance, like `Bound` does.
                *slot = None;
                Poll::Ready(Ok(out))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future + Send + 'static> Drop for Owned<F> {
    fn drop(&mut self) {
        self.task.drop_future();
    }
}

impl<F: Future + Send + 'static> Work for Task<F> {
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    fn wait_for(&self, timeout: std::time::Duration) -> bool {
        // Waits for a poll in progress, then drops the future in its
        // instance (not torn down yet: work stops before teardown starts).
        let Some(mut slot) = self.future.try_lock_for(timeout) else {
            return false;
        };
        let future = slot.take();
        drop(slot);
        self.drop_in_instance(future);
        if let Some(waker) = self.waker.lock().take() {
            waker.wake();
        }
        true
    }

    fn describe(&self) -> String {
        format!(
            "an owned task made at {} (a poll in progress)",
            self.made_at
        )
    }
}

impl<F> Task<F> {
    /// Drops the future (after any poll in progress), in its instance when
    /// that is still live.
    fn drop_future(&self) {
        let future = self.future.lock().take();
        self.drop_in_instance(future);
    }

    /// Drops `future` with its instance current, unless that instance was
    /// torn down (or is being torn down) already. As the task's own work:
    /// a committed destroy that is stopping it still lets it in.
    fn drop_in_instance<T>(&self, future: Option<T>) {
        if let Some(future) = future {
            let _running = Running::in_instance(self.id, Kind::Task, &self.vnet);
            let _guard = self.vnet.try_push_current();
            drop(future);
        }
    }
}
