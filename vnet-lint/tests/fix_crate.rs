//! `--fix` across a crate: uses in other files through `use` imports, renamed imports, `crate::`,
//! `super::` and `self::` paths; statics it must leave whole; dirty trees; restoring what broke the
//! build.

use std::path::Path;
use std::process::Command;
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
        .map(|(_, new)| new.clone())
        .unwrap_or_else(|| std::fs::read_to_string(&path).expect("read"))
}

const MANIFEST: &str = "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n# deps below\n[dependencies]\n";

#[test]
fn uses_across_files_and_paths_are_rewritten() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "mod stats;\nmod net;\n\nuse std::sync::atomic::Ordering;\n\npub(crate) fn total() -> u64 {\n    stats::HITS.load(Ordering::Relaxed) + crate::stats::MISSES.load(Ordering::Relaxed)\n}\n",
            ),
            (
                "src/stats.rs",
                "use std::sync::atomic::AtomicU64;\n\n/// Hits.\npub(crate) static HITS: AtomicU64 = AtomicU64::new(0);\npub(crate) static MISSES: AtomicU64 = AtomicU64::new(0);\n\npub(crate) fn hit() {\n    self::HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);\n}\n",
            ),
            (
                "src/net/mod.rs",
                "mod tcp;\nuse crate::stats::HITS as H;\n\nfn f() { H.fetch_add(2, std::sync::atomic::Ordering::Relaxed); }\n",
            ),
            (
                "src/net/tcp.rs",
                "fn g() -> u64 { super::super::stats::MISSES.swap(0, std::sync::atomic::Ordering::Relaxed) }\nfn h(x: &std::sync::atomic::AtomicU64) {}\nfn k() { h(&crate::stats::HITS); }\n",
            ),
        ],
    );
    let plan = plan_for(root, false);
    assert_eq!(plan.ported.len(), 2, "{:?}", plan.left);
    let lib = new_text(&plan, root, "src/lib.rs");
    assert!(lib.contains("stats::V_HITS.with(|hits| hits.load(Ordering::Relaxed)) + crate::stats::V_MISSES.with(|misses| misses.load(Ordering::Relaxed))"), "{lib}");
    let stats = new_text(&plan, root, "src/stats.rs");
    assert!(stats.starts_with("use std::sync::atomic::AtomicU64;\nuse vnet_runtime::vnet;\n\n/// Hits.\n#[vnet]\npub(crate) static HITS"), "{stats}");
    assert!(
        stats.contains("self::V_HITS.with(|hits| hits.fetch_add(1"),
        "{stats}"
    );
    let net = new_text(&plan, root, "src/net/mod.rs");
    assert!(net.contains("use crate::stats::V_HITS as H;"), "{net}");
    assert!(net.contains("H.with(|hits| hits.fetch_add(2"), "{net}");
    let tcp = new_text(&plan, root, "src/net/tcp.rs");
    assert!(
        tcp.contains("super::super::stats::V_MISSES.with(|misses| misses.swap(0"),
        "{tcp}"
    );
    assert!(
        tcp.contains("fn k() { crate::stats::V_HITS.with(|hits| h(hits)); }"),
        "{tcp}"
    );
    // The dependency is added, the manifest's comment kept.
    let manifest = vnet_lint::fix::krate::absolute(&root.join("Cargo.toml"));
    let (_, new) = plan.manifests.get(&manifest).expect("manifest edited");
    assert!(
        new.contains("# deps below\n[dependencies]\nvnet-runtime = "),
        "{new}"
    );
}

