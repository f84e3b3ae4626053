//! The crate's own tests after a port: each `#[test]` function of the package (unit tests in the
//! library's modules, integration tests under `tests/`) becomes `#[vnet_test]`, so that every test
//! runs in a fresh instance and tests that share ported statics run in parallel. Inner attributes
//! at the top of a test body (`#![allow(deprecated)]`) move onto the function as outer ones, which
//! means the same for a function.

use super::decl::node_range;
use super::edits::Edit;
use super::krate::Krate;
use super::rewrite::{line_indent, remove_lines, Runtime};
use std::path::PathBuf;

/// The edits switching every `#[test]` function of `krate`'s library and integration tests to
/// `#[vnet_test]` (examples and benches are binaries, not tests).
///
/// ```
/// use vnet_lint::fix::{krate::Krate, rewrite::Runtime, tests::switch_tests};
/// let text = "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {\n        #![allow(deprecated)]\n        assert!(true);\n    }\n}\n";
/// let krate = Krate::single("lib.rs".into(), text.into());
/// let edits: Vec<_> = switch_tests(&krate, &Runtime::default()).into_iter().map(|(_, e)| e).collect();
/// let (out, _) = vnet_lint::fix::edits::apply(text, &edits).unwrap();
/// assert_eq!(out, "#[cfg(test)]\nmod tests {\n    #[vnet_runtime::vnet_test]\n    #[allow(deprecated)]\n    fn t() {\n        assert!(true);\n    }\n}\n");
/// ```
pub fn switch_tests(krate: &Krate, runtime: &Runtime) -> Vec<(PathBuf, Edit)> {
    let mut out = Vec::new();
    for file in krate.files.values() {
        let other = file.module.first().map(String::as_str) == Some(super::krate::OTHER_CRATE);
        let under_tests = file.path.components().any(|c| c.as_os_str() == "tests");
        if (other && !under_tests) || !has_test_attribute(&file.text) {
            continue;
        }
        let Some(parsed) = krate.syntax(file) else {
            continue;
        };
        let mut visitor = Tests {
            text: &file.text,
            runtime,
            edits: Vec::new(),
        };
        syn::visit::Visit::visit_file(&mut visitor, &parsed);
        out.extend(visitor.edits.into_iter().map(|e| (file.path.clone(), e)));
    }
    out
}

struct Tests<'a> {
    text: &'a str,
    runtime: &'a Runtime,
    edits: Vec<Edit>,
}

impl<'ast> syn::visit::Visit<'ast> for Tests<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let test = f.attrs.iter().find(|a| {
            matches!(a.style, syn::AttrStyle::Outer)
                && a.path().is_ident("test")
                && matches!(a.meta, syn::Meta::Path(_))
        });
        if let Some(test) = test {
            let range = node_range(test);
            let indent = line_indent(self.text, range.start).unwrap_or("").to_owned();
            let mut replacement = format!("#[{}::vnet_test]", self.runtime.name);
            for inner in f
                .attrs
                .iter()
                .filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)))
            {
                let inner_range = node_range(inner);
                let written = &self.text[inner_range.clone()];
                // `#![allow(x)]` → `#[allow(x)]` on the function.
                let outer = written.replacen("#!", "#", 1).replacen("# !", "#", 1);
                replacement.push_str(&format!("\n{indent}{outer}"));
                self.edits.push(remove_lines(self.text, inner_range));
            }
            self.edits.push(Edit::new(range, replacement));
        }
        syn::visit::visit_item_fn(self, f);
    }
}

/// Whether `text` may hold a `#[test]` attribute: `test`, then `]` (conservative: a match in a comment
/// or string only costs a parse).
fn has_test_attribute(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices("test").any(|(at, _)| {
        let before_ok =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        before_ok && bytes[at + 4..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b']')
    })
}
