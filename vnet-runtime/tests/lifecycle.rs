//! The lifecycle of the always-loaded base (hooks of a crate that declares no
//! module): boot order, ties, instance creation and destruction, rollback of
//! a failed creation, panicking hooks, children, visibility to iteration, and
//! the recursion record. Module events are in `lifecycle_modules.rs`.
//!
//! Tests run in parallel threads of one process; trace capture is per thread
//! and every test uses its own instance names, so each sees only its steps.

use std::sync::Mutex;

use vnet_runtime::subsystem::*;
use vnet_runtime::{sysinit, trace, vnet_sysinit, vnet_sysuninit, Vnet};

/// What the hooks saw that they should not have (checked by the tests).
static VIOLATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn violation(what: String) {
    VIOLATIONS.lock().unwrap().push(what);
}

fn current_name() -> String {
    Vnet::current()
        .map(|v| v.name().to_owned())
        .unwrap_or_default()
}

/// A per-instance init hook runs with the instance current, before it is in
/// the instance list.
fn check_creating() {
    let Some(v) = Vnet::current() else {
        return violation("per-instance init hook ran with no current instance".into());
    };
    if !v.is_default() && Vnet::list().contains(&v) {
        violation(format!(
            "`{}` was visible to iteration before its inits finished",
            v.name()
        ));
    }
}

/// A per-instance teardown hook runs with the instance current, after it
/// left the list.
fn check_dying() {
    let Some(v) = Vnet::current() else {
        return violation("per-instance teardown hook ran with no current instance".into());
    };
    if Vnet::list().contains(&v) {
        violation(format!(
            "`{}` was still visible to iteration during teardown",
            v.name()
        ));
    }
}

#[sysinit(SI_SUB_INIT_IF, SI_ORDER_FIRST)]
fn base_if_init() {}

#[vnet_sysinit(SI_SUB_INIT_IF, SI_ORDER_SECOND)]
fn base_if_vnet_init() {
    check_creating();
}

#[vnet_sysuninit(SI_SUB_INIT_IF, SI_ORDER_SECOND)]
fn base_if_vnet_uninit() {
    check_dying();
}

/// A key computed from user constants and arithmetic.
const LATE_SUB: u32 = SI_SUB_PSEUDO + 1;

#[vnet_sysinit(LATE_SUB, SI_ORDER_MIDDLE)]
fn computed_key_init() {}

/// Ties at (SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST): the SYSINIT runs before the
/// VNET_SYSINITs although its name sorts last; the VNET_SYSINITs by name.
#[sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn zz_proto_global() {}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn proto_vnet_early_b() {}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn proto_vnet_early() {}

#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn proto_vnet_early_uninit() {}

/// Fails in instances named `fail-*`, panics in `panic-*`.
#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
fn proto_vnet_init() -> Result<(), String> {
    let name = current_name();
    if name.starts_with("fail-") {
        return Err(format!("no buffers for {name}"));
    }
    if name.starts_with("panic-") {
        panic!("proto_vnet_init exploded");
    }
    Ok(())
}

/// Teardown hooks may fail too: the failure is traced and teardown goes on.
#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
fn proto_vnet_uninit() -> Result<(), &'static str> {
    check_dying();
    if current_name().starts_with("sticky-") {
        return Err("sticky state");
    }
    Ok(())
}

/// Captures this thread's steps, booting first so the boot sequence (which
/// runs on the first thread that needs the runtime) is not among them.
#[cfg_attr(not(feature = "vimage"), allow(dead_code))]
fn traced<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    vnet_runtime::boot();
    trace::capture(f)
}

