// A refused static still defines its accessor, so its use sites report no
// further errors: only the refusal is shown.
use std::sync::atomic::{AtomicU32, Ordering};
use vnet_runtime::vnet;

#[vnet]
pub static mut PACKETS: AtomicU32 = AtomicU32::new(0);

fn count() -> u32 {
    V_PACKETS.with(|p| p.fetch_add(1, Ordering::Relaxed))
}

fn main() {
    count();
}
