//! The `unsafe { }` blocks `--fix` leaves without an unsafe operation lose their `unsafe` (rustc
//! would report them `unused_unsafe`); blocks that still need it keep it. Each case is labelled
//! with what a reviewer expects; the plan (what `--diff` shows) must match every label. The last
//! test ports a small crate with `--fix` and builds it with `-D unused_unsafe`.

use std::path::Path;
use std::process::Command;
use vnet_lint::fix::{fix_source, FixOptions};

fn fix(src: &str) -> String {
    let options = FixOptions {
        unsafe_fixes: true,
        ..FixOptions::default()
    };
    let (fixed, plan) = fix_source("lib.rs", src, &options);
    assert!(!plan.ported.is_empty(), "nothing ported: {:?}", plan.left);
    fixed
}

/// The text of `fn name` in `text`, up to the next `fn` at the start of a line.
fn function<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text
        .find(&format!("fn {name}("))
        .unwrap_or_else(|| panic!("fn {name} in:\n{text}"));
    let end = text[start + 3..]
        .find("\nfn ")
        .or_else(|| text[start + 3..].find("\npub fn "))
        .map_or(text.len(), |e| start + 3 + e);
    &text[start..end]
}

const DECLS: &str =
    "static mut HITS: u32 = 0;\nstatic mut FLAG: bool = false;\nstatic mut A: u64 = 0;\n";

