//! `cargo vnet-lint check --fix --unsafe-fixes` on a copy of `fixtures/unported-netstack`: the result
//! builds, lints clean apart from what the fix reported as left alone, and two instances no longer
//! share the ported state.

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

/// Written for this test, against the ported names: each instance has its own IP id counter,
/// interface list, ARP cache and UDP port counter.
const MULTI_INSTANCE_TEST: &str = r#"
use std::sync::atomic::Ordering;
use unported_netstack::{arp, ifnet, ip, udp};
use vnet_runtime::Vnet;

#[test]
fn two_instances_do_not_share_ported_state() {
    if !vnet_runtime::VIMAGE {
        return;
    }
    let red = Vnet::create("red").expect("red");
    let blue = Vnet::create("blue").expect("blue");
    red.enter(|| {
        assert_eq!(ip::next_id(), 1);
        assert_eq!(ip::next_id(), 2);
        ifnet::attach("em0");
        ip::V_IP_FORWARDING.with(|f| f.store(true, Ordering::Relaxed));
        assert_eq!(udp::ephemeral_port(), 49153);
    });
    blue.enter(|| {
        assert_eq!(ip::next_id(), 1, "blue starts its own IP id counter");
        assert_eq!(ifnet::V_IFNET.with(|list| list.read().len()), 0, "blue has no interfaces");
        assert!(!ip::V_IP_FORWARDING.with(|f| f.load(Ordering::Relaxed)));
        assert_eq!(udp::ephemeral_port(), 49153, "blue has its own port counter");
        assert_eq!(arp::resolve([10, 0, 0, 1]), None);
    });
    red.enter(|| {
        assert_eq!(ifnet::V_IFNET.with(|list| list.read().len()), 1);
        assert_eq!(ip::next_id(), 3);
    });
    red.destroy().expect("destroy red");
    blue.destroy().expect("destroy blue");
}
"#;

#[test]
fn fixed_netstack_builds_lints_clean_and_separates_instances() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let krate = tmp.path().join("unported-netstack");
    copy_dir(&workspace().join("fixtures/unported-netstack"), &krate);
    let manifest = krate.join("Cargo.toml");
    let runtime = workspace().join("vnet-runtime");
    let text = std::fs::read_to_string(&manifest)
        .expect("manifest")
        .replace(
            "../../vnet-runtime",
            &runtime.to_string_lossy().replace('\\', "/"),
        );
    std::fs::write(&manifest, text).expect("manifest");
    let target_dir = workspace().join("target/fix-netstack");

    let lint = env!("CARGO_BIN_EXE_cargo-vnet-lint");
    let out = Command::new(lint)
        .args([
            "check",
            "--fix",
            "--unsafe-fixes",
            "--message-format",
            "json",
        ])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .expect("run the lint");
    let summary = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(summary.contains("ported 15 statics"), "{summary}");
    // What is left is exactly what the summary says it left alone.
    let left: Vec<(String, usize)> = summary
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("left     "))
        .map(|l| {
            let place = l.split_whitespace().next().expect("file:line");
            let (file, line) = place.rsplit_once(':').expect("file:line");
            (file.to_owned(), line.parse().expect("line"))
        })
        .collect();
    assert_eq!(left.len(), 2, "{summary}");
    let mut remaining: Vec<(String, usize)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .map(|v| {
            (
                v["file"].as_str().expect("file").to_owned(),
                v["line"].as_u64().expect("line") as usize,
            )
        })
        .collect();
    remaining.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    // The left-alone line is the declaration's; the finding may point a line below (cfg_if!).
    assert_eq!(
        remaining.len(),
        left_sorted.len(),
        "{remaining:?} vs {left_sorted:?}"
    );
    for ((rf, rl), (lf, ll)) in remaining.iter().zip(&left_sorted) {
        assert_eq!(rf, lf);
        assert!(rl.abs_diff(*ll) <= 4, "{rf}:{rl} vs {lf}:{ll}");
    }

    // Fixing again changes nothing.
    let again = Command::new(lint)
        .args(["check", "--diff", "--unsafe-fixes"])
        .current_dir(&krate)
        .output()
        .expect("run the lint");
    assert!(
        again.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );

    std::fs::create_dir_all(krate.join("tests")).expect("tests dir");
    std::fs::write(krate.join("tests/multi_instance.rs"), MULTI_INSTANCE_TEST).expect("test");
    let test = Command::new(env!("CARGO"))
        .args(["test", "--test", "multi_instance", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .expect("cargo test");
    assert!(
        test.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}
