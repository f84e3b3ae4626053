//! The `V_` access hot path as a standalone symbol, for reading its machine
//! code: `cargo build --release -p vnet-runtime --example hot_path` and
//! `objdump -d --no-show-raw-insn target/release/examples/hot_path | grep -A12 '<vnet_hot_path_load>:'`.
//! BENCHMARKS.md ("Default-instance policy: the hot path") shows the listing.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[vnet_runtime::vnet]
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// One `V_` access: thread-local base, null check, offset, value.
#[no_mangle]
#[inline(never)]
pub fn vnet_hot_path_load() -> u64 {
    V_COUNTER.with(|c| c.load(Relaxed))
}

fn main() {
    vnet_runtime::vnet0().enter(|| {
        V_COUNTER.with(|c| c.store(7, Relaxed));
        assert_eq!(vnet_hot_path_load(), 7);
    });
}
