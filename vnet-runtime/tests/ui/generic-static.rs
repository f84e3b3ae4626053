// Statics have one type; there is no per-type slot to allocate.
use vnet_runtime::vnet;

#[vnet]
static SLOT<T>: Option<T> = None;

fn main() {}
