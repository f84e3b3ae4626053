//! Interior mutability of types, decided from names: well-known library types, and the crate's own type
//! aliases and struct, enum and union definitions, collected from every file.
//!
//! **Architecture Invariant:** types are plain data ([`TyShape`]), built from syn while a file is parsed,
//! so resolution runs after the parallel parse without holding any syntax tree.

use crate::diag::FileId;
use crate::parse::shape::{TyShape, TypeDef};
use crate::parse::Import;
use std::collections::{HashMap, HashSet};

/// What kind of interior mutability a well-known type has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `AtomicU64`, `AtomicPtr`, `AtomicWaker`, …
    Atomic,
    /// `Mutex`, `RwLock`, `Condvar`, …
    Lock,
    /// `Cell`, `RefCell`, `UnsafeCell`, `ArcSwap`, …
    Cell,
    /// `OnceCell`, `OnceLock`, `Lazy`, `LazyLock`, `Once`, …
    Once,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Atomic => "an atomic",
            Kind::Lock => "a lock",
            Kind::Cell => "a cell",
            Kind::Once => "a once-initialized cell",
        }
    }
}

/// Why a type has interior mutability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Why {
    /// The well-known type at the bottom, e.g. `AtomicU64`.
    pub core: String,
    /// Its kind.
    pub kind: Kind,
    /// The outermost named type that contains it, when that is not the core type itself.
    pub via: Option<String>,
}

impl Why {
    /// A label text: "`Stats` wraps `AtomicU64`, an atomic" or "`Mutex` is a lock".
    pub fn describe(&self) -> String {
        match &self.via {
            Some(outer) => format!("`{outer}` wraps `{}`, {}", self.core, self.kind.describe()),
            None => format!("`{}` is {}", self.core, self.kind.describe()),
        }
    }
}

/// The kind of a well-known interior-mutable type, by its last path segment.
pub fn well_known(name: &str) -> Option<Kind> {
    if name.starts_with("Atomic") && name != "Atomicity" {
        return Some(Kind::Atomic);
    }
    let kind = match name {
        "Mutex" | "RwLock" | "ReentrantMutex" | "FairMutex" | "SpinMutex" | "SpinLock"
        | "Spinlock" | "TicketMutex" | "SeqLock" | "ShardedLock" | "Condvar" | "Barrier"
        | "Semaphore" | "Notify" | "RawMutex" | "RawRwLock" | "RawFairMutex" | "StaticMutex"
        | "StaticRwLock" => Kind::Lock,
        "Cell" | "RefCell" | "UnsafeCell" | "SyncUnsafeCell" | "ArcSwap" | "ArcSwapOption"
        | "ArcSwapAny" | "ArcCell" | "TryLock" => Kind::Cell,
        "OnceCell" | "OnceLock" | "Lazy" | "LazyLock" | "LazyCell" | "Once" | "OnceBox"
        | "OnceBool" | "OnceNonZeroUsize" | "OnceRef" | "LazyStatic" => Kind::Once,
        _ => return None,
    };
    Some(kind)
}

/// Types whose arguments are not values held by the type.
fn is_marker(name: &str) -> bool {
    matches!(name, "PhantomData" | "PhantomPinned" | "LocalKey" | "fn")
}

/// How deep resolution follows aliases and fields before it gives up.
const MAX_DEPTH: usize = 64;

/// The crate's own type definitions, by name, and which names each file imports from other crates.
///
/// Names are resolved in the context of a file: a name the file imports from another crate (`use
/// proc_macro2::Group;`) is that crate's type, never a same-named type of this crate.
#[derive(Debug, Default)]
pub struct TypeTable {
    defs: HashMap<String, Vec<Def>>,
    external: HashMap<FileId, HashSet<String>>,
    /// For each file, the module each imported name comes from (`offset` for `use …::offset::Parser;`).
    imported_from: HashMap<(FileId, String), String>,
    /// Names of the crate's modules: file stems, directories with a `mod.rs`, inline and declared `mod`s.
    modules: HashSet<String>,
}

/// One definition of a type name.
#[derive(Debug)]
struct Def {
    file: FileId,
    /// The innermost module around the definition: an inline `mod`, else the file's module.
    module: String,
    def: TypeDef,
}

/// Path roots that name this crate.
const LOCAL_ROOTS: &[&str] = &["crate", "self", "super", "Self"];

impl TypeTable {
    /// Adds a definition of `name` made in `file`, in the module named `module` (its innermost one).
    pub fn insert(&mut self, name: String, file: FileId, module: &str, def: TypeDef) {
        self.modules.insert(module.to_owned());
        self.defs.entry(name).or_default().push(Def {
            file,
            module: module.to_owned(),
            def,
        });
    }

    /// Records the name of one of the crate's modules.
    pub fn add_module(&mut self, module: &str) {
        if !self.modules.contains(module) {
            self.modules.insert(module.to_owned());
        }
    }