fn lines(expected: &str) -> Vec<String> {
    expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn check(actual: &[String], expected: &str) {
    let expected = lines(expected);
    assert_eq!(
        actual,
        expected.as_slice(),
        "\nactual:\n{}\n",
        actual.join("\n")
    );
}

#[test]
fn boot_runs_sysinits_and_vnet0_inits_as_one_sorted_sequence() {
    check(
        &trace::boot_lines(),
        "
        SYSINIT base_if_init subsystem=SI_SUB_INIT_IF order=SI_ORDER_FIRST module=base
        VNET_SYSINIT base_if_vnet_init vnet=vnet0 subsystem=SI_SUB_INIT_IF order=SI_ORDER_SECOND module=base
        VNET_SYSINIT computed_key_init vnet=vnet0 subsystem=SI_SUB_PSEUDO+1 order=SI_ORDER_MIDDLE module=base
        SYSINIT zz_proto_global subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_early vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_early_b vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_init vnet=vnet0 subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY module=base
        ",
    );
    assert!(vnet_runtime::module::boot_errors().is_empty());
    assert!(vnet_runtime::introspect::modules().is_empty());
}

#[cfg(feature = "vimage")]
#[test]
fn create_runs_every_vnet_sysinit_in_order_and_destroy_the_uninits_in_reverse() {
    let (v, created) = traced(|| Vnet::create("ord-a").unwrap());
    check(
        &created,
        "
        VNET_SYSINIT base_if_vnet_init vnet=ord-a subsystem=SI_SUB_INIT_IF order=SI_ORDER_SECOND module=base
        VNET_SYSINIT computed_key_init vnet=ord-a subsystem=SI_SUB_PSEUDO+1 order=SI_ORDER_MIDDLE module=base
        VNET_SYSINIT proto_vnet_early vnet=ord-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_early_b vnet=ord-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_init vnet=ord-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY module=base
        ",
    );
    let ((), destroyed) = traced(|| v.destroy().unwrap());
    check(
        &destroyed,
        "
        VNET_SYSUNINIT proto_vnet_uninit vnet=ord-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY module=base
        VNET_SYSUNINIT proto_vnet_early_uninit vnet=ord-a subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSUNINIT base_if_vnet_uninit vnet=ord-a subsystem=SI_SUB_INIT_IF order=SI_ORDER_SECOND module=base
        ",
    );
    let seen: Vec<String> = VIOLATIONS
        .lock()
        .unwrap()
        .iter()
        .filter(|v| v.contains("ord-a"))
        .cloned()
        .collect();
    assert!(seen.is_empty(), "{seen:?}");
}

#[cfg(feature = "vimage")]
#[test]
fn a_failed_creation_undoes_the_levels_it_reached_and_leaves_no_instance() {
    let (result, lines) = traced(|| Vnet::create("fail-one"));
    check(
        &lines,
        r#"
        VNET_SYSINIT base_if_vnet_init vnet=fail-one subsystem=SI_SUB_INIT_IF order=SI_ORDER_SECOND module=base
        VNET_SYSINIT computed_key_init vnet=fail-one subsystem=SI_SUB_PSEUDO+1 order=SI_ORDER_MIDDLE module=base
        VNET_SYSINIT proto_vnet_early vnet=fail-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_early_b vnet=fail-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSINIT proto_vnet_init vnet=fail-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY module=base result=failed error="no buffers for fail-one"
        VNET_SYSUNINIT proto_vnet_early_uninit vnet=fail-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSUNINIT base_if_vnet_uninit vnet=fail-one subsystem=SI_SUB_INIT_IF order=SI_ORDER_SECOND module=base
        "#,
    );
    assert_eq!(
        result.unwrap_err(),
        vnet_runtime::Error::Hook {
            hook: "proto_vnet_init".into(),
            module: "base".into(),
            reason: "no buffers for fail-one (in vnet `fail-one`)".into(),
        }
    );
    assert_eq!(Vnet::lookup("fail-one"), None);
    assert!(!Vnet::list().iter().any(|v| v.name() == "fail-one"));
}

#[cfg(feature = "vimage")]
#[test]
fn a_panicking_init_hook_is_a_failure_and_the_name_is_free_again() {
    let (result, lines) = traced(|| Vnet::create("panic-one"));
    let err = result.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "hook `proto_vnet_init` of module `base` failed: panicked: proto_vnet_init exploded"
        ),
        "{err}"
    );
    assert_eq!(
        lines[4],
        r#"VNET_SYSINIT proto_vnet_init vnet=panic-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY module=base result=failed error="panicked: proto_vnet_init exploded""#
    );
    assert_eq!(lines.len(), 7, "{lines:#?}");
    // Nothing is left behind: the name can be used again.
    let v = Vnet::create("after-panic-one").unwrap();
    v.destroy().unwrap();
}

