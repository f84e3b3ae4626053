//! One `SI_SUB_*`/`SI_ORDER_*` table: the runtime's (`src/subsystem.rs`) is
//! the source, and the copies the attribute macros (`vnet-macros/src/symbol.rs`)
//! and the lint (`vnet-lint/src/model/keys.rs`) keep must equal it, name for
//! name and value for value. Neither copy can be compiled in here (the macros
//! are a proc-macro crate), so both are read as text: every `("SI_…", value)`
//! pair, every `const SI_…: u32 = value;` and every `SI_… = value,` entry of
//! a table-defining macro in the file.

use std::collections::BTreeMap;
use std::path::Path;

use vnet_runtime::subsystem;

/// Parses `0x…` or decimal, with `_` separators.
fn number(text: &str) -> Option<u32> {
    let text = text.trim().replace('_', "");
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Every `SI_*` name with its value in `text`: `("SI_X", 0x…)` table rows
/// and `const SI_X: u32 = 0x…;` items.
fn table_in(text: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("SI_") {
        let after = &rest[at..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let tail = &after[name.len()..];
        // `"SI_X", 0x1`  or  `SI_X: u32 = 0x1`
        let value = if let Some(row) = tail.strip_prefix('"') {
            row.trim_start()
                .strip_prefix(',')
                .and_then(|v| number(v.split([')', ',']).next().unwrap_or_default()))
        } else if let Some(item) = tail.strip_prefix(": u32 =") {
            number(item.split(';').next().unwrap_or_default())
        } else if let Some(entry) = tail.strip_prefix(" = ") {
            // `SI_X = 0x1,` inside a table-defining macro call.
            number(entry.split([',', '\n']).next().unwrap_or_default())
        } else {
            None
        };
        let preceded_by_const = rest[..at].trim_end().ends_with("const");
        let macro_entry = tail.starts_with(" = ") && rest[..at].ends_with(char::is_whitespace);
        if let Some(value) = value {
            if tail.starts_with('"') || preceded_by_const || macro_entry {
                if let Some(old) = out.insert(name.clone(), value) {
                    assert_eq!(old, value, "{name} has two values in one file");
                }
            }
        }
        rest = &after[name.len().max(3)..];
    }
    out
}

fn runtime_table() -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = subsystem::SUBSYSTEMS
        .iter()
        .chain(subsystem::ORDERS)
        .map(|(n, v)| ((*n).to_owned(), *v))
        .collect();
    out.insert("SI_SUB_VNET".to_owned(), subsystem::SI_SUB_VNET);
    out.insert("SI_SUB_VNET_DONE".to_owned(), subsystem::SI_SUB_VNET_DONE);
    out
}

fn copy(relative: &str) -> BTreeMap<String, u32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} holds a copy of the SI_* table: {e}", path.display()));
    table_in(&text)
}

/// What differs between `source` and `copy`, one line per name.
fn differences(source: &BTreeMap<String, u32>, copy: &BTreeMap<String, u32>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in source {
        match copy.get(name) {
            None => out.push(format!("{name} = {value:#x} is missing")),
            Some(v) if v != value => out.push(format!("{name} is {v:#x}, not {value:#x}")),
            Some(_) => {}
        }
    }
    for name in copy.keys().filter(|n| !source.contains_key(*n)) {
        out.push(format!("{name} is not in the runtime's table"));
    }
    out
}

#[test]
fn the_runtime_reads_its_own_table_as_text_too() {
    // The text reader is what checks the copies: it must see the runtime's
    // own file exactly as the compiled constants say.
    let source = runtime_table();
    assert!(source.len() > 80, "{} names", source.len());
    assert_eq!(
        differences(&source, &copy("vnet-runtime/src/subsystem.rs")),
        Vec::<String>::new()
    );
}

#[test]
fn the_macros_copy_is_the_runtime_table() {
    let diff = differences(&runtime_table(), &copy("vnet-macros/src/symbol.rs"));
    assert!(
        diff.is_empty(),
        "vnet-macros/src/symbol.rs differs from vnet-runtime/src/subsystem.rs (the source):\n{}",
        diff.join("\n")
    );
}

#[test]
fn the_lints_copy_is_the_runtime_table() {
    let diff = differences(&runtime_table(), &copy("vnet-lint/src/model/keys.rs"));
    assert!(
        diff.is_empty(),
        "vnet-lint/src/model/keys.rs differs from vnet-runtime/src/subsystem.rs (the source):\n{}",
        diff.join("\n")
    );
}

#[test]
fn a_changed_value_is_caught() {
    let mut copy = runtime_table();
    *copy.get_mut("SI_ORDER_ANY").expect("SI_ORDER_ANY") += 1;
    copy.remove("SI_SUB_VNET");
    copy.insert("SI_SUB_INVENTED".to_owned(), 7);
    let diff = differences(&runtime_table(), &copy);
    assert_eq!(diff.len(), 3, "{diff:?}");
    assert_eq!(
        table_in("const SI_SUB_X: u32 = 0x10;\n(\"SI_ORDER_Y\", 3),"),
        BTreeMap::from([("SI_ORDER_Y".to_owned(), 3), ("SI_SUB_X".to_owned(), 16)])
    );
}
