// H5: `SI_*` names the attribute resolves itself: no import here, and the crate builds.

#[vnet_runtime::vnet_sysinit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY - 1, module = ifnet)]
fn vnet_if_late_init() {}

#[vnet_runtime::vnet_sysuninit(SI_SUB_PROTO_IFATTACHDOMAIN, SI_ORDER_ANY - 1, module = ifnet)]
fn vnet_if_late_uninit() {}
