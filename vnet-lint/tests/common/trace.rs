//! Compares the lint's sequences with the runtime's trace lines.

use vnet_lint::model::sequence::{Sequence, Step};
use vnet_lint::model::Model;

/// The trace line the runtime prints for `step` (per-instance hooks in instance `vnet`).
pub fn expected_line(model: &Model, step: &Step, vnet: &str) -> String {
    use vnet_lint::model::keys::{order_name, subsystem_name};
    let sub = subsystem_name(step.subsystem);
    let order = order_name(step.order);
    match step.event {
        "MODEVENT(load)" => {
            let version = model
                .modules
                .iter()
                .find(|m| m.name == step.name)
                .map_or(0, |m| m.version);
            format!(
                "MODEVENT(load) {} subsystem={sub} order={order} version={version}",
                step.name
            )
        }
        e if e.starts_with("MODEVENT") => format!("{e} {}", step.name),
        e if e.starts_with("VNET_") => format!(
            "{e} {} vnet={vnet} subsystem={sub} order={order} module={}",
            step.name, step.module
        ),
        e => format!(
            "{e} {} subsystem={sub} order={order} module={}",
            step.name, step.module
        ),
    }
}

/// The runtime's lines without outcomes that say how a handler answered (not where it ran).
pub fn normalized(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim_end_matches(" result=unsupported").to_owned())
        .collect()
}

/// The sequence named `name`, as the runtime would trace it in instance `vnet`.
pub fn lint_lines(model: &Model, sequences: &[Sequence], name: &str, vnet: &str) -> Vec<String> {
    let sequence = sequences
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("the lint has a `{name}` sequence"));
    sequence
        .steps
        .iter()
        .map(|s| expected_line(model, s, vnet))
        .collect()
}
