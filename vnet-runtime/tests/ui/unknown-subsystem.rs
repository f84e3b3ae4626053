// `SI_SUB_PROTOCOLS` is not one of FreeBSD's subsystems: a typo in a
// lifecycle key would silently reorder boot, so unknown `SI_SUB_*` and
// `SI_ORDER_*` names are refused on the name.
use vnet_runtime::sysinit;

#[sysinit(SI_SUB_PROTOCOLS, SI_ORDER_FIRST)]
fn proto_init() {}

#[sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_LAST)]
fn proto_late_init() {}

fn main() {
    proto_init();
    proto_late_init();
}
