//! Parent and child instances (jail's `children.max`): limits, and
//! destroying a parent destroys its descendants first.

#![cfg(feature = "vimage")]

use vnet_runtime::{curvnet_set, Error, Vnet, VnetState};

#[test]
fn children_max_limits_the_number_of_live_children() {
    let parent = Vnet::builder("h-limit").children_max(2).create().unwrap();
    let a = Vnet::builder("h-limit-a").parent(&parent).create().unwrap();
    let b = Vnet::builder("h-limit-b").parent(&parent).create().unwrap();
    assert_eq!(
        Vnet::builder("h-limit-c")
            .parent(&parent)
            .create()
            .unwrap_err(),
        Error::ChildLimit {
            parent: "h-limit".into(),
            max: 2
        }
    );
    // A failed creation takes no slot and no name.
    a.destroy().unwrap();
    let c = Vnet::builder("h-limit-c").parent(&parent).create().unwrap();
    assert_eq!(c.parent(), Some(parent.clone()));
    drop((b, c));
    parent.destroy().unwrap();
}

#[test]
fn destroying_a_parent_destroys_its_subtree_and_nothing_else() {
    let root = Vnet::create("h-root").unwrap();
    let child = Vnet::builder("h-child").parent(&root).create().unwrap();
    let grandchild = Vnet::builder("h-grandchild")
        .parent(&child)
        .create()
        .unwrap();
    let sibling = Vnet::create("h-unrelated").unwrap();
    let handles = [root.clone(), child.clone(), grandchild.clone()];
    root.destroy().unwrap();
    for v in &handles {
        assert_eq!(v.state(), VnetState::Destroyed, "{}", v.name());
        assert_eq!(Vnet::lookup(v.name()), None);
    }
    assert_eq!(sibling.state(), VnetState::Live);
    drop((child, grandchild));
    sibling.destroy().unwrap();
}

#[test]
fn a_busy_descendant_refuses_the_whole_destroy() {
    let root = Vnet::create("h-busy-root").unwrap();
    let child = Vnet::builder("h-busy-child")
        .parent(&root)
        .create()
        .unwrap();
    {
        let _guard = curvnet_set(&child);
        let refused = std::thread::scope(|s| s.spawn(|| root.clone().destroy()).join().unwrap());
        assert!(matches!(
            refused.map_err(vnet_runtime::DestroyError::into_error),
            Err(Error::Busy { name, .. }) if name == "h-busy-child"
        ));
    }
    // Nothing was torn down.
    assert_eq!(root.state(), VnetState::Live);
    assert_eq!(child.state(), VnetState::Live);
    root.destroy().unwrap();
    assert_eq!(child.state(), VnetState::Destroyed);
}

#[test]
fn a_destroyed_parent_takes_no_new_children() {
    let parent = Vnet::create("h-gone").unwrap();
    let handle = parent.clone();
    parent.destroy().unwrap();
    assert_eq!(
        Vnet::builder("h-gone-child")
            .parent(&handle)
            .create()
            .unwrap_err(),
        Error::Destroyed("h-gone".into())
    );
    assert_eq!(Vnet::lookup("h-gone-child"), None);
}
