//! `#[vnet_test]`: a fresh instance per test, named after it, destroyed after
//! (also on panic); `Result` tests; `#[should_panic]`; arguments; async tests
//! on a multi-threaded tokio runtime. With `vimage` off the same source runs
//! every test on vnet0.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use vnet_runtime::{vnet, vnet0, vnet_test, Vnet, VnetFutureExt, VIMAGE};

/// Shared by every test here: each starts from 0 in its own instance.
#[vnet]
static PACKETS: AtomicU64 = AtomicU64::new(0);

fn count(n: u64) -> u64 {
    V_PACKETS.with(|p| p.fetch_add(n, Relaxed) + n)
}

/// The count is this test's own with `vimage` (without it every test shares
/// vnet0, so there is nothing to compare).
#[track_caller]
fn check(count: u64, expected: u64) {
    if VIMAGE {
        assert_eq!(count, expected);
    }
}

fn current_name() -> String {
    Vnet::current()
        .expect("the test's instance is current")
        .name()
        .to_owned()
}

#[vnet_test]
fn runs_in_a_fresh_instance_named_after_the_test() {
    check(count(5), 5);
    if VIMAGE {
        assert_eq!(
            current_name(),
            "runs_in_a_fresh_instance_named_after_the_test"
        );
        assert!(!Vnet::current().unwrap().is_default());
    } else {
        assert_eq!(current_name(), "vnet0");
    }
}

mod nested {
    use super::*;

    #[vnet_test]
    fn the_name_is_the_test_path() {
        if VIMAGE {
            assert_eq!(current_name(), "nested::the_name_is_the_test_path");
        }
    }

    #[vnet_test(name = "explicit-name")]
    fn the_name_can_be_given() {
        if VIMAGE {
            assert_eq!(current_name(), "explicit-name");
        }
    }
}

// Many tests bumping the same static, in parallel: none sees another's count.
macro_rules! isolated {
    ($($name:ident),*) => {$(
        #[vnet_test]
        fn $name() {
            if VIMAGE {
                for i in 1..=1000 {
                    assert_eq!(count(1), i);
                    if i % 100 == 0 {
                        std::thread::yield_now();
                    }
                }
            }
        }
    )*};
}
isolated!(iso_a, iso_b, iso_c, iso_d, iso_e, iso_f, iso_g, iso_h);

#[vnet_test]
fn result_tests_work() -> Result<(), std::num::ParseIntError> {
    let n: u64 = "7".parse()?;
    check(count(n), 7);
    Ok(())
}

#[vnet_test(name = "result-err")]
#[ignore = "run by `an_err_result_is_returned_and_the_instance_destroyed`"]
fn returns_err() -> Result<(), String> {
    count(1);
    Err("no route to host".to_owned())
}

#[test]
fn an_err_result_is_returned_and_the_instance_destroyed() {
    assert_eq!(returns_err(), Err("no route to host".to_owned()));
    if VIMAGE {
        assert_eq!(Vnet::lookup("result-err"), None);
    }
}

#[vnet_test]
#[should_panic(expected = "out of buffers")]
fn should_panic_keeps_working() {
    count(1);
    panic!("out of buffers");
}

#[vnet_test]
#[ignore = "ignored tests stay ignored"]
fn ignore_keeps_working() {
    panic!("an ignored test never runs");
}

#[vnet_test(name = "panicky")]
#[should_panic]
#[ignore = "run by `a_panic_destroys_the_instance_and_names_it`"]
fn panics_midway() {
    check(count(3), 3);
    panic!("checksum mismatch");
}

#[test]
fn a_panic_destroys_the_instance_and_names_it() {
    for _ in 0..2 {
        // Twice: the second run starts from a fresh instance again.
        let payload = std::panic::catch_unwind(panics_midway).unwrap_err();
        let message = payload.downcast_ref::<String>().expect("a message");
        assert!(message.starts_with("checksum mismatch"), "{message}");
        if VIMAGE {
            assert!(
                message.contains("in vnet `panicky`; vnet `panicky` destroyed"),
                "{message}"
            );
            assert_eq!(Vnet::lookup("panicky"), None, "destroyed after the panic");
        } else {
            assert!(message.contains("in vnet `vnet0`"), "{message}");
        }
    }
    assert!(Vnet::current().is_none() || !VIMAGE, "nothing left current");
}

fn shared_parent() -> &'static Vnet {
    static PARENT: OnceLock<Vnet> = OnceLock::new();
    PARENT.get_or_init(|| {
        if VIMAGE {
            Vnet::create("tests-parent").unwrap()
        } else {
            vnet0()
        }
    })
}

#[vnet_test(parent = shared_parent())]
fn a_parent_can_be_given() {
    if VIMAGE {
        assert_eq!(
            Vnet::current().unwrap().parent().as_ref(),
            Some(shared_parent())
        );
    }
    check(count(2), 2);
}

#[vnet_test(name = "thread-owner")]
fn threads_given_the_instance_see_it() {
    count(10);
    let vnet = Vnet::current().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| vnet.enter(|| check(count(1), 11)));
    });
    check(count(0), 11);
}

