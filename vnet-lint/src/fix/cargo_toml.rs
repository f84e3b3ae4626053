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

/// The oldest Rust the runtime builds with (its `rust-version`).
pub const RUNTIME_RUST_VERSION: &str = "1.95";

/// `manifest` with `package.rust-version` raised to `at_least` when it names an older Rust, or
/// `None` when it is absent (no promise to keep), inherited from the workspace, or new enough.
///
/// ```
/// use vnet_lint::fix::cargo_toml::raise_rust_version;
/// let m = "[package]\nname = \"x\"\nrust-version = \"1.70\" # MSRV\n";
/// assert_eq!(raise_rust_version(m, "1.85").unwrap(), "[package]\nname = \"x\"\nrust-version = \"1.85\" # MSRV\n");
/// assert_eq!(raise_rust_version("[package]\nrust-version = \"1.88\"\n", "1.85"), None);
/// ```
pub fn raise_rust_version(manifest: &str, at_least: &str) -> Option<String> {
    let mut doc: DocumentMut = manifest.parse().ok()?;
    let package = doc.get_mut("package")?.as_table_like_mut()?;
    let item = package.get_mut("rust-version")?;
    let value = item.as_value_mut()?;
    let current = value.as_str()?.to_owned();
    let parse = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    if parse(&current) >= parse(at_least) {
        return None;
    }
    let decor = value.decor().clone();
    *value = at_least.into();
    *value.decor_mut() = decor;
    Some(doc.to_string())
}

/// `manifest` with the runtime's `default-features = false` and the crate's `feature` (the one
/// that brings `std` back) turning on the runtime's `std` and `vimage`: the crate's `std` build is
/// virtualized, its `no_std` build keeps plain statics. `None` when it is wired already (or the
/// runtime is not a dependency, or the file is not TOML).
///
/// ```
/// use vnet_lint::fix::cargo_toml::wire_std_feature;
/// let m = "[features]\nstd = []\n\n[dependencies]\nvnet-runtime = \"0.1.0\"\n";
/// let out = wire_std_feature(m, "std").unwrap();
/// assert!(out.contains("std = [\"vnet-runtime/std\", \"vnet-runtime/vimage\"]"), "{out}");
/// assert!(out.contains("default-features = false"), "{out}");
/// assert_eq!(wire_std_feature(&out, "std"), None);
/// ```
pub fn wire_std_feature(manifest: &str, feature: &str) -> Option<String> {
    let runtime = find_runtime(manifest)?;
    let mut doc: DocumentMut = manifest.parse().ok()?;
    let key = {
        let deps = doc.get("dependencies")?.as_table_like()?;
        deps.iter()
            .map(|(k, _)| k.to_owned())
            .find(|k| k.replace('-', "_") == runtime.name)?
    };
    let deps = doc.get_mut("dependencies")?.as_table_like_mut()?;
    let dep = deps.get_mut(&key)?;
    let inherited = dep
        .as_table_like()
        .is_some_and(|t| t.get("workspace").is_some());
    if let Some(version) = dep.as_str().map(str::to_owned) {
        let mut table = toml_edit::InlineTable::new();
        table.insert("version", version.into());
        *dep = toml_edit::value(table);
    }
    if let Some(table) = dep.as_table_like_mut() {
        if !inherited && table.get("default-features").and_then(|d| d.as_bool()) != Some(false) {
            table.insert("default-features", toml_edit::value(false));
        }
    }
    if let Some(inline) = dep.as_inline_table_mut() {
        inline.fmt();
    }
    if doc.get("features").is_none() {
        doc.insert("features", Item::Table(Table::new()));
    }
    let features = doc.get_mut("features")?.as_table_like_mut()?;
    if features.get(feature).is_none() {
        features.insert(feature, toml_edit::value(toml_edit::Array::new()));
    }
    let list = features.get_mut(feature)?.as_array_mut()?;
    for wanted in ["std", "vimage"] {
        let entry = format!("{key}/{wanted}");
        if !list.iter().any(|v| v.as_str() == Some(entry.as_str())) {
            list.push(entry);
        }
    }
    let out = doc.to_string();
    (out != manifest).then_some(out)
}

/// `manifest` with the runtime in `[dev-dependencies]` with `vimage` on, so that the crate's tests,
/// doc tests and examples always get instances and `#[vnet_test]` (also when the crate's `std`
/// feature is off). `None` when it is there already.
///
/// ```
/// use vnet_lint::fix::cargo_toml::add_test_runtime;
/// let out = add_test_runtime("[package]\nname = \"x\"\n", Some("../rt")).unwrap();
/// assert!(out.contains("[dev-dependencies]\nvnet-runtime = { version = "), "{out}");
/// assert!(out.contains("features = [\"vimage\"]"), "{out}");
/// assert_eq!(add_test_runtime(&out, None), None);
/// ```
pub fn add_test_runtime(manifest: &str, path: Option<&str>) -> Option<String> {
    let mut doc: DocumentMut = manifest.parse().ok()?;
    if doc.get("dev-dependencies").is_none() {
        doc.insert("dev-dependencies", Item::Table(Table::new()));
    }
    let deps = doc.get_mut("dev-dependencies")?.as_table_like_mut()?;
    if deps.get(PACKAGE).is_some() {
        return None;
    }
    let mut table = toml_edit::InlineTable::new();
    table.insert("version", env!("CARGO_PKG_VERSION").into());
    if let Some(path) = path {
        table.insert("path", path.into());
    }
    let mut features = toml_edit::Array::new();
    features.push("vimage");
    table.insert("features", features.into());
    deps.insert(PACKAGE, toml_edit::value(table));
    Some(doc.to_string())
}

/// `manifest` without the dependency `name` in `[dependencies]` (a crate the port no longer uses),
/// or `None` when it is not there.
///
/// ```
/// use vnet_lint::fix::cargo_toml::remove_dependency;
/// let m = "[dependencies]\nvnet-runtime = \"0.1\"\n\n[dependencies.lazy_static]\nversion = \"1\"\n";
/// assert_eq!(remove_dependency(m, "lazy_static").unwrap(), "[dependencies]\nvnet-runtime = \"0.1\"\n");
/// assert_eq!(remove_dependency(m, "log"), None);
/// ```
pub fn remove_dependency(manifest: &str, name: &str) -> Option<String> {
    let mut doc: DocumentMut = manifest.parse().ok()?;
    let deps = doc.get_mut("dependencies")?.as_table_like_mut()?;
    deps.remove(name)?;
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

    #[test]
    fn wires_a_std_feature_keeping_the_rest() {
        let m = "[package]\nname = \"log\"\n\n[features]\n# the standard library\nstd = [\"serde?/std\"]\n\n[dependencies]\nvnet-runtime = { version = \"0.1.0\", path = \"../rt\" }\n";
        let out = wire_std_feature(m, "std").expect("wired");
        assert!(out.contains("# the standard library\nstd = [\"serde?/std\", \"vnet-runtime/std\", \"vnet-runtime/vimage\"]"), "{out}");
        assert!(out.contains("vnet-runtime = { version = \"0.1.0\", path = \"../rt\", default-features = false }"), "{out}");
        assert!(wire_std_feature(&out, "std").is_none());
    }
}
