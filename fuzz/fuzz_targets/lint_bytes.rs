//! Arbitrary bytes as one source file: the lint's per-file parse and analysis,
//! the cross-file type resolution of that file, and the renderers must never
//! panic (a panic aborts the process, which libFuzzer reports).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let report = vnet_lint::check_source("src/fuzz.rs", data);
    let _ = vnet_lint::emit::human::render_to_string(&report);
    let _ = vnet_lint::emit::sarif::to_sarif(&report);
});
