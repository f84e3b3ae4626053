//! The toolbox written once, run with `vimage` on and off: with it off every
//! tool degrades to the single instance, vnet0.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use vnet_runtime::callout::Callout;
use vnet_runtime::eventhandler::Event;
use vnet_runtime::prelude::*;
use vnet_runtime::{thread, VnetFutureExt};

#[vnet]
static HITS: AtomicU32 = AtomicU32::new(0);

/// Counts one run in the current instance (panics with none current).
fn hit() {
    V_HITS.with(|h| h.fetch_add(1, SeqCst));
}

fn hits() -> u32 {
    V_HITS.with_in(&vnet_runtime::vnet0(), |h| h.load(SeqCst))
}

static EV: Event<u32> = Event::new("same-source");

#[test]
fn every_tool_runs_in_vnet0() {
    let v0 = vnet_runtime::vnet0();
    let before = hits();

    // Threads.
    let t = thread::spawn_in(&v0, || {
        hit();
        Vnet::current()
    });
    assert_eq!(t.join().unwrap(), Some(v0.clone()));

    // Futures.
    let mut cx = Context::from_waker(Waker::noop());
    let mut f = Box::pin(async { hit() }.in_vnet(&v0));
    assert!(f.as_mut().poll(&mut cx).is_ready());
    let mut owned = Box::pin(async { hit() }.owned_by(&v0));
    assert_eq!(owned.as_mut().poll(&mut cx), Poll::Ready(Ok(())));

    // Timers.
    let (tx, rx) = mpsc::channel();
    let c = Callout::new_in(&v0);
    assert!(c.reset(Duration::from_millis(1), move || {
        hit();
        tx.send(Vnet::current()).unwrap();
    }));
    assert_eq!(rx.recv().unwrap(), Some(v0.clone()));

    // Events: a global handler and one registered in vnet0.
    let g = EV.register_global(|_| hit());
    let l = EV.register_in(&v0, |_| hit());
    EV.invoke_in(&v0, &1);
    g.deregister();
    l.deregister();
    EV.invoke_in(&v0, &2);

    assert_eq!(hits() - before, 6);
    let mut n = 0;
    vnet_foreach(|_| n += 1);
    assert!(n >= 1);
    let _guard = curvnet_set(&v0);
    assert_eq!(Vnet::current().as_ref(), Some(&v0));
}

/// `#[vnet_test]` comes with the prelude too; the body runs in its own
/// instance (vnet0 with `vimage` off), and so does a thread it spawns.
#[vnet_test]
fn the_prelude_brings_vnet_test() {
    let me = Vnet::current().expect("a vnet_test body runs in an instance");
    assert_eq!(
        thread::spawn_current(Vnet::current).join().unwrap(),
        Some(me)
    );
}
