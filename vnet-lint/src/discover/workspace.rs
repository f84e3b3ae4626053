//! What to lint when no path is given: the source roots of the package or workspace around the current
//! directory, found with `cargo metadata`.

use anyhow::{bail, Context as _, Result};
use cargo_metadata::{MetadataCommand, TargetKind};
use std::path::{Path, PathBuf};

/// How the user selected packages (cargo's `--manifest-path`, `-p`, `--workspace`).
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `--manifest-path`.
    pub manifest_path: Option<PathBuf>,
    /// `-p/--package`, repeatable.
    pub packages: Vec<String>,
    /// `--workspace`.
    pub workspace: bool,
}

/// A crate to lint: where its sources are and what its module paths start with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRoot {
    /// The crate name as code spells it (`-` replaced by `_`).
    pub crate_name: String,
    /// The directory of the crate root file (`src/` for `src/lib.rs`).
    pub dir: PathBuf,
    /// The package directory, where configuration is looked up.
    pub package_dir: PathBuf,
}

/// Finds the source roots of the selected packages.
pub fn discover(selection: &Selection, include_tests: bool) -> Result<Vec<SourceRoot>> {
    discover_with_dependencies(selection, include_tests).map(|(roots, _)| roots)
}

/// The source roots of the selected packages, and of their path dependencies (at any depth) that
/// depend on `vnet-runtime`, which the init-order model reads for context.
pub fn discover_with_dependencies(
    selection: &Selection,
    include_tests: bool,
) -> Result<(Vec<SourceRoot>, Vec<SourceRoot>)> {
    let mut command = MetadataCommand::new();
    command.no_deps();
    if let Some(path) = &selection.manifest_path {
        command.manifest_path(path);
    }
    let metadata = command.exec().context("`cargo metadata` failed")?;
    let members = metadata.workspace_packages();
    let packages: Vec<_> = if !selection.packages.is_empty() {
        let mut chosen = Vec::new();
        for name in &selection.packages {
            match members.iter().find(|p| p.name.as_str() == name) {
                Some(package) => chosen.push(*package),
                None => bail!("package `{name}` is not a member of the workspace"),
            }
        }
        chosen
    } else if selection.workspace {
        members
    } else if let Some(root) = metadata.root_package() {
        vec![root]
    } else {
        metadata.workspace_default_packages()
    };
    let mut roots: Vec<SourceRoot> = Vec::new();
    let mut pending: Vec<PathBuf> = Vec::new();
    for package in &packages {
        for dep in &package.dependencies {
            if let (Some(path), cargo_metadata::DependencyKind::Normal) = (&dep.path, dep.kind) {
                pending.push(path.as_std_path().to_path_buf());
            }
        }
    }
    for package in packages {
        let package_dir = package
            .manifest_path
            .parent()
            .map(|p| p.as_std_path().to_path_buf())
            .unwrap_or_default();
        for target in &package.targets {
            let wanted = target.kind.iter().any(|kind| match kind {
                TargetKind::Lib
                | TargetKind::RLib
                | TargetKind::DyLib
                | TargetKind::CDyLib
                | TargetKind::StaticLib
                | TargetKind::ProcMacro
                | TargetKind::Bin => true,
                TargetKind::Test | TargetKind::Bench | TargetKind::Example => include_tests,
                _ => false,
            });
            let Some(dir) = target.src_path.parent() else {
                continue;
            };
            let dir = dir.as_std_path().to_path_buf();
            if wanted && !roots.iter().any(|root| dir.starts_with(&root.dir)) {
                roots.retain(|root| !root.dir.starts_with(&dir));
                roots.push(SourceRoot {
                    crate_name: package.name.replace('-', "_"),
                    dir,
                    package_dir: package_dir.clone(),
                });
            }
        }
    }
    let mut context: Vec<SourceRoot> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    while let Some(dir) = pending.pop() {
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir.clone());
        let Some(table) = std::fs::read_to_string(dir.join("Cargo.toml"))
            .ok()
            .and_then(|text| text.parse::<toml::Table>().ok())
        else {
            continue;
        };
        let Some(name) = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
        else {
            continue;
        };
        let deps = table.get("dependencies").and_then(|d| d.as_table());
        let uses_runtime = deps.is_some_and(|d| d.contains_key("vnet-runtime"));
        for (_, spec) in deps.into_iter().flatten() {
            if let Some(path) = spec.get("path").and_then(|p| p.as_str()) {
                pending.push(dir.join(path));
            }
        }
        let src = dir.join("src");
        let selected = roots.iter().any(|r| r.dir.starts_with(&dir));
        if uses_runtime && !selected && name != "vnet-runtime" && src.is_dir() {
            context.push(SourceRoot {
                crate_name: name.replace('-', "_"),
                dir: src,
                package_dir: dir,
            });
        }
    }
    Ok((roots, context))
}

/// The crate a file given on the command line belongs to: the nearest `src` directory above it, named by
/// the package in the `Cargo.toml` beside that directory (or by the directory holding it).
pub fn root_for_path(file: &Path) -> Option<SourceRoot> {
    let src = file
        .ancestors()
        .skip(1)
        .find(|dir| dir.file_name().is_some_and(|n| n == "src"))?;
    let package_dir = src.parent()?.to_path_buf();
    let name = std::fs::read_to_string(package_dir.join("Cargo.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| {
            table
                .get("package")?
                .get("name")?
                .as_str()
                .map(str::to_owned)
        })
        .or_else(|| {
            package_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })?;
    Some(SourceRoot {
        crate_name: name.replace('-', "_"),
        dir: src.to_path_buf(),
        package_dir,
    })
}

/// The module path of `file` in `root`: `netstack::net::ip` for `src/net/ip.rs` or `src/net/ip/mod.rs`.
pub fn module_path(root: &SourceRoot, file: &Path) -> String {
    let mut path = vec![root.crate_name.clone()];
    if let Ok(relative) = file.strip_prefix(&root.dir) {
        let parts: Vec<String> = relative
            .with_extension("")
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        let last = parts.len().saturating_sub(1);
        for (i, part) in parts.into_iter().enumerate() {
            let crate_root = i == 0 && last == 0 && (part == "lib" || part == "main");
            if !(crate_root || (i == last && part == "mod")) {
                path.push(part);
            }
        }
    }
    path.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_files() {
        let root = SourceRoot {
            crate_name: "net".into(),
            dir: "/c/src".into(),
            package_dir: "/c".into(),
        };
        assert_eq!(module_path(&root, Path::new("/c/src/lib.rs")), "net");
        assert_eq!(module_path(&root, Path::new("/c/src/ip/mod.rs")), "net::ip");
        assert_eq!(
            module_path(&root, Path::new("/c/src/ip/route.rs")),
            "net::ip::route"
        );
    }
}
