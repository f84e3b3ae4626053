//! `cargo vnet-lint order`: the sequences of the init-order model as an aligned table, JSON lines,
//! Graphviz `dot`, or a Mermaid flowchart.

use crate::model::keys::{order_name, subsystem_name};
use crate::model::sequence::{Sequence, Step};
use crate::model::Model;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;

/// How a step's file is shown: the path as given, `/` separated.
fn file_of(files: &[PathBuf], step: &Step) -> String {
    files
        .get(step.file)
        .map(|p| crate::diag::display_path(p))
        .unwrap_or_default()
}

/// One JSON object per step: `sequence`, `step`, `event`, `name`, `module`, `subsystem`,
/// `subsystem_value`, `order`, `order_value`, `file`, `line`.
pub fn step_json(
    sequence: &Sequence,
    index: usize,
    step: &Step,
    files: &[PathBuf],
) -> serde_json::Value {
    serde_json::json!({
        "sequence": sequence.name,
        "step": index + 1,
        "event": step.event,
        "name": step.name,
        "module": step.module,
        "subsystem": subsystem_name(step.subsystem),
        "subsystem_value": step.subsystem,
        "order": order_name(step.order),
        "order_value": step.order,
        "file": file_of(files, step),
        "line": step.line,
    })
}

/// Writes one JSON object per line and step.
pub fn render_json(
    sequences: &[Sequence],
    files: &[PathBuf],
    out: &mut dyn Write,
) -> io::Result<()> {
    for sequence in sequences {
        for (i, step) in sequence.steps.iter().enumerate() {
            writeln!(out, "{}", step_json(sequence, i, step, files))?;
        }
    }
    Ok(())
}

/// The aligned table: per sequence a heading, then step, event, name, module, subsystem (name and
/// value), order (name and value), file:line.
pub fn render_table(
    model: &Model,
    sequences: &[Sequence],
    files: &[PathBuf],
    out: &mut dyn Write,
) -> io::Result<()> {
    let header = [
        "STEP",
        "EVENT",
        "NAME",
        "MODULE",
        "SUBSYSTEM",
        "ORDER",
        "LOCATION",
    ];
    let mut rows: Vec<(usize, [String; 7])> = Vec::new();
    for (s, sequence) in sequences.iter().enumerate() {
        for (i, step) in sequence.steps.iter().enumerate() {
            rows.push((
                s,
                [
                    (i + 1).to_string(),
                    step.event.to_owned(),
                    step.name.clone(),
                    step.module.clone(),
                    key_cell(
                        &step.subsystem_written,
                        &subsystem_name(step.subsystem),
                        step.subsystem,
                    ),
                    key_cell(&step.order_written, &order_name(step.order), step.order),
                    format!("{}:{}", file_of(files, step), step.line),
                ],
            ));
        }
    }
    let mut widths = header.map(str::len);
    for (_, row) in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let mut text = String::from("  ");
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        text
    };
    for (s, sequence) in sequences.iter().enumerate() {
        let count = sequence.steps.len();
        let plural = if count == 1 { "" } else { "s" };
        writeln!(out, "{} ({count} step{plural})", sequence.name)?;
        if sequence.steps.is_empty() {
            writeln!(out, "  (nothing runs)")?;
            continue;
        }
        writeln!(out, "{}", line(&header.map(str::to_owned)))?;
        for (_, row) in rows.iter().filter(|(r, _)| *r == s) {
            writeln!(out, "{}", line(row))?;
        }
    }
    for module in model.modules.iter().filter(|m| !m.usable) {
        writeln!(
            out,
            "not loaded: module `{}` ({}:{}): the runtime refuses it (a dependency problem), so none of its steps run",
            module.name,
            files.get(module.site.file).map(|p| crate::diag::display_path(p)).unwrap_or_default(),
            module.site.line
        )?;
    }
    Ok(())
}

/// A key as a person reads it: how the source writes it, the runtime's name for it, and the value.
fn key_cell(written: &str, symbolic: &str, value: u32) -> String {
    if written == symbolic {
        format!("{symbolic} ({value:#x})")
    } else {
        format!("{written} = {symbolic} ({value:#x})")
    }
}

