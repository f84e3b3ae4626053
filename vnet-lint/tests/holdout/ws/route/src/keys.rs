use vnet_runtime::subsystem::SI_ORDER_SECOND;

pub const ROUTE_ORDER: u32 = SI_ORDER_SECOND;
