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
fn debug_print_plans() {
    for rule in GLOBALS {
        let flagged =
            std::fs::read_to_string(fixtures().join(rule).join("flagged.rs")).expect("flagged.rs");
        let (_, plan) = fix_source(rule, &flagged, &unsafe_fixes());
        eprintln!("{rule}:\n{}", vnet_lint::fix::summary(&plan, true));
    }
}
