//! Futures bound to an instance (`fut.in_vnet(&v)`,
//! `fut.in_current_vnet()`, in the style of tracing's `Instrument`): every
//! poll runs with it current, so a task keeps its instance across `.await`
//! points and executor threads. Tasks owned by their instance
//! (`fut.owned_by(&v)`) are in `task.rs`.
//!
//! Executor-agnostic: nothing here depends on an async runtime.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context::CurVnetGuard;
use crate::instance::{Held, Vnet};
use crate::task::Owned;

/// A future that makes its instance current around every poll.
///
/// Made by [`VnetFutureExt::in_vnet`]. The instance is current only *during* a poll,
/// never between polls, so other tasks on the same executor thread are not
/// affected (the model of tracing's `Instrumented` and tokio's task-locals).
///
/// ```
/// use std::future::Future;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::task::{Context, Waker};
/// use vnet_runtime::VnetFutureExt;
///
/// #[vnet_runtime::vnet]
/// static REQUESTS: AtomicU32 = AtomicU32::new(0);
///
/// # if !vnet_runtime::VIMAGE { return; }
/// let tenant = vnet_runtime::Vnet::create("tenant-async").unwrap();
/// let mut task = Box::pin(
///     async { V_REQUESTS.with(|r| r.fetch_add(1, Ordering::Relaxed)) }.in_vnet(&tenant),
/// );
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
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Not polled yet, or its instance was not plainly live at the first
    /// poll: every poll goes through the full enter protocol.
    Unpinned,
    /// Holds its instance in use (`Vnet::try_hold_future`) until dropped:
    /// polls only switch the current instance, and `destroy` is refused.
    Pinned(Held),
}

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
    /// never see it.
    ///
    /// From its first poll until it is dropped (executors drop a task's
    /// future when it completes), the future keeps its instance in use, as a
    /// guard does: [`Vnet::destroy`] is refused with
    /// [`Error::Busy`](crate::Error::Busy) meanwhile, so no poll ever runs
    /// beside the instance's teardown. Tasks that must stop when their
    /// instance goes are made with [`owned_by`](Self::owned_by), which
    /// destroy cancels.
    ///
    /// The binding for a server's *request*: from its first poll until it
    /// is dropped it holds `vnet`, so [`Vnet::destroy`] is refused with
    /// [`Error::Busy`](crate::Error::Busy) ([`Holder::Futures`](crate::Holder::Futures))
    /// and changes nothing until the request finished or was aborted.
    fn in_vnet(self, vnet: &Vnet) -> Bound<Self> {
        Bound {
            vnet: vnet.clone(),
            future: ManuallyDrop::new(self),
            phase: Phase::Unpinned,
        }
    }

    /// [`in_vnet`](Self::in_vnet) with the instance current where the
    /// future is *created* (not where it is polled), like tracing's
    /// `in_current_span`.
    ///
    /// # Panics
    /// When no instance is current (under
    /// [`ContextPolicy::DefaultInstance`](crate::ContextPolicy), vnet0 is);
    /// see [No current instance](crate#no-current-instance-_current-forms-and-handle-forms).
    ///
    /// ```
    /// use vnet_runtime::{vnet0, VnetFutureExt};
    /// let fut = vnet0().enter(|| async {}.in_current_vnet());
    /// assert_eq!(fut.vnet(), &vnet0());
    /// ```
    #[track_caller]
    fn in_current_vnet(self) -> Bound<Self> {
        self.in_vnet(&Vnet::current_or_panic(
            "in_current_vnet",
            "fut.in_vnet(&vnet)",
        ))
    }

    /// Makes the future a task *owned* by `vnet`: it runs with `vnet` current
    /// like [`in_vnet`](Self::in_vnet), and when `vnet` is destroyed, before
    /// its VNET_SYSUNINITs run, the future is dropped (waiting for a poll in
    /// progress on another thread to end) and the task is woken to complete
    /// with [`Cancelled`](crate::Cancelled). Polling the task takes an uncontended lock.
    ///
    /// Made while `vnet` is being destroyed (or after), the task is
    /// cancelled from the start: its future is dropped unpolled and the task
    /// completes with [`Cancelled`](crate::Cancelled).
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

impl<F> Bound<F> {
    /// The instance the future runs in.
    ///
    /// ```
    /// use vnet_runtime::VnetFutureExt;
    /// let v = vnet_runtime::vnet0();
    /// assert_eq!(async {}.in_vnet(&v).vnet(), &v);
    /// ```
    pub fn vnet(&self) -> &Vnet {
        &self.vnet
    }
}

impl<F: Future> Future for Bound<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning of `future`: it is never moved out of
        // `self` (no method hands it out by value or `&mut`), `Drop` drops it
        // in place, and `Bound` is `Unpin` only when `F` is (auto trait).
        let this = unsafe { self.get_unchecked_mut() };
        let Phase::Pinned(held) = this.phase else {
            return this.poll_unpinned(cx);
        };
        // The future holds the instance in use: a plain push, no fence.
        let _guard = this.vnet.push_held(held);
        // SAFETY: see above; `this.future` stays where it is.
        unsafe { Pin::new_unchecked(&mut *this.future) }.poll(cx)
    }
}

impl<F: Future> Bound<F> {
    /// A poll before the future holds its instance: the first one (which
    /// takes the hold when the instance is plainly live), or any poll while
    /// it is not (its own hooks, or going: the full protocol, which refuses
    /// with a clear panic when it may not be entered).
    #[cold]
    #[inline(never)]
    fn poll_unpinned(&mut self, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _guard: CurVnetGuard<'_> = if let Some(held) = self.vnet.try_hold_future() {
            self.phase = Phase::Pinned(held);
            self.vnet.push_held(held)
        } else {
            self.vnet.push_current()
        };
        // SAFETY: as in `poll`: `self` is pinned and `future` stays in place.
        unsafe { Pin::new_unchecked(&mut *self.future) }.poll(cx)
    }
}

impl<F> Drop for Bound<F> {
    fn drop(&mut self) {
        match self.phase {
            Phase::Pinned(held) => {
                // Still held in use: the instance is live, enter it plainly.
                let guard = self.vnet.push_held(held);
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
