//! Which statics a function reaches: the ones its body names, and those of the crate's functions it
//! calls, transitively. Calls are resolved by name, as the lint reads syntax: `f(…)` and
//! `module::f(…)` are the crate's free functions `f`, `Type::f(…)` and `Self::f(…)` the associated
//! functions `f` of `Type` (of the `impl` around the call), `self.f(…)` the methods `f` of the
//! `impl` around the call. A name defined more than once (under different `cfg`s) is all of them.
//! Method calls on other receivers are not followed (their type is unknown).
//!
//! Two kinds of code run outside any instance's control, and the statics they reach stay
//! process-wide ([`process_wide`]): a function with a foreign ABI (`extern "C" fn`: a signal
//! handler, a C callback) runs on whatever thread the foreign code picks, and a `thread_local!`
//! initializer builds a per-thread value that outlives every instance the thread enters.

use super::krate::Krate;
use quote::ToTokens;
use std::collections::{BTreeMap, BTreeSet};

/// A function of the crate: `(Some(type), name)` for an associated function, `(None, name)` for a
/// free one.
type Key = (Option<String>, String);

/// What one function (or `thread_local!` initializer) does: the names it spells, the calls it makes.
#[derive(Debug, Default)]
struct Body {
    /// The function's name, or `thread_local! NAME`.
    label: String,
    /// How calls name it (`None` for an initializer, which nothing calls).
    key: Option<Key>,
    names: BTreeSet<String>,
    calls: Vec<Key>,
    /// Why it runs outside the instances' control, if it does.
    foreign: Option<String>,
    /// Whether it is in a test, example or bench of the package rather than in the crate itself.
    outside: bool,
}

/// The crate's functions and the statics among `names` each reaches, directly or through calls.
pub struct Reach {
    bodies: Vec<Body>,
    reached: Vec<BTreeSet<String>>,
}