#[test]
fn statics_that_cannot_be_ported_whole_are_left_with_reasons() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                r#"use std::sync::Mutex;
static HELD: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static IN_MACRO: Mutex<u8> = Mutex::new(0);
static FINE: Mutex<u8> = Mutex::new(0);
static mut COUNT: u32 = 0;
macro_rules! touch { () => { IN_MACRO.lock().unwrap() }; }
pub fn f() -> usize {
    let guard = HELD.lock().unwrap();
    *FINE.lock().unwrap() += 1;
    println!("{}", FINE.lock().unwrap());
    if guard.is_empty() {
        return 0;
    }
    guard.len()
}
pub fn g() -> *const u32 { unsafe { core::ptr::addr_of!(COUNT) } }
"#,
            ),
        ],
    );
    let plan = plan_for(root, true);
    let ported: Vec<&str> = plan.ported.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(ported, ["FINE"], "{:#?}", plan.left);
    let reason = |name: &str| {
        plan.left
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.reason.clone())
            .unwrap_or_default()
    };
    // The guard is kept for the rest of the block, which returns: it cannot move into a closure.
    assert!(
        reason("HELD").contains("outlives") && reason("HELD").contains("returns"),
        "{}",
        reason("HELD")
    );
    assert!(
        reason("IN_MACRO").contains("macro_rules!"),
        "{}",
        reason("IN_MACRO")
    );
    assert!(reason("COUNT").contains("addr_of"), "{}", reason("COUNT"));
    let lib = new_text(&plan, root, "src/lib.rs");
    assert!(
        lib.contains("    V_FINE.with(|fine| *fine.lock().unwrap() += 1);\n"),
        "{lib}"
    );
    assert!(
        lib.contains("    V_FINE.with(|fine| println!(\"{}\", fine.lock().unwrap()));\n"),
        "{lib}"
    );
    // Everything about HELD stays byte-identical.
    assert!(
        lib.contains("static HELD: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n")
            && lib.contains("let guard = HELD.lock().unwrap();")
    );
}

#[test]
fn always_no_std_crates_are_left_alone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "#![no_std]\nuse core::sync::atomic::AtomicU8;\nstatic X: AtomicU8 = AtomicU8::new(0);\n",
            ),
        ],
    );
    let plan = plan_for(root, true);
    assert!(plan.ported.is_empty());
    assert!(plan.left[0].reason.contains("no_std"), "{:?}", plan.left);
    assert!(plan.is_empty());
}

