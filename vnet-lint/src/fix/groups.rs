//! Coupled statics: statics that the same function uses together (a once-flag and the value it
//! guards, a state word and the logger it publishes) are ported together or left together. A half
//! port is worse than none: the guard would run once per instance while the value it guards stays
//! one for the process.

use super::krate::Krate;
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};

/// For each function of `krate` (free, associated or default trait method) that names two or
/// more of `names`: the function's name and the names it uses. Names are matched as identifiers
/// anywhere in the body, macro arguments included.
pub fn uses_together(krate: &Krate, names: &BTreeSet<String>) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    for file in krate.files.values() {
        // A file that never spells any of the names cannot use them (parsing is the cost).
        if !names.iter().any(|n| file.text.contains(n.as_str())) {
            continue;
        }
        let Some(parsed) = krate.syntax(file) else {
            continue;
        };
        let mut visitor = Functions {
            names,
            out: &mut out,
        };
        syn::visit::Visit::visit_file(&mut visitor, &parsed);
    }
    out
}

struct Functions<'a> {
    names: &'a BTreeSet<String>,
    out: &'a mut Vec<(String, BTreeSet<String>)>,
}

impl Functions<'_> {
    fn body(&mut self, name: &syn::Ident, block: &syn::Block) {
        let mut used = BTreeSet::new();
        collect(block.to_token_stream(), self.names, &mut used);
        if used.len() > 1 {
            self.out.push((name.to_string(), used));
        }
    }
}

fn collect(
    tokens: proc_macro2::TokenStream,
    names: &BTreeSet<String>,
    used: &mut BTreeSet<String>,
) {
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Ident(i) => {
                let text = i.to_string();
                if names.contains(&text) {
                    used.insert(text);
                }
            }
            proc_macro2::TokenTree::Group(g) => collect(g.stream(), names, used),
            _ => {}
        }
    }
}

impl<'ast> syn::visit::Visit<'ast> for Functions<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.body(&f.sig.ident, &f.block);
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.body(&f.sig.ident, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.body(&f.sig.ident, block);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

/// Which of `names` are guards: statics whose type is an atomic or a `Once` (a flag or a state word
/// that publishes other state), found by their declarations in `krate`.
pub fn guards(krate: &Krate, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
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
            let last = match &*s.ty {
                syn::Type::Path(p) => p.path.segments.last().map(|seg| seg.ident.to_string()),
                _ => None,
            };
            if last.is_some_and(|l| l.starts_with("Atomic") || l == "Once") {
                out.insert(name);
            }
        }
    }
    out
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
        let together = uses_together(&krate, &names);
        assert_eq!(together.len(), 1, "{together:?}");
        let groups = groups(&together, |a, b| a == "LOGGER" || b == "LOGGER");
        assert_eq!(groups["STATE"].0, groups["LOGGER"].0);
        assert_eq!(groups["STATE"].1, "set");
        assert!(!groups.contains_key("HITS"));
    }
}
