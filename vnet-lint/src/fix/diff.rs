//! `--diff`: the unified diff of what `--fix` would write.

use similar::TextDiff;

/// The unified diff of one file, with `a/` and `b/` headers; empty when nothing changes.
///
/// ```
/// let d = vnet_lint::fix::diff::unified("src/lib.rs", "a\n", "b\n");
/// assert!(d.contains("-a\n+b\n"));
/// ```
pub fn unified(name: &str, old: &str, new: &str) -> String {
    if old == new {
        return String::new();
    }
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string()
}
