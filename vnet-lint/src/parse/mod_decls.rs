//! The `mod name;` declarations of a file, read from its text (also in files the prefilter skips, and
//! inside macros such as `cfg_loom! { mod tests; }`).

/// A `mod name;` declaration: the module's file is elsewhere.
#[derive(Debug, Default)]
pub struct ModDecl {
    /// The module's name.
    pub name: String,
    /// The value of a `#[path = "…"]` attribute on it.
    pub path: Option<String>,
    /// Whether a `cfg` on it requires `test` (`#[cfg(test)]`, `#[cfg(all(test, unix))]`).
    pub test: bool,
}

/// The `mod name;` declarations of a file, read line by line (the file may be one the prefilter skips, and
/// declarations inside macros such as `cfg_loom! { mod tests; }` count too). Attributes on the lines above
/// or before the `mod` on its line apply.
pub fn mod_decls(text: &str) -> Vec<ModDecl> {
    if memchr::memmem::find(text.as_bytes(), b"mod ").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut pending = ModDecl::default();
    for line in text.lines() {
        let mut rest = line.trim();
        while let Some(attr) = rest.strip_prefix("#[") {
            let Some(end) = attr.find(']') else { break };
            let (inner, after) = (&attr[..end], &attr[end + 1..]);
            // `cfg(…)` holds no `]`, and a path's string rarely does.
            let inner = inner.trim();
            let cfg = inner.strip_prefix("cfg").map(str::trim_start);
            if let Some(cfg) = cfg.filter(|c| c.starts_with('(') && c.contains("test")) {
                if let Ok(tokens) = cfg.parse::<proc_macro2::TokenStream>() {
                    pending.test |= super::cfg::cfg_requires_test(tokens);
                }
            } else if let Some(value) = inner.strip_prefix("path").map(str::trim_start) {
                if let Some(value) = value.strip_prefix('=') {
                    pending.path = Some(value.trim().trim_matches('"').to_owned());
                }
            }
            rest = after.trim_start();
        }
        if rest.is_empty() && line.trim().starts_with("#[") || rest.starts_with("//") {
            continue;
        }
        let after_vis = match rest.strip_prefix("pub") {
            Some(vis) if vis.starts_with('(') => vis.find(')').map_or(vis, |i| &vis[i + 1..]),
            Some(vis) => vis,
            None => rest,
        };
        let decl = after_vis
            .trim_start()
            .strip_prefix("mod ")
            .and_then(|r| r.trim().strip_suffix(';'));
        match decl {
            Some(name) if !rest.is_empty() => {
                let mut found = std::mem::take(&mut pending);
                found.name = name.trim().trim_start_matches("r#").to_owned();
                out.push(found);
            }
            _ if rest.is_empty() => {}
            _ => pending = ModDecl::default(),
        }
    }
    out
}
