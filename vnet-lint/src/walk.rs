//! Finding the Rust files under the paths to lint. Unreadable directories and symbolic link loops become
//! errors that the run reports and goes past.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The files to lint and the paths that could not be walked.
#[derive(Debug, Default)]
pub struct Walked {
    /// Rust files, each once, in a stable order.
    pub files: Vec<PathBuf>,
    /// Paths that could not be read, with the reason.
    pub errors: Vec<(PathBuf, String)>,
}

/// Directories never entered: build output, version control and other hidden directories.
fn skipped_dir(name: &str, include_tests: bool) -> bool {
    name == "target"
        || (name.starts_with('.') && name.len() > 1)
        || (!include_tests && matches!(name, "tests" | "benches" | "examples"))
}

/// Collects the `.rs` files under `paths`: files are taken as given, directories are walked (following
/// symbolic links). `tests/`, `benches/` and `examples/` directories are entered only with `include_tests`.
pub fn collect(paths: &[PathBuf], include_tests: bool) -> Walked {
    let mut walked = Walked::default();
    let mut seen = HashSet::new();
    for root in paths {
        let mut push = |walked: &mut Walked, path: PathBuf| {
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                walked.files.push(path);
            }
        };
        match std::fs::metadata(root) {
            Err(error) => walked.errors.push((
                root.clone(),
                format!("cannot read `{}`: {error}", shown(root)),
            )),
            Ok(meta) if meta.is_file() => push(&mut walked, root.clone()),
            Ok(_) => {
                let before = walked.files.len();
                let entries = WalkDir::new(root)
                    .follow_links(true)
                    .sort_by_file_name()
                    .into_iter();
                let entries = entries.filter_entry(|entry| {
                    entry.depth() == 0
                        || !entry.file_type().is_dir()
                        || !skipped_dir(&entry.file_name().to_string_lossy(), include_tests)
                });
                for entry in entries {
                    match entry {
                        Ok(entry)
                            if entry.file_type().is_file()
                                && entry.path().extension().is_some_and(|e| e == "rs") =>
                        {
                            push(&mut walked, entry.into_path());
                        }
                        Ok(_) => {}
                        Err(error) => walked.errors.push(walk_error(root, &error)),
                    }
                }
                if walked.files.len() == before
                    && !walked.errors.iter().any(|(p, _)| p.starts_with(root))
                {
                    walked.errors.push((
                        root.clone(),
                        format!("no Rust source files under `{}`", shown(root)),
                    ));
                }
            }
        }
    }
    walked
}

fn walk_error(root: &Path, error: &walkdir::Error) -> (PathBuf, String) {
    let path = error.path().unwrap_or(root).to_path_buf();
    let message = match (error.loop_ancestor(), error.io_error()) {
        (Some(ancestor), _) => format!(
            "symbolic link loop: `{}` leads back to `{}`",
            shown(&path),
            shown(ancestor)
        ),
        (None, Some(io)) => format!("cannot read `{}`: {io}", shown(&path)),
        (None, None) => format!("cannot read `{}`: {error}", shown(&path)),
    };
    (path, message)
}

fn shown(path: &Path) -> String {
    crate::diag::display_path(path)
}
