//! `check --show-order` prints the model the check built (it used to build it a second time): the
//! table must be exactly what `order` prints for the same selection.

use std::path::Path;
use std::process::Command;

fn lint(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn show_order_prints_what_order_prints() {
    for selection in [
        &["fixtures/seed-mistakes"][..],
        &["fixtures/mymod/src", "fixtures/ipfw/src"],
        &["--workspace"],
    ] {
        let mut check = vec!["vnet-lint", "check", "--show-order"];
        check.extend(selection);
        let checked = lint(&check);
        let (_, table) = checked
            .split_once("\ninit order (cargo vnet-lint order):\n")
            .expect("the order table follows the report");
        let mut order = vec!["vnet-lint", "order"];
        order.extend(selection);
        let ordered = lint(&order);
        assert!(ordered.contains("boot ("), "{ordered}");
        assert_eq!(table, ordered, "{selection:?}");
    }
}
