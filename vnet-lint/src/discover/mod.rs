//! The discover pass: which files to read. `workspace` asks `cargo metadata` for the selected packages'
//! source roots (and the path dependencies that use the runtime); `walk` lists the `.rs` files under paths;
//! `overlay` holds texts read instead of the files on disk (the fix's rounds of `check --diff`).

pub mod overlay;
pub mod walk;
pub mod workspace;

use std::path::{Path, PathBuf};

/// Makes `path` absolute against the current directory and resolves `.` and `..` by name, without
/// touching the file system: `src/lib.rs` and `/crate/src/lib.rs` name one file.
///
/// ```
/// use vnet_lint::discover::normalize;
/// let here = std::env::current_dir().unwrap();
/// assert_eq!(normalize(std::path::Path::new("src/../src/./lib.rs")), here.join("src/lib.rs"));
/// ```
pub fn normalize(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
