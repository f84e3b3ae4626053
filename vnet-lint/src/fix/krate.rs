//! The crate a finding lives in: its manifest, its root files, and every source file reachable from a
//! root through `mod` declarations, each with its module path. Rewriting a static's uses needs all of
//! them, not only the files the lint was pointed at.

use crate::discover::overlay::Overlay;
use quote::ToTokens;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// One source file of a crate.
#[derive(Clone, Debug)]
pub struct CrateFile {
    /// Where it is.
    pub path: PathBuf,
    /// Module path of the file (empty for a crate root).
    pub module: Vec<String>,
    /// Whether every module from the root down to this file is `pub` (reachable by other crates).
    pub public: bool,
    /// The text as read.
    pub text: String,
}

/// A crate, as far as the fix needs it.
#[derive(Clone, Debug, Default)]
pub struct Krate {
    /// `Cargo.toml` of the package, when there is one.
    pub manifest: Option<PathBuf>,
    /// The package name as code spells it (`-` replaced by `_`).
    pub name: Option<String>,
    /// Whether a root is a library (`pub` items may be named by other crates).
    pub is_lib: bool,
    /// The library's root file, when the package has one.
    pub lib_root: Option<PathBuf>,
    /// Whether a root says `#![no_std]` (also under `cfg_attr`: the crate can build without `std`).
    pub no_std: bool,
    /// The feature that brings `std` back, when the root says `#![cfg_attr(not(feature = "std"), no_std)]`:
    /// the port happens in that build and the `no_std` build keeps plain globals.
    pub std_feature: Option<String>,
    /// Whether the package is edition 2015 (extern crates need `extern crate`).
    pub edition_2015: bool,
    /// Whether the temporaries of a block's last expression may be dropped at the block's end
    /// (edition 2024 on, or an edition the manifest does not spell out, see [`tails_scoped`]).
    pub tails_scoped: bool,
    /// Every file, by path.
    pub files: BTreeMap<PathBuf, CrateFile>,
    /// The files' syntax trees, each parsed once while the crate is planned.
    syntax: Syntax,
}

/// Syntax trees of a crate's files, parsed on first use and kept while the crate is planned: every
/// pass of the plan (declarations, uses, groups, tests) reads the same tree instead of parsing the
/// file again. A clone starts empty (the trees' spans belong to the thread that parsed them).
#[derive(Default)]
struct Syntax(RefCell<HashMap<PathBuf, Parsed>>);

/// A file's tree (`None`: it does not parse) and the span epoch it was parsed at
/// (`crate::parse::span_epoch`): a tree of an earlier epoch is parsed again.
type Parsed = (u64, Option<Rc<syn::File>>);

impl Clone for Syntax {
    fn clone(&self) -> Self {
        Syntax::default()
    }
}

impl std::fmt::Debug for Syntax {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Syntax({} parsed)", self.0.borrow().len())
    }
}

impl Krate {
    /// The syntax tree of `file` (one of [`Krate::files`]), parsed on first use (or again, after
    /// this thread's span table was emptied); `None` when it does not parse.
    ///
    /// ```
    /// use vnet_lint::fix::krate::Krate;
    /// let krate = Krate::single("lib.rs".into(), "static A: u8 = 1;".into());
    /// let file = &krate.files[std::path::Path::new("lib.rs")];
    /// assert_eq!(krate.syntax(file).unwrap().items.len(), 1);
    /// ```
    pub fn syntax(&self, file: &CrateFile) -> Option<Rc<syn::File>> {
        let epoch = crate::parse::span_epoch();
        if let Some((at, parsed)) = self.syntax.0.borrow().get(&file.path) {
            if *at == epoch {
                return parsed.clone();
            }
        }
        let parsed = super::parse(&file.text).ok().map(Rc::new);
        self.keep_syntax(&file.path, parsed.clone());
        parsed
    }

    fn keep_syntax(&self, path: &Path, parsed: Option<Rc<syn::File>>) {
        let epoch = crate::parse::span_epoch();
        self.syntax
            .0
            .borrow_mut()
            .insert(path.to_path_buf(), (epoch, parsed));
    }

