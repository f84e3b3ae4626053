// #[vnet_test] knows `name`, `parent`, `modules` and `crate`, once each.
use vnet_runtime::vnet_test;

#[vnet_test(instances = 2)]
fn unknown() {}

#[vnet_test(name = "a", name = "b")]
fn twice() {}

#[vnet_test(name = "")]
fn empty_name() {}

fn main() {}
