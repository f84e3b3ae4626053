//! The strict policy (the default, nothing declared in this binary): a `V_`
//! access on a thread with no current instance panics, naming the static;
//! `#[vnet_test]` still gives every test its own instance.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use vnet_runtime::{vnet, vnet_test, ContextPolicy, Vnet, VIMAGE};

#[vnet]
static SESSIONS: AtomicU32 = AtomicU32::new(0);

#[test]
fn strict_is_the_default() {
    assert_eq!(ContextPolicy::current(), ContextPolicy::Strict);
}

#[test]
fn an_access_with_no_current_instance_panics_naming_the_static() {
    vnet_runtime::boot();
    let outcome = std::thread::spawn(count_session).join();
    if VIMAGE {
        let payload = outcome.unwrap_err();
        let message = payload.downcast_ref::<String>().unwrap();
        assert!(
            message.starts_with("V_SESSIONS accessed with no current vnet on this thread"),
            "{message}"
        );
        assert!(
            message.contains("context_policy!(DefaultInstance)"),
            "{message}"
        );
        assert_eq!(std::thread::spawn(Vnet::current).join().unwrap(), None);
    } else {
        // One instance, current everywhere.
        assert!(outcome.is_ok());
    }
}

fn count_session() -> u32 {
    V_SESSIONS.with(|s| s.fetch_add(1, Relaxed) + 1)
}

#[vnet_test]
fn vnet_test_gets_a_fresh_instance() {
    let v = Vnet::current().unwrap();
    if VIMAGE {
        assert!(!v.is_default());
        assert_eq!(count_session(), 1);
    }
}
