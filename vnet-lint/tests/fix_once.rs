//! A bare `Once` holds no value: it guards other state (rayon-core's `THE_REGISTRY_SET` guards the
//! `static mut THE_REGISTRY`, which the fix leaves alone). Ported alone, the guarded initialization
//! runs again in every instance, so it is an unsafe fix, never applied by plain `--fix`.

use std::path::Path;
use vnet_lint::engine::{check_paths, Options};
use vnet_lint::fix::{plan, targets, FixOptions, Plan};

const LIB: &str = "use std::sync::{Once, OnceLock};\n\
                   static INIT: Once = Once::new();\n\
                   static CELL: OnceLock<u32> = OnceLock::new();\n\
                   static mut DATA: Option<Box<u32>> = None;\n\
                   pub fn get() -> u32 {\n    \
                       INIT.call_once(|| unsafe { DATA = Some(Box::new(7)) });\n    \
                       *CELL.get_or_init(|| 7)\n\
                   }\n";

fn plan_for(root: &Path, unsafe_fixes: bool) -> Plan {
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), LIB).expect("write");
    let report = check_paths(&[root.join("src")], &Options::default());
    plan(
        &targets(&report),
        &FixOptions {
            unsafe_fixes,
            ..FixOptions::default()
        },
    )
}

#[test]
fn a_bare_once_is_an_unsafe_fix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let safe = plan_for(&tmp.path().join("safe"), false);
    let left: Vec<(&str, &str)> = safe
        .left
        .iter()
        .map(|l| (l.name.as_str(), l.reason.as_str()))
        .collect();
    let once = left
        .iter()
        .find(|(n, _)| *n == "INIT")
        .expect("INIT left alone");
    assert!(once.1.contains("`Once` guards other state"), "{left:?}");
    assert!(once.1.contains("--unsafe-fixes"), "{left:?}");
    // A cell holding its own value stays a safe fix.
    assert!(safe.ported.iter().any(|p| p.name == "CELL"), "{left:?}");
    assert!(!safe.ported.iter().any(|p| p.name == "INIT"));

    let all = plan_for(&tmp.path().join("unsafe"), true);
    assert!(
        all.ported.iter().any(|p| p.name == "INIT"),
        "{:?}",
        all.left
    );
}
