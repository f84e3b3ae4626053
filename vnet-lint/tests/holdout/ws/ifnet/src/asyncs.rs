// H8: a current-instance guard held across `.await`.
use vnet_runtime::{curvnet_set, Vnet};

async fn other() {}

pub async fn held_across(v: &Vnet) {
    let _guard = curvnet_set(v); // EXPECT VN303
    other().await;
}

pub async fn scoped(v: &Vnet) {
    {
        let _guard = curvnet_set(v);
    }
    other().await;
}

pub async fn dropped_first(v: &Vnet) {
    let guard = vnet_runtime::curvnet_set(v);
    drop(guard);
    other().await;
}

pub async fn bound(v: &Vnet) {
    v.bind(other()).await;
}
