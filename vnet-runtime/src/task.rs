//! Tasks owned by their instance (`fut.owned_by(&v)`): cancelled, their
//! future dropped, when the instance is destroyed.
//!
//! Executor-agnostic: nothing here depends on an async runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::instance::Vnet;
use crate::owned::{self, Kind, Registration, Running, Work};

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

/// A future owned by its instance; see [`VnetFutureExt::owned_by`](crate::VnetFutureExt::owned_by).
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
    pub(crate) fn new(vnet: &Vnet, future: F) -> Self {
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
        let _guard = task.vnet.push_current();
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
