//! Futures bound to an instance: every poll runs with it current, so a task
//! keeps its instance across `.await` points and executor threads.

use std::future::Future;
use std::mem::ManuallyDrop;
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
}

impl Vnet {
    /// Binds `future` to this instance: each poll runs with it current, and
    /// so does dropping it (a cancelled task's locals are dropped in their
    /// instance).
    pub fn bind<F: Future>(&self, future: F) -> Bound<F> {
        Bound {
            vnet: self.clone(),
            future: ManuallyDrop::new(future),
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
        let _guard = crate::curvnet_set(&this.vnet);
        // SAFETY: see above; `this.future` stays where it is.
        unsafe { Pin::new_unchecked(&mut *this.future) }.poll(cx)
    }
}

impl<F> Drop for Bound<F> {
    fn drop(&mut self) {
        // Enter the instance unless it is gone or going (then there is
        // nothing to enter; the future's locals see no instance current).
        // Never a panic here: a destroy racing this drop just wins.
        let _guard = self.vnet.try_push_current();
        // SAFETY: dropped once, in place (it may be pinned), and never used again.
        unsafe { ManuallyDrop::drop(&mut self.future) };
    }
}
