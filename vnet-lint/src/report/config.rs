//! Configuration: `vnet-lint.toml`, or `[package.metadata.vnet-lint]` / `[workspace.metadata.vnet-lint]` in
//! `Cargo.toml`, found from a crate's directory upwards. The nearest one wins for the files below it.
//!
//! ```toml
//! [levels]                       # per-rule levels, by code or name: "allow", "warn" or "deny"
//! thread-local-global = "warn"
//!
//! [paths]                        # relative to the directory holding the configuration
//! virtualized = ["src/net"]      # when set, only these paths are checked for globals
//! global = ["src/drivers"]       # these stay process-wide (one piece of hardware): never reported
//! ```

use crate::rules::{self, Level, Rule};
use anyhow::{bail, Context as _, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The name of the stand-alone configuration file.
pub const FILE_NAME: &str = "vnet-lint.toml";

/// One configuration table, as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Rule code or name to level.
    #[serde(default)]
    pub levels: BTreeMap<String, Level>,
    /// Which paths are virtualized and which stay global.
    #[serde(default)]
    pub paths: Paths,
}

/// The `[paths]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Paths {
    /// When not empty, only files under these paths are checked for globals.
    #[serde(default)]
    pub virtualized: Vec<PathBuf>,
    /// Files under these paths stay process-wide and are not checked for globals.
    #[serde(default)]
    pub global: Vec<PathBuf>,
}

/// A configuration and the directory its paths are relative to.
#[derive(Clone, Debug)]
pub struct Scoped {
    /// The directory holding the configuration; its paths are relative to it.
    pub root: PathBuf,
    /// Whether it applies to every file (given with `--config`) rather than to the files below `root`.
    pub everywhere: bool,
    /// Where it was read from, for messages.
    pub source: PathBuf,
    /// Its levels, resolved to rules.
    pub levels: Vec<(&'static Rule, Level)>,
    /// Its path table, made absolute.
    pub paths: Paths,
}

impl Scoped {
    /// Whether this configuration applies to `file` (an absolute path).
    pub fn applies_to(&self, file: &Path) -> bool {
        self.everywhere || file.starts_with(&self.root)
    }

    /// Whether globals in `file` are checked: under `virtualized` (when set) and not under `global`.
    pub fn checks_globals(&self, file: &Path) -> bool {
        let under = |prefixes: &[PathBuf]| prefixes.iter().any(|prefix| file.starts_with(prefix));
        if under(&self.paths.global) {
            return false;
        }
        self.paths.virtualized.is_empty() || under(&self.paths.virtualized)
    }

    /// The configured level of `rule`, if any.
    pub fn level(&self, rule: &Rule) -> Option<Level> {
        self.levels
            .iter()
            .rev()
            .find(|(r, _)| r.code == rule.code)
            .map(|&(_, level)| level)
    }
}

/// Parses a configuration table; `source` names it in errors.
pub fn parse(text: &str, source: &Path, root: &Path) -> Result<Scoped> {
    let config: Config = toml::from_str(text)
        .with_context(|| format!("invalid configuration in {}", source.display()))?;
    from_config(config, source, root)
}

fn from_config(config: Config, source: &Path, root: &Path) -> Result<Scoped> {
    let mut levels = Vec::new();
    for (key, level) in config.levels {
        let Some(rule) = rules::find(&key) else {
            bail!("unknown rule `{key}` in [levels] of {}", source.display());
        };
        levels.push((rule, level));
    }
    let absolute = |paths: Vec<PathBuf>| {
        paths
            .into_iter()
            .map(|p| crate::discover::normalize(&root.join(p)))
            .collect()
    };
    let paths = Paths {
        virtualized: absolute(config.paths.virtualized),
        global: absolute(config.paths.global),
    };
    Ok(Scoped {
        root: root.to_path_buf(),
        everywhere: false,
        source: source.to_path_buf(),
        levels,
        paths,
    })
}

/// Reads the configuration that applies to `dir`: the nearest `vnet-lint.toml`, or `Cargo.toml` with a
/// `vnet-lint` metadata table, in `dir` or above it.
pub fn discover(dir: &Path) -> Result<Option<Scoped>> {
    let dir = crate::discover::normalize(dir);
    for ancestor in dir.ancestors() {
        let file = ancestor.join(FILE_NAME);
        if file.is_file() {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            return parse(&text, &file, ancestor).map(Some);
        }
        let manifest = ancestor.join("Cargo.toml");
        if manifest.is_file() {
            if let Some(scoped) = from_manifest(&manifest, ancestor)? {
                return Ok(Some(scoped));
            }
        }
    }
    Ok(None)
}

/// Reads `[package.metadata.vnet-lint]` or `[workspace.metadata.vnet-lint]` from a manifest.
fn from_manifest(manifest: &Path, root: &Path) -> Result<Option<Scoped>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let Ok(value) = text.parse::<toml::Table>() else {
        return Ok(None);
    };
    for section in ["package", "workspace"] {
        let table = value
            .get(section)
            .and_then(|s| s.get("metadata"))
            .and_then(|m| m.get("vnet-lint"));
        if let Some(table) = table {
            let config = Config::deserialize(table.clone()).with_context(|| {
                format!(
                    "invalid [{section}.metadata.vnet-lint] in {}",
                    manifest.display()
                )
            })?;
            return from_config(config, manifest, root).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let error = parse(
            "[levels]\nVN102 = \"warn\"\n[pathz]\n",
            Path::new("x.toml"),
            Path::new("/r"),
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("pathz"), "{error:#}");
        let error = parse(
            "[levels]\nno-such-rule = \"warn\"\n",
            Path::new("x.toml"),
            Path::new("/r"),
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("no-such-rule"), "{error:#}");
    }

    #[test]
    fn paths_decide_what_is_checked() {
        let text =
            "[levels]\nthread-local-global = \"warn\"\n[paths]\nglobal = [\"src/drivers\"]\n";
        let scoped = parse(text, Path::new("x.toml"), Path::new("/r")).unwrap();
        assert!(!scoped.checks_globals(Path::new("/r/src/drivers/nic.rs")));
        assert!(scoped.checks_globals(Path::new("/r/src/net/ip.rs")));
        assert_eq!(
            scoped.level(crate::rules::id::THREAD_LOCAL_GLOBAL),
            Some(Level::Warn)
        );
    }
}
