// #[vnet] virtualizes storage; consts, functions and types have none.
use vnet_runtime::vnet;

#[vnet]
const MAX: u32 = 5;

#[vnet]
fn helper() {}

#[vnet]
struct Table;

fn main() {}