impl Reach {
    /// Reads the files of `krate` that matter and follows the calls between their functions: the
    /// files that spell one of `names`, a foreign-ABI function or a `thread_local!`, then, until
    /// none is added, those that define a function such code calls. A large crate with few
    /// statics is read in part; a function that calls two helpers, one per static, and names
    /// neither is not seen.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use vnet_lint::fix::{krate::Krate, reach::Reach};
    /// let text = "static A: u8 = 0;\nfn helper() -> u8 { A }\nfn outer() -> u8 { helper() }\n";
    /// let krate = Krate::single("lib.rs".into(), text.into());
    /// let names: BTreeSet<String> = ["A".to_owned()].into();
    /// let reach = Reach::of(&krate, &names);
    /// assert!(reach.functions().any(|(f, used)| f == "outer" && used.contains("A")));
    /// ```
    pub fn of(krate: &Krate, names: &BTreeSet<String>) -> Reach {
        let mut bodies = Vec::new();
        let files: Vec<&super::krate::CrateFile> = krate.files.values().collect();
        // Which files spell `fn name(` or `fn name<`, found in one pass over each text (a large
        // crate is mostly read here, so no word is hashed that is not a function's name).
        let mut defining: std::collections::HashMap<&str, Vec<usize>> = Default::default();
        for (i, file) in files.iter().enumerate() {
            for name in fn_names(&file.text) {
                let list = defining.entry(name).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        let mut read = vec![false; files.len()];
        // The files read in any case: they spell a static, a foreign ABI or `thread_local!`.
        let finders: Vec<memchr::memmem::Finder> = names
            .iter()
            .map(String::as_str)
            .chain(["thread_local"])
            .map(memchr::memmem::Finder::new)
            .collect();
        let first: Vec<bool> = files
            .iter()
            .map(|file| {
                let text = file.text.as_str();
                finders.iter().any(|f| spells_word(text, f))
                    || text.contains("extern \"")
                    || text.contains("extern fn")
            })
            .collect();
        let mut wanted: BTreeSet<Key> = BTreeSet::new();
        loop {
            let mut more = false;
            // The files that may define a function wanted so far.
            let mut defines_wanted = vec![false; files.len()];
            for key in &wanted {
                for &i in defining.get(key.1.as_str()).into_iter().flatten() {
                    defines_wanted[i] |= !read[i] && defines(files[i], key);
                }
            }
            for (i, &file) in files.iter().enumerate() {
                if read[i] || !(first[i] || defines_wanted[i]) {
                    continue;
                }
                read[i] = true;
                more = true;
                let Some(parsed) = krate.syntax(file) else {
                    continue;
                };
                let mut visitor = Functions {
                    names,
                    self_ty: None,
                    outside: file.module.first().map(String::as_str)
                        == Some(super::krate::OTHER_CRATE),
                    bodies: &mut bodies,
                };
                syn::visit::Visit::visit_file(&mut visitor, &parsed);
            }
            if !more {
                break;
            }
            wanted = called(&bodies);
        }
        let reached = close(&bodies);
        Reach { bodies, reached }
    }

    /// Each function (by name; a `thread_local!` initializer as `thread_local! NAME`) with the
    /// statics it reaches: the crate's own before its tests' and examples', and of those, the ones
    /// that reach fewer first (the helper that links two statics before every caller of it).
    pub fn functions(&self) -> impl Iterator<Item = (&str, &BTreeSet<String>)> {
        let mut order: Vec<usize> = (0..self.bodies.len()).collect();
        order.sort_by_key(|&i| (self.bodies[i].outside, self.reached[i].len()));
        order
            .into_iter()
            .map(|i| (self.bodies[i].label.as_str(), &self.reached[i]))
    }

    /// The statics that code outside the instances' control reaches, each with the reason (the
    /// first such function found).
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use vnet_lint::fix::{krate::Krate, reach::Reach};
    /// let text = "static mut FD: i32 = -1;\nfn fd() -> i32 { unsafe { FD } }\n\
    ///             extern \"C\" fn on_signal(_: i32) { let _ = fd(); }\n";
    /// let krate = Krate::single("lib.rs".into(), text.into());
    /// let names: BTreeSet<String> = ["FD".to_owned()].into();
    /// let wide = Reach::of(&krate, &names).process_wide();
    /// assert!(wide["FD"].contains("on_signal"));
    /// ```
    pub fn process_wide(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (body, reached) in self.bodies.iter().zip(&self.reached) {
            let Some(why) = &body.foreign else { continue };
            for name in reached {
                out.entry(name.clone()).or_insert_with(|| why.clone());
            }
        }
        out
    }
}

/// The functions that code naming a static, or running outside the instances, calls, transitively
/// among the bodies read so far.
fn called(bodies: &[Body]) -> BTreeSet<Key> {
    let mut out: BTreeSet<Key> = BTreeSet::new();
    loop {
        let before = out.len();
        for body in bodies {
            let wanted = body.key.as_ref().is_some_and(|(owner, name)| {
                out.iter()
                    .any(|(o, n)| n == name && (o.is_none() || o == owner || is_module(o)))
            });
            if !body.names.is_empty() || body.foreign.is_some() || wanted {
                out.extend(body.calls.iter().cloned());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// `module::f`: a lowercase qualifier is a module, not a type.
fn is_module(owner: &Option<String>) -> bool {
    owner
        .as_ref()
        .is_some_and(|o| o.starts_with(|c: char| c.is_lowercase()))
}

/// Whether a file spelling `fn name(` or `fn name<` (see [`fn_names`]) defines the function `key`:
/// for an associated function, it also has an `impl` of (or a trait named after) its type.
fn defines(file: &super::krate::CrateFile, (owner, _): &Key) -> bool {
    let owner = owner.as_ref().filter(|o| !is_module(&Some((*o).clone())));
    let text = file.text.as_str();
    owner.is_none_or(|owner| {
        spells_word(text, &memchr::memmem::Finder::new(owner))
            && [
                format!("impl {owner}"),
                format!(" for {owner}"),
                format!("> {owner}"),
                format!("trait {owner}"),
            ]
            .iter()
            .any(|p| text.contains(p.as_str()))
    })
}

/// The names of the functions `text` spells a definition of: `fn name(` or `fn name<`, with `fn`
/// a whole word (comments and strings included: a false match only costs reading the file).
fn fn_names(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(bytes, b"fn ").filter_map(move |at| {
        if at > 0 && (ident(bytes[at - 1]) || bytes[at - 1] >= 0x80) {
            return None;
        }
        let start = at + 3;
        let len = bytes[start..]
            .iter()
            .take_while(|&&b| ident(b) || b >= 0x80)
            .count();
        let after = *bytes.get(start + len)?;
        (len > 0 && (after == b'(' || after == b'<')).then(|| &text[start..start + len])
    })
}

/// Whether `text` spells the word `finder` looks for as a whole identifier.
fn spells_word(text: &str, finder: &memchr::memmem::Finder) -> bool {
    let bytes = text.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    finder.find_iter(bytes).any(|at| {
        let end = at + finder.needle().len();
        let joined_before = at > 0 && ident(bytes[at - 1]);
        let joined_after = bytes.get(end).is_some_and(|&b| ident(b));
        !joined_before && !joined_after
    })
}

/// `reached[i]`: the names body `i` spells, and those of every body it calls, transitively.
fn close(bodies: &[Body]) -> Vec<BTreeSet<String>> {
    let mut by_key: BTreeMap<&Key, Vec<usize>> = BTreeMap::new();
    for (i, body) in bodies.iter().enumerate() {
        if let Some(key) = &body.key {
            by_key.entry(key).or_default().push(i);
        }
    }
    let callees: Vec<Vec<usize>> = bodies
        .iter()
        .map(|b| {
            let mut out = Vec::new();
            for call in &b.calls {
                let hit = by_key.get(call).or_else(|| {
                    // `module::f(…)`, or a type the crate has no `f` for: the free function `f`.
                    call.0
                        .as_ref()
                        .and_then(|_| by_key.get(&(None, call.1.clone())))
                });
                out.extend(hit.into_iter().flatten().copied());
            }
            out
        })
        .collect();
    let mut reached: Vec<BTreeSet<String>> = bodies.iter().map(|b| b.names.clone()).collect();
    // Until nothing changes (a crate's call graph is small; cycles end it too).
    loop {
        let mut changed = false;
        for i in 0..bodies.len() {
            for &j in &callees[i] {
                if i == j {
                    continue;
                }
                let missing: Vec<String> = reached[j].difference(&reached[i]).cloned().collect();
                if !missing.is_empty() {
                    reached[i].extend(missing);
                    changed = true;
                }
            }
        }
        if !changed {
            return reached;
        }
    }
}

struct Functions<'a> {
    names: &'a BTreeSet<String>,
    /// The type of the `impl` (or the trait) around, for `Self::f` and `self.f()`.
    self_ty: Option<String>,
    /// Whether the file is a test, example or bench.
    outside: bool,
    bodies: &'a mut Vec<Body>,
}

impl Functions<'_> {
    fn body(
        &mut self,
        sig: &syn::Signature,
        tokens: proc_macro2::TokenStream,
        visit: impl FnOnce(&mut Calls),
    ) {
        let name = sig.ident.to_string();
        let mut calls = Calls {
            self_ty: self.self_ty.clone(),
            calls: Vec::new(),
        };
        visit(&mut calls);
        let foreign = sig.abi.as_ref().and_then(|abi| {
            let abi = abi
                .name
                .as_ref()
                .map_or_else(|| "C".to_owned(), |n| n.value());
            (abi != "Rust").then(|| {
                format!(
                    "reached from `extern \"{abi}\" fn {name}`, which foreign code (a signal \
                     handler, a C callback) calls on any thread, under no instance or another \
                     one: it stays process-wide"
                )
            })
        });
        let mut names = BTreeSet::new();
        collect(tokens, self.names, &mut names);
        self.bodies.push(Body {
            label: name.clone(),
            key: Some((self.self_ty.clone(), name)),
            names,
            calls: calls.calls,
            foreign,
            outside: self.outside,
        });
    }

    /// `thread_local! { static NAME: T = init; … }`: each initializer.
    fn thread_locals(&mut self, tokens: proc_macro2::TokenStream) {
        let tokens: Vec<proc_macro2::TokenTree> = tokens.into_iter().collect();
        for item in
            tokens.split(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == ';'))
        {
            let name = item.windows(2).find_map(|w| match w {
                [proc_macro2::TokenTree::Ident(s), proc_macro2::TokenTree::Ident(n)]
                    if s == "static" =>
                {
                    Some(n.to_string())
                }
                _ => None,
            });
            let eq = item
                .iter()
                .position(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '='));
            let (Some(name), Some(eq)) = (name, eq) else {
                continue;
            };
            let init: proc_macro2::TokenStream = item[eq + 1..].iter().cloned().collect();
            let mut names = BTreeSet::new();
            collect(init.clone(), self.names, &mut names);
            let mut calls = Calls {
                self_ty: None,
                calls: Vec::new(),
            };
            if let Ok(expr) = syn::parse2::<syn::Expr>(init) {
                syn::visit::Visit::visit_expr(&mut calls, &expr);
            }
            self.bodies.push(Body {
                label: format!("thread_local! {name}"),
                key: None,
                names,
                calls: calls.calls,
                foreign: Some(format!(
                    "reached from the initializer of `thread_local!` `{name}`, a per-thread value \
                     that lives on across every instance its thread enters: it stays process-wide"
                )),
                outside: self.outside,
            });
        }
    }
}

/// The identifiers among `names` that `tokens` spells (macro arguments included).
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

fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

impl<'ast> syn::visit::Visit<'ast> for Functions<'_> {
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        let outer = std::mem::replace(&mut self.self_ty, type_name(&i.self_ty));
        syn::visit::visit_item_impl(self, i);
        self.self_ty = outer;
    }
    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        let outer = self.self_ty.replace(t.ident.to_string());
        syn::visit::visit_item_trait(self, t);
        self.self_ty = outer;
    }
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        // A free function nested in a method is still free.
        let outer = self.self_ty.take();
        self.body(&f.sig, f.block.to_token_stream(), |c| {
            syn::visit::Visit::visit_block(c, &f.block)
        });
        syn::visit::visit_item_fn(self, f);
        self.self_ty = outer;
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.body(&f.sig, f.block.to_token_stream(), |c| {
            syn::visit::Visit::visit_block(c, &f.block)
        });
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.body(&f.sig, block.to_token_stream(), |c| {
                syn::visit::Visit::visit_block(c, block)
            });
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if m.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "thread_local")
        {
            self.thread_locals(m.tokens.clone());
        }
        syn::visit::visit_macro(self, m);
    }
}

