//! How values are torn down: with no instance current, panics from `Drop`
//! reported to the `destroy` that caused them only, futures dropped in their
//! instance, and self-referencing instances freed through weak handles.

#![cfg(feature = "vimage")]

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::Mutex;
use std::task::{Context, Waker};

use vnet_runtime::{vnet, Vnet, VnetFutureExt, WeakVnet};

#[vnet]
static MARK: AtomicU32 = AtomicU32::new(0);

/// Records what a `Drop` sees of the runtime.
struct Probe;

static PROBE_SAW: Mutex<Vec<(bool, bool)>> = Mutex::new(Vec::new());

impl Drop for Probe {
    fn drop(&mut self) {
        let has_current = Vnet::current().is_some();
        let access_panics = std::panic::catch_unwind(bump_mark).is_err();
        PROBE_SAW.lock().unwrap().push((has_current, access_panics));
    }
}

fn bump_mark() -> u32 {
    V_MARK.with(|m| m.fetch_add(1, SeqCst))
}

#[vnet]
static PROBE: Mutex<Option<Probe>> = Mutex::new(None);

#[test]
fn values_are_dropped_with_no_instance_current() {
    let doomed = Vnet::create("td-doomed").unwrap();
    let bystander = Vnet::create("td-bystander").unwrap();
    V_PROBE.with_in(&doomed, |p| *p.lock().unwrap() = Some(Probe));
    // Destroyed from inside another instance: its MARK must not be touched.
    bystander.enter(|| doomed.destroy()).unwrap();
    assert_eq!(V_MARK.with_in(&bystander, |m| m.load(SeqCst)), 0);
    let saw = PROBE_SAW.lock().unwrap().clone();
    // Neither the dying instance nor the caller's counts as current, and a
    // `V_` access panics clearly instead of touching either.
    assert_eq!(saw, vec![(false, true)]);
    bystander.destroy().unwrap();
}

static BOMB_ARMED: AtomicBool = AtomicBool::new(false);

struct Bomb(bool);

impl Drop for Bomb {
    fn drop(&mut self) {
        if self.0 && BOMB_ARMED.load(SeqCst) {
            panic!("bomb in a value's Drop");
        }
    }
}

#[vnet]
static BOMB: Mutex<Bomb> = Mutex::new(Bomb(false));

#[test]
fn a_drop_panic_reaches_only_the_destroy_that_dropped_the_value() {
    BOMB_ARMED.store(true, SeqCst);
    // Freed by a plain handle drop: reported by the panic hook, not re-raised.
    let a = Vnet::create("td-bomb-a").unwrap();
    V_BOMB.with_in(&a, |b| b.lock().unwrap().0 = true);
    let keep = a.clone();
    a.destroy().unwrap();
    drop(keep); // the last handle: the value's Drop panics here, caught
                // An unrelated destroy later on this thread is not affected.
    Vnet::create("td-bomb-b").unwrap().destroy().unwrap();
    // A destroy that drops the value itself re-raises the panic.
    let c = Vnet::create("td-bomb-c").unwrap();
    V_BOMB.with_in(&c, |b| b.lock().unwrap().0 = true);
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| c.destroy())).unwrap_err();
    assert_eq!(err.downcast_ref::<&str>(), Some(&"bomb in a value's Drop"));
    assert_eq!(Vnet::lookup("td-bomb-c"), None, "destroyed all the same");
    BOMB_ARMED.store(false, SeqCst);
}

static CONN_DROPPED_IN: Mutex<Vec<Option<String>>> = Mutex::new(Vec::new());

struct Conn;

impl Drop for Conn {
    fn drop(&mut self) {
        let current = Vnet::current().map(|v| v.name().to_owned());
        CONN_DROPPED_IN.lock().unwrap().push(current);
    }
}

#[test]
fn a_cancelled_bound_future_drops_its_locals_in_its_instance() {
    let tenant = Vnet::create("td-future").unwrap();
    let mut task = Box::pin(
        async {
            let _conn = Conn;
            std::future::pending::<()>().await;
        }
        .in_vnet(&tenant),
    );
    assert!(task
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    drop(task); // cancelled, on a thread with no instance current
    assert_eq!(
        *CONN_DROPPED_IN.lock().unwrap(),
        vec![Some("td-future".to_owned())]
    );
    tenant.destroy().unwrap();
}

static SOCKETS_FREED: AtomicU32 = AtomicU32::new(0);

/// A socket stored in its own instance's table, pointing back to it.
struct Socket {
    vnet: WeakVnet,
}

impl Drop for Socket {
    fn drop(&mut self) {
        assert!(self.vnet.upgrade().is_none(), "its instance is gone");
        SOCKETS_FREED.fetch_add(1, SeqCst);
    }
}

#[vnet]
static SOCKETS: Mutex<Vec<Socket>> = Mutex::new(Vec::new());

#[test]
fn an_instance_whose_values_point_back_to_it_weakly_is_freed() {
    let v = Vnet::create("td-self-ref").unwrap();
    v.enter(|| {
        let me = Vnet::current().unwrap().downgrade();
        V_SOCKETS.with(|s| s.lock().unwrap().push(Socket { vnet: me }));
    });
    v.destroy().unwrap();
    assert_eq!(SOCKETS_FREED.load(SeqCst), 1);
}
