// A module needs a name, a (subsystem, order) key and a handler
// `fn(ModEvent) -> Result<(), ModError>`; `base` is the name of the
// always-loaded hooks, and `depend` takes a name and three versions.
use vnet_runtime::module::ModError;
use vnet_runtime::vnet_module;

#[vnet_module(base, SI_SUB_PSEUDO, SI_ORDER_ANY, depend(ipfw, 2), colour = 1)]
fn base_modevent(event: u32) -> Result<(), ModError> {
    let _ = event;
    Ok(())
}

#[vnet_module(wrong_types, SI_SUB_PSEUDO, SI_ORDER_ANY)]
fn wrong_types_modevent(event: u32) -> bool {
    event == 0
}

fn main() {}