    /// The crate around `file`: the nearest package above it whose roots reach it, or the file alone.
    /// Files and manifests are read through `overlay` (texts standing in for the disk).
    ///
    /// ```no_run
    /// use vnet_lint::discover::overlay::Overlay;
    /// let path = std::path::Path::new("src/lib.rs");
    /// let krate = vnet_lint::fix::krate::Krate::around(path, &Overlay::default());
    /// assert!(krate.files.len() >= 1);
    /// ```
    pub fn around(file: &Path, overlay: &Overlay) -> Krate {
        let file = absolute(file);
        let mut dir = file.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            let manifest = d.join("Cargo.toml");
            if let Some(package) = read_package(&manifest, overlay) {
                let mut krate = Krate {
                    manifest: Some(manifest),
                    name: Some(package.name.replace('-', "_")),
                    edition_2015: package.edition_2015,
                    tails_scoped: package.tails_scoped,
                    ..Krate::default()
                };
                for (root, is_lib) in roots(&d, &package) {
                    if root.exists() {
                        krate.is_lib |= is_lib;
                        if is_lib {
                            krate.lib_root = Some(root.clone());
                        }
                        krate.add_tree(&root, Vec::new(), overlay);
                    }
                }
                // Tests, benches and examples are crates of their own that name the library by its
                // name: their uses are rewritten too (`cargo check --all-targets` builds them).
                for root in other_targets(&d) {
                    krate.add_tree(&root, vec![OTHER_CRATE.to_owned()], overlay);
                }
                if krate.files.contains_key(&file) {
                    return krate;
                }
                // Not reached by a root (a test, an example, a file linted alone): the file is its own root.
                return Krate::alone_in(&file, &krate, overlay);
            }
            dir = d.parent().map(Path::to_path_buf);
        }
        let mut alone = Krate::default();
        alone.add_tree(&file, Vec::new(), overlay);
        alone
    }

    /// `file` as a crate of its own inside the package of `manifest` (already read as another crate).
    pub fn alone_in(file: &Path, like: &Krate, overlay: &Overlay) -> Krate {
        let mut alone = Krate {
            manifest: like.manifest.clone(),
            name: like.name.clone(),
            edition_2015: like.edition_2015,
            tails_scoped: like.tails_scoped,
            ..Krate::default()
        };
        alone.add_tree(&absolute(file), Vec::new(), overlay);
        // The package's roots decide: a module file of a `no_std` crate is `no_std` too.
        if like.no_std {
            alone.no_std = true;
            alone.std_feature = like.std_feature.clone();
        }
        alone
    }

    /// A crate of one in-memory file, for tests and for `check_source`.
    pub fn single(path: PathBuf, text: String) -> Krate {
        let no_std = is_no_std(&text);
        let std_feature = if no_std { std_feature(&text) } else { None };
        let mut files = BTreeMap::new();
        files.insert(
            path.clone(),
            CrateFile {
                path,
                module: Vec::new(),
                public: false,
                text,
            },
        );
        Krate {
            no_std,
            std_feature,
            files,
            ..Krate::default()
        }
    }

    fn add_tree(&mut self, root: &Path, module: Vec<String>, overlay: &Overlay) {
        let public = module.is_empty();
        let mut stack = vec![(root.to_path_buf(), module, public, true)];
        let mut first = true;
        while let Some((path, module, public, mod_rs)) = stack.pop() {
            if self.files.contains_key(&path) {
                continue;
            }
            let Ok(text) = overlay.read_to_string(&path) else {
                continue;
            };
            if first && module.is_empty() {
                if is_no_std(&text) {
                    self.no_std = true;
                    self.std_feature = std_feature(&text);
                }
                first = false;
            }
            // Only a file that declares an out-of-line module (`mod name;`) adds files to the tree:
            // the others are not parsed here (most of a large crate's files are leaves).
            let parsed = declares_module_file(&text)
                .then(|| super::parse(&text).ok())
                .flatten()
                .map(Rc::new);
            if let Some(parsed) = &parsed {
                // Kept: the plan's passes read this tree again.
                self.keep_syntax(&path, Some(parsed.clone()));
                let base = if mod_rs {
                    path.parent().map(Path::to_path_buf).unwrap_or_default()
                } else {
                    path.with_extension("")
                };
                let mut found = Vec::new();
                collect_mod_decls(&parsed.items, &base, &module, public, &mut found);
                stack.extend(found);
            }
            self.files.insert(
                path.clone(),
                CrateFile {
                    path,
                    module,
                    public,
                    text,
                },
            );
        }
    }
}

/// The module path given to the files of tests, benches and examples: no path of the library
/// starts with it, so only paths through the library's name reach its statics.
pub const OTHER_CRATE: &str = "<other crate>";

