// The accepted forms of the lifecycle attributes: keys from SI_* names (no
// import needed), user constants and arithmetic; `()` or `Result<(), E>`
// returns; `module = name`; `crate = path`; visibility and doc comments.
use vnet_runtime::module::{ModError, ModEvent};
use vnet_runtime::{sysinit, sysuninit, vnet_module, vnet_sysinit, vnet_sysuninit};

const MY_MODULE_ORDER: u32 = vnet_runtime::subsystem::SI_ORDER_ANY + 64;
const MY_VNET_ORDER: u32 = MY_MODULE_ORDER + 2;

/// The module.
#[vnet_module(forms, SI_SUB_PROTO_BEGIN, MY_MODULE_ORDER, version = 3, depend(other, 1, 2, 3, crate = other_crate))]
pub fn forms_modevent(event: ModEvent) -> Result<(), ModError> {
    match event {
        ModEvent::Load | ModEvent::Unload => Ok(()),
        _ => Err(ModError::unsupported()),
    }
}

#[vnet_module(other, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST, version = 2)]
fn other_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

/// Once per process.
#[sysinit(SI_SUB_PROTO_BEGIN, MY_MODULE_ORDER + 1, module = forms)]
pub(crate) fn forms_init() -> Result<(), String> {
    Ok(())
}

#[sysuninit(SI_SUB_PROTO_BEGIN, MY_MODULE_ORDER + 1, module = forms)]
fn forms_uninit() {}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN + 0x10, MY_VNET_ORDER, module = forms, crate = ::vnet_runtime)]
fn forms_vnet_init() -> Result<(), std::io::Error> {
    Ok(())
}

#[vnet_sysuninit(0x8000010, MY_VNET_ORDER, module = forms)]
fn forms_vnet_uninit() {}

fn main() {
    // Hooks stay ordinary functions.
    forms_init().unwrap();
    forms_uninit();
    forms_vnet_init().unwrap();
    forms_vnet_uninit();
}