/// (function, source, whether its `unsafe` must go, what the fixed function must contain).
const CASES: &[(&str, &str, bool, &str)] = &[
    // Removed.
    (
        "bump",
        "fn bump() {\n    unsafe { HITS += 1 }\n}\n",
        true,
        "fn bump() {\n    V_HITS.with(|hits| { hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst); })\n}",
    ),
    (
        "read",
        "fn read() -> u32 {\n    let x = unsafe { HITS };\n    x\n}\n",
        true,
        "let x = V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst));",
    ),
    (
        "flag",
        "fn flag() {\n    if unsafe { FLAG } {\n        println!(\"set\");\n    }\n}\n",
        true,
        "if V_FLAG.with(|flag| flag.load(std::sync::atomic::Ordering::SeqCst)) {",
    ),
    (
        "twice",
        "fn twice() -> u64 {\n    let y = unsafe { A + 1 } * 2;\n    y\n}\n",
        true,
        "let y = (V_A.with(|a| a.load(std::sync::atomic::Ordering::SeqCst)) + 1) * 2;",
    ),
    (
        "both",
        "fn both() {\n    unsafe {\n        // count it\n        HITS += 2;\n        A = 3;\n    }\n}\n",
        true,
        "fn both() {\n    {\n        // count it\n        V_HITS.with(",
    ),
    (
        "then_more",
        "fn then_more() {\n    unsafe { HITS += 1 }\n    println!(\"more\");\n}\n",
        true,
        "V_HITS.with(|hits| { hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst); });\n    println!",
    ),
    (
        "arm",
        "fn arm(b: bool) {\n    match b {\n        true => unsafe { HITS += 1 }\n        false => {}\n    }\n}\n",
        true,
        "true => V_HITS.with(|hits| { hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst); }),\n",
    ),
    (
        "printed",
        "fn printed() {\n    println!(\"{}\", unsafe { HITS });\n}\n",
        true,
        "println!(\"{}\", V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst)));",
    ),
    (
        "matched",
        "fn matched() -> bool {\n    matches!(unsafe { HITS }, 0 | 1)\n}\n",
        true,
        "    matches!(V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst)), 0 | 1)\n",
    ),
    (
        // An attribute on an expression is allowed as a block's last expression, not elsewhere.
        "attributed",
        "fn attributed() -> u64 {\n    let v = unsafe { #[allow(unused_parens)] (A) };\n    v\n}\n",
        true,
        "    let v = { #[allow(unused_parens)] (V_A.with(|a| a.load(std::sync::atomic::Ordering::SeqCst))) };\n",
    ),
    (
        "scrutinee",
        "fn scrutinee() {\n    if let 0 = unsafe { HITS } {}\n}\n",
        true,
        "if let 0 = V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst)) {}",
    ),
    (
        "closure",
        "fn closure() -> u32 {\n    let f = || unsafe { HITS };\n    f()\n}\n",
        true,
        "let f = || V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst));",
    ),
    (
        "receiver",
        "fn receiver() -> String {\n    let s = unsafe { HITS }.to_string();\n    s\n}\n",
        true,
        "let s = V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst)).to_string();",
    ),
    (
        "negated",
        "fn negated() -> bool {\n    !unsafe { FLAG }\n}\n",
        true,
        "    !V_FLAG.with(|flag| flag.load(std::sync::atomic::Ordering::SeqCst))\n",
    ),
    (
        "cast",
        "fn cast() -> u64 {\n    let z = unsafe { HITS + 1 } as u64;\n    z\n}\n",
        true,
        "let z = (V_HITS.with(|hits| hits.load(std::sync::atomic::Ordering::SeqCst)) + 1) as u64;",
    ),
    // Kept.
    (
        "foreign_static",
        "fn foreign_static() -> usize {\n    unsafe { HITS += 1; libc::environ as usize }\n}\n",
        false,
        "unsafe { V_HITS.with(",
    ),
    (
        "struct_condition",
        "#[derive(PartialEq)]\nstruct P { x: u32 }\nfn struct_condition() {\n    if unsafe { P { x: HITS } == P { x: 1 } } {}\n}\n",
        false,
        "if unsafe { P { x: V_HITS.with(",
    ),
    (
        "ptr_write",
        "fn ptr_write(p: *mut u32) {\n    unsafe { p.write(HITS) }\n}\n",
        false,
        "unsafe { p.write(V_HITS.with(",
    ),
    (
        "raw",
        "fn raw(p: *const u32) -> u32 {\n    unsafe { *p + HITS }\n}\n",
        false,
        "unsafe { *p + V_HITS.with(",
    ),
    (
        "foreign",
        "extern \"C\" {\n    fn abs(x: i32) -> i32;\n}\nfn foreign() -> i32 {\n    unsafe { abs(HITS as i32) }\n}\n",
        false,
        "unsafe { abs(V_HITS.with(",
    ),
    (
        "unknown",
        "fn unknown() -> u32 {\n    unsafe { other_crate::get(HITS) }\n}\n",
        false,
        "unsafe { other_crate::get(V_HITS.with(",
    ),
    (
        "own_unsafe_fn",
        "unsafe fn risky(x: u32) -> u32 { x }\nfn own_unsafe_fn() -> u32 {\n    unsafe { risky(HITS) }\n}\n",
        false,
        "unsafe { risky(V_HITS.with(",
    ),
    (
        // A macro of the crate may paste its input as tokens: `tw!(A + 1)` would double only the
        // `1`, where the block doubled the sum.
        "in_token_macro",
        "macro_rules! tw {\n    ($($t:tt)*) => { $($t)* * 2 };\n}\nfn in_token_macro() -> u64 {\n    tw!(unsafe { A + 1 })\n}\n",
        false,
        "tw!(unsafe { V_A.with(|a| a.load(std::sync::atomic::Ordering::SeqCst)) + 1 })",
    ),
    (
        "inline_format",
        "static mut RAW: [u8; 4] = [0; 4];\nfn inline_format() {\n    unsafe { HITS += 1; println!(\"{RAW:?}\"); }\n}\n",
        false,
        "unsafe { V_HITS.with(",
    ),
];

