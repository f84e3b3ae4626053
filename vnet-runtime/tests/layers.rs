//! The runtime's modules import one way: a module may name only modules of
//! its own layer or of lower ones. The order is written once, in
//! ARCHITECTURE.md ("Runtime layers"), and read from there.
//!
//! Every module is found from `src/lib.rs` through its `mod` declarations
//! (`#[path]` and `cfg_attr(…, path = …)` twins included; modules declared
//! only for tests are left out). Every `crate::…` and `super::…` path in
//! code (not in comments, strings, `$crate::` macro bodies or `#[cfg(test)]`
//! modules) is resolved to the module that defines what it names, following
//! `pub use` re-exports (so `crate::Vnet` is `instance::handle`, and
//! `crate::boot` is the `boot` module). A path to a higher layer fails, and
//! so does a module missing from the order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, lowest first, from ARCHITECTURE.md: the lines of the fenced
/// block after the line `<!-- runtime-layers -->`, each `N. module, module`.
fn layers() -> Vec<Vec<String>> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ARCHITECTURE.md");
    let text = std::fs::read_to_string(&doc).expect("ARCHITECTURE.md is readable");
    let start = text
        .find("<!-- runtime-layers -->")
        .expect("ARCHITECTURE.md marks the runtime's layer order with <!-- runtime-layers -->");
    let block = &text[start..];
    let open = block
        .find("```")
        .expect("a fenced block follows the marker")
        + 3;
    let body = &block[open..];
    let body = &body[body.find('\n').unwrap_or(0)..];
    let close = body.find("```").expect("the fenced block is closed");
    body[..close]
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (_, rest) = line.split_once(". ")?;
            let modules: Vec<String> = rest
                .split("—")
                .next()
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().trim_matches('`').to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            (!modules.is_empty()).then_some(modules)
        })
        .collect()
}

/// Source text with comments, string and char literals blanked (so only
/// code remains), keeping byte positions.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = text[i..].find('\n').map_or(b.len(), |e| i + e);
            blank(&mut out, i, end);
            i = end;
        } else if b[i..].starts_with(b"/*") {
            let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'r' && (b[i..].starts_with(b"r\"") || b[i..].starts_with(b"r#")) {
            let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let from = i + 2 + hashes;
            let end = text[from..]
                .find(&close)
                .map_or(b.len(), |e| from + e + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, (j + 1).min(b.len()));
            i = j + 1;
        } else if b[i] == b'\'' && b.get(i + 2) == Some(&b'\'') {
            blank(&mut out, i, i + 3);
            i += 3;
        } else if b[i] == b'\'' && b.get(i + 1) == Some(&b'\\') {
            let end = text[i + 2..].find('\'').map_or(b.len(), |e| i + 2 + e + 1);
            blank(&mut out, i, end);
            i = end;
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8 boundaries of ASCII delimiters")
}

/// `code` without `#[cfg(test)] mod NAME { … }` blocks.
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_owned();
    while let Some(at) = out.find("#[cfg(test)]") {
        let after = out[at + 12..].trim_start();
        if !after.starts_with("mod ") {
            out.replace_range(at..at + 12, &" ".repeat(12));
            continue;
        }
        let open = at + 12 + out[at + 12..].find('{').expect("a test module has a body");
        let mut depth = 0;
        let mut end = out.len();
        for (i, c) in out[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.replace_range(at..end, "");
    }
    out
}

/// One module: its path (`instance::handle`; the root is ""), its files.
#[derive(Default, Debug)]
struct Module {
    files: Vec<PathBuf>,
    /// Names re-exported here (`pub use …`), to the path they name.
    reexports: BTreeMap<String, Vec<String>>,
}

/// `mod NAME;` declarations of `code`, each with the `path = "…"` values of
/// its attributes and whether it exists only for tests.
fn mod_decls(code: &str, raw: &str) -> Vec<(String, Vec<String>, bool)> {
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let t = line.trim();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        let Some(name) = t.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) else {
            continue;
        };
        // The attributes on the lines above (raw text: path values are strings).
        let raw_lines: Vec<&str> = raw.lines().collect();
        let mut paths = Vec::new();
        let mut test_only = false;
        let mut j = i;
        while j > 0 && raw_lines[j - 1].trim_start().starts_with("#[") {
            j -= 1;
            let attr = raw_lines[j];
            if let Some(p) = attr.split("path = \"").nth(1) {
                paths.push(p.split('"').next().unwrap_or_default().to_owned());
            }
            if attr.contains("#[cfg(") && attr.contains("test") {
                test_only = true;
            }
        }
        out.push((name.trim().to_owned(), paths, test_only));
    }
    out
}

