//! Futures bound to an instance: every poll runs with it current, so a task
//! keeps its instance across `.await` points and executor threads.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::Vnet;

/// A future that makes its instance current around every poll.
///
/// Made by [`Vnet::bind`]. The instance is current only *during* a poll,
/// never between polls, so other tasks on the same executor thread are not
/// affected (the model of tracing's `Instrumented` and tokio's task-locals).
///
/// ```
/// use std::future::Future;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::task::{Context, Waker};
///
/// #[vnet_runtime::vnet]
/// static REQUESTS: AtomicU32 = AtomicU32::new(0);
///
/// # if !vnet_runtime::VIMAGE { return; }
/// let tenant = vnet_runtime::Vnet::create("tenant-async").unwrap();
/// let mut task = Box::pin(tenant.bind(async {
///     V_REQUESTS.with(|r| r.fetch_add(1, Ordering::Relaxed));
/// }));
/// // Any executor; here one poll by hand.
/// let poll = task.as_mut().poll(&mut Context::from_waker(Waker::noop()));
/// assert!(poll.is_ready());
/// assert_eq!(V_REQUESTS.with_in(&tenant, |r| r.load(Ordering::Relaxed)), 1);
/// # drop(task); tenant.destroy().unwrap();
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Bound<F> {
    vnet: Vnet,
    future: ManuallyDrop<F>,
    phase: Phase,
}

/// Where a [`Bound`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not polled yet, or its instance was not plainly live at the first
    /// poll: every poll goes through the full enter protocol.
    Unpinned,
    /// Holds its instance in use (`Vnet::try_pin_future`) until dropped:
    /// polls only switch the current instance, and `destroy` is refused.
    Pinned,
}

impl Vnet {
    /// Binds `future` to this instance: each poll runs with it current, and
    /// so does dropping it (a cancelled task's locals are dropped in their
    /// instance).
    ///
    /// From its first poll until it is dropped (executors drop a task's
    /// future when it completes), the future keeps its instance in use, as a
    /// guard does: [`Vnet::destroy`] is
    /// refused with [`Error::Busy`](crate::Error::Busy) meanwhile, so no poll
    /// ever runs beside the instance's teardown. Tasks that must stop when
    /// their instance goes are made with
    /// [`owned_by`](crate::VnetFutureExt::owned_by), which destroy cancels.
    pub fn bind<F: Future>(&self, future: F) -> Bound<F> {
        Bound {
            vnet: self.clone(),
            future: ManuallyDrop::new(future),
            phase: Phase::Unpinned,
        }
    }
}

impl<F> Bound<F> {
    /// The instance the future runs in.
    ///
    /// ```
    /// let v = vnet_runtime::vnet0();
    /// assert_eq!(v.bind(async {}).vnet(), &v);
    /// ```
    pub fn vnet(&self) -> &Vnet {
        &self.vnet
    }
}

impl<F: Future> Future for Bound<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of
        // `self` (no method hands it out by value or `&mut`), `Drop` drops it
        // in place, and `Bound` is `Unpin` only when `F` is (auto trait).
        let this = unsafe { self.get_unchecked_mut() };
        if this.phase == Phase::Unpinned && this.vnet.try_pin_future() {
            this.phase = Phase::Pinned;
        }
        let guard = match this.phase {
            // The future holds the instance in use: no fence per poll.
            Phase::Pinned => this.vnet.push_pinned(),
            // Not plainly live (its own hooks, or going): the full protocol,
            // which refuses with a clear panic when it may not be entered.
            _ => crate::curvnet_set(&this.vnet),
        };
        // SAFETY: see above; `this.future` stays where it is.
        let poll = unsafe { Pin::new_unchecked(&mut *this.future) }.poll(cx);
        drop(guard);
        poll
    }
}

impl<F> Drop for Bound<F> {
    fn drop(&mut self) {
        match self.phase {
            Phase::Pinned => {
                // Still held in use: the instance is live, enter it plainly.
                let guard = self.vnet.push_pinned();
                let future = &mut self.future;
                // SAFETY: dropped once, in place (it may be pinned), and never used again.
                let dropped =
                    catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(future) }));
                drop(guard);
                // Let go of the instance even when the future's drop panicked.
                self.vnet.unpin_future();
                if let Err(panic) = dropped {
                    resume_unwind(panic);
                }
            }
            Phase::Unpinned => {
                // Enter the instance unless it is gone or going (then there
                // is nothing to enter; the future's locals see no instance
                // current). Never a panic here: a destroy racing this drop
                // just wins.
                let _guard = self.vnet.try_push_current();
                // SAFETY: dropped once, in place (it may be pinned), and never used again.
                unsafe { ManuallyDrop::drop(&mut self.future) };
            }
        }
    }
}
