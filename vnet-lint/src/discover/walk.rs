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
/// symbolic links). `tests/`, `benches/` and `examples/` directories, build scripts, and the files of the
/// `[[test]]`, `[[bench]]` and `[[example]]` targets a package's manifest declares elsewhere are taken only
/// with `include_tests`.
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
                if !include_tests {
                    let mut packages = Packages::default();
                    let kept: Vec<PathBuf> = walked.files.drain(before..).collect();
                    walked.files.extend(
                        kept.into_iter()
                            .filter(|f| !packages.is_non_library(root, f)),
                    );
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

/// The files of each package (a directory with a `Cargo.toml`) that are no part of the program: its
/// build script and the `[[test]]`, `[[bench]]` and `[[example]]` targets its manifest puts outside
/// `tests/`, `benches/` and `examples/` (nix keeps its tests in `test/`). Found per package, once.
#[derive(Default)]
struct Packages {
    excluded: std::collections::HashMap<PathBuf, Vec<PathBuf>>,
    /// The package directory of each directory seen, so each is looked up once.
    package_of: std::collections::HashMap<PathBuf, Option<PathBuf>>,
}

impl Packages {
    /// Whether `file`, found under `root`, is a build script or test-like target of its package.
    fn is_non_library(&mut self, root: &Path, file: &Path) -> bool {
        let Some(dir) = file.parent() else {
            return false;
        };
        let package = match self.package_of.get(dir) {
            Some(package) => package.clone(),
            None => {
                let package = dir
                    .ancestors()
                    .take_while(|d| d.starts_with(root))
                    .find(|d| d.join("Cargo.toml").is_file())
                    .map(Path::to_path_buf);
                self.package_of.insert(dir.to_path_buf(), package.clone());
                package
            }
        };
        let Some(package) = package else {
            return false;
        };
        let excluded = self
            .excluded
            .entry(package.clone())
            .or_insert_with(|| non_library_paths(&package));
        excluded.iter().any(|path| file.starts_with(path))
    }
}

/// The build script of the package in `dir`, and the files or directories of its test-like targets.
fn non_library_paths(dir: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return Vec::new();
    };
    let Ok(manifest) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match manifest.get("package").and_then(|p| p.get("build")) {
        Some(toml::Value::String(build)) => out.push(dir.join(build)),
        Some(toml::Value::Boolean(false)) => {}
        _ => out.push(dir.join("build.rs")),
    }
    for kind in ["test", "bench", "example"] {
        let Some(toml::Value::Array(targets)) = manifest.get(kind) else {
            continue;
        };
        for target in targets {
            let Some(path) = target.get("path").and_then(toml::Value::as_str) else {
                continue;
            };
            let path = dir.join(path);
            // A target in a directory of its own takes the directory (its modules live there); one beside
            // the library's sources takes only its file.
            match path.parent() {
                Some(parent) if parent != dir && !parent.starts_with(dir.join("src")) => {
                    out.push(parent.to_path_buf())
                }
                _ => out.push(path),
            }
        }
    }
    // Published manifests list every target (tokio's names some 150 tests under `tests/`).
    out.sort();
    out.dedup();
    out
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