/// Paths of a `use` tree (`a::{b, c::d as e}`), each as (segments, name it binds).
fn use_tree(tree: &str) -> Vec<(Vec<String>, String)> {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let prefix: Vec<String> = tree[..open]
            .trim_end_matches("::")
            .split("::")
            .filter(|s| !s.is_empty())
            .map(|s| s.trim().to_owned())
            .collect();
        let inner = &tree[open + 1..tree.rfind('}').expect("balanced use tree")];
        let mut parts = Vec::new();
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&inner[start..]);
        parts
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .flat_map(use_tree)
            .map(|(mut segs, name)| {
                let mut full = prefix.clone();
                if segs.first().map(String::as_str) == Some("self") {
                    segs.remove(0);
                }
                full.extend(segs);
                (full, name)
            })
            .collect()
    } else {
        let (path, alias) = match tree.split_once(" as ") {
            Some((p, a)) => (p.trim(), Some(a.trim().to_owned())),
            None => (tree, None),
        };
        let segs: Vec<String> = path.split("::").map(|s| s.trim().to_owned()).collect();
        let name = alias.unwrap_or_else(|| segs.last().cloned().unwrap_or_default());
        vec![(segs, name)]
    }
}

struct Crate {
    modules: BTreeMap<String, Module>,
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}::{name}")
    }
}

fn parent_of(module: &str) -> String {
    module
        .rsplit_once("::")
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default()
}

impl Crate {
    fn load(src: &Path) -> Crate {
        let mut krate = Crate {
            modules: BTreeMap::new(),
        };
        krate.add(String::new(), vec![src.join("lib.rs")], src.to_owned());
        krate
    }

    /// Adds module `path` read from `files`, whose submodules live in `dir`.
    fn add(&mut self, path: String, files: Vec<PathBuf>, dir: PathBuf) {
        let mut module = Module {
            files: files.clone(),
            ..Module::default()
        };
        let mut children = Vec::new();
        for file in &files {
            let raw = std::fs::read_to_string(file).expect("source is readable");
            let code = without_test_modules(&code_only(&raw));
            for (name, paths, test_only) in mod_decls(&code, &raw) {
                if test_only {
                    continue;
                }
                let mut child_files: Vec<PathBuf> = paths.iter().map(|p| dir.join(p)).collect();
                let plain = dir.join(format!("{name}.rs"));
                let nested = dir.join(&name).join("mod.rs");
                // A `#[path]` without `cfg_attr` replaces the default file.
                let replaced = raw.contains(&format!(
                    "#[path = \"{}\"]",
                    paths.first().map_or("", String::as_str)
                )) && !paths.is_empty();
                if !replaced {
                    child_files.push(if plain.exists() { plain } else { nested });
                }
                children.push((join(&path, &name), child_files, dir.join(&name)));
            }
            for stmt in code.split(';') {
                let stmt = stmt.trim();
                let Some(tree) = stmt
                    .rsplit("pub use ")
                    .next()
                    .filter(|_| stmt.contains("pub use ") || stmt.contains("pub(crate) use "))
                else {
                    continue;
                };
                let tree = tree.rsplit("pub(crate) use ").next().unwrap_or(tree);
                for (segs, name) in use_tree(tree) {
                    module.reexports.insert(name, segs);
                }
            }
        }
        self.modules.insert(path, module);
        for (child, files, dir) in children {
            self.add(
                child,
                files.into_iter().filter(|f| f.exists()).collect(),
                dir,
            );
        }
    }

    /// The module defining what `segs` names, seen from module `from`.
    fn resolve(&self, from: &str, segs: &[String], depth: usize) -> Option<String> {
        if depth > 16 || segs.is_empty() {
            return None;
        }
        let (mut at, rest) = match segs[0].as_str() {
            "crate" => (String::new(), &segs[1..]),
            "super" => (parent_of(from), &segs[1..]),
            "self" => (from.to_owned(), &segs[1..]),
            _ => return None, // an external crate or a local name
        };
        let mut rest = rest.to_vec();
        while rest.first().map(String::as_str) == Some("super") {
            at = parent_of(&at);
            rest.remove(0);
        }
        for (i, seg) in rest.iter().enumerate() {
            let child = join(&at, seg);
            if self.modules.contains_key(&child) {
                at = child;
                continue;
            }
            let module = self.modules.get(&at)?;
            if let Some(target) = module.reexports.get(seg) {
                let mut full = target.clone();
                // `pub use part::Item` names a submodule relative to `at`.
                if !matches!(full[0].as_str(), "crate" | "super" | "self")
                    && self.modules.contains_key(&join(&at, &full[0]))
                {
                    full.insert(0, "self".to_owned());
                }
                full.extend(rest[i + 1..].iter().cloned());
                // A re-export of an external crate (`pub use linkme`) stays here.
                return self.resolve(&at, &full, depth + 1).or(Some(at));
            }
            return Some(at); // an item defined in `at`
        }
        Some(at)
    }
}

