// #[vnet_test] goes on test functions only.
use vnet_runtime::vnet_test;

#[vnet_test]
struct Fixture;

fn main() {}
