//! `--fix` on a static whose borrow a `let` keeps for the rest of its block: the `let` and the rest
//! of the block move into the accessor's closure, unless the moved code would mean something else
//! there. Each case is labelled (ported or left) before it runs; `labelled_cases_match` reports
//! found / expected / false positives.

use std::path::Path;
use std::process::Command;
use vnet_lint::fix::{fix_source, FixOptions, Plan};

const CACHE: &str =
    "use std::sync::Mutex;\nstatic CACHE: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n";

fn fix(body: &str) -> (String, Plan) {
    let options = FixOptions {
        unsafe_fixes: true,
        ..FixOptions::default()
    };
    fix_source("lib.rs", &format!("{CACHE}{body}"), &options)
}

fn reason(plan: &Plan) -> String {
    plan.left
        .iter()
        .find(|l| l.name == "CACHE")
        .map(|l| l.reason.clone())
        .unwrap_or_default()
}

/// (name, code, ported?, for a refusal: words its reason must hold).
const CASES: &[(&str, &str, bool, &str)] = &[
    (
        "guard bound and used, tail expression",
        "pub fn f() -> usize {\n    let cache = CACHE.lock().unwrap();\n    let n = cache.len();\n    n + 1\n}\n",
        true,
        "",
    ),
    (
        "let in a method body",
        "pub struct S;\nimpl S {\n    pub fn m(&self) -> usize {\n        let c = CACHE.lock().unwrap();\n        c.len()\n    }\n}\n",
        true,
        "",
    ),
    (
        "let in a nested block",
        "pub fn f() -> usize {\n    let x = 1;\n    let y = {\n        let c = CACHE.lock().unwrap();\n        c.len() + x\n    };\n    y * 2\n}\n",
        true,
        "",
    ),
    (
        "block ending with `;`",
        "pub fn f(v: u8) {\n    let mut c = CACHE.lock().unwrap();\n    c.push(v);\n}\n",
        true,
        "",
    ),
    (
        "let followed by if, match and loops with their own break",
        "pub fn f(k: u8) -> usize {\n    let c = CACHE.lock().unwrap();\n    let mut n = 0;\n    for b in c.iter() {\n        if *b == k {\n            break;\n        }\n        n += 1;\n    }\n    'outer: loop {\n        while n > 100 {\n            continue 'outer;\n        }\n        break 'outer;\n    }\n    match c.first() {\n        Some(b) if *b == k => n,\n        _ => {\n            assert!(n <= c.len(), \"{n:?}\");\n            n + 1\n        }\n    }\n}\n",
        true,
        "",
    ),
    (
        "a borrow in part of the initializer, closure with `?` inside",
        "pub fn f() -> usize {\n    let c = Some(CACHE.lock().unwrap());\n    let g = || -> Option<u8> { Some(*c.as_ref()?.first()?) };\n    g().map_or(0, usize::from)\n}\n",
        true,
        "",
    ),
    (
        "rest uses `?`",
        "pub fn f() -> Option<u8> {\n    let c = CACHE.lock().unwrap();\n    let b = c.first()?;\n    Some(*b)\n}\n",
        false,
        "uses `?`",
    ),
    (
        "rest returns",
        "pub fn f() -> usize {\n    let c = CACHE.lock().unwrap();\n    if c.is_empty() {\n        return 0;\n    }\n    c.len()\n}\n",
        false,
        "returns",
    ),
    (
        "rest breaks the loop around it",
        "pub fn f() {\n    loop {\n        let c = CACHE.lock().unwrap();\n        if c.is_empty() {\n            break;\n        }\n    }\n}\n",
        false,
        "breaks a loop around it",
    ),
    (
        "rest awaits",
        "async fn g() {}\npub async fn f() -> usize {\n    let c = CACHE.lock().unwrap();\n    g().await;\n    c.len()\n}\n",
        false,
        "awaits",
    ),
    (
        "rest calls an unknown macro",
        "macro_rules! bail { () => { return 0 }; }\npub fn f() -> usize {\n    let c = CACHE.lock().unwrap();\n    if c.is_empty() {\n        bail!();\n    }\n    c.len()\n}\n",
        false,
        "calls `bail!`",
    ),
    (
        "let-else",
        "pub fn f() -> usize {\n    let Ok(c) = CACHE.lock() else {\n        panic!(\"poisoned\")\n    };\n    c.len()\n}\n",
        false,
        "has an `else`",
    ),
    (
        "an item of the rest named before the `let`",
        "pub fn f() -> usize {\n    let k = helper();\n    let c = CACHE.lock().unwrap();\n    fn helper() -> usize { 1 }\n    c.len() + k\n}\n",
        false,
        "declares `helper`",
    ),
    (
        "a `#[track_caller]` function (eyre's shape)",
        "#[cfg_attr(all(), track_caller)]\npub fn f() -> &'static std::panic::Location<'static> {\n    let c = CACHE.lock().unwrap();\n    let _ = c.len();\n    std::panic::Location::caller()\n}\n",
        false,
        "track_caller",
    ),
    (
        "a function with a value and no tail",
        "pub fn f() -> usize {\n    let c = CACHE.lock().unwrap();\n    panic!(\"{}\", c.len());\n}\n",
        false,
        "no tail",
    ),
];