    /// Records the imports of `file`. `child_modules` are the modules `file` declares: with 2018 uniform
    /// paths, `use name::Item;` names a child module when one is called `name`, and a crate otherwise.
    pub fn add_imports(&mut self, file: FileId, imports: &[Import], child_modules: &[String]) {
        for import in imports {
            // `use sys::unix as imp;` makes `imp::Lock` a path into the crate's `unix` module.
            let renamed_module = import.local != import.original
                && import.local.starts_with(|c: char| c.is_ascii_lowercase());
            if renamed_module {
                self.add_module(&import.local);
            }
            let external = !LOCAL_ROOTS.contains(&import.first.as_str())
                && !child_modules.contains(&import.first);
            let renamed = import.local != import.original;
            let target = || {
                TypeDef::new(
                    Vec::new(),
                    vec![TyShape::Path {
                        name: import.original.clone(),
                        qualifier: import.parent.clone(),
                        args: Vec::new(),
                    }],
                )
            };
            if let Some(parent) = &import.parent {
                self.imported_from
                    .insert((file, import.local.clone()), parent.clone());
            }
            if external {
                self.external
                    .entry(file)
                    .or_default()
                    .insert(import.local.clone());
                if renamed && well_known(&import.original).is_some() {
                    self.insert(import.local.clone(), file, "", target());
                }
            } else if renamed {
                self.insert(import.local.clone(), file, "", target());
            }
        }
    }

    /// Whether `file` imports `name` from another crate and does not define it itself.
    fn is_external(&self, file: FileId, name: &str) -> bool {
        let imported = self
            .external
            .get(&file)
            .is_some_and(|names| names.contains(name));
        imported
            && !self
                .defs
                .get(name)
                .is_some_and(|defs| defs.iter().any(|d| d.file == file))
    }

    /// Why values of this shape, written in `file`, can change behind a shared reference, or `None`.
    pub fn interior(&self, shape: &TyShape, file: FileId) -> Option<Why> {
        self.interior_in(shape, file, &mut HashSet::new(), 0)
    }

    fn interior_in(
        &self,
        shape: &TyShape,
        file: FileId,
        visiting: &mut HashSet<String>,
        depth: usize,
    ) -> Option<Why> {
        if depth > MAX_DEPTH {
            return None;
        }
        match shape {
            TyShape::Path {
                name,
                qualifier,
                args,
            } => {
                if let Some(kind) = well_known(name) {
                    return Some(Why {
                        core: name.clone(),
                        kind,
                        via: None,
                    });
                }
                if is_marker(name) {
                    return None;
                }
                let wrap = |why: Why| Why {
                    via: Some(name.clone()),
                    ..why
                };
                // A definition of the crate decides from its fields, with its type parameters bound
                // to the arguments: `Wrapper<Cell<u8>>` holds a cell for `struct Wrapper<T>(T)`, not
                // for `struct Wrapper<T>(PhantomData<T>)`. Other types are taken to hold their
                // arguments (`Option<Cell<u8>>`, `Vec<Mutex<u8>>`, `foreign::Box<Cell<u8>>`).
                let defs = self.candidates(name, qualifier.as_deref(), file);
                if !defs.is_empty() && visiting.insert(name.clone()) {
                    let found = defs.iter().find_map(|d| {
                        d.def
                            .instantiate(args)
                            .iter()
                            .find_map(|field| self.interior_in(field, d.file, visiting, depth + 1))
                    });
                    visiting.remove(name);
                    return found.map(wrap);
                }
                args.iter()
                    .find_map(|arg| self.interior_in(arg, file, visiting, depth + 1))
                    .map(wrap)
            }
            TyShape::Many(parts) => parts
                .iter()
                .find_map(|part| self.interior_in(part, file, visiting, depth + 1)),
            TyShape::Opaque => None,
        }
    }

    /// The crate's definitions that a path `qualifier::name` written in `file` may mean. When the crate
    /// defines the name more than once, the path picks: `offset::Parser` means the `Parser` of a module
    /// `offset`; a bare `Parser` means the file's own, else the one of the module it is imported from.
    /// A qualifier that is no module of the crate names another crate: none of the crate's types.
    fn candidates(&self, name: &str, qualifier: Option<&str>, file: FileId) -> Vec<&Def> {
        if self.is_external(file, name) {
            return Vec::new();
        }
        let Some(all) = self.defs.get(name) else {
            return Vec::new();
        };
        let in_module =
            |module: &str| -> Vec<&Def> { all.iter().filter(|d| d.module == module).collect() };
        match qualifier {
            Some(q) if !LOCAL_ROOTS.contains(&q) => {
                let picked = in_module(q);
                if !picked.is_empty() {
                    picked
                } else if self.modules.contains(q) {
                    // A module that re-exports the type from elsewhere.
                    all.iter().collect()
                } else {
                    Vec::new()
                }
            }
            _ if all.len() > 1 => {
                let same_file: Vec<&Def> = all.iter().filter(|d| d.file == file).collect();
                if !same_file.is_empty() {
                    return same_file;
                }
                let imported = self
                    .imported_from
                    .get(&(file, name.to_owned()))
                    .map(|module| in_module(module))
                    .unwrap_or_default();
                if imported.is_empty() {
                    all.iter().collect()
                } else {
                    imported
                }
            }
            _ => all.iter().collect(),
        }
    }