#[cfg(feature = "vimage")]
#[test]
fn a_failing_teardown_hook_is_traced_and_teardown_goes_on() {
    let v = Vnet::create("sticky-one").unwrap();
    let ((), lines) = traced(|| v.destroy().unwrap());
    check(
        &lines,
        r#"
        VNET_SYSUNINIT proto_vnet_uninit vnet=sticky-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY module=base result=failed error="sticky state"
        VNET_SYSUNINIT proto_vnet_early_uninit vnet=sticky-one subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_FIRST module=base
        VNET_SYSUNINIT base_if_vnet_uninit vnet=sticky-one subsystem=SI_SUB_INIT_IF order=SI_ORDER_SECOND module=base
        "#,
    );
}

#[cfg(feature = "vimage")]
#[test]
fn destroying_a_parent_tears_down_its_children_first_deepest_first() {
    let parent = Vnet::builder("tree-root").children_max(2).create().unwrap();
    let child = Vnet::builder("tree-child")
        .parent(&parent)
        .children_max(1)
        .create()
        .unwrap();
    let grandchild = Vnet::builder("tree-grandchild")
        .parent(&child)
        .create()
        .unwrap();
    let sibling = Vnet::builder("tree-sibling")
        .parent(&parent)
        .create()
        .unwrap();
    assert!(matches!(
        Vnet::builder("tree-third").parent(&parent).create(),
        Err(vnet_runtime::Error::ChildLimit { max: 2, .. })
    ));
    let ((), lines) = traced(|| parent.destroy().unwrap());
    let order: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("VNET_SYSUNINIT proto_vnet_uninit"))
        .map(|l| l.split(' ').nth(2).unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "vnet=tree-grandchild",
            "vnet=tree-sibling",
            "vnet=tree-child",
            "vnet=tree-root"
        ]
    );
    assert_eq!(lines.len(), 12);
    drop((child, grandchild, sibling));
}

#[cfg(all(feature = "vimage", debug_assertions))]
#[test]
fn recursion_is_recorded_with_location_and_instances() {
    let outer = Vnet::create("rec-outer-t").unwrap();
    let inner = Vnet::create("rec-inner-t").unwrap();
    let line = line!() + 1;
    outer.enter(|| inner.enter(|| ()));
    outer.enter(|| outer.enter(|| ())); // the same instance again: not a recursion
    let found: Vec<_> = trace::recursions()
        .into_iter()
        .filter(|r| r.outer.starts_with("rec-outer-t"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].inner, "rec-inner-t");
    assert_eq!(found[0].location.line(), line);
    assert!(found[0].location.file().ends_with("lifecycle.rs"));
    assert!(found[0].to_string().contains("rec-outer-t -> rec-inner-t"));
    // The lifecycle's own switches (hooks run with `rec-*` current) are quiet.
    assert!(!trace::recursions()
        .iter()
        .any(|r| r.location.file().contains("lifecycle/")));
    outer.destroy().unwrap();
    inner.destroy().unwrap();
}

#[cfg(not(feature = "vimage"))]
#[test]
fn without_vimage_hooks_run_once_for_vnet0() {
    assert_eq!(
        trace::boot_lines()
            .iter()
            .filter(|l| l.contains("vnet=vnet0"))
            .count(),
        5
    );
    assert!(Vnet::create("x").is_err());
}