fn other_targets(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["tests", "benches", "examples"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") {
                out.push(absolute(&path));
            } else if path.join("main.rs").exists() {
                out.push(absolute(&path.join("main.rs")));
            }
        }
    }
    out.sort();
    out
}

struct Package {
    name: String,
    edition_2015: bool,
    tails_scoped: bool,
    lib_path: Option<String>,
    bins: Vec<String>,
}

/// Whether the package of `manifest` may drop the temporaries of a block's last expression at the
/// block's end (edition 2024 on); `false` for the editions before 2024, `true` when the edition
/// cannot be told (the manifest does not read, or a workspace's edition is not found).
///
/// ```
/// let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
/// // This workspace is edition 2021.
/// assert!(!vnet_lint::fix::krate::tails_scoped(&manifest));
/// ```
pub fn tails_scoped(manifest: &Path) -> bool {
    let manifest = &std::path::absolute(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
        .and_then(|value| {
            let package = value.get("package")?.as_table()?;
            Some(edition_tails_scoped(
                manifest,
                package.get("edition"),
                &Overlay::default(),
            ))
        })
        .unwrap_or(true)
}

/// [`tails_scoped`] of the `edition` value of `manifest` (none is 2015; `edition.workspace = true`
/// is the edition of the nearest workspace manifest above that spells one).
fn edition_tails_scoped(manifest: &Path, edition: Option<&toml::Value>, overlay: &Overlay) -> bool {
    let scoped = |e: &str| !matches!(e, "2015" | "2018" | "2021");
    match edition {
        None => false,
        Some(toml::Value::String(e)) => scoped(e),
        Some(_) => {
            let mut dir = manifest.parent().and_then(Path::parent);
            while let Some(d) = dir {
                let edition = overlay
                    .read_to_string(&d.join("Cargo.toml"))
                    .ok()
                    .and_then(|text| toml::from_str::<toml::Table>(&text).ok())
                    .and_then(|value| {
                        let workspace = value.get("workspace")?.as_table()?;
                        let edition = workspace.get("package")?.get("edition")?.as_str()?;
                        Some(edition.to_owned())
                    });
                if let Some(edition) = edition {
                    return scoped(&edition);
                }
                dir = d.parent();
            }
            true
        }
    }
}

fn read_package(manifest: &Path, overlay: &Overlay) -> Option<Package> {
    let text = overlay.read_to_string(manifest).ok()?;
    let value: toml::Table = toml::from_str(&text).ok()?;
    let package = value.get("package")?.as_table()?;
    let name = package.get("name")?.as_str()?.to_owned();
    let lib_path = value
        .get("lib")
        .and_then(|l| l.get("path"))
        .and_then(|p| p.as_str())
        .map(str::to_owned);
    let bins = value
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|bins| {
            bins.iter()
                .filter_map(|b| b.get("path").and_then(|p| p.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let edition_2015 = package
        .get("edition")
        .and_then(|e| e.as_str())
        .is_none_or(|e| e == "2015");
    Some(Package {
        name,
        edition_2015,
        tails_scoped: edition_tails_scoped(manifest, package.get("edition"), overlay),
        lib_path,
        bins,
    })
}

fn roots(dir: &Path, package: &Package) -> Vec<(PathBuf, bool)> {
    let mut roots = vec![(
        dir.join(package.lib_path.as_deref().unwrap_or("src/lib.rs")),
        true,
    )];
    roots.push((dir.join("src/main.rs"), false));
    for bin in &package.bins {
        roots.push((dir.join(bin), false));
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "rs") {
                roots.push((path, false));
            } else if path.join("main.rs").exists() {
                roots.push((path.join("main.rs"), false));
            }
        }
    }
    roots
        .into_iter()
        .map(|(p, lib)| (absolute(&p), lib))
        .collect()
}

/// Whether a crate root's text says `#![no_std]` (unconditionally or under `cfg_attr`).
pub fn is_no_std(text: &str) -> bool {
    let Ok(file) = super::parse(text) else {
        return false;
    };
    file.attrs.iter().any(|attr| {
        let tokens = attr.meta.to_token_stream_string();
        matches!(attr.style, syn::AttrStyle::Inner(_))
            && (attr.path().is_ident("no_std")
                || (attr.path().is_ident("cfg_attr") && tokens.contains("no_std")))
    })
}

/// The feature named in a root's `#![cfg_attr(not(feature = "std"), no_std)]` (also inside `all(…)`,
/// as log writes it): the crate builds with `std` when it is on. `None` for an unconditional
/// `#![no_std]` or a condition that is not a feature's absence.
///
/// ```
/// use vnet_lint::fix::krate::std_feature;
/// let log = "#![cfg_attr(all(not(feature = \"std\"), not(test)), no_std)]\nfn f() {}\n";
/// assert_eq!(std_feature(log).as_deref(), Some("std"));
/// assert_eq!(std_feature("#![no_std]\n"), None);
/// ```
pub fn std_feature(text: &str) -> Option<String> {
    let file = super::parse(text).ok()?;
    file.attrs.iter().find_map(|attr| {
        if !matches!(attr.style, syn::AttrStyle::Inner(_)) || !attr.path().is_ident("cfg_attr") {
            return None;
        }
        let syn::Meta::List(list) = &attr.meta else {
            return None;
        };
        let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
        // The predicate is everything before the last top-level `,` (then `no_std`).
        let applies_no_std =
            matches!(tokens.last(), Some(proc_macro2::TokenTree::Ident(i)) if i == "no_std");
        if !applies_no_std {
            return None;
        }
        not_feature(&tokens[..tokens.len().saturating_sub(2)])
    })
}

/// The `X` of the first `not(feature = "X")` in a cfg predicate.
fn not_feature(tokens: &[proc_macro2::TokenTree]) -> Option<String> {
    use proc_macro2::TokenTree;
    for window in tokens.windows(2) {
        match window {
            [TokenTree::Ident(not), TokenTree::Group(group)] if not == "not" => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                if let [TokenTree::Ident(f), TokenTree::Punct(eq), TokenTree::Literal(lit)] =
                    &inner[..]
                {
                    if f == "feature" && eq.as_char() == '=' {
                        if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(lit.to_token_stream())
                        {
                            return Some(s.value());
                        }
                    }
                }
            }
            [TokenTree::Ident(_), TokenTree::Group(group)] => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                if let Some(found) = not_feature(&inner) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

trait MetaText {
    fn to_token_stream_string(&self) -> String;
}

impl MetaText for syn::Meta {
    fn to_token_stream_string(&self) -> String {
        self.to_token_stream().to_string()
    }
}

/// `path = "…"` inside `#[cfg_attr(…, path = "…")]`: the files a module may be read from.
fn cfg_attr_paths(attrs: &[syn::Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("cfg_attr")) {
        let syn::Meta::List(list) = &attr.meta else {
            continue;
        };
        let tokens: Vec<proc_macro2::TokenTree> = list.tokens.clone().into_iter().collect();
        for window in tokens.windows(3) {
            if let [proc_macro2::TokenTree::Ident(i), proc_macro2::TokenTree::Punct(p), proc_macro2::TokenTree::Literal(l)] =
                window
            {
                if i == "path" && p.as_char() == '=' {
                    if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(l.to_token_stream()) {
                        out.push(s.value());
                    }
                }
            }
        }
    }
    out
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|attr| {
        if !attr.path().is_ident("path") {
            return None;
        }
        match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        }
    })
}

type ModFile = (PathBuf, Vec<String>, bool, bool);

fn collect_mod_decls(
    items: &[syn::Item],
    base: &Path,
    module: &[String],
    public: bool,
    out: &mut Vec<ModFile>,
) {
    for item in items {
        if let syn::Item::Macro(mac) = item {
            // `cfg_rt! { pub mod runtime; }`: modules declared inside item macros.
            if let Some(inner) = macro_items(&mac.mac) {
                collect_mod_decls(&inner, base, module, public, out);
            }
            continue;
        }
        let syn::Item::Mod(m) = item else { continue };
        let name = m.ident.to_string();
        let mut child = module.to_vec();
        child.push(name.clone());
        let child_public = public && matches!(m.vis, syn::Visibility::Public(_));
        match &m.content {
            Some((_, inner)) => {
                let inner_base = match path_attr(&m.attrs) {
                    Some(p) => base.join(p),
                    None => base.join(&name),
                };
                collect_mod_decls(inner, &inner_base, &child, child_public, out);
            }
            None => {
                for p in cfg_attr_paths(&m.attrs) {
                    let path = absolute(&base.join(p));
                    if path.exists() {
                        out.push((path, child.clone(), child_public, true));
                    }
                }
                if let Some(p) = path_attr(&m.attrs) {
                    let path = absolute(&base.join(p));
                    out.push((path, child, child_public, true));
                    continue;
                }
                let flat = base.join(format!("{name}.rs"));
                let nested = base.join(&name).join("mod.rs");
                if flat.exists() {
                    out.push((absolute(&flat), child, child_public, false));
                } else if nested.exists() {
                    out.push((absolute(&nested), child, child_public, true));
                }
            }
        }
    }
}

/// `path` made absolute against the current directory, with `.` components removed.
pub fn absolute(path: &Path) -> PathBuf {
    crate::discover::normalize(path)
}

/// The items of a macro invocation whose input is items (`cfg_rt! { … }`), if it parses as such.
pub fn macro_items(mac: &syn::Macro) -> Option<Vec<syn::Item>> {
    if !mac.tokens.clone().into_iter().any(|t| {
        matches!(&t, proc_macro2::TokenTree::Ident(i) if i == "mod" || i == "fn" || i == "impl" || i == "use" || i == "static" || i == "struct")
    }) {
        return None;
    }
    syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream| {
            let mut items = Vec::new();
            while !input.is_empty() {
                items.push(input.parse::<syn::Item>()?);
            }
            Ok(items)
        },
        mac.tokens.clone(),
    )
    .ok()
}

/// The package manifest (`Cargo.toml` with `[package]`) nearest above `file`.
pub fn package_manifest(file: &Path) -> Option<PathBuf> {
    let mut dir = file.parent();
    while let Some(d) = dir {
        let manifest = d.join("Cargo.toml");
        if read_package(&manifest, &Overlay::default()).is_some() {
            return Some(manifest);
        }
        dir = d.parent();
    }
    None
}

/// Files of other packages of the workspace around `manifest` whose text names `crate_name` and then
/// one of `names` (as whole words): the places other crates may name a public static. Files are
/// read through `overlay`.
pub fn named_by_other_crates(
    manifest: &Path,
    crate_name: &str,
    names: &[String],
    overlay: &Overlay,
) -> Vec<(String, PathBuf)> {
    let Some(package_dir) = manifest.parent() else {
        return Vec::new();
    };
    // The workspace root: the nearest directory above with a `[workspace]` manifest.
    let mut root = None;
    let mut dir = Some(package_dir);
    while let Some(d) = dir {
        if std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]")) {
            root = Some(d.to_path_buf());
        }
        dir = d.parent();
        if root.is_some() {
            break;
        }
    }
    let Some(root) = root else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir() && (name == "target" || name.starts_with('.')))
                    && e.path() != package_dir
        });
    for entry in walker.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs")
            || entry.metadata().is_ok_and(|m| m.len() > 4 << 20)
        {
            continue;
        }
        // The package's own tests, examples and benches are rewritten with it (a package that is
        // its own workspace root is walked from its directory).
        if package_manifest(path).as_deref() == Some(manifest) {
            continue;
        }
        let Ok(text) = overlay.read_to_string(path) else {
            continue;
        };
        if !has_word(&text, crate_name) {
            continue;
        }
        for name in names {
            if has_word(&text, name) {
                found.push((name.clone(), path.to_path_buf()));
            }
        }
    }
    found
}

fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_ident(before) && !is_ident(after)
    })
}

/// Whether `text` may declare a module in another file: somewhere `mod`, then a name, then `;`.
/// Conservative: a match in a comment or string only costs a parse.
fn declares_module_file(text: &str) -> bool {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    text.match_indices("mod").any(|(at, _)| {
        if at > 0 && ident(bytes[at - 1]) {
            return false;
        }
        let rest = &bytes[at + 3..];
        let name_at = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if name_at == 0 {
            return false;
        }
        let rest = &rest[name_at..];
        let name_len = rest.iter().take_while(|&&b| ident(b)).count();
        name_len > 0 && rest[name_len..].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b';')
    })
}

#[cfg(test)]
mod module_file_tests {
    use super::declares_module_file;

    #[test]
    fn finds_out_of_line_module_declarations_only() {
        assert!(declares_module_file("pub mod net;"));
        assert!(declares_module_file("#[path = \"x.rs\"]\nmod  inner ;"));
        assert!(declares_module_file("mod a { mod b; }"));
        assert!(!declares_module_file("mod tests { fn t() {} }"));
        assert!(!declares_module_file("fn model() {} // a module;"));
        assert!(!declares_module_file("let modulo = 3;"));
    }
}