/// The calls of one body that may land in the crate.
struct Calls {
    self_ty: Option<String>,
    calls: Vec<Key>,
}

impl<'ast> syn::visit::Visit<'ast> for Calls {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            let segments: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if let Some(name) = segments.last() {
                let owner = match segments.len() {
                    1 => None,
                    n if segments[n - 2] == "Self" => self.self_ty.clone(),
                    n => Some(segments[n - 2].clone()),
                };
                self.calls.push((owner, name.clone()));
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let on_self = matches!(&*m.receiver, syn::Expr::Path(p) if p.path.is_ident("self"));
        if on_self && self.self_ty.is_some() {
            self.calls
                .push((self.self_ty.clone(), m.method.to_string()));
        }
        syn::visit::visit_expr_method_call(self, m);
    }
    // Items inside a body are visited as functions of their own.
    fn visit_item(&mut self, _: &'ast syn::Item) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach(text: &str, names: &[&str]) -> Reach {
        let krate = Krate::single("lib.rs".into(), text.into());
        let names: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
        Reach::of(&krate, &names)
    }

    fn reached<'a>(reach: &'a Reach, function: &str) -> &'a BTreeSet<String> {
        reach
            .functions()
            .find(|(f, _)| *f == function)
            .map(|(_, r)| r)
            .unwrap_or_else(|| panic!("no function {function}"))
    }

    #[test]
    fn calls_through_paths_self_and_methods_on_self_are_followed() {
        let text = "static A: AtomicU8 = AtomicU8::new(0);\n\
            static B: AtomicU8 = AtomicU8::new(0);\n\
            static C: AtomicU8 = AtomicU8::new(0);\n\
            mod m { pub fn touch_a() { super::A.load(Relaxed); } }\n\
            struct Data;\n\
            impl Data {\n\
                fn new() -> Self { Self::count(); Data }\n\
                fn count() { B.fetch_add(1, Relaxed); }\n\
                fn c(&self) { C.load(Relaxed); }\n\
                fn via_self(&self) { self.c() }\n\
            }\n\
            fn top() { m::touch_a(); let d = Data::new(); }\n\
            fn unrelated(d: &Data) { d.c(); }\n";
        let r = reach(text, &["A", "B", "C"]);
        assert_eq!(
            reached(&r, "top"),
            &BTreeSet::from(["A".to_owned(), "B".to_owned()])
        );
        assert!(reached(&r, "via_self").contains("C"));
        // A method call on another receiver is not followed: its type is unknown.
        assert!(reached(&r, "unrelated").is_empty());
    }

    #[test]
    fn foreign_functions_and_thread_local_initializers_make_what_they_reach_process_wide() {
        let text = "static mut PIPE: i32 = -1;\n\
            static COUNT: AtomicUsize = AtomicUsize::new(0);\n\
            static LOCAL_ONLY: AtomicUsize = AtomicUsize::new(0);\n\
            fn write_pipe() { unsafe { let _ = PIPE; } }\n\
            extern \"C\" fn handler(_: i32) { write_pipe() }\n\
            struct ThreadData;\n\
            impl ThreadData { fn new() -> Self { COUNT.fetch_add(1, Relaxed); ThreadData } }\n\
            thread_local! { static DATA: ThreadData = ThreadData::new(); static PLAIN: u8 = const { 0 } }\n\
            fn ordinary() { LOCAL_ONLY.load(Relaxed); }\n";
        let wide = reach(text, &["PIPE", "COUNT", "LOCAL_ONLY"]).process_wide();
        assert!(wide["PIPE"].contains("extern \"C\" fn handler"), "{wide:?}");
        assert!(wide["COUNT"].contains("`thread_local!` `DATA`"), "{wide:?}");
        assert!(!wide.contains_key("LOCAL_ONLY"), "{wide:?}");
    }

    /// A crate of several files: the helper another file defines is read and followed, down two
    /// files, by name and by its type.
    #[test]
    fn helpers_in_other_files_are_read_and_followed() {
        let mut krate = Krate::single(
            "lib.rs".into(),
            "static INIT: AtomicBool = AtomicBool::new(false);\n\
             pub fn set() { if !INIT.load(Acquire) { platform::init_os(); } }\n"
                .into(),
        );
        let files = [
            ("platform.rs", "pub fn init_os() { let _ = Pipe::open(); }\n"),
            (
                "pipe.rs",
                "pub struct Pipe;\nimpl Pipe { pub fn open() -> Self { unsafe { FDS = (3, 4) }; Pipe } }\n",
            ),
            ("unrelated.rs", "pub fn open() {}\nfn other() {}\n"),
        ];
        for (path, text) in files {
            krate.files.insert(
                path.into(),
                crate::fix::krate::CrateFile {
                    path: path.into(),
                    module: vec![path.trim_end_matches(".rs").to_owned()],
                    public: true,
                    text: text.into(),
                },
            );
        }
        let r = Reach::of(
            &krate,
            &BTreeSet::from(["INIT".to_owned(), "FDS".to_owned()]),
        );
        assert_eq!(
            reached(&r, "set"),
            &BTreeSet::from(["FDS".to_owned(), "INIT".to_owned()])
        );
        // Neither names a static nor defines a function such code calls.
        assert!(r.functions().all(|(f, _)| f != "other"));
    }

    #[test]
    fn an_extern_rust_function_is_not_foreign() {
        let text = "static A: AtomicU8 = AtomicU8::new(0);\n\
            extern \"Rust\" fn f() { A.load(Relaxed); }\n";
        assert!(reach(text, &["A"]).process_wide().is_empty());
    }
}
