//! A byte order mark or a `#!` line before the code: syn drops them before lexing, so spans counted
//! from after them. Findings pointed that many bytes early and `--fix` wrote its edits into the middle
//! of tokens. Every offset must be the file's own. And a file with `\r\n` line endings keeps them
//! where `--fix` writes new lines.

use std::path::Path;
use vnet_lint::engine::{check_paths, Options};
use vnet_lint::fix::{plan, targets, FixOptions};

const CODE: &str = "use std::sync::atomic::{AtomicU32, Ordering};\n\
                    pub static COUNTER: AtomicU32 = AtomicU32::new(0);\n\
                    static mut HITS: u32 = 0;\n\
                    pub fn hit() -> u32 { COUNTER.fetch_add(1, Ordering::Relaxed) }\n";

const PRELUDES: &[&str] = &[
    "\u{feff}",
    "#!/usr/bin/env run-cargo-script\n",
    "\u{feff}#!/x é\n",
];

/// The findings' byte ranges, each with the text it covers.
fn spans(text: &str) -> Vec<(String, String)> {
    let report = vnet_lint::check_source("src/lib.rs", text.as_bytes());
    report
        .diagnostics
        .iter()
        .map(|d| {
            let span = d.finding.span.clone().expect("span");
            (d.finding.rule.code.to_owned(), text[span].to_owned())
        })
        .collect()
}

#[test]
fn findings_cover_the_same_text_after_a_bom_or_shebang() {
    let plain = spans(CODE);
    assert_eq!(plain.len(), 2, "{plain:?}");
    for prelude in PRELUDES {
        let text = format!("{prelude}{CODE}");
        assert_eq!(spans(&text), plain, "{prelude:?}");
    }
}

#[test]
fn an_unevaluable_key_is_quoted_as_written_after_a_bom() {
    let code = "use vnet_runtime::subsystem::*;\n#[sysinit(SI_SUB_PSEUDO, pick(SI_ORDER_ANY, 2))]\nfn init() {}\n";
    for text in [code.to_owned(), format!("\u{feff}{code}")] {
        let report = vnet_lint::check_source("src/lib.rs", text.as_bytes());
        let messages: Vec<&str> = report
            .diagnostics
            .iter()
            .map(|d| d.finding.message.as_str())
            .collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("`pick(SI_ORDER_ANY, 2)`")),
            "{messages:?}"
        );
    }
}

fn fixed(root: &Path, prelude: &str) -> String {
    fixed_text(root, &format!("{prelude}{CODE}"))
}

fn fixed_text(root: &Path, text: &str) -> String {
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::write(
        root.join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    )
    .expect("write");
    let lib = root.join("src/lib.rs");
    std::fs::write(&lib, text).expect("write");
    let report = check_paths(&[root.join("src")], &Options::default());
    let plan = plan(
        &targets(&report),
        &FixOptions {
            unsafe_fixes: true,
            ..FixOptions::default()
        },
    );
    let path = vnet_lint::fix::krate::absolute(&lib);
    plan.files.get(&path).expect("lib.rs is edited").1.clone()
}

#[test]
fn fix_edits_land_on_the_same_tokens_after_a_bom_or_shebang() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plain = fixed(&tmp.path().join("plain"), "");
    assert!(
        plain.contains("V_COUNTER.with(|counter| counter.fetch_add(1, Ordering::Relaxed))"),
        "{plain}"
    );
    for (i, prelude) in PRELUDES.iter().enumerate() {
        let out = fixed(&tmp.path().join(format!("p{i}")), prelude);
        assert_eq!(
            out.strip_prefix(prelude),
            Some(plain.as_str()),
            "{prelude:?}"
        );
    }
}

#[test]
fn fix_keeps_crlf_line_endings() {
    let tmp = tempfile::tempdir().expect("tmp");
    let plain = fixed(&tmp.path().join("lf"), "");
    let crlf = fixed_text(&tmp.path().join("crlf"), &CODE.replace('\n', "\r\n"));
    assert_eq!(crlf, plain.replace('\n', "\r\n"));
}
