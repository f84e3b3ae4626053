//! The runtime dependency in `Cargo.toml`: found (also under another name) or added, keeping the file's
//! formatting and comments (`toml_edit`).

use super::rewrite::Runtime;
use toml_edit::{DocumentMut, Item, Table};

/// The package name of the runtime.
pub const PACKAGE: &str = "vnet-runtime";

/// How the runtime is named by the manifest's `[dependencies]`, if it is there.
///
/// ```
/// use vnet_lint::fix::cargo_toml::find_runtime;
/// let m = "[dependencies]\nrt = { package = \"vnet-runtime\", path = \"../rt\" }\n";
/// assert_eq!(find_runtime(m).unwrap().name, "rt");
/// ```
pub fn find_runtime(manifest: &str) -> Option<Runtime> {
    let doc: DocumentMut = manifest.parse().ok()?;
    let deps = doc.get("dependencies")?.as_table_like()?;
    for (key, value) in deps.iter() {
        let package = value
            .as_table_like()
            .and_then(|t| t.get("package"))
            .and_then(|p| p.as_str());
        if package == Some(PACKAGE) || (package.is_none() && key == PACKAGE) {
            return Some(Runtime {
                name: key.replace('-', "_"),
            });
        }
    }
    None
}

/// `manifest` with the runtime added to `[dependencies]` (a path dependency when `path` is given,
/// else the lint's own version), or `None` when it is already there or the file is not TOML.
pub fn add_runtime(manifest: &str, path: Option<&str>) -> Option<String> {
    if find_runtime(manifest).is_some() {
        return None;
    }
    let mut doc: DocumentMut = manifest.parse().ok()?;
    if doc.get("dependencies").is_none() {
        doc.insert("dependencies", Item::Table(Table::new()));
    }
    let deps = doc.get_mut("dependencies")?.as_table_like_mut()?;
    let version = env!("CARGO_PKG_VERSION");
    let value = match path {
        Some(path) => {
            let mut table = toml_edit::InlineTable::new();
            table.insert("version", version.into());
            table.insert("path", path.into());
            toml_edit::value(table)
        }
        None => toml_edit::value(version),
    };
    deps.insert(PACKAGE, value);
    Some(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_adds_once() {
        let m = "[package]\nname = \"x\" # the name\n\n[dependencies]\n# logging\nlog = \"0.4\"\n";
        let out = add_runtime(m, Some("../vnet-runtime")).expect("added");
        assert!(
            out.starts_with(
                "[package]\nname = \"x\" # the name\n\n[dependencies]\n# logging\nlog = \"0.4\"\n"
            ),
            "{out}"
        );
        assert!(out.contains("vnet-runtime = { version = "), "{out}");
        assert!(add_runtime(&out, None).is_none());
        assert_eq!(find_runtime(&out).expect("found").name, "vnet_runtime");
    }

    #[test]
    fn creates_the_table() {
        let out = add_runtime("[package]\nname = \"x\"\n", None).expect("added");
        assert!(out.contains("[dependencies]\nvnet-runtime = \""), "{out}");
    }
}