#[test]
fn blocks_left_without_unsafe_operations_lose_their_unsafe() {
    let (mut found, mut expected, mut false_positives) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, body, removed, wanted) in CASES {
        let src = format!("{DECLS}\n{body}");
        let fixed = fix(&src);
        let f = function(&fixed, name);
        let gone = !f.contains("unsafe {");
        expected += usize::from(*removed);
        found += usize::from(*removed && gone);
        false_positives += usize::from(!*removed && gone);
        if gone != *removed || !f.contains(wanted) {
            failures.push(format!("{name}: expected {wanted:?} in\n{f}"));
        }
    }
    println!(
        "removed {found} of {expected} expected; kept {} of {}, {false_positives} false positives",
        CASES.len() - expected - false_positives,
        CASES.len() - expected
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_block_still_touching_a_static_left_for_later_keeps_unsafe_until_then() {
    // `OTHER` sits inside the rewritten update of `HITS`: it is ported in a further round, so this
    // round's block still reads a `static mut`.
    let src = "static mut HITS: u32 = 0;\nstatic mut OTHER: u32 = 0;\nfn f() {\n    unsafe { HITS += OTHER }\n}\n";
    let once = fix(src);
    assert!(
        once.contains("    unsafe { V_HITS.with(|hits| { hits.fetch_add(OTHER,"),
        "{once}"
    );
    // The next round ports `OTHER` and drops the `unsafe`.
    let twice = fix(&once);
    assert!(
        twice.contains("    V_HITS.with(|hits| { hits.fetch_add(V_OTHER.with(")
            && !twice.contains("unsafe"),
        "{twice}"
    );
}

#[test]
fn a_static_mut_moved_as_static_mut_keeps_its_unsafe() {
    // A borrow that outlives the expression: no lock can hold it, the value moves as a
    // `StaticMut`, whose place is reached through a raw pointer.
    let src = "static mut BUF: Vec<u8> = Vec::new();\nfn f() {\n    let buf = unsafe { &mut BUF };\n    buf.push(1);\n}\n";
    let fixed = fix(src);
    assert!(
        fixed.contains("    let buf = unsafe { &mut *V_BUF.as_ptr() };"),
        "{fixed}"
    );
}

#[test]
fn a_static_mut_whose_address_is_taken_with_raw_is_left_with_its_unsafe() {
    // `&raw const X` of the accessor's value would take the address of a temporary (E0745).
    let src = "static mut HITS: u32 = 0;\nstatic mut A: u64 = 0;\n\
               fn f() -> u32 {\n    unsafe { (&raw const HITS).read() }\n}\n\
               fn g() -> *mut u64 {\n    &raw mut A\n}\n";
    let options = FixOptions {
        unsafe_fixes: true,
        ..FixOptions::default()
    };
    let (fixed, plan) = fix_source("lib.rs", src, &options);
    assert_eq!(fixed, src);
    for name in ["HITS", "A"] {
        let left = plan.left.iter().find(|l| l.name == name).expect(name);
        assert!(left.reason.contains("`&raw`"), "{}", left.reason);
    }
}

#[test]
fn a_read_of_a_whole_locked_value_is_not_parenthesised() {
    // `(*opt)` as the closure's last expression, and `(…)` left around the accessor where a
    // `let … else` needed them only for the block's `}`: rustc reports both `unused_parens`.
    let src = "static mut OPT: Option<u32> = None;\n\
               fn f() -> u32 {\n    let Some(x) = (unsafe { OPT }) else { return 0 };\n    x\n}\n";
    let fixed = fix(src);
    assert!(
        fixed.contains(
            "    let Some(x) = V_OPT.with(|opt| { #[allow(unused_mut)] let mut opt = \
             opt.lock().unwrap_or_else(std::sync::PoisonError::into_inner); *opt }) else { return 0 };\n"
        ),
        "{fixed}"
    );
    // A `&&` needs them still.
    let src = "static mut FLAG: bool = false;\n\
               fn g(on: bool) {\n    let true = (unsafe { FLAG && on }) else { return };\n}\n";
    let fixed = fix(src);
    assert!(
        fixed.contains("    let true = (V_FLAG.with(|flag| flag.load(std::sync::atomic::Ordering::SeqCst)) && on) else { return };\n"),
        "{fixed}"
    );
}

#[test]
fn a_block_in_an_unsafe_fn_is_dropped_and_the_signature_kept() {
    let src = "static mut HITS: u32 = 0;\npub unsafe fn f() {\n    unsafe { HITS += 1 }\n}\n";
    let fixed = fix(src);
    assert!(
        fixed.contains("pub unsafe fn f() {\n    V_HITS.with(|hits| {"),
        "{fixed}"
    );
}

const CRATE: &str = r#"use std::sync::atomic::Ordering;

static mut HITS: u32 = 0;
static mut LIMIT: u64 = 10;
static mut NAMES: Vec<String> = Vec::new();

/// Counts one.
pub fn hit() -> u32 {
    unsafe { HITS += 1 }
    let now = unsafe { HITS };
    if unsafe { LIMIT } < 3 {
        return 0;
    }
    now
}

/// Twice the limit, plus one.
pub fn twice() -> u64 {
    let y = unsafe { LIMIT + 1 } * 2;
    y
}

/// Remembers a name.
pub fn remember(name: &str) -> usize {
    unsafe {
        // one more
        NAMES.push(name.to_owned());
        NAMES.len()
    }
}

/// The largest of the count and three: a call the plan cannot vouch for, which the build check
/// finds unused.
pub fn at_least_three() -> u32 {
    unsafe { std::cmp::max(HITS, 3) }
}

/// Reads through a raw pointer, which needs the block.
pub fn read(p: *const u32) -> u32 {
    let _ = Ordering::Relaxed;
    unsafe { *p + HITS }
}
"#;

#[test]
fn a_ported_crate_builds_with_unused_unsafe_denied() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"unsafe_port\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), CRATE).expect("write");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fix-unsafe");
    let lint = || {
        Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
            .args([
                "check",
                "--fix",
                "--unsafe-fixes",
                "--allow-dirty",
                "--runtime-path",
            ])
            .arg(&runtime)
            .current_dir(root)
            .env("CARGO_TARGET_DIR", &target)
            .env("RUSTFLAGS", "-D unused_unsafe")
            .output()
            .expect("run")
    };
    let out = lint();
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(summary.contains("ported 3 statics"), "{summary}");
    assert!(!summary.contains("restored"), "{summary}");
    let text = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    // Only the raw pointer's block keeps its `unsafe`.
    assert_eq!(text.matches("unsafe").count(), 1, "{text}");
    assert!(text.contains("    unsafe { *p + V_HITS.with("), "{text}");
    assert!(text.contains("    {\n        // one more\n"), "{text}");
    assert!(
        text.contains("    std::cmp::max(V_HITS.with(|hits| hits.load("),
        "{text}"
    );
    let build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["check", "--quiet"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTFLAGS", "-D unused_unsafe")
        .output()
        .expect("cargo check");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    // A second `--fix` changes nothing.
    let again = lint();
    assert_eq!(
        std::fs::read_to_string(root.join("src/lib.rs")).expect("read"),
        text,
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Runs `--fix --unsafe-fixes` with the build check on a new package `name` whose library is
/// `lib`: the summary, and the library as the fix left it.
fn fix_with_build_check(name: &str, lib: &str) -> (String, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"),
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), lib).expect("write");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args([
            "check",
            "--fix",
            "--unsafe-fixes",
            "--allow-dirty",
            "--runtime-path",
        ])
        .arg(&runtime)
        .current_dir(root)
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fix-netstack"),
        )
        .output()
        .expect("run");
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    let text = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    (summary, text)
}