fn lint(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(args)
        .current_dir(dir)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fix-netstack"),
        )
        .output()
        .expect("run")
}

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_dirty_tree_is_refused_unless_allowed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "static X: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);\npub fn f() -> u8 { X.load(std::sync::atomic::Ordering::Relaxed) }\n",
            ),
        ],
    );
    if !(git(root, &["init", "-q"])
        && git(root, &["add", "-A"])
        && git(root, &["commit", "-qm", "x"]))
    {
        return; // no git on this machine
    }
    std::fs::write(
        root.join("src/lib.rs"),
        std::fs::read_to_string(root.join("src/lib.rs")).expect("read") + "// edited\n",
    )
    .expect("write");
    let refused = lint(root, &["check", "--fix", "--no-verify"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--allow-dirty"));
    assert!(!std::fs::read_to_string(root.join("src/lib.rs"))
        .expect("read")
        .contains("#[vnet]"));
    let allowed = lint(root, &["check", "--fix", "--no-verify", "--allow-dirty"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
    let text = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    assert!(
        text.contains("#[vnet]\nstatic X") && text.ends_with("// edited\n"),
        "{text}"
    );
}

#[test]
fn statics_whose_edits_break_the_build_are_restored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    let original = "use std::sync::atomic::{AtomicU64, Ordering};\n\npub struct Stats { rx: AtomicU64 }\nimpl Stats { fn rx(&self) -> &AtomicU64 { &self.rx } }\n\nstatic STATS: Stats = Stats { rx: AtomicU64::new(0) };\nstatic HITS: AtomicU64 = AtomicU64::new(0);\n\npub fn f() -> u64 {\n    let rx = STATS.rx();\n    HITS.fetch_add(1, Ordering::Relaxed);\n    rx.load(Ordering::Relaxed)\n}\n";
    write(root, &[("Cargo.toml", MANIFEST), ("src/lib.rs", original)]);
    let out = lint(
        root,
        &[
            "check",
            "--fix",
            "--runtime-path",
            &runtime.to_string_lossy(),
        ],
    );
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("ported 1 static"), "{summary}");
    assert!(
        summary.contains(
            "`STATS` (VN102): restored: with it ported, `cargo check` failed at its edits (error"
        ),
        "{summary}"
    );
    let text = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    assert!(
        text.contains("V_HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed));"),
        "{text}"
    );
    assert!(
        text.contains("static STATS: Stats") && text.contains("let rx = STATS.rx();"),
        "{text}"
    );
    // A second run changes nothing: STATS is tried, breaks the build again, and is restored again.
    let again = lint(
        root,
        &[
            "check",
            "--fix",
            "--runtime-path",
            &runtime.to_string_lossy(),
        ],
    );
    let summary = String::from_utf8_lossy(&again.stderr);
    assert!(
        summary.contains(
            "`STATS` (VN102): restored: with it ported, `cargo check` failed at its edits (error"
        ),
        "{summary}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("src/lib.rs")).expect("read"),
        text
    );
}

#[test]
fn public_statics_are_unsafe_fixes_and_tests_naming_them_are_rewritten() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", MANIFEST),
            (
                "src/lib.rs",
                "use std::sync::atomic::AtomicU64;\npub static PUBLIC: AtomicU64 = AtomicU64::new(0);\n#[no_mangle]\npub static EXPORTED: AtomicU64 = AtomicU64::new(0);\n",
            ),
            (
                "tests/it.rs",
                "use demo::PUBLIC as P;\n#[test]\nfn t() { P.load(std::sync::atomic::Ordering::Relaxed); demo::PUBLIC.load(std::sync::atomic::Ordering::Relaxed); }\n",
            ),
        ],
    );
    let safe_only = plan_for(root, false);
    assert!(safe_only.ported.is_empty());
    let public = safe_only
        .left
        .iter()
        .find(|l| l.name == "PUBLIC")
        .expect("PUBLIC left");
    assert!(
        public.needs_unsafe && public.reason.contains("`pub` static"),
        "{public:?}"
    );
    let exported = safe_only
        .left
        .iter()
        .find(|l| l.name == "EXPORTED")
        .expect("EXPORTED left");
    assert!(exported.reason.contains("#[no_mangle]"), "{exported:?}");

    let plan = plan_for(root, true);
    assert_eq!(plan.ported.len(), 1);
    let test = new_text(&plan, root, "tests/it.rs");
    assert!(test.starts_with("use demo::V_PUBLIC as P;\n"), "{test}");
    assert!(
        test.contains("P.with(|public| public.load(")
            && test.contains("demo::V_PUBLIC.with(|public| public.load("),
        "{test}"
    );
}

#[test]
fn public_statics_other_workspace_crates_name_are_left_alone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    write(
        root,
        &[
            ("Cargo.toml", "[workspace]\nmembers = [\"a\", \"b\"]\n"),
            ("a/Cargo.toml", "[package]\nname = \"a\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            (
                "a/src/lib.rs",
                "use std::sync::atomic::AtomicU8;\npub static SHARED: AtomicU8 = AtomicU8::new(0);\npub static OWN: AtomicU8 = AtomicU8::new(0);\n",
            ),
            ("b/Cargo.toml", "[package]\nname = \"b\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
            (
                "b/src/lib.rs",
                "pub fn f() -> u8 { a::SHARED.load(std::sync::atomic::Ordering::Relaxed) }\n",
            ),
        ],
    );
    let plan = plan_for(&root.join("a"), true);
    let ported: Vec<&str> = plan.ported.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(ported, ["OWN"]);
    let shared = plan.left.iter().find(|l| l.name == "SHARED").expect("left");
    assert!(
        shared.reason.contains("named from another crate")
            && shared.reason.contains("b/src/lib.rs"),
        "{shared:?}"
    );
}
