// A hook reports failure with `Result<(), E>` where `E: Display`; any other
// return value would be silently ignored.
use vnet_runtime::sysinit;

#[sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
fn counts() -> u32 {
    0
}

fn main() {
    let _ = counts();
}
