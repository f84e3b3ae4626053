//! The default-instance policy, declared for this test binary (the policy is
//! per process): a thread with no current instance works on vnet0, and
//! `#[vnet_test]` still gives every test its own instance.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use vnet_runtime::{vnet, vnet0, vnet_test, ContextPolicy, Vnet, VIMAGE};

vnet_runtime::context_policy!(DefaultInstance);

#[vnet]
static SESSIONS: AtomicU32 = AtomicU32::new(0);

/// A `Drop` that reaches a `V_` static: values are dropped with no instance
/// current, and the policy does not change that.
struct ReachesOut;

impl Drop for ReachesOut {
    fn drop(&mut self) {
        let reached = std::panic::catch_unwind(|| V_SESSIONS.get_count()).is_ok();
        DROP_REACHED_AN_INSTANCE.store(u32::from(reached) + 1, Relaxed);
    }
}

static DROP_REACHED_AN_INSTANCE: AtomicU32 = AtomicU32::new(0);

#[vnet]
static HOLDER: std::sync::Mutex<Option<ReachesOut>> = std::sync::Mutex::new(None);

trait Count {
    fn get_count(&'static self) -> u32;
}

impl Count for vnet_runtime::VnetKey<AtomicU32> {
    fn get_count(&'static self) -> u32 {
        self.with(|s| s.load(Relaxed))
    }
}

#[test]
fn the_declared_policy_is_in_effect() {
    assert_eq!(ContextPolicy::current(), ContextPolicy::DefaultInstance);
}

#[test]
fn a_thread_with_no_current_instance_works_on_vnet0() {
    // Unported callers: no instance anywhere, on this thread or a new one.
    let before = vnet0_count();
    std::thread::spawn(|| V_SESSIONS.with(|s| s.fetch_add(1, Relaxed)))
        .join()
        .unwrap();
    V_SESSIONS.with(|s| s.fetch_add(1, Relaxed));
    assert!(vnet0_count() >= before + 2);
    assert_eq!(Vnet::current(), Some(vnet0()));
    assert_eq!(
        std::thread::spawn(Vnet::current).join().unwrap(),
        Some(vnet0())
    );
}

fn vnet0_count() -> u32 {
    V_SESSIONS.with_in(&vnet0(), |s| s.load(Relaxed))
}

#[test]
fn an_instance_made_current_still_wins() {
    if !VIMAGE {
        return;
    }
    let v = Vnet::create("policy-explicit").unwrap();
    v.enter(|| V_SESSIONS.with(|s| s.fetch_add(5, Relaxed)));
    assert_eq!(V_SESSIONS.with_in(&v, |s| s.load(Relaxed)), 5);
    v.destroy().unwrap();
}

#[test]
fn values_being_dropped_see_no_instance_even_so() {
    if !VIMAGE {
        return;
    }
    let v = Vnet::create("policy-drop").unwrap();
    v.enter(|| V_HOLDER.with(|h| *h.lock().unwrap() = Some(ReachesOut)));
    v.destroy().unwrap();
    assert_eq!(
        DROP_REACHED_AN_INSTANCE.load(Relaxed),
        1,
        "the Drop's access panicked"
    );
}

#[vnet_test]
fn vnet_test_gets_a_fresh_instance_under_this_policy_too() {
    let v = Vnet::current().unwrap();
    if VIMAGE {
        assert!(!v.is_default());
        assert_eq!(
            v.name(),
            "vnet_test_gets_a_fresh_instance_under_this_policy_too"
        );
        assert_eq!(V_SESSIONS.get_count(), 0, "not vnet0's count");
        V_SESSIONS.with(|s| s.fetch_add(1, Relaxed));
        assert_eq!(V_SESSIONS.get_count(), 1);
    }
}
