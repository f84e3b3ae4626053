//! A library's `fallback_to_vnet0!`: its statics work on vnet0's copy when a
//! thread has no current instance, while the process policy stays `Strict`.
#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU32, Ordering};
use vnet_runtime::{vnet, ContextPolicy, Vnet};

vnet_runtime::fallback_to_vnet0!();

#[vnet]
static HITS: AtomicU32 = AtomicU32::new(0);

#[test]
fn no_current_instance_uses_vnet0_and_an_instance_keeps_its_own_copy() {
    assert_eq!(ContextPolicy::current(), ContextPolicy::Strict);
    assert_eq!(Vnet::current(), None);
    let before = vnet_runtime::vnet0().enter(|| V_HITS.with(|h| h.load(Ordering::SeqCst)));
    V_HITS.with(|h| h.fetch_add(1, Ordering::SeqCst));
    let after = vnet_runtime::vnet0().enter(|| V_HITS.with(|h| h.load(Ordering::SeqCst)));
    assert_eq!(
        after,
        before + 1,
        "the access without an instance went to vnet0"
    );
    let v = Vnet::create("fallback-own").unwrap();
    assert_eq!(v.enter(|| V_HITS.with(|h| h.load(Ordering::SeqCst))), 0);
    v.destroy().unwrap();
}