// Async: every poll of the body runs in the test's instance, on whatever
// thread polls it; tasks bound to it do too, on the runtime's workers.
#[vnet_test]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_tests_run_every_poll_in_their_instance() {
    check(count(1), 1);
    let vnet = Vnet::current().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        tasks.push(tokio::spawn(
            async {
                for _ in 0..10 {
                    count(1);
                    tokio::task::yield_now().await;
                    tokio::time::sleep(std::time::Duration::from_micros(50)).await;
                }
                Vnet::current().unwrap().name().to_owned()
            }
            .in_vnet(&vnet),
        ));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), vnet.name());
    }
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    check(count(0), 81);
}

#[vnet_test]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_result_tests_work() -> Result<(), String> {
    tokio::task::yield_now().await;
    check(count(4), 4);
    Ok(())
}

#[vnet_test(name = "async-panicky")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(
    expected = "lost the connection\n(#[vnet_test] `async_panics_name_the_instance` panicked in vnet"
)]
async fn async_panics_name_the_instance() {
    tokio::task::yield_now().await;
    panic!("lost the connection");
}

// The other order also works: tokio's attribute turns the body into a
// blocking `block_on` first, and `#[vnet_test]` then runs that with the
// instance current on the test thread, where `block_on` polls the body.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[vnet_test(name = "tokio-first")]
async fn the_executor_attribute_may_also_come_first() {
    tokio::task::yield_now().await;
    check(count(2), 2);
    if VIMAGE {
        assert_eq!(current_name(), "tokio-first");
    }
}

#[vnet_test(name = "gone-after")]
#[ignore = "run by `the_instance_is_destroyed_after_a_passing_test`"]
fn passes_quietly() {
    check(count(1), 1);
}

#[vnet_test(name = "gone-after-async")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by `the_instance_is_destroyed_after_a_passing_test`"]
async fn passes_quietly_async() {
    tokio::task::yield_now().await;
    check(count(1), 1);
}

#[vnet_test(name = "lingering-thread")]
#[ignore = "run by `the_instance_is_destroyed_after_a_passing_test`"]
fn leaves_a_thread_in_its_instance_for_a_moment() {
    let vnet = Vnet::current().unwrap();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        vnet.enter(|| {
            entered_tx.send(()).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(50));
        })
    });
    entered_rx.recv().unwrap(); // returns while the thread still has it current
}

#[test]
fn the_instance_is_destroyed_after_a_passing_test() {
    passes_quietly();
    passes_quietly_async();
    leaves_a_thread_in_its_instance_for_a_moment(); // destroy waits for the thread
    for name in ["gone-after", "gone-after-async", "lingering-thread"] {
        assert_eq!(Vnet::lookup(name), None, "{name}");
    }
    passes_quietly(); // its name is free again, its statics fresh
}

/// The function path a body runs under, derived the way insta names its
/// snapshots: the type name of a nested function, without it and without
/// the `{{closure}}` frames of async bodies.
macro_rules! function_path {
    () => {{
        fn f() {}
        let mut name = std::any::type_name_of_val(&f).strip_suffix("::f").unwrap();
        while let Some(rest) = name.strip_suffix("::{{closure}}") {
            name = rest;
        }
        name
    }};
}

// Inner attributes of the body stay inner: this compiles only if they do.
#[vnet_test]
fn inner_attributes_of_the_body_stay_inner() {
    #![allow(unused_variables)]
    #![deny(unused_must_use)]
    let never_read = 1;
    check(count(1), 1);
}

#[vnet_test]
fn the_body_runs_under_the_test_name() {
    let path = function_path!();
    // What insta takes as the snapshot name: the last segment.
    assert_eq!(
        path.rsplit("::").next(),
        Some("the_body_runs_under_the_test_name"),
        "{path}"
    );
    assert!(path.starts_with("vnet_test::"), "{path}");
    assert!(!path.contains("__"), "{path}");
    assert_eq!(module_path!(), "vnet_test");
}

#[vnet_test]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_body_runs_under_the_test_name() {
    #![allow(unused_variables)]
    let never_read = 1;
    tokio::task::yield_now().await;
    let path = function_path!();
    assert_eq!(
        path.rsplit("::").next(),
        Some("an_async_body_runs_under_the_test_name"),
        "{path}"
    );
    assert!(!path.contains("__"), "{path}");
}

#[vnet_test(name = "panic-site")]
#[ignore = "run by `a_panic_in_the_body_is_reported_from_the_test`"]
fn panics_for_the_backtrace() {
    panic!("{}", std::backtrace::Backtrace::force_capture());
}

#[test]
fn a_panic_in_the_body_is_reported_from_the_test() {
    let payload = std::panic::catch_unwind(panics_for_the_backtrace).unwrap_err();
    let message = payload.downcast_ref::<String>().expect("a message");
    assert!(!message.contains("__vnet_test"), "{message}");
    if !cfg!(debug_assertions) {
        return; // an optimized build may inline the body's frame
    }
    // The frame of the body is the test's own function: no helper between.
    assert!(
        message.contains("vnet_test::panics_for_the_backtrace::panics_for_the_backtrace"),
        "{message}"
    );
}
