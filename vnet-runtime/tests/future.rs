//! A future bound to an instance runs every poll with it current, on
//! whichever thread polls it, and leaves the thread's context alone between
//! polls.

#![cfg(feature = "vimage")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::task::{Context, Poll, Waker};

use vnet_runtime::{vnet, Vnet, VnetFutureExt};

#[vnet]
static POLLS: AtomicU32 = AtomicU32::new(0);

/// Pending on the first poll, ready on the second.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn every_poll_runs_in_the_bound_instance_on_any_thread() {
    let tenant = Vnet::create("fut-tenant").unwrap();
    let other = Vnet::create("fut-other").unwrap();
    let mut task = Box::pin(
        async {
            V_POLLS.with(|p| p.fetch_add(1, Relaxed));
            YieldOnce(false).await;
            V_POLLS.with(|p| p.fetch_add(1, Relaxed));
            Vnet::current().unwrap().name().to_owned()
        }
        .in_vnet(&tenant),
    );
    // First poll on this thread, inside another instance.
    other.enter(|| {
        assert!(poll_once(&mut task).is_pending());
        assert_eq!(Vnet::current().unwrap(), other, "restored after the poll");
    });
    assert_eq!(Vnet::current(), None);
    // Second poll on another thread with no instance.
    let name = std::thread::spawn(move || match poll_once(&mut task) {
        Poll::Ready(name) => name,
        Poll::Pending => panic!("still pending"),
    })
    .join()
    .unwrap();
    assert_eq!(name, "fut-tenant");
    assert_eq!(V_POLLS.with_in(&tenant, |p| p.load(Relaxed)), 2);
    assert_eq!(V_POLLS.with_in(&other, |p| p.load(Relaxed)), 0);
    tenant.destroy().unwrap();
    other.destroy().unwrap();
}

/// A bound future keeps its instance in use from its first poll to its end,
/// as a guard does: destroy is refused meanwhile, so no poll can run beside
/// the teardown; dropping it (finished or not) lets the instance go.
#[test]
fn a_started_bound_future_keeps_destroy_out_until_dropped() {
    let unpolled = Vnet::create("fut-in-use-unpolled").unwrap();
    let task = YieldOnce(false).in_vnet(&unpolled);
    // Not polled yet: nothing holds the instance.
    unpolled.clone().destroy().unwrap();
    drop(task);

    let done = Vnet::create("fut-in-use-done").unwrap();
    let mut task = YieldOnce(false).in_vnet(&done);
    assert!(poll_once(&mut task).is_pending());
    let refused = done.clone().destroy().unwrap_err();
    assert!(
        matches!(
            refused.error(),
            vnet_runtime::Error::Busy {
                holder: vnet_runtime::Holder::Futures { count: 1 },
                ..
            }
        ),
        "a pending bound future keeps its instance in use"
    );
    let message = refused.to_string();
    assert!(
        message.contains("bound future")
            && message.contains("owned_by")
            && message.contains("abort"),
        "the refusal names the cause and the fix: {message}"
    );
    assert!(poll_once(&mut task).is_ready());
    drop(task); // finished and dropped, as an executor does: let go
    done.destroy().unwrap();

    let dropped = Vnet::create("fut-in-use-dropped").unwrap();
    let mut task = YieldOnce(false).in_vnet(&dropped);
    assert!(poll_once(&mut task).is_pending());
    assert!(matches!(
        dropped
            .clone()
            .destroy()
            .map_err(vnet_runtime::DestroyError::into_error),
        Err(vnet_runtime::Error::Busy { .. })
    ));
    drop(task); // cancelled: let go
    dropped.destroy().unwrap();
}

/// A child's pending bound future keeps the parent's destroy out too.
#[test]
fn a_childs_bound_future_keeps_the_parent_in_use() {
    let parent = Vnet::create("fut-parent").unwrap();
    let child = Vnet::builder("fut-child").parent(&parent).create().unwrap();
    let mut task = YieldOnce(false).in_vnet(&child);
    assert!(poll_once(&mut task).is_pending());
    assert!(matches!(
        parent
            .clone()
            .destroy()
            .map_err(vnet_runtime::DestroyError::into_error),
        Err(vnet_runtime::Error::Busy { .. })
    ));
    assert!(poll_once(&mut task).is_ready());
    drop(task);
    parent.destroy().unwrap();
    assert_eq!(child.state(), vnet_runtime::VnetState::Destroyed);
}
