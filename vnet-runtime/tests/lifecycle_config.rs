//! Declaration problems the lifecycle can only see at boot, when every crate
//! is linked: a dependency on a module whose crate is not linked (the error
//! names the crate and the line that fixes it), a hook whose module is
//! ambiguous (this crate declares two), and a hook naming an unknown module.
//! The boot goes on without what is broken.

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{sysinit, trace, vnet_module, Error};

#[vnet_module(needy, SI_SUB_PSEUDO, SI_ORDER_ANY, depend(absent_fw, 1, 1, 1, crate = absent_fw_crate))]
fn needy_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_module(second, SI_SUB_PSEUDO, SI_ORDER_ANY)]
fn second_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

/// No `module = ...` in a crate with two modules: never a guess.
#[sysinit(SI_SUB_PSEUDO, SI_ORDER_FIRST)]
fn which_module() {}

#[sysinit(SI_SUB_PSEUDO, SI_ORDER_FIRST, module = nowhere)]
fn names_unknown_module() {}

#[test]
fn boot_reports_unlinked_dependencies_and_ambiguous_hooks_and_goes_on() {
    let mut errors: Vec<String> = module::boot_errors().iter().map(Error::to_string).collect();
    errors.sort();
    let file = file!();
    assert_eq!(
        errors,
        [
            format!(
                "hook `names_unknown_module` is misdeclared and never runs: `module = nowhere` names a module \
                 that is not linked into this binary ({file}:24); declare it with #[vnet_module(nowhere, ...)] \
                 or link the crate that does"
            ),
            format!(
                "hook `which_module` is misdeclared and never runs: crate `lifecycle_config` declares several modules \
                 (needy, second), so the hook's module is ambiguous ({file}:21); name it: `module = needy`"
            ),
            "module `needy`: depends on module `absent_fw`, which is not linked into this binary: the crate \
             that declares it (`absent_fw_crate`) was dropped by the linker or is missing; add \
             `vnet_runtime::link!(absent_fw_crate);` (or `use absent_fw_crate as _;`) to the binary, and \
             `absent_fw_crate` to its [dependencies]"
                .to_owned(),
        ]
    );
    // The rest boots: `second` is loaded, the broken hooks never run.
    assert_eq!(
        trace::boot_lines(),
        ["MODEVENT(load) second subsystem=SI_SUB_PSEUDO order=SI_ORDER_ANY version=1"]
    );
    assert!(!module::is_loaded("needy"));
    let err = module::load("needy").unwrap_err();
    assert!(
        err.to_string()
            .contains("`vnet_runtime::link!(absent_fw_crate);`"),
        "{err}"
    );
}