#[test]
fn labelled_cases_match() {
    let (mut found, mut expected, mut false_positives) = (0, 0, 0);
    let mut wrong = Vec::new();
    for (name, code, port, why) in CASES {
        let (fixed, plan) = fix(code);
        let is_ported = plan.ported.iter().any(|p| p.name == "CACHE");
        expected += usize::from(*port);
        found += usize::from(*port && is_ported);
        false_positives += usize::from(!*port && is_ported);
        if is_ported != *port {
            wrong.push(format!(
                "{name}: ported {is_ported}: {}\n{fixed}",
                reason(&plan)
            ));
            continue;
        }
        if *port {
            // The port parses, names the static only through its accessor, and a second fix is a
            // no-op.
            assert!(syn::parse_file(&fixed).is_ok(), "{name}:\n{fixed}");
            assert!(!fixed.contains("CACHE.lock"), "{name}:\n{fixed}");
            assert!(fixed.contains("V_CACHE.with(|cache"), "{name}:\n{fixed}");
        } else {
            let reason = reason(&plan);
            assert!(
                reason.contains("outlives the expression") && reason.contains(why),
                "{name}: {reason}"
            );
            assert_eq!(fixed, format!("{CACHE}{code}"), "{name}");
        }
    }
    eprintln!(
        "block rewrite: found {found} / expected {expected}, false positives {false_positives}"
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

const COND: &str = "use std::sync::atomic::{AtomicBool, Ordering};\npub struct Cond(AtomicBool);\nimpl Cond {\n    pub fn read(&self) -> bool {\n        self.0.load(Ordering::Relaxed)\n    }\n}\nstatic ENABLED: Cond = Cond(AtomicBool::new(true));\n";

/// A function's result that a method named like a borrowing one (`read`) makes (yansi's shape): the
/// tail moves into the closure when the result's type cannot borrow.
#[test]
fn labelled_function_tails_match() {
    let options = FixOptions {
        unsafe_fixes: true,
        ..FixOptions::default()
    };
    // (name, code, ported?, words of the reason)
    let cases: &[(&str, &str, bool, &str)] = &[
        (
            "owned result",
            "pub fn is_enabled() -> bool {\n    ENABLED.read()\n}\n",
            true,
            "",
        ),
        (
            "owned result of a method taking `&self`",
            "pub struct S;\nimpl S {\n    pub fn on(&self) -> Option<bool> {\n        Some(ENABLED.read())\n    }\n}\n",
            true,
            "",
        ),
        (
            "a result that may borrow",
            "pub fn cond() -> &'static Cond {\n    ENABLED.as_ref()\n}\nimpl AsRef<Cond> for Cond {\n    fn as_ref(&self) -> &Cond {\n        self\n    }\n}\n",
            false,
            "result may borrow",
        ),
        (
            "a type of the crate from a method taking `&self`",
            "pub struct S;\npub struct Flag(bool);\nimpl S {\n    pub fn flag(&self) -> Flag {\n        Flag(ENABLED.read())\n    }\n}\n",
            false,
            "result may borrow",
        ),
    ];
    let (mut found, mut expected, mut false_positives) = (0, 0, 0);
    for (name, code, port, why) in cases {
        let (fixed, plan) = fix_source("lib.rs", &format!("{COND}{code}"), &options);
        let is_ported = plan.ported.iter().any(|p| p.name == "ENABLED");
        expected += usize::from(*port);
        found += usize::from(*port && is_ported);
        false_positives += usize::from(!*port && is_ported);
        assert_eq!(is_ported, *port, "{name}: {:?}\n{fixed}", plan.left);
        if *port {
            assert!(
                fixed.contains("V_ENABLED.with(|enabled| "),
                "{name}:\n{fixed}"
            );
        } else {
            let reason = plan
                .left
                .iter()
                .find(|l| l.name == "ENABLED")
                .map(|l| l.reason.clone())
                .unwrap_or_default();
            assert!(reason.contains(why), "{name}: {reason}");
        }
    }
    eprintln!(
        "function tails: found {found} / expected {expected}, false positives {false_positives}"
    );
}

/// A function-local static declared after the `let` that borrows it: its declaration would move into
/// its own closure.
#[test]
fn a_static_declared_in_the_moved_code_is_left() {
    let (fixed, plan) = fix(
        "pub fn g() -> usize {\n    let c = LOCAL.lock().unwrap();\n    static LOCAL: Mutex<Vec<u8>> = Mutex::new(Vec::new());\n    c.len()\n}\n",
    );
    let why = plan
        .left
        .iter()
        .find(|l| l.name == "LOCAL")
        .map(|l| l.reason.clone())
        .unwrap_or_default();
    assert!(why.contains("declares `LOCAL` itself"), "{why}\n{fixed}");
}

#[test]
fn the_let_and_the_rest_of_the_block_move_into_the_closure_reindented() {
    let (fixed, _) = fix(CASES[0].1);
    assert!(
        fixed.contains(
            "pub fn f() -> usize {\n    V_CACHE.with(|cache_| {\n        let cache = cache_.lock().unwrap();\n        let n = cache.len();\n        n + 1\n    })\n}\n"
        ),
        "{fixed}"
    );
}

#[test]
fn locals_before_the_let_stay_outside_and_a_trailing_semicolon_stays() {
    let (fixed, _) = fix(
        "pub fn f(v: u8) {\n    let before = v + 1;\n    let mut c = CACHE.lock().unwrap();\n    c.push(before);\n}\n",
    );
    assert!(
        fixed.contains(
            "    let before = v + 1;\n    V_CACHE.with(|cache| {\n        let mut c = cache.lock().unwrap();\n        c.push(before);\n    });\n}\n"
        ),
        "{fixed}"
    );
}

#[test]
fn a_block_on_one_line_stays_on_one_line() {
    let (fixed, _) = fix("pub fn f() -> usize { let c = CACHE.lock().unwrap(); c.len() }\n");
    assert!(
        fixed.contains(
            "pub fn f() -> usize { V_CACHE.with(|cache| { let c = cache.lock().unwrap(); c.len() }) }\n"
        ),
        "{fixed}"
    );
}

#[test]
fn a_multi_line_string_in_the_moved_code_keeps_its_text() {
    let (fixed, _) = fix(
        "pub fn f() -> String {\n    let c = CACHE.lock().unwrap();\n    format!(\"{}\nlines\", c.len())\n}\n",
    );
    assert!(fixed.contains("format!(\"{}\nlines\", c.len())"), "{fixed}");
}

/// Two statics whose `let`s share a block: one is ported per round, the second nested inside the
/// first's closure, and a second fix changes nothing.
#[test]
fn two_statics_in_one_block_nest_over_rounds() {
    let text = "use std::sync::Mutex;\nstatic A: Mutex<u8> = Mutex::new(1);\nstatic B: Mutex<u8> = Mutex::new(2);\npub fn f() -> u8 {\n    let a = A.lock().unwrap();\n    let b = B.lock().unwrap();\n    *a + *b\n}\n";
    let options = FixOptions {
        unsafe_fixes: true,
        ..FixOptions::default()
    };
    let (once, plan) = fix_source("lib.rs", text, &options);
    assert_eq!(plan.ported.len(), 1, "{:?}", plan.left);
    let (twice, plan) = fix_source("lib.rs", &once, &options);
    assert_eq!(plan.ported.len(), 1, "{:?}\n{once}", plan.left);
    assert!(
        twice.contains(
            "    V_A.with(|a_| {\n        let a = a_.lock().unwrap();\n        V_B.with(|b_| {\n            let b = b_.lock().unwrap();\n            *a + *b\n        })\n    })\n"
        ),
        "{twice}"
    );
    let (thrice, plan) = fix_source("lib.rs", &twice, &options);
    assert!(plan.ported.is_empty());
    assert_eq!(thrice, twice);
}

/// End to end: `--fix` on a crate with the shapes above, then the crate's own tests, which run in
/// parallel on per-instance state.
#[test]
fn a_ported_crate_builds_and_its_tests_pass() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .expect("manifest");
    let lib = r#"use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, RwLock};

static NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());
static ENABLED: RwLock<bool> = RwLock::new(true);
static HOOK: OnceLock<fn(u32) -> u32> = OnceLock::new();
static COUNTS: Mutex<Option<HashMap<u8, u32>>> = Mutex::new(None);

pub fn add(name: &str) -> usize {
    let mut names = NAMES.lock().unwrap();
    names.push(name.to_owned());
    names.len()
}

pub fn enabled() -> bool {
    let on = ENABLED.read().unwrap();
    *on
}

pub fn set_enabled(on: bool) {
    let mut flag = ENABLED.write().unwrap();
    *flag = on;
}

pub fn set_hook(f: fn(u32) -> u32) {
    let _ = HOOK.set(f);
}

pub fn apply(x: u32) -> u32 {
    let hook = HOOK.get().copied();
    let doubled = x * 2;
    match hook {
        Some(f) => f(doubled),
        None => doubled,
    }
}

pub fn count(k: u8) -> u32 {
    let seen = k;
    let mut counts = COUNTS.lock().unwrap();
    let map = counts.get_or_insert_with(HashMap::new);
    let mut n = 0;
    for _ in 0..3 {
        if n > 0 {
            break;
        }
        n += 1;
    }
    let entry = map.entry(seen).or_insert(0);
    *entry += n;
    *entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_counted() {
        assert_eq!(add("a"), 1);
        assert_eq!(add("b"), 2);
    }

    #[test]
    fn the_flag_flips() {
        assert!(enabled());
        set_enabled(false);
        assert!(!enabled());
    }

    #[test]
    fn the_hook_applies() {
        assert_eq!(apply(2), 4);
        set_hook(|x| x + 1);
        assert_eq!(apply(2), 5);
    }

    #[test]
    fn counts_grow() {
        assert_eq!(count(1), 1);
        assert_eq!(count(1), 2);
        assert_eq!(count(2), 1);
    }
}
"#;
    std::fs::write(root.join("src/lib.rs"), lib).expect("lib");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fix-netstack");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args(["check", "--fix", "--unsafe-fixes", "--runtime-path"])
        .arg(&runtime)
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run");
    let summary = String::from_utf8_lossy(&out.stderr);
    let fixed = std::fs::read_to_string(root.join("src/lib.rs")).expect("read");
    assert!(summary.contains("ported 4 statics"), "{summary}\n{fixed}");
    assert!(
        fixed.contains("V_NAMES.with(|names_| {\n        let mut names = names_.lock().unwrap();"),
        "{fixed}"
    );
    // The tests share no state across instances: each starts from the initial values, in parallel.
    let test = Command::new("cargo")
        .args(["test", "-q"])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo test");
    assert!(
        test.status.success(),
        "{}\n{}\n{fixed}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}
