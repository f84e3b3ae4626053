//! Introspection: `show vnets` (instances with state, parent and children)
//! and `show sysinit` (handlers and hooks with their subsystem and order).

use vnet_runtime::introspect::{self, StepKind};
use vnet_runtime::module::{ModError, ModEvent};
use vnet_runtime::subsystem::*;
use vnet_runtime::{sysinit, vnet_module, vnet_sysinit, vnet_sysuninit, Vnet, VnetState};

#[vnet_module(show_mod, SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST)]
fn show_mod_event(_event: ModEvent) -> Result<(), ModError> {
    Ok(())
}

#[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND, module = show_mod)]
fn show_vnet_init() {}

#[vnet_sysuninit(SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND, module = show_mod)]
fn show_vnet_uninit() {}

#[sysinit(SI_SUB_INIT_IF, SI_ORDER_ANY)]
fn show_base_init() {}

#[test]
fn sysinits_lists_every_step_with_its_level_in_boot_order() {
    let all = introspect::sysinits();
    let one = |name: &str| {
        let found: Vec<_> = all.named(name).collect();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        found[0].clone()
    };
    let module = one("show_mod");
    assert_eq!(module.kind, StepKind::Handler);
    assert_eq!(
        (module.subsystem, module.order),
        (SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST)
    );
    assert!(module.registered, "loaded at boot");
    let init = one("show_vnet_init");
    assert_eq!(init.kind, StepKind::VnetSysinit);
    assert_eq!(init.module, "show_mod");
    assert_eq!(
        (init.subsystem, init.order),
        (SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND)
    );
    assert!(init.file.ends_with("introspect.rs"));
    let base = one("show_base_init");
    // A hook without `module =` in a crate that declares one module belongs to it.
    assert_eq!((base.kind, base.module), (StepKind::Sysinit, "show_mod"));
    assert!(base.registered);
    assert_eq!(one("show_vnet_uninit").kind, StepKind::VnetSysuninit);

    // Boot order: sorted by (subsystem, order), the handler first at a tie.
    let levels: Vec<(u32, u32)> = all.0.iter().map(|s| (s.subsystem, s.order)).collect();
    assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{levels:?}");
    let pos = |name: &str| all.0.iter().position(|s| s.name == name).unwrap();
    assert!(pos("show_base_init") < pos("show_mod"));
    assert!(pos("show_mod") < pos("show_vnet_init"));
    assert!(
        pos("show_vnet_init") < pos("show_vnet_uninit"),
        "init before uninit at a tie"
    );

    let text = all.to_string();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["SUBSYSTEM", "ORDER", "KIND", "MODULE", "NAME", "REGISTERED"]
    );
    let line = text.lines().find(|l| l.contains("show_vnet_init")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        [
            "SI_SUB_PROTO_DOMAIN",
            "SI_ORDER_SECOND",
            "VNET_SYSINIT",
            "show_mod",
            "show_vnet_init",
            "yes"
        ]
    );
    assert_eq!(text.lines().count(), all.0.len() + 1);
}

#[test]
fn vnets_starts_with_vnet0() {
    let table = introspect::vnets();
    let first = &table.0[0];
    assert_eq!((first.id, first.name.as_str()), (0, "vnet0"));
    assert_eq!(first.state, VnetState::Live);
    assert_eq!(first.parent, None);
}

#[cfg(feature = "vimage")]
#[test]
fn vnets_shows_parents_children_and_follows_destroy() {
    let root = Vnet::create("show-root").unwrap();
    let left = Vnet::builder("show-left").parent(&root).create().unwrap();
    let right = Vnet::builder("show-right").parent(&root).create().unwrap();
    let leaf = Vnet::builder("show-leaf").parent(&left).create().unwrap();

    let table = introspect::vnets();
    let root_info = table.get("show-root").unwrap();
    assert_eq!(root_info.children, ["show-left", "show-right"]);
    assert_eq!(root_info.parent, None);
    assert_eq!(root_info.id, root.id());
    assert_eq!(table.get("show-left").unwrap().children, ["show-leaf"]);
    assert_eq!(
        table.get("show-leaf").unwrap().parent.as_deref(),
        Some("show-left")
    );
    assert!(table.get("show-right").unwrap().children.is_empty());
    let pos = |n: &str| table.0.iter().position(|v| v.name == n).unwrap();
    assert!(pos("show-root") < pos("show-left") && pos("show-left") < pos("show-leaf"));

    let text = table.to_string();
    assert_eq!(
        text.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["ID", "NAME", "STATE", "PARENT", "CHILDREN"]
    );
    let row = text.lines().find(|l| l.contains("show-root")).unwrap();
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [
            root.id().to_string().as_str(),
            "show-root",
            "live",
            "-",
            "show-left,show-right"
        ]
    );

    left.destroy().unwrap(); // takes show-leaf with it
    let table = introspect::vnets();
    assert!(table.get("show-left").is_none() && table.get("show-leaf").is_none());
    assert_eq!(table.get("show-root").unwrap().children, ["show-right"]);
    assert_eq!(leaf.state(), VnetState::Destroyed);
    drop((right, leaf));
    root.destroy().unwrap();
}

#[cfg(not(feature = "vimage"))]
#[test]
fn without_vimage_vnets_is_vnet0_alone() {
    let table = introspect::vnets();
    assert_eq!(table.0.len(), 1);
    assert!(table.0[0].children.is_empty());
    assert!(Vnet::create("x").is_err());
}

/// Instances destroyed while the table is built are left out, never listed
/// as `Destroyed` (or `Dying`), however the destroys interleave with it.
#[cfg(feature = "vimage")]
#[test]
fn vnets_never_lists_an_instance_being_or_already_destroyed() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..2 {
            let stop = &stop;
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(SeqCst) {
                    let v = Vnet::create(&format!("show-churn-{t}-{i}")).unwrap();
                    i += 1;
                    v.destroy().unwrap();
                }
            });
        }
        for _ in 0..300 {
            for info in introspect::vnets().0 {
                assert_eq!(info.state, vnet_runtime::VnetState::Live, "{}", info.name);
            }
        }
        stop.store(true, SeqCst);
    });
}
