// #[vnet] takes no arguments except `crate = path`.
use vnet_runtime::vnet;

#[vnet(per_cpu)]
static QUEUE: u32 = 0;

fn main() {}
