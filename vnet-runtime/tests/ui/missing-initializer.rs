// Every new instance starts from the initializer, so it cannot be left out.
use vnet_runtime::vnet;

#[vnet]
static TABLE: u32;

fn main() {
    V_TABLE.with(|_| ());
}