    /// Names used by `shapes` (each written in a file) and by the definitions they reach that are neither
    /// well known, imported from another crate, nor defined.
    pub fn unresolved<'a>(
        &self,
        shapes: impl IntoIterator<Item = (FileId, &'a TyShape)>,
    ) -> HashSet<String> {
        let mut names: Vec<(FileId, &str)> = Vec::new();
        for (file, shape) in shapes {
            let mut found = Vec::new();
            shape.names(&mut found);
            names.extend(found.into_iter().map(|name| (file, name)));
        }
        let mut seen = HashSet::new();
        let mut out = HashSet::new();
        while let Some((file, name)) = names.pop() {
            if !seen.insert((file, name))
                || well_known(name).is_some()
                || is_marker(name)
                || is_primitive(name)
                || self.is_external(file, name)
            {
                continue;
            }
            match self.defs.get(name) {
                Some(defs) => {
                    for d in defs {
                        let mut found = Vec::new();
                        d.def
                            .shapes()
                            .iter()
                            .for_each(|shape| shape.names(&mut found));
                        names.extend(found.into_iter().map(|n| (d.file, n)));
                    }
                }
                None => {
                    out.insert(name.to_owned());
                }
            }
        }
        out
    }
}

/// Primitive and standard-library names whose own definition holds no interior mutability (their type
/// arguments are still looked into), so resolution never searches the crate for them.
const STD_PLAIN: &[&str] = &[
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "bool",
    "char",
    "str",
    "String",
    "Option",
    "Vec",
    "VecDeque",
    "Box",
    "Arc",
    "Rc",
    "Result",
    "Duration",
    "Instant",
    "SystemTime",
    "Path",
    "PathBuf",
    "OsStr",
    "OsString",
    "CStr",
    "CString",
    "Self",
    "Cow",
    "NonNull",
    "NonZeroU8",
    "NonZeroU16",
    "NonZeroU32",
    "NonZeroU64",
    "NonZeroUsize",
    "MaybeUninit",
    "ManuallyDrop",
    "Pin",
    "Poll",
    "Waker",
    "RawWakerVTable",
    "Ipv4Addr",
    "Ipv6Addr",
    "IpAddr",
    "SocketAddr",
    "HashMap",
    "HashSet",
    "BTreeMap",
    "BTreeSet",
    "Error",
    "ErrorKind",
    "TypeId",
    "Ordering",
    "Wrapping",
];