#[test]
fn unused_unsafe_blocks_the_crate_already_had_are_left_alone() {
    // Without `-D unused_unsafe` (the fix's own tests' build directory): the build check drops
    // the `unsafe` rustc newly reports after writing, never one it reported before.
    let (summary, text) = fix_with_build_check("unsafe_baseline", "static mut HITS: u32 = 0;\n\n/// The larger of the count and three.\npub fn at_least_three() -> u32 {\n    unsafe { std::cmp::max(HITS, 3) }\n}\n\n/// Seven, in a block that never needed `unsafe`.\n#[allow(clippy::all)]\npub fn seven() -> u32 {\n    unsafe { 7 }\n}\n");
    assert!(summary.contains("ported 1 static"), "{summary}");
    assert!(
        text.contains("    std::cmp::max(V_HITS.with(|hits| hits.load("),
        "{text}"
    );
    assert!(text.contains("    unsafe { 7 }\n"), "{text}");
}

#[test]
fn an_unsafe_the_plan_dropped_wrongly_goes_back_and_the_static_stays_ported() {
    // The crate's own safe `fn take` makes `ManuallyDrop::take` (an `unsafe fn`) look safe by its
    // name: the build check puts that `unsafe` back instead of restoring `HITS`.
    let (summary, text) = fix_with_build_check("unsafe_put_back", "use std::mem::ManuallyDrop;\n\nstatic mut HITS: u32 = 0;\n\n/// One.\npub fn take() -> u32 {\n    1\n}\n\n/// Counts, and takes the string out.\npub fn out() -> String {\n    let mut s = ManuallyDrop::new(String::new());\n    unsafe {\n        HITS += 1;\n        ManuallyDrop::take(&mut s)\n    }\n}\n");
    assert!(
        summary.contains("ported 1 static") && !summary.contains("restored"),
        "{summary}"
    );
    assert!(
        text.contains("    unsafe {\n        V_HITS.with(|hits| {"),
        "{text}"
    );
}

