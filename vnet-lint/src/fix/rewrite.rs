//! The declaration's own edits: `#[vnet]` on the item, `mut` dropped, the type and initializer of a
//! `static mut` or `lazy_static!` item rewritten; and the once-per-file import of the attribute.

use super::decl::{Decl, Kind};
use super::edits::Edit;

/// How the runtime is named in code (`vnet_runtime`, or the key of a renamed dependency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// The crate name as code spells it.
    pub name: String,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            name: "vnet_runtime".into(),
        }
    }
}

impl Runtime {
    /// The attribute for `decl`: `#[vnet]` where the file's import reaches, the full path elsewhere;
    /// `crate = ::name` when the runtime is renamed.
    pub fn attribute(&self, decl: &Decl) -> String {
        let args = if self.name == "vnet_runtime" {
            String::new()
        } else {
            format!("(crate = ::{})", self.name)
        };
        if decl.in_inline_mod {
            format!("#[::{}::vnet{args}]", self.name)
        } else {
            format!("#[vnet{args}]")
        }
    }

    /// `use vnet_runtime::vnet;`
    pub fn import(&self) -> String {
        format!("use {}::vnet;", self.name)
    }

    /// `extern crate vnet_runtime;`, which an edition 2015 crate root needs.
    pub fn extern_crate(&self) -> String {
        format!("extern crate {};", self.name)
    }
}

/// Whitespace from the start of the line of `at` to `at`, if only whitespace precedes it there.
pub fn line_indent(text: &str, at: usize) -> Option<&str> {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[start..at];
    before
        .chars()
        .all(|c| c == ' ' || c == '\t')
        .then_some(before)
}

fn reindent(text: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let count = text.split('\n').count();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 && i + 1 < count && line.trim().is_empty() {
            // A blank line stays blank (no trailing whitespace).
            out.push('\n');
        } else if i > 0 {
            out.push('\n');
            out.push_str(to);
            out.push_str(line.strip_prefix(from).unwrap_or(line.trim_start()));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// The edits of the declaration itself (for `lazy_static!` items: the item moved out of the macro).
pub fn decl_edits(decl: &Decl, text: &str, runtime: &Runtime) -> Vec<Edit> {
    let attr = runtime.attribute(decl);
    let ty = &text[decl.ty.clone()];
    let init = &text[decl.init.clone()];
    if decl.kind == Kind::Lazy {
        let lazy = decl.lazy.as_ref().expect("a lazy_static item");
        return vec![
            remove_lines(text, decl.item.clone()),
            Edit::new(
                lazy.invocation.end..lazy.invocation.end,
                format!(
                    "\n{}{}",
                    invocation_indent(text, lazy),
                    lazy_item(decl, text, runtime)
                ),
            ),
        ];
    }
    let _ = ty;
    let mut edits = Vec::new();
    let head = match line_indent(text, decl.head) {
        Some(indent)
            if !indent.is_empty() || decl.head == 0 || text[..decl.head].ends_with('\n') =>
        {
            format!("{attr}\n{indent}")
        }
        _ => format!("{attr} "),
    };
    edits.push(Edit::new(decl.head..decl.head, head));
    if let Some(m) = &decl.mut_token {
        let rest = &text[m.end..];
        let ws = rest.len() - rest.trim_start().len();
        edits.push(Edit::new(m.start..m.end + ws, ""));
    }
    match decl.kind {
        Kind::Atomic(atomic) => {
            edits.push(Edit::new(
                decl.ty.clone(),
                format!("std::sync::atomic::{atomic}"),
            ));
            edits.push(Edit::new(
                decl.init.clone(),
                format!("std::sync::atomic::{atomic}::new({init})"),
            ));
        }
        Kind::Cell => {
            let rt = &runtime.name;
            edits.push(Edit::new(decl.ty.clone(), format!("{rt}::StaticMut<{ty}>")));
            edits.push(Edit::new(
                decl.init.clone(),
                format!("{rt}::StaticMut::new({init})"),
            ));
        }
        Kind::Lock => {
            edits.push(Edit::new(
                decl.ty.clone(),
                format!("std::sync::Mutex<{ty}>"),
            ));
            edits.push(Edit::new(
                decl.init.clone(),
                format!("std::sync::Mutex::new({init})"),
            ));
        }
        _ => {}
    }
    edits
}

fn invocation_indent<'t>(text: &'t str, lazy: &super::decl::LazyItem) -> &'t str {
    line_indent(text, lazy.invocation.start).unwrap_or("")
}

/// The `#[vnet] static NAME: LazyLock<T> = LazyLock::new(|| init);` item of a `lazy_static!` item,
/// indented for the invocation's line.
pub fn lazy_item(decl: &Decl, text: &str, runtime: &Runtime) -> String {
    let lazy = decl.lazy.as_ref().expect("a lazy_static item");
    let to = invocation_indent(text, lazy);
    let from = line_indent(text, decl.item.start).unwrap_or("");
    // Attributes and doc comments, each line at the item's new indent; `#[vnet]` on a line of its own.
    let attrs = reindent(&text[decl.item.start..decl.head], from, to);
    let attrs = attrs.trim_end();
    let attrs = if attrs.is_empty() {
        String::new()
    } else {
        format!("{attrs}\n{to}")
    };
    let vis = if decl.vis.is_empty() {
        String::new()
    } else {
        format!("{} ", decl.vis)
    };
    let ty = reindent(&text[decl.ty.clone()], from, to);
    let init = reindent(&text[decl.init.clone()], from, to);
    format!(
        "{attrs}{}\n{to}{vis}static {}: std::sync::LazyLock<{ty}> = std::sync::LazyLock::new(|| {init});",
        runtime.attribute(decl),
        decl.name
    )
}

