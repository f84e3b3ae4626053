// An async test needs an executor's test attribute below #[vnet_test].
use vnet_runtime::vnet_test;

#[vnet_test]
async fn no_executor() {}

fn main() {}
