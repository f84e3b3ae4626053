// A test function takes no parameters, and is not generic: what it needs
// goes in the attribute.
use vnet_runtime::{vnet_test, Vnet};

#[vnet_test]
fn takes_its_instance(vnet: Vnet) {
    drop(vnet);
}

#[vnet_test]
fn generic<T: Default>() {}

fn main() {}
