//! The crate's files as a module tree: the names by which paths reach each file's module, and which
//! files are test code only (declared by a test-only `mod name;`, at any depth).

use crate::diag::FileId;
use crate::model::types::TypeTable;
use crate::parse::mod_decls::ModDecl;
use crate::parse::shape::TypeDef;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The names by which paths may reach the module of the file at `path`: its own name (`offset` for
/// `offset.rs` and `offset/mod.rs`, `crate` for a crate root), and for a crate root also the package's
/// directory name as a crate name (`vnet_runtime` for `vnet-runtime/src/lib.rs`).
pub fn module_names(path: &Path) -> Vec<String> {
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().replace('-', "_"))
    };
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    match stem.as_deref() {
        Some("mod") => name(path.parent()).into_iter().collect(),
        Some("lib" | "main") => {
            let dir = path.parent();
            let package = match dir.and_then(Path::file_name) {
                Some(src) if src == "src" => dir.and_then(Path::parent),
                _ => dir,
            };
            std::iter::once("crate".to_owned())
                .chain(name(package))
                .collect()
        }
        Some(stem) => vec![stem.to_owned()],
        None => Vec::new(),
    }
}

/// The files that are test code only: those declared by a test-only `mod name;`, and every module file
/// declared by one of those, at any depth. Files loaded with `#[path]` own their directory, as in rustc.
pub fn test_files(files: &[PathBuf], decls: &[Vec<ModDecl>]) -> HashSet<PathBuf> {
    let index: HashMap<PathBuf, FileId> = files
        .iter()
        .enumerate()
        .map(|(id, path)| (lexical(path), id))
        .collect();
    let mut path_loaded = HashSet::new();
    for (file, decls) in decls.iter().enumerate() {
        for decl in decls {
            if let (Some(path), Some(dir)) = (&decl.path, files[file].parent()) {
                path_loaded.insert(lexical(&dir.join(path)));
            }
        }
    }
    let children = |file: FileId, decl: &ModDecl| -> Vec<PathBuf> {
        let path = &files[file];
        let Some(dir) = path.parent() else {
            return Vec::new();
        };
        if let Some(target) = &decl.path {
            return vec![lexical(&dir.join(target))];
        }
        let owns_dir = path
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs")
            || path_loaded.contains(&lexical(path));
        let base = if owns_dir {
            dir.to_path_buf()
        } else {
            dir.join(path.file_stem().unwrap_or_default())
        };
        vec![
            lexical(&base.join(format!("{}.rs", decl.name))),
            lexical(&base.join(&decl.name).join("mod.rs")),
        ]
    };
    let mut test = HashSet::new();
    let mut work: Vec<FileId> = Vec::new();
    let mark = |paths: Vec<PathBuf>, test: &mut HashSet<PathBuf>, work: &mut Vec<FileId>| {
        for path in paths {
            if let Some(&id) = index.get(&path) {
                if test.insert(path) {
                    work.push(id);
                }
            }
        }
    };
    for (file, decls) in decls.iter().enumerate() {
        for decl in decls.iter().filter(|d| d.test) {
            mark(children(file, decl), &mut test, &mut work);
        }
    }
    while let Some(file) = work.pop() {
        for decl in &decls[file] {
            mark(children(file, decl), &mut test, &mut work);
        }
    }
    test
}

/// `path` with `.` and `dir/..` components removed, so that `src/a/../b.rs` and `src/b.rs` compare equal.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir
                if matches!(
                    out.components().next_back(),
                    Some(std::path::Component::Normal(_))
                ) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub fn is_test_file(path: &Path, test_files: &HashSet<PathBuf>) -> bool {
    !test_files.is_empty() && test_files.contains(&lexical(path))
}

/// Adds the type definitions of `file` (at `path`) to `types`, each in its innermost module.
pub fn insert_typedefs(
    types: &mut TypeTable,
    file: FileId,
    path: &Path,
    typedefs: Vec<(String, Option<String>, TypeDef)>,
) {
    let file_module = module_names(path).into_iter().next().unwrap_or_default();
    for (name, inline, def) in typedefs {
        types.insert(name, file, inline.as_deref().unwrap_or(&file_module), def);
    }
}