/// Node id of a step in the graphs: `h<N>` for a hook, `m<N>_<event>` for a module event.
fn node_id(model: &Model, step: &Step) -> String {
    match step.hook {
        Some(h) => format!("h{h}"),
        None => {
            let m = model
                .modules
                .iter()
                .position(|m| m.name == step.name)
                .unwrap_or(0);
            let event: String = step
                .event
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect();
            format!("m{m}_{}", event.to_ascii_lowercase())
        }
    }
}

/// Every distinct node of the sequences, grouped by module (`base` first).
fn clusters<'a>(
    model: &Model,
    sequences: &'a [Sequence],
) -> Vec<(String, Vec<(String, &'a Step)>)> {
    let mut groups: Vec<(String, Vec<(String, &Step)>)> = Vec::new();
    for step in sequences.iter().flat_map(|s| &s.steps) {
        let id = node_id(model, step);
        let group = match groups.iter_mut().find(|(m, _)| *m == step.module) {
            Some(g) => g,
            None => {
                groups.push((step.module.clone(), Vec::new()));
                groups.last_mut().expect("pushed")
            }
        };
        if !group.1.iter().any(|(n, _)| *n == id) {
            group.1.push((id, step));
        }
    }
    groups.sort_by_key(|(m, _)| (m != crate::model::BASE, m.clone()));
    groups
}

/// Module dependency edges as (from module, to module) names.
/// Every resolved dependency as (dependent module, dependency) indices into `model.modules`.
fn dependencies(model: &Model) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (a, m) in model.modules.iter().enumerate() {
        for d in &m.depends {
            if let Some(b) = d.resolved {
                out.push((a, b));
            }
        }
    }
    out
}

fn quote_dot(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz: modules as clusters, each sequence as a chain of edges, dependencies as dashed edges
/// between the modules' load events.
pub fn render_dot(model: &Model, sequences: &[Sequence], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "digraph vnet_order {{")?;
    writeln!(out, "  rankdir=TB;")?;
    writeln!(out, "  node [shape=box, fontname=\"monospace\"];")?;
    for (c, (module, nodes)) in clusters(model, sequences).iter().enumerate() {
        writeln!(out, "  subgraph cluster_{c} {{")?;
        writeln!(out, "    label={};", quote_dot(&format!("module {module}")))?;
        for (id, step) in nodes {
            let label = format!(
                "{} {}\\n{} {}",
                step.event,
                step.name,
                subsystem_name(step.subsystem),
                order_name(step.order)
            );
            writeln!(
                out,
                "    {id} [label={}];",
                quote_dot(&label).replace("\\\\n", "\\n")
            )?;
        }
        writeln!(out, "  }}")?;
    }
    for sequence in sequences {
        for (i, pair) in sequence.steps.windows(2).enumerate() {
            writeln!(
                out,
                "  {} -> {} [label={}];",
                node_id(model, &pair[0]),
                node_id(model, &pair[1]),
                quote_dot(&format!("{} {}", sequence.name, i + 2))
            )?;
        }
    }
    for (a, b) in dependencies(model) {
        writeln!(
            out,
            "  m{a}_modeventload -> m{b}_modeventload [style=dashed, label=\"depends on\"];"
        )?;
    }
    writeln!(out, "}}")
}

/// Mermaid: the same graph as a flowchart.
pub fn render_mermaid(
    model: &Model,
    sequences: &[Sequence],
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "flowchart TD")?;
    for (c, (module, nodes)) in clusters(model, sequences).iter().enumerate() {
        writeln!(out, "  subgraph cluster_{c} [\"module {module}\"]")?;
        for (id, step) in nodes {
            writeln!(
                out,
                "    {id}[\"{} {}<br/>{} {}\"]",
                step.event,
                step.name,
                subsystem_name(step.subsystem),
                order_name(step.order)
            )?;
        }
        writeln!(out, "  end")?;
    }
    for sequence in sequences {
        for (i, pair) in sequence.steps.windows(2).enumerate() {
            writeln!(
                out,
                "  {} -->|\"{} {}\"| {}",
                node_id(model, &pair[0]),
                sequence.name,
                i + 2,
                node_id(model, &pair[1])
            )?;
        }
    }
    for (a, b) in dependencies(model) {
        writeln!(
            out,
            "  m{a}_modeventload -.->|depends on| m{b}_modeventload"
        )?;
    }
    Ok(())
}
