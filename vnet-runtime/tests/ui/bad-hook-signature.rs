// The lifecycle calls hooks as `fn()`, synchronously, from safe code: a hook
// with arguments, or an `async` hook, could never be called as declared.
use vnet_runtime::{sysuninit, vnet_sysinit};

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
fn with_argument(vnet: u32) {
    let _ = vnet;
}

#[sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
async fn asynchronous() {}

fn main() {}
