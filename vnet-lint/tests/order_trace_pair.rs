//! The lint's order equals the runtime's trace for `fixtures/order-pair`: two module crates whose hooks
//! tie on `(subsystem, order)` (so the tie rule alone orders them), a module that loads before the one
//! it depends on (same key, name order), a hook assigned across crates with `module = zulu`, and keys
//! computed from the other crate's constants.

mod common;

use vnet_lint::engine::{model_paths, Options};
use vnet_runtime::{module, trace, Vnet};

use order_pair_high as _;

#[test]
fn the_lint_order_of_order_pair_is_the_runtime_trace() {
    let fixtures = common::fixtures();
    let (model, _files, report) = model_paths(
        &[
            fixtures.join("order-pair/high/src"),
            fixtures.join("order-pair/low/src"),
        ],
        &Options::default(),
    );
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    let seqs = vnet_lint::model::sequence::sequences(&model);
    let lint = |name: &str, vnet: &str| common::trace::lint_lines(&model, &seqs, name, vnet);
    // The tie rule decides everything here: make sure the sequences are not trivially short.
    assert_eq!(lint("boot", "vnet0").len(), 8);

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

    let ((), lines) = trace::capture(module::shutdown);
    assert_eq!(common::trace::normalized(&lines), lint("shutdown", "vnet0"));

    for (step, name) in [
        ("unload:alpha", "alpha"),
        ("unload:zulu", "zulu"),
        ("load:zulu", "zulu"),
        ("load:alpha", "alpha"),
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
