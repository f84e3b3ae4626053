//! Many instances: create and destroy 100,000 (in trees and flat, in
//! creation order, reverse and interleaved), then check that the instance
//! list, the name index and every parent's children count agree.
//!
//! The 100,000 run is `#[ignore]`d in debug builds (minutes unoptimized);
//! `.ci/run` runs it in release: `cargo test -p vnet-runtime --release --test scale`.
//! The 3,000 run is the same test at a size debug builds run quickly.
#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use vnet_runtime::{vnet, vnet_foreach, Vnet, VnetState};

#[vnet]
static SEEN: AtomicU64 = AtomicU64::new(0);

fn names_live(prefix: &str) -> usize {
    Vnet::list()
        .iter()
        .filter(|v| v.name().starts_with(prefix))
        .count()
}

/// Creates `n` instances: a quarter flat, the rest as trees (a root with
/// children, some with grandchildren); destroys them in several orders and
/// checks the indexes on the way and at the end.
fn churn(prefix: &str, n: usize) {
    // The counts below are of the whole process: one churn at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base_count = Vnet::list().len();
    let mut flat = Vec::new();
    let mut roots = Vec::new();
    let mut children = Vec::new();
    let mut made = 0;
    while made < n {
        match made % 4 {
            0 => {
                flat.push(Vnet::create(&format!("{prefix}f{made}")).unwrap());
                made += 1;
            }
            _ => {
                let root = Vnet::create(&format!("{prefix}r{made}")).unwrap();
                made += 1;
                for c in 0..4 {
                    if made == n {
                        break;
                    }
                    let child = Vnet::builder(&format!("{prefix}c{made}"))
                        .parent(&root)
                        .create()
                        .unwrap();
                    made += 1;
                    if c == 0 && made < n {
                        let grandchild = Vnet::builder(&format!("{prefix}g{made}"))
                            .parent(&child)
                            .create()
                            .unwrap();
                        made += 1;
                        grandchild.enter(|| V_SEEN.with(|s| s.fetch_add(1, Relaxed)));
                    }
                    children.push(child);
                }
                roots.push(root);
            }
        }
    }
    assert_eq!(names_live(prefix), n, "every instance created is listed");
    assert_eq!(
        vnet_runtime::__private0::check_instance_index(),
        Ok(base_count + n)
    );
    let mut visited = 0;
    let mut last_id = None;
    vnet_foreach(|v| {
        if v.name().starts_with(prefix) {
            visited += 1;
            assert!(last_id < Some(v.id()), "creation order");
            last_id = Some(v.id());
        }
    });
    assert_eq!(visited, n);

    // Flat ones: the first half in creation order, the rest newest first.
    let half = flat.len() / 2;
    let newer = flat.split_off(half);
    for v in flat {
        let name = v.name().to_owned();
        v.destroy().unwrap();
        assert!(Vnet::lookup(&name).is_none());
    }
    for v in newer.into_iter().rev() {
        v.destroy().unwrap();
    }
    vnet_runtime::__private0::check_instance_index().unwrap();
    // Every other tree loses one child first (the parent's count drops),
    // then each root takes its subtree with it.
    for (i, child) in children.into_iter().enumerate() {
        if i % 8 == 1 {
            let parent = child.parent().unwrap();
            child.destroy().unwrap();
            assert!(parent.state() == VnetState::Live);
        }
    }
    vnet_runtime::__private0::check_instance_index().unwrap();
    for (i, root) in roots.iter().enumerate() {
        if i % 2 == 0 {
            root.clone().destroy().unwrap();
        }
    }
    vnet_runtime::__private0::check_instance_index().unwrap();
    for root in roots.iter().rev() {
        if root.state() == VnetState::Live {
            root.clone().destroy().unwrap();
        }
    }
    assert!(roots.iter().all(|r| r.state() == VnetState::Destroyed));
    drop(roots);
    assert_eq!(names_live(prefix), 0);
    assert_eq!(
        vnet_runtime::__private0::check_instance_index(),
        Ok(base_count)
    );
    assert!(Vnet::lookup(&format!("{prefix}f0")).is_none());
    assert_eq!(vnet_runtime::__private0::graveyard_len(), 0);
}

#[test]
fn create_and_destroy_3000_instances_keeps_list_names_and_children_consistent() {
    churn("small-", 3_000);
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "100,000 instances take minutes unoptimized; .ci/run runs it with --release"
)]
fn create_and_destroy_100000_instances_keeps_list_names_and_children_consistent() {
    churn("big-", 100_000);
}
