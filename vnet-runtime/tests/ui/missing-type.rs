// A static needs a type; #[vnet] says where it goes.
use vnet_runtime::vnet;

#[vnet]
static LIMIT = 5;

fn main() {}
