//! Texts that stand in for files on disk: `check --diff` runs the fix's further rounds on the files
//! as the earlier rounds would have written them, without writing anything. Every pass that reads a
//! source file or a manifest the fix may change asks the overlay first (passed explicitly, through
//! the engine's and the fix's options), then the disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files by absolute path, with the text each would have; empty means "read the disk".
///
/// ```
/// use vnet_lint::discover::overlay::Overlay;
/// use std::path::Path;
/// let mut overlay = Overlay::default();
/// overlay.insert(Path::new("/tmp/no-such-crate/src/lib.rs"), "static X: u8 = 0;\n".into());
/// let text = overlay.read_to_string(Path::new("/tmp/no-such-crate/src/../src/lib.rs")).unwrap();
/// assert_eq!(text, "static X: u8 = 0;\n");
/// assert!(overlay.read_to_string(Path::new("/tmp/no-such-crate/Cargo.toml")).is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Overlay {
    texts: BTreeMap<PathBuf, String>,
}

impl std::fmt::Debug for Overlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The paths only: the texts are whole files.
        f.debug_set().entries(self.texts.keys()).finish()
    }
}

impl Overlay {
    /// Whether no file is overlaid (every read goes to the disk).
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// `path` reads as `text` from now on.
    pub fn insert(&mut self, path: &Path, text: String) {
        self.texts.insert(super::normalize(path), text);
    }

    /// The overlaid text of `path`, if any (the disk is not read).
    pub fn get(&self, path: &Path) -> Option<&str> {
        if self.texts.is_empty() {
            return None;
        }
        self.texts.get(&super::normalize(path)).map(String::as_str)
    }

    /// The text of `path`: overlaid, else read from disk (`std::fs::read_to_string`).
    pub fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        match self.get(path) {
            Some(text) => Ok(text.to_owned()),
            None => std::fs::read_to_string(path),
        }
    }

    /// The bytes of `path`: overlaid, else read from disk (`std::fs::read`).
    pub fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self.get(path) {
            Some(text) => Ok(text.as_bytes().to_vec()),
            None => std::fs::read(path),
        }
    }

    /// The length in bytes of `path`: overlaid, else from its metadata.
    pub fn file_len(&self, path: &Path) -> std::io::Result<u64> {
        match self.get(path) {
            Some(text) => Ok(text.len() as u64),
            None => std::fs::metadata(path).map(|m| m.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Overlay;
    use std::path::Path;

    #[test]
    fn relative_and_absolute_names_of_one_file_read_the_same_text() {
        let mut overlay = Overlay::default();
        overlay.insert(Path::new("src/lib.rs"), "new".into());
        let absolute = std::env::current_dir().unwrap().join("./src/lib.rs");
        assert_eq!(overlay.get(&absolute), Some("new"));
        assert_eq!(overlay.file_len(Path::new("src/lib.rs")).unwrap(), 3);
        assert_eq!(overlay.read(Path::new("src/lib.rs")).unwrap(), b"new");
    }

    #[test]
    fn a_file_not_overlaid_is_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.rs");
        std::fs::write(&path, "disk").unwrap();
        let mut overlay = Overlay::default();
        overlay.insert(&dir.path().join("b.rs"), "overlaid".into());
        assert_eq!(overlay.read_to_string(&path).unwrap(), "disk");
        assert_eq!(overlay.file_len(&path).unwrap(), 4);
    }
}
