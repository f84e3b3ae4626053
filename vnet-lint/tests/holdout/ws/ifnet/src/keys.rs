use vnet_runtime::subsystem::SI_ORDER_FIRST;

pub const IF_ORDER: u32 = SI_ORDER_FIRST + 1;
