//! `--fix` on the shapes real crates have: a `std` feature (`no_std` without it), a state word and
//! the `static mut` it publishes, an initializer that takes an immutable static's address, tests
//! that reach the ported statics, an old `rust-version`.

use std::path::Path;
use vnet_lint::engine::{check_paths, Options};
use vnet_lint::fix::{plan, targets, FixOptions, Plan};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

fn plan_for(root: &Path, unsafe_fixes: bool) -> Plan {
    let report = check_paths(&[root.join("src")], &Options::default());
    plan(
        &targets(&report),
        &FixOptions {
            unsafe_fixes,
            ..FixOptions::default()
        },
    )
}

fn new_text(plan: &Plan, root: &Path, name: &str) -> String {
    let path = vnet_lint::fix::krate::absolute(&root.join(name));
    plan.files
        .get(&path)
        .or_else(|| plan.manifests.get(&path))
        .map(|(_, new)| new.clone())
        .unwrap_or_else(|| std::fs::read_to_string(&path).expect("read"))
}

/// A logger crate as `log` writes it.
const LOGGER_MANIFEST: &str = "[package]\nname = \"minilog\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"1.60.0\"\n\n[features]\nstd = []\n";
const LOGGER_LIB: &str = r#"#![cfg_attr(all(not(feature = "std"), not(test)), no_std)]
use core::sync::atomic::{AtomicUsize, Ordering};

pub trait Log: Sync + Send {
    fn log(&self, msg: &str);
}

struct Nop;
impl Log for Nop {
    fn log(&self, _: &str) {}
}
static NOP: Nop = Nop;

// Published by STATE.
static mut LOGGER: &dyn Log = &NOP;
static STATE: AtomicUsize = AtomicUsize::new(0);
static MAX: AtomicUsize = AtomicUsize::new(0);

pub fn set_logger(logger: &'static dyn Log) -> bool {
    if STATE.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
        unsafe {
            LOGGER = logger;
        }
        STATE.store(2, Ordering::Release);
        true
    } else {
        false
    }
}

pub fn logger() -> &'static dyn Log {
    if STATE.load(Ordering::Acquire) == 2 {
        unsafe { LOGGER }
    } else {
        &NOP
    }
}

pub fn set_max(level: usize) {
    MAX.store(level, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    #[test]
    fn sets_once() {
        #![allow(unused_variables)]
        assert!(super::set_logger(&super::NOP));
    }
}
"#;

#[test]
fn a_std_feature_crate_is_ported_in_its_std_build_with_its_guarded_static_mut() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[("Cargo.toml", LOGGER_MANIFEST), ("src/lib.rs", LOGGER_LIB)],
    );
    let plan = plan_for(root, true);
    let names: Vec<&str> = plan.ported.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?} left: {:?}", plan.left);
    let lib = new_text(&plan, root, "src/lib.rs");
    // The `static mut` moves as it is, in its `unsafe` blocks; atomics come from `core`.
    assert!(
        lib.contains("static LOGGER: vnet_runtime::StaticMut<&dyn Log> = vnet_runtime::StaticMut::new(&NOP);"),
        "{lib}"
    );
    assert!(lib.contains("*V_LOGGER.as_ptr() = logger;"), "{lib}");
    assert!(lib.contains("unsafe { *V_LOGGER.as_ptr() }"), "{lib}");
    assert!(!lib.contains("std::sync::atomic"), "{lib}");
    // Tests run in instances; the inner attribute moved onto the function.
    assert!(
        lib.contains("    #[vnet_runtime::vnet_test]\n    #[allow(unused_variables)]\n    fn sets_once() {\n        assert!"),
        "{lib}"
    );
    // Callers without an instance keep working.
    assert!(lib.contains("vnet_runtime::fallback_to_vnet0!();"), "{lib}");
    let manifest = new_text(&plan, root, "Cargo.toml");
    assert!(manifest.contains("rust-version = \"1.95\""), "{manifest}");
    assert!(
        manifest.contains("std = [\"vnet-runtime/std\", \"vnet-runtime/vimage\"]"),
        "{manifest}"
    );
    assert!(manifest.contains("default-features = false"), "{manifest}");
    assert!(
        manifest.contains("[dev-dependencies]\nvnet-runtime = {"),
        "{manifest}"
    );
}

#[test]
fn a_guard_is_never_ported_without_what_it_guards() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    // An unconditional `no_std` crate cannot be ported: the guard stays with its value, with the
    // reason; `MAX`, used alone, is left for the `no_std` reason too.
    let lib = LOGGER_LIB.replace(
        "#![cfg_attr(all(not(feature = \"std\"), not(test)), no_std)]",
        "",
    );
    write(
        root,
        &[("Cargo.toml", LOGGER_MANIFEST), ("src/lib.rs", &lib)],
    );
    // Without `--unsafe-fixes` the `static mut` stays, so its state word stays too.
    let plan = plan_for(root, false);
    let state = plan
        .left
        .iter()
        .find(|l| l.name == "STATE")
        .expect("STATE left");
    assert!(
        state.reason.contains("used together with `LOGGER`") && state.reason.contains("set_logger"),
        "{}",
        state.reason
    );
    assert!(
        plan.ported.iter().any(|p| p.name == "MAX"),
        "{:?}",
        plan.ported
    );
    assert!(!plan.ported.iter().any(|p| p.name == "STATE"));
}

