// `static mut` would give every instance a shared, unsynchronized global:
// #[vnet] asks for interior mutability instead.
use vnet_runtime::vnet;

#[vnet]
static mut COUNTER: u32 = 0;

fn main() {
    V_COUNTER.with(|_| ());
}
