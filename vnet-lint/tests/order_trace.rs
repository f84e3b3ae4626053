//! The order the lint computes from source equals what the runtime runs: for `fixtures/mymod` and
//! `fixtures/ipfw` (two module crates, one depending on the other), every sequence the lint prints is
//! compared with the runtime's trace (`trace::capture`, the lines `VNET_TRACE=1` prints) of the same step.

mod common;

use vnet_lint::engine::{model_paths, Options};
use vnet_runtime::{module, trace, Vnet};

// Both fixture crates are linked (mymod names ipfw itself).
use mymod as _;

#[test]
fn the_lint_order_of_mymod_and_ipfw_is_the_runtime_trace() {
    let fixtures = common::fixtures();
    let (model, _files, report) = model_paths(
        &[fixtures.join("mymod/src"), fixtures.join("ipfw/src")],
        &Options::default(),
    );
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let seqs = vnet_lint::model::sequence::sequences(&model);
    let lint = |name: &str, vnet: &str| common::trace::lint_lines(&model, &seqs, name, vnet);

    vnet_runtime::boot();
    assert!(
        module::boot_errors().is_empty(),
        "{:?}",
        module::boot_errors()
    );
    assert_eq!(
        common::trace::normalized(&trace::boot_lines()),
        lint("boot", "vnet0")
    );

    let (created, lines) = trace::capture(|| Vnet::create("t"));
    assert_eq!(common::trace::normalized(&lines), lint("create", "t"));
    let (destroyed, lines) = trace::capture(|| created.unwrap().destroy());
    destroyed.unwrap();
    assert_eq!(common::trace::normalized(&lines), lint("destroy", "t"));

    // Shutdown goes newest first in load order: compared while the boot's load order holds. Only the
    // handlers run; the modules stay loaded for the steps below.
    let ((), lines) = trace::capture(module::shutdown);
    assert_eq!(common::trace::normalized(&lines), lint("shutdown", "vnet0"));

    for (step, name) in [
        ("unload:mymod", "mymod"),
        ("unload:ipfw", "ipfw"),
        ("load:ipfw", "ipfw"),
        ("load:mymod", "mymod"),
    ] {
        let (result, lines) = if step.starts_with("unload") {
            trace::capture(|| module::unload(name))
        } else {
            trace::capture(|| module::load(name))
        };
        result.unwrap();
        assert_eq!(
            common::trace::normalized(&lines),
            lint(step, "vnet0"),
            "{step}"
        );
    }
}