/// Removes `range` with the whole lines it occupies when nothing else is on them.
pub fn remove_lines(text: &str, range: std::ops::Range<usize>) -> Edit {
    let line_start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let start = if text[line_start..range.start].trim().is_empty() {
        line_start
    } else {
        range.start
    };
    let rest = &text[range.end..];
    let line_end = rest.find('\n').map_or(text.len(), |i| range.end + i + 1);
    let end = if text[range.end..line_end].trim().is_empty() {
        line_end
    } else {
        range.end
    };
    Edit::new(start..end, "")
}

/// The whole `lazy_static!` invocation replaced by its ported items, when every item is ported.
pub fn whole_invocation(decls: &[&Decl], text: &str, runtime: &Runtime) -> Edit {
    let lazy = decls[0].lazy.as_ref().expect("a lazy_static item");
    let indent = invocation_indent(text, lazy);
    let mut end = lazy.invocation.end;
    if text[end..].starts_with(';') {
        end += 1;
    }
    let mut out = String::new();
    for (i, d) in decls.iter().enumerate() {
        if i > 0 {
            // Keep what lies between items (blank lines, comments), re-indented.
            let between = &text[decls[i - 1].item.end..d.item.start];
            let from = line_indent(text, d.item.start).unwrap_or("");
            out.push_str(&reindent(between, from, indent));
        }
        out.push_str(&lazy_item(d, text, runtime));
    }
    Edit::new(lazy.invocation.start..end, out)
}

/// The edit adding `use vnet_runtime::vnet;` to a file, unless it already imports `vnet`.
pub fn import_edit(text: &str, runtime: &Runtime) -> Option<Edit> {
    let file = super::parse(text).ok()?;
    for item in &file.items {
        if let syn::Item::Use(u) = item {
            if imports_vnet(&u.tree) {
                return None;
            }
        }
    }
    // After the first block of `use` items, if there is one.
    let mut block_end = None;
    for item in &file.items {
        match item {
            syn::Item::Use(u) => block_end = Some(super::decl::node_range(u).end),
            _ if block_end.is_some() => break,
            _ => {}
        }
    }
    if let Some(end) = block_end {
        return Some(Edit::new(end..end, format!("\n{}", runtime.import())));
    }
    let first = file.items.first()?;
    let start = super::decl::node_range(first).start;
    // Put it after the first item's doc comments? No: before the item and its attributes.
    Some(Edit::new(start..start, format!("{}\n\n", runtime.import())))
}

/// The edit declaring, at a library's root, that its statics fall back to vnet0 on a thread with no
/// current instance (`vnet_runtime::fallback_to_vnet0!();`), unless it is there: callers without
/// instances (doc tests, examples, binaries written before the port) keep working.
///
/// ```
/// use vnet_lint::fix::rewrite::{fallback_edit, Runtime};
/// let text = "//! Docs.\nuse std::fmt;\n\nfn f() {}\n";
/// let edit = fallback_edit(text, &Runtime::default()).unwrap();
/// let (out, _) = vnet_lint::fix::edits::apply(text, &[edit]).unwrap();
/// assert!(out.starts_with("//! Docs.\nuse std::fmt;\n\n// Callers with no current vnet instance"), "{out}");
/// assert!(fallback_edit(&out, &Runtime::default()).is_none());
/// ```
pub fn fallback_edit(text: &str, runtime: &Runtime) -> Option<Edit> {
    if text.contains("fallback_to_vnet0!") {
        return None;
    }
    let file = super::parse(text).ok()?;
    let line = format!(
        "// Callers with no current vnet instance (doc tests, examples, binaries that do not use\n\
         // instances) work on vnet0's copy of this crate's statics.\n{}::fallback_to_vnet0!();\n",
        runtime.name
    );
    // After the first block of `use` items and `extern crate`s, if there is one.
    let mut block_end = None;
    for item in &file.items {
        match item {
            // `extern crate lazy_static;` goes when the port replaces every `lazy_static!`.
            syn::Item::ExternCrate(e) if e.ident == "lazy_static" => {}
            syn::Item::Use(_) | syn::Item::ExternCrate(_) => {
                block_end = Some(super::decl::node_range(item).end)
            }
            _ if block_end.is_some() => break,
            _ => {}
        }
    }
    if let Some(end) = block_end {
        let rest = &text[end..];
        let at = end + rest.find('\n').map_or(rest.len(), |i| i + 1);
        return Some(Edit::new(at..at, format!("\n{line}")));
    }
    let start = super::decl::node_range(file.items.first()?).start;
    Some(Edit::new(start..start, format!("{line}\n")))
}

fn imports_vnet(tree: &syn::UseTree) -> bool {
    crate::parse::uses::flatten(tree)
        .iter()
        .any(|u| u.alias.as_deref() == Some("vnet"))
}

/// The edit adding `extern crate vnet_runtime;` before the first item of a crate root (edition 2015),
/// unless it is there.
pub fn extern_crate_edit(text: &str, runtime: &Runtime) -> Option<Edit> {
    let file = super::parse(text).ok()?;
    let present = file
        .items
        .iter()
        .any(|item| matches!(item, syn::Item::ExternCrate(e) if e.ident == runtime.name.as_str()));
    if present {
        return None;
    }
    let start = super::decl::node_range(file.items.first()?).start;
    Some(Edit::new(
        start..start,
        format!("{}\n", runtime.extern_crate()),
    ))
}
