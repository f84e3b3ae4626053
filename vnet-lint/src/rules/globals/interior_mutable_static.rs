//! `VN102 interior-mutable-static`: a `static` whose type can change behind a shared reference.

use crate::diag::Finding;
use crate::model::types::TypeTable;
use crate::parse::{GlobalItem, GlobalKind};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks for `static` items whose type has interior mutability: atomics, locks (`Mutex`, `RwLock`,
    /// `Condvar` from std, parking_lot, spin and the like), cells (`Cell`, `RefCell`, `UnsafeCell`),
    /// once and lazy cells (`OnceCell`, `OnceLock`, `Lazy`, `LazyLock`), and types of the crate that
    /// contain any of these, through type aliases and struct, enum or union fields in any file.
    ///
    /// ## Why is this bad?
    /// The static is one value shared by every instance: a counter bumped in one vnet is seen by all, a
    /// table filled by one is read by the others. The porting guide asks for exactly these variables to
    /// become per-instance ("redefinition of selected global state variables to evaluate to constructs
    /// that allow for the virtualized state to be stored … in appropriate instances").
    ///
    /// ## Example
    /// ```rust,ignore
    /// static ROUTES: Mutex<Vec<Route>> = Mutex::new(Vec::new());
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet]
    /// static ROUTES: Mutex<Vec<Route>> = Mutex::new(Vec::new());
    ///
    /// V_ROUTES.lock().unwrap().push(route);
    /// ```
    ///
    /// ## Known problems
    /// The lint reads syntax only. It decides from the names of types: a type from another crate that
    /// wraps a lock under a name it does not know is missed. When the crate defines a name more than
    /// once, the path decides (`offset::Parser` is the `Parser` of a module `offset`; a bare name is the
    /// file's own, else the imported one); when nothing decides, any of them with interior mutability
    /// counts. A crate type named like a well-known one (`Notify`, `Once`) is taken for it.
    /// Names imported from another crate (`use proc_macro2::Group;`) are never the crate's own types.
    /// The fields decide, never an `unsafe impl Sync`. Statics a macro makes are seen when the invocation's
    /// body is ordinary items (`cfg_if!`), and in `macro_rules!` bodies with `--include-tests`; statics a
    /// macro builds from its arguments, and `extern` statics of C code, are not.
    ///
    /// ## Fix safety
    /// `cargo vnet-lint check --fix` ports it; the fix is **safe**: the type is already `Sync` (an atomic, a
    /// lock, a once or lazy cell, a crate type holding them), so the declaration only gains `#[vnet]` and
    /// every use in the crate goes through the accessor, `NAME.m(a)` → `V_NAME.with(|name| name.m(a))`,
    /// `f(&NAME)` → `V_NAME.with(|name| f(name))`. A `pub` static of a library is an **unsafe** fix (other
    /// crates naming it must switch to `V_NAME`), and so is a bare `Once` (it guards other state, which
    /// then initializes once per instance: port what it guards too). The static is left alone, with the
    /// reason, when a borrow
    /// of it outlives the expression (`let g = NAME.lock().unwrap();`), a use sits in a macro the fix cannot
    /// read or a `macro_rules!` transcriber, it is used in a constant context, it is declared inside an
    /// item macro (`cfg_if!`), its type holds `Cell`/`RefCell`, the crate is always `no_std`, code that
    /// runs outside the instances reaches it (an `extern "C" fn` such as a signal handler, or a
    /// `thread_local!` initializer, directly or through the crate's functions it calls), or a
    /// `static mut` (or a crate cell around an `UnsafeCell`) its functions guard with it, directly or
    /// through a helper they call, is left alone (coupled statics move together). A crate
    /// with `#![cfg_attr(not(feature = "std"), no_std)]` is ported in its `std` build.
    ///
    /// ## Configuration
    /// Mark state that is truly process-wide with `#[vnet_runtime::global(reason = "…")]`, or the comment
    /// `// vnet-lint: allow(interior-mutable-static): reason` on the line above. Paths listed under `global`
    /// in `vnet-lint.toml` are not checked.
    pub InteriorMutableStatic => "VN102", "interior-mutable-static", Globals, Deny, since "0.1.0",
    "statics whose type has interior mutability, one value shared by every instance"
}

/// Reports a plain `static` whose type resolves to something interior-mutable.
pub(crate) fn check(item: &GlobalItem, types: &TypeTable) -> Option<Finding> {
    let GlobalKind::Static { ty } = &item.kind else {
        return None;
    };
    let why = types.interior(ty, item.file)?;
    Some(
        Finding::new(
            &InteriorMutableStatic::RULE,
            item.file,
            item.primary.clone(),
            format!(
                "`static {}` has interior mutability and is shared by every instance",
                item.name
            ),
        )
        .with_label(why.describe())
        .with_help(format!(
            "make it per instance: `#[vnet] static {}: … = …;`, used through `V_{}`",
            item.name, item.name
        ))
        .with_note(super::PROCESS_WIDE_NOTE),
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn points_at_the_type() {
        check(
            r#"
static ROUTES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
             //^^^^^^^^^^^^^^^ VN102
static HITS: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
           //^^^^^^^^^^^^^^ VN102
"#,
        );
    }

    #[test]
    fn fields_decide_not_sync_impls() {
        check(
            r#"
struct Shared { cell: UnsafeCell<u8> }
struct Plain { value: u8 }
unsafe impl Sync for Plain {}
static SHARED: Shared = Shared { cell: UnsafeCell::new(0) };
             //^^^^^^ VN102
static PLAIN: Plain = Plain { value: 0 };
"#,
        );
    }

    #[test]
    fn macro_bodies_that_mix_items_and_statements() {
        check(
            r#"
fn debug_path_exists() -> bool {
    cfg_if::cfg_if! {
        if #[cfg(unix)] {
            static EXISTS: AtomicU8 = AtomicU8::new(0);
                         //^^^^^^^^ VN102
            let exists = EXISTS.load(Ordering::Relaxed);
            exists == 1
        } else {
            false
        }
    }
}
"#,
        );
    }

    #[test]
    fn token_templates_are_not_items_of_the_crate() {
        check(
            r#"
fn expand() -> TokenStream {
    quote! { static CACHE: OnceLock<String> = OnceLock::new(); }
}
const TEXT: &str = stringify!(static HITS: AtomicU64 = AtomicU64::new(0););
"#,
        );
    }

    #[test]
    fn only_code_that_requires_test_is_test_code() {
        check(
            r#"
#[cfg(all(test, unix))]
static IN_TEST: AtomicU8 = AtomicU8::new(0);
#[cfg(any(test, feature = "testing"))]
static TEST_HOOK: AtomicU8 = AtomicU8::new(0);
                //^^^^^^^^ VN102
#[cfg(not(test))]
static NOT_TEST: AtomicU8 = AtomicU8::new(0);
               //^^^^^^^^ VN102
#[cfg(any(test, all(test, loom)))]
static ONLY_TESTS: AtomicU8 = AtomicU8::new(0);
"#,
        );
    }

    #[test]
    fn immutable_data_is_silent() {
        check(
            r#"
static NAME: &str = "x";
static TABLE: &[(u8, &str)] = &[(1, "icmp")];
static HOOK: Option<fn()> = None;
const LOCK: Mutex<u8> = Mutex::new(0);
"#,
        );
    }
}
