//! Boot options naming a module that is not linked: the boot goes on with
//! the others, and the error returned names the unknown module (not some
//! other boot problem).

use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{trace, vnet_module, BootOptions, Error};

#[vnet_module(known, SI_SUB_PSEUDO, SI_ORDER_ANY, depend(missing_mod, 1, 1, 1))]
fn known_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_module(plain, SI_SUB_PSEUDO, SI_ORDER_FIRST)]
fn plain_modevent(_: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[test]
fn unknown_boot_module_is_the_error_returned_and_the_rest_boots() {
    let err = BootOptions::new()
        .modules(["plain", "nosuch"])
        .boot()
        .unwrap_err();
    match &err {
        Error::Module { module, reason } => {
            assert_eq!(module, "nosuch");
            assert!(
                reason.contains("no module of this name is linked"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(module::boot_errors().len(), 2); // also `known`'s missing dependency
    assert_eq!(
        trace::boot_lines(),
        ["MODEVENT(load) plain subsystem=SI_SUB_PSEUDO order=SI_ORDER_FIRST version=1"]
    );
    assert!(module::is_loaded("plain"));
}
