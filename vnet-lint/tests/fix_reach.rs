//! `--fix` on shapes the real crates of the hold-out have and the rule fixtures did not: a guard and
//! the value it publishes linked only through a helper function, statics a signal handler reads,
//! statics a `thread_local!` initializer reaches.

use vnet_lint::fix::{fix_source, FixOptions, Plan};

fn plan(text: &str, unsafe_fixes: bool) -> Plan {
    let options = FixOptions {
        unsafe_fixes,
        ..FixOptions::default()
    };
    fix_source("lib.rs", text, &options).1
}

fn ported(plan: &Plan, name: &str) -> bool {
    plan.ported.iter().any(|p| p.name == name)
}

fn reason<'a>(plan: &'a Plan, name: &str) -> &'a str {
    plan.left
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.reason.as_str())
        .unwrap_or_else(|| panic!("`{name}` is not left alone: {:?}", plan.ported))
}

/// A state word checked in `set_logger`, the `static mut` it publishes written by a helper: without
/// `--unsafe-fixes` the value stays, so the guard stays too (a half port would run the guard once
/// per instance over one value for the process).
#[test]
fn a_guard_stays_with_the_value_a_helper_writes() {
    let text = "use std::sync::atomic::{AtomicUsize, Ordering};\n\
        static STATE: AtomicUsize = AtomicUsize::new(0);\n\
        static mut LOGGER: &str = \"\";\n\
        static HITS: AtomicUsize = AtomicUsize::new(0);\n\
        fn store(l: &'static str) {\n    unsafe { LOGGER = l }\n}\n\
        pub fn set_logger(l: &'static str) -> bool {\n    \
            if STATE.swap(1, Ordering::SeqCst) == 0 {\n        store(l);\n        true\n    } else {\n        false\n    }\n}\n\
        pub fn hit() {\n    HITS.fetch_add(1, Ordering::Relaxed);\n}\n";
    let plan = plan(text, false);
    let why = reason(&plan, "STATE");
    assert!(
        why.contains("used together with `LOGGER`") && why.contains("set_logger"),
        "{why}"
    );
    assert!(ported(&plan, "HITS"), "{:?}", plan.left);
}

/// A pipe a signal handler writes to (ctrlc's shape): the handler runs under no instance, so the
/// pipe stays process-wide, and so does the flag that guards its creation, linked to it through two
/// calls.
#[test]
fn what_a_signal_handler_reaches_stays_process_wide_with_its_guard() {
    let text = "use std::sync::atomic::{AtomicBool, Ordering};\n\
        static INIT: AtomicBool = AtomicBool::new(false);\n\
        static mut PIPE: (i32, i32) = (-1, -1);\n\
        static CALLS: AtomicBool = AtomicBool::new(false);\n\
        mod platform {\n    \
            pub unsafe fn init_os_handler() {\n        super::PIPE = (3, 4);\n    }\n    \
            pub extern \"C\" fn os_handler(_: i32) {\n        let _fd = unsafe { super::PIPE.1 };\n    }\n}\n\
        fn set_handler_inner() {\n    unsafe { platform::init_os_handler() }\n}\n\
        pub fn set_handler() {\n    \
            if !INIT.load(Ordering::Acquire) {\n        set_handler_inner();\n        INIT.store(true, Ordering::Release);\n    }\n}\n\
        pub fn called() {\n    CALLS.store(true, Ordering::Relaxed);\n}\n";
    let plan = plan(text, true);
    let pipe = reason(&plan, "PIPE");
    assert!(pipe.contains("extern \"C\" fn os_handler"), "{pipe}");
    let init = reason(&plan, "INIT");
    assert!(init.contains("used together with `PIPE`"), "{init}");
    // Linked to neither: it is ported.
    assert!(ported(&plan, "CALLS"), "{:?}", plan.left);
}

/// A counter of threads that a `thread_local!` value bumps when it is built (parking_lot_core's
/// shape): the per-thread value outlives the instances its thread enters, so what it counts stays
/// process-wide, through an associated function and a free one.
#[test]
fn what_a_thread_local_initializer_reaches_stays_process_wide() {
    let text = "use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};\n\
        static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);\n\
        static TABLE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());\n\
        static REQUESTS: AtomicUsize = AtomicUsize::new(0);\n\
        fn grow(n: usize) {\n    let _ = (n, TABLE.load(Ordering::Acquire));\n}\n\
        struct ThreadData;\n\
        impl ThreadData {\n    fn new() -> Self {\n        \
            let n = NUM_THREADS.fetch_add(1, Ordering::Relaxed) + 1;\n        grow(n);\n        ThreadData\n    }\n}\n\
        thread_local!(static THREAD_DATA: ThreadData = ThreadData::new());\n\
        pub fn request() {\n    REQUESTS.fetch_add(1, Ordering::Relaxed);\n}\n";
    let plan = plan(text, true);
    for name in ["NUM_THREADS", "TABLE"] {
        let why = reason(&plan, name);
        assert!(
            why.contains("`thread_local!` `THREAD_DATA`"),
            "{name}: {why}"
        );
    }
    assert!(ported(&plan, "REQUESTS"), "{:?}", plan.left);
}

/// `[Once; 2]` guards what its calls initialize as a single `Once` does.
#[test]
fn an_array_of_once_is_a_guard() {
    let text = "use std::sync::Once;\n\
        static INIT: [Once; 2] = [Once::new(), Once::new()];\n\
        static mut CACHE: [u8; 2] = [0, 0];\n\
        fn fill(i: usize) {\n    unsafe { CACHE[i] = 1 }\n}\n\
        pub fn cached(i: usize) {\n    INIT[i].call_once(|| fill(i));\n}\n";
    let plan = plan(text, false);
    let why = reason(&plan, "INIT");
    assert!(why.contains("used together with `CACHE`"), "{why}");
}

/// A cache in a crate cell around an `UnsafeCell` (supports-color's shape), filled under a `Once`:
/// when the cache cannot move (here a borrow of it outlives its expression, and the rest of the
/// block uses `?`), the `Once` stays with it, as it does with a `static mut`.
#[test]
fn a_once_stays_with_the_unsafe_cell_it_guards() {
    let text = "use std::cell::UnsafeCell;\nuse std::sync::Once;\n\
        struct CacheCell(UnsafeCell<Option<u8>>);\n\
        unsafe impl Sync for CacheCell {}\n\
        static INIT: [Once; 2] = [Once::new(), Once::new()];\n\
        static ON_CACHE: [CacheCell; 2] = [CacheCell(UnsafeCell::new(None)), CacheCell(UnsafeCell::new(None))];\n\
        fn fill(i: usize) {\n    unsafe { *ON_CACHE[i].0.get() = Some(1) }\n}\n\
        pub fn on_cached(i: usize) -> Option<u8> {\n    INIT[i].call_once(|| fill(i));\n    \
            let cell = &ON_CACHE[i];\n    let value = unsafe { *cell.0.get() }?;\n    Some(value)\n}\n";
    let plan = plan(text, true);
    let cache = reason(&plan, "ON_CACHE");
    assert!(cache.contains("outlives the expression"), "{cache}");
    let init = reason(&plan, "INIT");
    assert!(init.contains("used together with `ON_CACHE`"), "{init}");
}
