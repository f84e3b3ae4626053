//! A static whose use sits inside another static's rewritten use (find-msvc-tools: `IS_SUPPORTED`
//! stored inside `LOAD_VALUE.call_once(|| …)`) cannot be edited in the same round. `--fix` used to
//! leave it, and a second `--fix` then ported it: the second run changed the code. Now `--fix` runs
//! further rounds, and a second run changes nothing. `--diff` runs the same rounds in memory: it
//! shows every change `--fix` writes, and writes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const LIB: &str = "use std::sync::atomic::{AtomicBool, Ordering};\n\
use std::sync::Once;\n\
\n\
pub fn supported() -> bool {\n    \
    static LOAD_VALUE: Once = Once::new();\n    \
    static IS_SUPPORTED: AtomicBool = AtomicBool::new(false);\n    \
    LOAD_VALUE.call_once(|| {\n        \
        IS_SUPPORTED.store(true, Ordering::Relaxed);\n    \
    });\n    \
    IS_SUPPORTED.load(Ordering::Relaxed)\n\
}\n";

const MANIFEST: &str =
    "[package]\nname = \"rounds\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n";

/// `cargo vnet-lint check ARGS --runtime-path … ` in `dir`.
fn lint(dir: &Path, args: &[&str]) -> Output {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["vnet-lint", "check"])
        .args(args)
        .arg("--runtime-path")
        .arg(&runtime)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run")
}

fn fix(dir: &Path) -> String {
    let out = lint(
        dir,
        &["--fix", "--unsafe-fixes", "--allow-dirty", "--no-verify"],
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A package of `lib` in a new temporary directory.
fn package(lib: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(tmp.path().join("src")).expect("mkdir");
    std::fs::write(tmp.path().join("Cargo.toml"), MANIFEST).expect("write");
    std::fs::write(tmp.path().join("src/lib.rs"), lib).expect("write");
    tmp
}

/// Every file under `dir` (outside `.git`) with its text.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| e.file_name() != ".git")
        .flatten()
        .filter(|e| e.file_type().is_file())
    {
        let name = entry.path().strip_prefix(dir).expect("under dir");
        let text = std::fs::read_to_string(entry.path()).expect("read");
        out.insert(name.to_string_lossy().into_owned(), text);
    }
    out
}

/// Applies `patch` to a copy of `files` in a new directory (`git apply`) and returns the result.
fn applied(files: &BTreeMap<String, String>, patch: &str) -> BTreeMap<String, String> {
    let tmp = tempfile::tempdir().expect("tmp");
    for (name, text) in files {
        let path = tmp.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let git = |args: &[&str], input: Option<&str>| {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(tmp.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("git runs");
        if let Some(input) = input {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write patch");
        }
        drop(child.stdin.take());
        assert!(child.wait().expect("git").success(), "git {args:?}");
    };
    git(&["init", "-q"], None);
    git(&["apply", "-"], Some(patch));
    tree(tmp.path())
}

#[test]
fn nested_uses_are_ported_in_one_fix_run() {
    let tmp = package(LIB);
    let root = tmp.path();

    let first = fix(root);
    let after_first = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    assert!(
        after_first.contains("V_LOAD_VALUE.with(|load_value| load_value.call_once(|| {"),
        "{first}\n{after_first}"
    );
    assert!(
        after_first.contains(
            "V_IS_SUPPORTED.with(|is_supported| is_supported.store(true, Ordering::Relaxed));"
        ),
        "{first}\n{after_first}"
    );
    assert!(
        after_first
            .contains("V_IS_SUPPORTED.with(|is_supported| is_supported.load(Ordering::Relaxed))"),
        "{first}\n{after_first}"
    );
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("read");

    let second = fix(root);
    assert_eq!(
        std::fs::read_to_string(root.join("src/lib.rs")).expect("read"),
        after_first,
        "{second}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("Cargo.toml")).expect("read"),
        manifest
    );
    assert!(second.contains("ported 0 statics"), "{second}");
}

#[test]
fn diff_shows_every_round_fix_writes_and_writes_nothing() {
    let tmp = package(LIB);
    let root = tmp.path();
    let before = tree(root);

    let out = lint(root, &["--diff", "--unsafe-fixes"]);
    let patch = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    // The second round's port: `IS_SUPPORTED`'s use inside `LOAD_VALUE.call_once(|| …)`.
    assert!(
        patch.contains(
            "+        V_IS_SUPPORTED.with(|is_supported| is_supported.store(true, Ordering::Relaxed));"
        ),
        "{patch}\n{summary}"
    );
    assert!(
        patch.contains("+    V_LOAD_VALUE.with(|load_value| load_value.call_once(|| {"),
        "{patch}"
    );
    // One diff per file, from the file as it is to the file as the last round leaves it.
    assert_eq!(patch.matches("+++ b/src/lib.rs").count(), 1, "{patch}");
    assert_eq!(patch.matches("+++ b/Cargo.toml").count(), 1, "{patch}");
    // The summary counts what every round ports, and leaves nothing for a further run.
    assert!(summary.contains("would port 2 statics"), "{summary}");
    assert!(!summary.contains("further round"), "{summary}");
    // Lines are those of the files as they are (the diff's `a/` side).
    assert!(
        summary.contains("  ported   src/lib.rs:6 `IS_SUPPORTED` (VN102, safe)"),
        "{summary}"
    );
    // Nothing written, and the exit status says a fix would change something.
    assert_eq!(out.status.code(), Some(1), "{summary}");
    assert_eq!(tree(root), before);

    // The diff applied gives exactly the files `--fix` writes.
    let previewed = applied(&before, &patch);
    fix(root);
    let written = tree(root);
    assert_ne!(written, before);
    assert_eq!(previewed, written);

    // Once fixed, `--diff` shows nothing and exits 0.
    let again = lint(root, &["--diff", "--unsafe-fixes"]);
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    assert_eq!(again.status.code(), Some(0));
}

#[test]
fn diff_of_a_one_round_fix_is_one_plan_s_diff() {
    let lib = "use std::sync::atomic::{AtomicU32, Ordering};\n\
static HITS: AtomicU32 = AtomicU32::new(0);\n\
pub fn hit() -> u32 {\n    \
    HITS.fetch_add(1, Ordering::Relaxed)\n\
}\n";
    let tmp = package(lib);
    let root = tmp.path();
    let out = lint(root, &["--diff"]);
    let patch = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1));
    let before = tree(root);
    fix(root);
    let after = tree(root);
    // Exactly the diff of the one round `--fix` writes: the manifest, then the source.
    let expected: String = ["Cargo.toml", "src/lib.rs"]
        .iter()
        .map(|name| vnet_lint::fix::diff::unified(name, &before[*name], &after[*name]))
        .collect();
    assert!(expected.contains("+    V_HITS.with(|hits| hits.fetch_add(1, Ordering::Relaxed))"));
    assert_eq!(patch, expected);
    assert!(
        summary.starts_with("would port 1 static (1 safe, 0 unsafe fixes); left 0 alone\n"),
        "{summary}"
    );
}

/// A static nested in another's use (ported in a second round), and an `unsafe` block the crate
/// already had unused, below the lines the first round adds.
const PRE_UNUSED: &str = "use std::sync::Once;\n\
\n\
static ONCE: Once = Once::new();\n\
static mut HITS: u32 = 0;\n\
\n\
pub fn hit() -> u32 {\n    \
    ONCE.call_once(|| unsafe { HITS += 1 });\n    \
    unsafe { HITS }\n\
}\n\
\n\
pub fn one() -> u32 {\n    \
    unsafe { 1 }\n\
}\n";

#[test]
fn an_unused_unsafe_the_crate_had_stays_through_later_rounds() {
    let tmp = package(PRE_UNUSED);
    let root = tmp.path();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fix-unsafe");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args([
            "vnet-lint",
            "check",
            "--fix",
            "--unsafe-fixes",
            "--allow-dirty",
            "--runtime-path",
        ])
        .arg(&runtime)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .env("NO_COLOR", "1")
        .output()
        .expect("run");
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(summary.contains("ported 2 statics"), "{summary}");
    let text = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    // The second round's build check drops only what the port left unused.
    assert!(
        text.contains("pub fn one() -> u32 {\n    unsafe { 1 }\n}"),
        "{text}"
    );
    assert!(
        text.contains("V_ONCE.with(|once| once.call_once(|| V_HITS.with(|hits| {"),
        "{text}"
    );
}