#[test]
fn an_initializer_may_take_an_immutable_statics_address() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", "[package]\nname = \"disp\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            (
                "src/lib.rs",
                "pub struct NoSubscriber;\nstatic NO_SUBSCRIBER: NoSubscriber = NoSubscriber;\npub struct Dispatch { s: &'static NoSubscriber }\nstatic mut GLOBAL: Dispatch = Dispatch { s: &NO_SUBSCRIBER };\npub fn get() -> &'static NoSubscriber { unsafe { GLOBAL.s } }\n",
            ),
        ],
    );
    let plan = plan_for(root, true);
    assert_eq!(plan.ported.len(), 1, "left: {:?}", plan.left);
    let lib = new_text(&plan, root, "src/lib.rs");
    assert!(
        lib.contains("unsafe { (*V_GLOBAL.as_ptr()).s }") || lib.contains("V_GLOBAL.with"),
        "{lib}"
    );
}

#[test]
fn a_pub_static_named_only_by_the_packages_own_tests_is_ported() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"counter\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
            ),
            (
                "src/lib.rs",
                "use std::sync::atomic::{AtomicU64, Ordering};\npub static COUNT: AtomicU64 = AtomicU64::new(0);\npub fn bump() { COUNT.fetch_add(1, Ordering::Relaxed); }\n",
            ),
            (
                "tests/it.rs",
                "use std::sync::atomic::Ordering;\n\n#[test]\nfn counts() {\n    counter::bump();\n    assert_eq!(counter::COUNT.load(Ordering::Relaxed), 1);\n}\n",
            ),
        ],
    );
    let plan = plan_for(root, true);
    assert_eq!(plan.ported.len(), 1, "left: {:?}", plan.left);
    let test = new_text(&plan, root, "tests/it.rs");
    assert!(
        test.contains("#[vnet_runtime::vnet_test]\nfn counts()"),
        "{test}"
    );
    assert!(test.contains("counter::V_COUNT.with("), "{test}");
}

#[test]
fn a_crate_whose_every_lazy_static_is_ported_loses_the_dependency_and_its_import() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"paint\"\nversion = \"0.1.0\"\nedition = \"2021\"\nrust-version = \"1.70\"\n\n[dependencies.lazy_static]\nversion = \"1\"\n",
            ),
            (
                "src/lib.rs",
                "#![warn(missing_docs)]\n\n#[macro_use]\nextern crate lazy_static;\n\nmod control;\n\n/// Whether to paint.\npub fn paint() -> bool {\n    control::OVERRIDE.load(std::sync::atomic::Ordering::Relaxed)\n}\n",
            ),
            (
                "src/control.rs",
                "use std::sync::atomic::AtomicBool;\n\nlazy_static! {\n/// The override.\n    pub static ref OVERRIDE: AtomicBool = AtomicBool::new(true);\n}\n",
            ),
        ],
    );
    let plan = plan_for(root, true);
    assert_eq!(plan.ported.len(), 1, "left: {:?}", plan.left);
    let lib = new_text(&plan, root, "src/lib.rs");
    assert!(!lib.contains("lazy_static"), "{lib}");
    assert!(
        lib.starts_with("#![warn(missing_docs)]\n\n// Callers with no current vnet"),
        "{lib}"
    );
    let control = new_text(&plan, root, "src/control.rs");
    // `#[vnet]` on its own line, at the item's indent, after the doc comment.
    assert!(
        control.contains(
            "/// The override.\n#[vnet]\npub static OVERRIDE: std::sync::LazyLock<AtomicBool>"
        ),
        "{control}"
    );
    let manifest = new_text(&plan, root, "Cargo.toml");
    assert!(!manifest.contains("lazy_static"), "{manifest}");
    // `LazyLock` needs 1.80: the manifest's older promise is raised to the runtime's.
    assert!(manifest.contains("rust-version = \"1.95\""), "{manifest}");
}

/// The `rust-version` the fix raises a ported crate to is the runtime's own.
#[test]
fn the_raised_rust_version_is_the_runtimes() {
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vnet-runtime/Cargo.toml"
    ))
    .unwrap();
    let wanted = format!(
        "rust-version = \"{}\"",
        vnet_lint::fix::cargo_toml::RUNTIME_RUST_VERSION
    );
    assert!(
        manifest.lines().any(|l| l.trim() == wanted),
        "vnet-runtime/Cargo.toml does not say {wanted}"
    );
}
