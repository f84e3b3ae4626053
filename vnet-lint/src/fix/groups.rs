//! Coupled statics: statics that the same function uses together (a once-flag and the value it
//! guards, a state word and the logger it publishes) are ported together or left together. A half
//! port is worse than none: the guard would run once per instance while the value it guards stays
//! one for the process.

use super::krate::Krate;
use std::collections::{BTreeMap, BTreeSet};

/// For each function `reach` read (free, associated or default trait method, or a `thread_local!`
/// initializer) that reaches two or more of `names`: the function's name and the names it reaches.
/// A function reaches the names it spells anywhere in its body, macro arguments included, and
/// those of the crate's functions it calls ([`super::reach`]): a guard checked in one function
/// and the value it publishes written by a helper it calls are used together.
pub fn uses_together(
    reach: &super::reach::Reach,
    names: &BTreeSet<String>,
) -> Vec<(String, BTreeSet<String>)> {
    reach
        .functions()
        .map(|(function, used)| {
            (
                function,
                used.intersection(names).cloned().collect::<BTreeSet<_>>(),
            )
        })
        .filter(|(_, used)| used.len() > 1)
        .map(|(function, used)| (function.to_owned(), used))
        .collect()
}

/// What the statics among `names` are to each other, from their declarations in `krate`.
#[derive(Debug, Default)]
pub struct Roles {
    /// Statics whose type is an atomic or a `Once` (or an array of them): a flag or a state word
    /// that publishes other state.
    pub guards: BTreeSet<String>,
    /// Statics that hold their value in an `UnsafeCell` of a crate type (`struct Cache(UnsafeCell<T>)`
    /// with an `unsafe impl Sync`, arrays of it too): like a `static mut`, the value relies on a
    /// guard outside it for its synchronization.
    pub cells: BTreeSet<String>,
}

/// The [`Roles`] of `names`: their declarations are read in the files that spell them, and a crate
/// type of theirs in the files that declare it.
pub fn roles(krate: &Krate, names: &BTreeSet<String>) -> Roles {
    let mut roles = Roles::default();
    let mut typed: Vec<(String, String)> = Vec::new();
    for file in krate.files.values() {
        if !names.iter().any(|n| file.text.contains(n.as_str())) {
            continue;
        }
        let Some(parsed) = krate.syntax(file) else {
            continue;
        };
        for (s, _) in super::decl::locate(&parsed, &file.module).statics {
            let name = s.ident.to_string();
            if !names.contains(&name) {
                continue;
            }
            // `[Once; 2]`: an array of guards guards as much.
            match element_type(&s.ty) {
                Some(l) if l.starts_with("Atomic") || l == "Once" => {
                    roles.guards.insert(name);
                }
                Some(l) => typed.push((name, l)),
                None => {}
            }
        }
    }
    // Cells matter only as what a guard guards.
    if roles.guards.is_empty() || typed.is_empty() {
        return roles;
    }
    let mut cells: BTreeSet<String> = BTreeSet::new();
    for file in krate.files.values() {
        let declared: Vec<&str> = typed
            .iter()
            .map(|(_, ty)| ty.as_str())
            .filter(|ty| file.text.contains(&format!("struct {ty}")))
            .collect();
        if declared.is_empty() || !file.text.contains("UnsafeCell") {
            continue;
        }
        let Some(parsed) = krate.syntax(file) else {
            continue;
        };
        for item in &parsed.items {
            if let syn::Item::Struct(s) = item {
                let fields = quote::ToTokens::to_token_stream(&s.fields).to_string();
                if declared.contains(&s.ident.to_string().as_str())
                    && fields
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|w| w == "UnsafeCell")
                {
                    cells.insert(s.ident.to_string());
                }
            }
        }
    }
    roles.cells = typed
        .into_iter()
        .filter(|(_, ty)| cells.contains(ty))
        .map(|(name, _)| name)
        .collect();
    roles
}

/// The last path segment of `ty`, through arrays and slices (`[Once; 2]` → `Once`).
fn element_type(mut ty: &syn::Type) -> Option<String> {
    while let syn::Type::Array(syn::TypeArray { elem, .. })
    | syn::Type::Slice(syn::TypeSlice { elem, .. }) = ty
    {
        ty = elem;
    }
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|seg| seg.ident.to_string()),
        _ => None,
    }
}

/// Groups of names used together (transitively), each with one function that links two of its
/// members: `name → (group id, a function naming it with another member)`. Two names used in one
/// function are coupled when `coupled(a, b)` says so (the fix: when one is a `static mut`, the value
/// a guard publishes; two locks used side by side are not a group).
pub fn groups(
    together: &[(String, BTreeSet<String>)],
    coupled: impl Fn(&str, &str) -> bool,
) -> BTreeMap<String, (usize, String)> {
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn find(parent: &mut BTreeMap<String, String>, x: &str) -> String {
        let p = parent.get(x).cloned().unwrap_or_else(|| x.to_owned());
        if p == x {
            return p;
        }
        let root = find(parent, &p);
        parent.insert(x.to_owned(), root.clone());
        root
    }
    let mut via: BTreeMap<String, String> = BTreeMap::new();
    for (function, names) in together {
        let names: Vec<&String> = names.iter().collect();
        for (i, first) in names.iter().enumerate() {
            for other in &names[i + 1..] {
                if !coupled(first, other) {
                    continue;
                }
                via.entry((*first).clone())
                    .or_insert_with(|| function.clone());
                via.entry((*other).clone())
                    .or_insert_with(|| function.clone());
                let a = find(&mut parent, first);
                let b = find(&mut parent, other);
                if a != b {
                    parent.insert(a, b);
                }
            }
        }
    }
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for name in via.keys() {
        let root = find(&mut parent, name);
        let next = ids.len();
        let id = *ids.entry(root).or_insert(next);
        out.insert(name.clone(), (id, via[name].clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_and_its_value_are_one_group_and_an_unrelated_counter_is_not() {
        let text = "use std::sync::atomic::*;\n\
            static STATE: AtomicUsize = AtomicUsize::new(0);\n\
            static mut LOGGER: &str = \"\";\n\
            static HITS: AtomicUsize = AtomicUsize::new(0);\n\
            fn set(l: &'static str) { if STATE.swap(1, Ordering::SeqCst) == 0 { unsafe { LOGGER = l } } }\n\
            fn hit() { HITS.fetch_add(1, Ordering::Relaxed); }\n";
        let krate = Krate::single("lib.rs".into(), text.into());
        let names: BTreeSet<String> = ["STATE", "LOGGER", "HITS"].map(String::from).into();
        let together = uses_together(&super::super::reach::Reach::of(&krate, &names), &names);
        assert_eq!(together.len(), 1, "{together:?}");
        let groups = groups(&together, |a, b| a == "LOGGER" || b == "LOGGER");
        assert_eq!(groups["STATE"].0, groups["LOGGER"].0);
        assert_eq!(groups["STATE"].1, "set");
        assert!(!groups.contains_key("HITS"));
    }
}