#[test]
fn diff_exits_non_zero_only_while_the_fix_can_port_something() {
    // `COUNT` needs `--unsafe-fixes` (a `static mut` becomes an atomic); `CACHE`'s guard is
    // returned out of the function, which no rewrite can keep inside the accessor's closure.
    let lib = "use std::sync::{Mutex, MutexGuard};\n\
static mut COUNT: u32 = 0;\n\
static CACHE: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n\
pub fn bump() -> u32 {\n    \
    unsafe {\n        COUNT += 1;\n        COUNT\n    }\n\
}\n\
pub fn cache() -> MutexGuard<'static, Vec<u8>> {\n    \
    CACHE.lock().unwrap()\n\
}\n";
    let tmp = package(lib);
    let root = tmp.path();

    // Without `--unsafe-fixes`, nothing would change, but `COUNT` is fixable with it: exit 1.
    let safe_only = lint(root, &["--diff"]);
    let summary = String::from_utf8_lossy(&safe_only.stderr).into_owned();
    assert!(safe_only.stdout.is_empty(), "{summary}");
    assert!(summary.contains("run with `--unsafe-fixes`"), "{summary}");
    assert_eq!(safe_only.status.code(), Some(1), "{summary}");

    // Ported, `CACHE` is what remains: a finding the fix cannot port is not a pending fix.
    fix(root);
    let after = lint(root, &["--diff", "--unsafe-fixes"]);
    let summary = String::from_utf8_lossy(&after.stderr).into_owned();
    assert!(after.stdout.is_empty(), "{summary}");
    assert!(summary.contains("`CACHE`"), "{summary}");
    assert_eq!(after.status.code(), Some(0), "{summary}");
}