#[test]
fn a_crate_of_several_files_is_planned_with_the_unsafe_dropped() {
    // The crate's declarations are read from every file while a file's blocks are decided.
    use vnet_lint::engine::{check_paths, Options};
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"several\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .expect("write");
    std::fs::write(
        root.join("src/lib.rs"),
        "mod other;\n\nstatic mut HITS: u32 = 0;\n\npub fn bump() -> u32 {\n    unsafe { HITS += other::step() }\n    unsafe { other::risky() }\n}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("src/other.rs"),
        "pub fn step() -> u32 {\n    1\n}\n\npub unsafe fn risky() -> u32 {\n    2\n}\n",
    )
    .expect("write");
    let report = check_paths(&[root.join("src")], &Options::default());
    let plan = vnet_lint::fix::plan(
        &vnet_lint::fix::targets(&report),
        &FixOptions {
            unsafe_fixes: true,
            ..FixOptions::default()
        },
    );
    assert_eq!(plan.ported.len(), 1, "{:?}", plan.left);
    let lib = vnet_lint::fix::krate::absolute(&root.join("src/lib.rs"));
    let (_, new) = plan.files.get(&lib).expect("lib.rs changed");
    assert!(
        new.contains("    V_HITS.with(|hits| { hits.fetch_add(other::step(), std::sync::atomic::Ordering::SeqCst); });\n    unsafe { other::risky() }\n"),
        "{new}"
    );
}

const TEMPORARIES: &str = r#"use std::sync::Mutex;

static mut X: usize = 1;

pub fn both(m: &Mutex<Vec<u32>>) -> usize {
    let n = unsafe { m.try_lock().unwrap().len() + X } + m.try_lock().unwrap().len();
    n
}

pub fn plain() -> usize {
    let n = unsafe { X } + 1;
    n
}

pub fn whole(m: &Mutex<Vec<u32>>) -> usize {
    let n = unsafe { m.try_lock().unwrap().len() + X };
    n
}
"#;

/// What `check --diff --unsafe-fixes` prints for [`TEMPORARIES`] in a package of `edition` (a
/// member of a workspace of edition 2024).
fn temporaries_diff(edition: &str) -> String {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[workspace]\nmembers = [\"temps\"]\n\n[workspace.package]\nedition = \"2024\"\n",
    )
    .expect("write");
    let root = &tmp.path().join("temps");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        format!("[package]\nname = \"temps\"\nversion = \"0.1.0\"\nedition = {edition}\n\n[dependencies]\n"),
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), TEMPORARIES).expect("write");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--diff", "--unsafe-fixes", "--runtime-path"])
        .arg(&runtime)
        .current_dir(root)
        .output()
        .expect("run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn in_edition_2024_a_block_whose_temporaries_would_outlive_it_keeps_its_braces() {
    // Since edition 2024 the temporaries of a block's last expression (the lock guard) are dropped
    // at the block's end: without the block the guard would live to the end of the statement, and
    // the second `try_lock` would fail (a `lock` would deadlock).
    let x = "V_X.with(|x| x.load(std::sync::atomic::Ordering::SeqCst))";
    for edition in ["\"2024\"", "{ workspace = true }"] {
        let diff = temporaries_diff(edition);
        assert!(
            diff.contains(&format!(
                "+    let n = unsafe {{ m.try_lock().unwrap().len() + {x} }} + m.try_lock()"
            )),
            "{edition}: {diff}"
        );
        // Where nothing runs between the block's end and the statement's, it goes.
        assert!(diff.contains(&format!("+    let n = {x} + 1;")), "{diff}");
        assert!(
            diff.contains(&format!("+    let n = m.try_lock().unwrap().len() + {x};")),
            "{diff}"
        );
    }
    // Before 2024 they lived to the end of the statement anyway.
    let diff = temporaries_diff("\"2021\"");
    assert!(
        diff.contains(&format!(
            "+    let n = (m.try_lock().unwrap().len() + {x}) + m.try_lock()"
        )),
        "{diff}"
    );
}
