// The static's own name is not its accessor: using it the old way says what
// to write instead.
use std::sync::atomic::{AtomicU64, Ordering};

use vnet_runtime::vnet;

#[vnet]
static PACKETS: AtomicU64 = AtomicU64::new(0);

mod stack {
    #[vnet_runtime::vnet]
    pub static MTU: u32 = 1500;
}

fn main() {
    PACKETS.with(|p| p.fetch_add(1, Ordering::Relaxed));
    let _ = stack::MTU.get();
    let _ = PACKETS.with_in(&vnet_runtime::vnet0(), |p| p.load(Ordering::Relaxed));
}
