//! A binary's explicit `context_policy!(Strict)` wins over a library's
//! `fallback_to_vnet0!`: an access with no current instance panics.
#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU32, Ordering};
use vnet_runtime::vnet;

vnet_runtime::fallback_to_vnet0!();
vnet_runtime::context_policy!(Strict);

#[vnet]
static HITS: AtomicU32 = AtomicU32::new(0);

#[test]
#[should_panic(expected = "accessed with no current vnet")]
fn explicit_strict_wins() {
    V_HITS.with(|h| h.fetch_add(1, Ordering::SeqCst));
}