/// Whether resolution should skip `name`: a plain std name or a single-letter generic parameter.
fn is_primitive(name: &str) -> bool {
    name.len() == 1 || STD_PLAIN.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(src: &str) -> TyShape {
        TyShape::of(&syn::parse_str(src).expect("type"))
    }

    fn check(defs: &[&str], ty: &str, expect: Option<&str>) {
        let mut table = TypeTable::default();
        for def in defs {
            let item: syn::Item = syn::parse_str(def).expect("item");
            match item {
                syn::Item::Type(alias) => table.insert(
                    alias.ident.to_string(),
                    0,
                    "crate",
                    TypeDef::new(
                        alias
                            .generics
                            .type_params()
                            .map(|p| p.ident.to_string())
                            .collect(),
                        vec![TyShape::of(&alias.ty)],
                    ),
                ),
                syn::Item::Struct(st) => table.insert(
                    st.ident.to_string(),
                    0,
                    "crate",
                    TypeDef::new(
                        st.generics
                            .type_params()
                            .map(|p| p.ident.to_string())
                            .collect(),
                        st.fields.iter().map(|f| TyShape::of(&f.ty)).collect(),
                    ),
                ),
                _ => panic!("unsupported test item {def}"),
            }
        }
        assert_eq!(
            table
                .interior(&shape(ty), 0)
                .map(|why| why.describe())
                .as_deref(),
            expect,
            "{ty}"
        );
    }

    #[test]
    fn names_imported_from_other_crates_are_not_the_crate_s_own() {
        let mut table = TypeTable::default();
        let parse_buffer = TyShape::Path {
            name: "Cell".into(),
            qualifier: None,
            args: Vec::new(),
        };
        table.insert(
            "Group".into(),
            1,
            "group",
            TypeDef::new(Vec::new(), vec![parse_buffer]),
        );
        let import = |first: &str| Import {
            local: "Group".into(),
            original: "Group".into(),
            first: first.into(),
            parent: Some(first.into()),
        };
        table.add_imports(0, &[import("proc_macro2")], &[]);
        table.add_imports(2, &[import("crate")], &[]);
        table.add_imports(3, &[import("group")], &["group".to_owned()]);
        let group = shape("Group");
        assert_eq!(table.interior(&group, 0), None, "proc_macro2::Group");
        assert!(table.interior(&group, 2).is_some(), "crate::Group");
        assert!(
            table.interior(&group, 3).is_some(),
            "group::Group, a module of the crate"
        );
        assert!(
            table.interior(&group, 4).is_some(),
            "not imported: the crate's own"
        );
    }

    #[test]
    fn paths_pick_among_same_named_types() {
        // jiff has `offset::Parser` (plain) and other `Parser`s, one of which reaches a `RwLock`.
        let mut table = TypeTable::default();
        let plain = || TypeDef::new(Vec::new(), vec![shape("bool")]);
        let locked = || TypeDef::new(Vec::new(), vec![shape("RwLock<u8>")]);
        table.insert("Parser".into(), 1, "offset", plain());
        table.insert("Parser".into(), 2, "strtime", locked());
        table.add_module("fmt");
        let import = |parent: &str| Import {
            local: "Parser".into(),
            original: "Parser".into(),
            first: "crate".into(),
            parent: Some(parent.into()),
        };
        table.add_imports(3, &[import("offset")], &[]);
        let interior = |ty: &str, file| table.interior(&shape(ty), file).is_some();
        assert!(!interior("offset::Parser", 0), "the module's own");
        assert!(interior("strtime::Parser", 0));
        assert!(interior("fmt::Parser", 0), "a re-export: any of them");
        assert!(!interior("regex::Parser", 0), "another crate's");
        assert!(!interior("Parser", 1), "the file's own");
        assert!(interior("Parser", 2), "the file's own");
        assert!(!interior("Parser", 3), "the imported one");
        assert!(interior("Parser", 4), "unknown: any of them");
        let module_alias = Import {
            local: "imp".into(),
            original: "strtime".into(),
            first: "crate".into(),
            parent: None,
        };
        assert!(!interior("imp::Parser", 5), "no module `imp` yet");
        table.add_imports(5, &[module_alias], &[]);
        let imp = table.interior(&shape("imp::Parser"), 5);
        assert!(imp.is_some(), "a renamed module");
    }

    #[test]
    fn well_known_types_and_wrappers() {
        check(
            &[],
            "std::sync::atomic::AtomicU64",
            Some("`AtomicU64` is an atomic"),
        );
        check(
            &[],
            "parking_lot::Mutex<Vec<u8>>",
            Some("`Mutex` is a lock"),
        );
        check(
            &[],
            "Option<RefCell<u8>>",
            Some("`Option` wraps `RefCell`, a cell"),
        );
        check(
            &[],
            "&'static [AtomicBool]",
            Some("`AtomicBool` is an atomic"),
        );
        check(
            &[],
            "(u8, OnceLock<String>)",
            Some("`OnceLock` is a once-initialized cell"),
        );
    }

    #[test]
    fn immutable_data_is_not_interior() {
        for ty in [
            "&str",
            "[u8; 4]",
            "&[&str]",
            "fn(u8) -> u8",
            "Option<fn()>",
            "u32",
            "PhantomData<Cell<u8>>",
        ] {
            check(&[], ty, None);
        }
    }

    #[test]
    fn aliases_and_fields_resolve_recursively() {
        let defs = [
            "type Counter = AtomicU64;",
            "struct Stats { rx: Counter, tx: u64 }",
            "struct Plain { a: u8 }",
        ];
        check(&defs, "Stats", Some("`Stats` wraps `AtomicU64`, an atomic"));
        check(&defs, "Plain", None);
        check(
            &["struct Node { next: Option<&'static Node> }"],
            "Node",
            None,
        );
    }

    #[test]
    fn type_parameters_are_bound_to_the_arguments() {
        let defs = [
            "struct Holder<T> { value: T, count: usize }",
            "struct Tag<T>(PhantomData<T>);",
            "type Shared<T> = Arc<Mutex<T>>;",
        ];
        check(
            &defs,
            "Holder<AtomicU8>",
            Some("`Holder` wraps `AtomicU8`, an atomic"),
        );
        check(&defs, "Holder<u8>", None);
        check(&defs, "Tag<Cell<u8>>", None);
        check(&defs, "Shared<u8>", Some("`Shared` wraps `Mutex`, a lock"));
        check(
            &defs,
            "Option<Holder<Cell<u8>>>",
            Some("`Option` wraps `Cell`, a cell"),
        );
    }
}
