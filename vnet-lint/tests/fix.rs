//! `--fix` on every globals rule fixture: `fixed.rs` is what `--fix --unsafe-fixes` makes of
//! `flagged.rs`, byte for byte, and fixing the result again changes nothing.
//! `VNET_LINT_BLESS=1` rewrites the `fixed.rs` files.

use std::path::Path;
use vnet_lint::fix::{fix_source, FixOptions};

const GLOBALS: &[&str] = &[
    "static_mut",
    "interior_mutable_static",
    "lazy_static_global",
    "thread_local_global",
];

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rules")
}

fn unsafe_fixes() -> FixOptions {
    FixOptions {
        unsafe_fixes: true,
        ..FixOptions::default()
    }
}

#[test]
fn fixed_fixtures_match_byte_for_byte() {
    let bless = std::env::var_os("VNET_LINT_BLESS").is_some();
    for rule in GLOBALS {
        let dir = fixtures().join(rule);
        let flagged = std::fs::read_to_string(dir.join("flagged.rs")).expect("flagged.rs");
        let name = format!("fixtures/rules/{rule}/flagged.rs");
        let (fixed, _) = fix_source(&name, &flagged, &unsafe_fixes());
        let path = dir.join("fixed.rs");
        if bless {
            std::fs::write(&path, &fixed).expect("write fixed.rs");
            continue;
        }
        let expected = std::fs::read_to_string(&path).expect("fixed.rs exists");
        assert!(
            expected == fixed,
            "{rule}: --fix output differs from fixed.rs:\n{}",
            vnet_lint::fix::diff::unified("fixed.rs", &expected, &fixed)
        );
    }
}

#[test]
fn fixing_twice_equals_fixing_once() {
    for rule in GLOBALS {
        let flagged =
            std::fs::read_to_string(fixtures().join(rule).join("flagged.rs")).expect("flagged.rs");
        let name = format!("fixtures/rules/{rule}/flagged.rs");
        let (once, _) = fix_source(&name, &flagged, &unsafe_fixes());
        let (twice, plan) = fix_source(&name, &once, &unsafe_fixes());
        assert_eq!(once, twice, "{rule}: a second run changed the file");
        assert!(plan.ported.is_empty(), "{rule}: {:?}", plan.ported);
    }
}

#[test]
fn what_is_left_alone_says_why() {
    let read = |rule: &str| {
        std::fs::read_to_string(fixtures().join(rule).join("flagged.rs")).expect("flagged.rs")
    };
    // thread_local! is never ported.
    let (fixed, plan) = fix_source("t.rs", &read("thread_local_global"), &unsafe_fixes());
    assert_eq!(fixed, read("thread_local_global"));
    assert_eq!(plan.left.len(), 5);
    assert!(plan
        .left
        .iter()
        .all(|l| l.reason.contains("per thread by design")));
    // Statics declared inside cfg_if! are left, with the macro named.
    let (_, plan) = fix_source("i.rs", &read("interior_mutable_static"), &unsafe_fixes());
    let names: Vec<&str> = plan.left.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        ["UNIX_SOCKETS", "OTHER_SOCKETS", "DEBUG_PATH_EXISTS"]
    );
    assert!(plan.left.iter().all(|l| l.reason.contains("`cfg_if!`")));
    // Without --unsafe-fixes, static mut and lazy_static! are left, and the summary says how to port them.
    for rule in ["static_mut", "lazy_static_global"] {
        let (fixed, plan) = fix_source("s.rs", &read(rule), &FixOptions::default());
        assert_eq!(fixed, read(rule), "{rule}");
        assert!(plan.ported.is_empty() && !plan.left.is_empty());
        assert!(
            plan.left.iter().all(|l| l.needs_unsafe),
            "{rule}: {:?}",
            plan.left
        );
        let summary = vnet_lint::fix::summary(&plan, true);
        assert!(
            summary.contains("available with `--unsafe-fixes`"),
            "{summary}"
        );
    }
}

#[test]
fn initializers_naming_statics_and_constant_contexts_are_left_alone() {
    let src = "use std::sync::atomic::AtomicU8;\npub struct Node { pub next: Option<&'static Node>, pub hits: AtomicU8 }\nstatic TAIL: Node = Node { next: None, hits: AtomicU8::new(0) };\nstatic HEAD: Node = Node { next: Some(&TAIL), hits: AtomicU8::new(0) };\n";
    let (fixed, plan) = fix_source("n.rs", src, &FixOptions::default());
    assert_eq!(fixed, src);
    let reasons: Vec<(&str, &str)> = plan
        .left
        .iter()
        .map(|l| (l.name.as_str(), l.reason.as_str()))
        .collect();
    assert!(
        reasons[0].0 == "TAIL" && reasons[0].1.contains("constant context"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].0 == "HEAD" && reasons[1].1.contains("names the static `TAIL`"),
        "{reasons:?}"
    );
}
