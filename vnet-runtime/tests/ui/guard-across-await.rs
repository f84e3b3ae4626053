// A guard held across `.await` in a future that must be `Send` (a spawned
// task on a multi-threaded executor): the error names the guard's marker.
use vnet_runtime::{curvnet_set, Vnet};

fn spawn<F: std::future::Future + Send + 'static>(_: F) {}

async fn elsewhere() {}

fn main() {
    let v = Vnet::create("ui-guard").unwrap();
    spawn(async move {
        let _guard = curvnet_set(&v);
        elsewhere().await;
    });
}
