//! A static whose use sits inside another static's rewritten use (find-msvc-tools: `IS_SUPPORTED`
//! stored inside `LOAD_VALUE.call_once(|| …)`) cannot be edited in the same round. `--fix` used to
//! leave it, and a second `--fix` then ported it: the second run changed the code. Now `--fix` runs
//! further rounds, and a second run changes nothing.

use std::path::Path;
use std::process::Command;

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

fn fix(dir: &Path) -> String {
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vnet-runtime");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-vnet-lint"))
        .args([
            "vnet-lint",
            "check",
            "--fix",
            "--unsafe-fixes",
            "--allow-dirty",
            "--no-verify",
        ])
        .arg("--runtime-path")
        .arg(&runtime)
        .current_dir(dir)
        .output()
        .expect("run");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn nested_uses_are_ported_in_one_fix_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path();
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"rounds\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .expect("write");
    std::fs::write(root.join("src/lib.rs"), LIB).expect("write");

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