/// Every `crate::…`/`super::…` path in `code`, as segments (groups expanded).
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    for key in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(key) {
            let at = from + at;
            from = at + key.len();
            let before = at.checked_sub(1).map(|i| b[i]);
            if before
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b':')
            {
                continue; // `$crate::`, `foo_crate::`, `a::super::`
            }
            // The path runs over identifiers, `::` and one brace group.
            let mut end = at;
            let mut depth = 0;
            while end < b.len() {
                let c = b[end];
                if c == b'{' {
                    depth += 1;
                } else if c == b'}' {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        end += 1;
                        break;
                    }
                } else if !(c.is_ascii_alphanumeric()
                    || c == b'_'
                    || c == b':'
                    || (depth > 0 && (c == b',' || c.is_ascii_whitespace() || c == b'*')))
                {
                    break;
                }
                end += 1;
            }
            let text: String = code[at..end]
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let text = text.trim_end_matches(':');
            for (segs, _) in use_tree(
                &text
                    .replace(" as ", "\u{0}")
                    .replace(' ', "")
                    .replace('\u{0}', " as "),
            ) {
                let segs: Vec<String> = segs
                    .into_iter()
                    .filter(|s| !s.is_empty() && s != "*")
                    .collect();
                if segs.len() > 1 {
                    out.push(segs);
                }
            }
        }
    }
    out
}

fn rank(layers: &[Vec<String>], module: &str) -> Option<usize> {
    // The longest listed prefix wins: `instance::create` over `instance`.
    let mut best: Option<(usize, usize)> = None;
    for (i, layer) in layers.iter().enumerate() {
        for m in layer {
            let hit = module == m || module.starts_with(&format!("{m}::"));
            if hit && best.is_none_or(|(len, _)| m.len() > len) {
                best = Some((m.len(), i));
            }
        }
    }
    best.map(|(_, i)| i)
}

#[test]
fn runtime_modules_import_down_the_layer_order() {
    let layers = layers();
    assert!(
        layers.len() >= 5,
        "ARCHITECTURE.md lists {} layers",
        layers.len()
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = Crate::load(&src);
    let mut violations = Vec::new();
    let mut edges = 0;
    for (module, info) in &krate.modules {
        if module.is_empty() {
            continue; // the crate root re-exports everything
        }
        let Some(own) = rank(&layers, module) else {
            violations.push(format!(
                "module `{module}` is in no layer: add it to ARCHITECTURE.md's runtime layers"
            ));
            continue;
        };
        for file in &info.files {
            let raw = std::fs::read_to_string(file).expect("readable");
            let code = without_test_modules(&code_only(&raw));
            for segs in paths_in(&code) {
                let Some(target) = krate.resolve(module, &segs, 0) else {
                    continue;
                };
                if target.is_empty() || &target == module {
                    continue;
                }
                edges += 1;
                match rank(&layers, &target) {
                    Some(r) if r > own => violations.push(format!(
                        "{} (`{module}`, layer {}) names `{}`, which is `{target}` (layer {}): \
                         against the order",
                        file.strip_prefix(&src).unwrap_or(file).display(),
                        own + 1,
                        segs.join("::"),
                        r + 1
                    )),
                    Some(_) => {}
                    None => violations
                        .push(format!("`{target}` (named from `{module}`) is in no layer")),
                }
            }
        }
    }
    assert!(
        krate.modules.len() > 25,
        "only {} modules found",
        krate.modules.len()
    );
    assert!(edges > 60, "only {edges} imports resolved");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// The resolver itself: root re-exports lead to the defining module.
#[test]
fn root_reexports_resolve_to_their_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let krate = Crate::load(&src);
    let seg = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        krate.resolve("key", &seg("crate::Vnet"), 0).as_deref(),
        Some("instance::handle")
    );
    assert_eq!(
        krate.resolve("key", &seg("crate::boot"), 0).as_deref(),
        Some("boot")
    );
    assert_eq!(
        krate
            .resolve("instance::enter", &seg("super::state::admit"), 0)
            .as_deref(),
        Some("instance::state")
    );
    assert_eq!(
        paths_in("use crate::{a::B, c::{d, e as f}};"),
        vec![seg("crate::a::B"), seg("crate::c::d"), seg("crate::c::e")]
    );
    assert!(paths_in(&code_only("$crate::x::y; \"crate::z\" // crate::w")).is_empty());
}
