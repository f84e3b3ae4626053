//! The current instance: CURVNET_SET/RESTORE nesting, unwinding, the
//! no-instance panic, and soundness when guards are leaked.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use vnet_runtime::{curvnet_set, vnet, DestroyError, Error, Holder, Vnet};

#[vnet]
static VALUE: AtomicU64 = AtomicU64::new(0);

fn current_name() -> Option<String> {
    Vnet::current().map(|v| v.name().to_owned())
}

fn set_value(v: &Vnet, n: u64) {
    V_VALUE.with_in(v, |x| x.store(n, Relaxed));
}

fn value() -> u64 {
    V_VALUE.with(|x| x.load(Relaxed))
}

#[test]
fn nested_guards_restore_in_order() {
    let a = Vnet::create("ctx-nest-a").unwrap();
    let b = Vnet::create("ctx-nest-b").unwrap();
    set_value(&a, 1);
    set_value(&b, 2);
    assert_eq!(current_name(), None);
    {
        let _ga = curvnet_set(&a);
        assert_eq!(value(), 1);
        {
            let _gb = curvnet_set(&b);
            assert_eq!(value(), 2);
            {
                let _ga2 = curvnet_set(&a);
                assert_eq!(value(), 1);
            }
            assert_eq!(value(), 2);
            assert_eq!(current_name().as_deref(), Some("ctx-nest-b"));
        }
        assert_eq!(value(), 1);
    }
    assert_eq!(current_name(), None);
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn reading_another_instance_with_with_in_keeps_the_current_one() {
    let outer = Vnet::create("ctx-within-outer").unwrap();
    let other = Vnet::create("ctx-within-other").unwrap();
    set_value(&outer, 7);
    set_value(&other, 9);
    outer.enter(|| {
        let seen = V_VALUE.with_in(&other, |x| (x.load(Relaxed), current_name(), value()));
        assert_eq!(seen, (9, Some("ctx-within-outer".to_owned()), 7));
    });
    // With none current, reading an instance makes none current either.
    assert_eq!(V_VALUE.with_in(&other, |_| current_name()), None);
    outer.destroy().unwrap();
    other.destroy().unwrap();
}

#[test]
fn a_panic_unwinding_through_guards_restores_the_outer_instance() {
    let a = Vnet::create("ctx-unwind-a").unwrap();
    let b = Vnet::create("ctx-unwind-b").unwrap();
    let _ga = curvnet_set(&a);
    let result = std::panic::catch_unwind(|| {
        let _gb = curvnet_set(&b);
        b.enter(|| panic!("boom"));
    });
    assert!(result.is_err());
    assert_eq!(current_name().as_deref(), Some("ctx-unwind-a"));
    drop(_ga);
    assert_eq!(current_name(), None);
    a.destroy().unwrap();
    b.destroy().unwrap();
}

#[test]
fn access_with_no_current_instance_names_the_static_and_the_fix() {
    let err = std::panic::catch_unwind(value).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("V_VALUE accessed with no current vnet"),
        "{msg}"
    );
    assert!(msg.contains("vnet.enter"), "{msg}");
}

#[test]
fn a_spawned_thread_starts_with_no_current_instance() {
    let a = Vnet::create("ctx-thread").unwrap();
    a.enter(|| {
        let seen = std::thread::spawn(|| Vnet::current().is_none())
            .join()
            .unwrap();
        assert!(seen);
        // Objects hold a handle and enter it in callbacks (as FreeBSD's sockets keep their vnet).
        let handle = a.clone();
        let got = std::thread::spawn(move || handle.enter(value))
            .join()
            .unwrap();
        assert_eq!(got, 0);
    });
    a.destroy().unwrap();
}

#[test]
fn destroying_an_instance_current_on_this_thread_is_refused_as_from_within() {
    let a = Vnet::create("ctx-busy").unwrap();
    let refused = a.enter(|| a.clone().destroy()).unwrap_err();
    let Error::DestroyFromWithin { name, from } = refused.error() else {
        panic!("{refused:?}");
    };
    assert_eq!(name, "ctx-busy");
    assert!(from.contains("on this thread"), "{from}");
    if cfg!(debug_assertions) {
        assert!(
            from.contains(file!()),
            "names where the guard was taken: {from}"
        );
    }
    // The handle comes back, and nothing changed: it is still live and usable.
    assert_eq!(refused.into_vnet(), a);
    assert_eq!(Vnet::lookup("ctx-busy"), Some(a.clone()));
    a.enter(|| assert_eq!(value(), 0));
    a.destroy().unwrap();
}

#[test]
fn destroying_an_instance_current_on_another_thread_names_that_thread() {
    let a = Vnet::create("ctx-busy-other").unwrap();
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let (leave_tx, leave_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::Builder::new()
        .name("ctx-holder".into())
        .spawn({
            let a = a.clone();
            move || {
                let line = line!() + 1;
                let _guard = curvnet_set(&a);
                entered_tx.send(line).unwrap();
                leave_rx.recv().unwrap();
            }
        })
        .unwrap();
    let line = entered_rx.recv().unwrap();
    let refused = a.clone().destroy().unwrap_err();
    let Error::Busy {
        name,
        holder:
            Holder::Thread {
                thread,
                taken_at,
                leaked: false,
            },
    } = refused.error()
    else {
        panic!("{refused:?}");
    };
    assert_eq!(name, "ctx-busy-other");
    assert!(thread.contains("ctx-holder"), "{thread}");
    if cfg!(debug_assertions) {
        let at = taken_at.as_deref().unwrap();
        assert!(at.contains(&format!("{}:{line}:", file!())), "{at}");
    }
    assert!(refused.to_string().contains("ctx-holder"), "{refused}");
    leave_tx.send(()).unwrap();
    holder.join().unwrap();
    refused.into_vnet().destroy().unwrap();
}

#[test]
fn vnet0_cannot_be_destroyed() {
    let refused = vnet_runtime::vnet0().destroy().unwrap_err();
    assert_eq!(*refused.error(), Error::Vnet0);
    assert_eq!(refused.into_vnet(), vnet_runtime::vnet0());
}

/// Runs `f` and returns its panic message (it must panic).
fn panic_message(f: impl FnOnce()) -> String {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn restoring_past_a_leaked_guard_is_a_clear_error_and_keeps_it_pinned() {
    let outer = Vnet::create("ctx-leak-outer").unwrap();
    let leaked = Vnet::create("ctx-leak").unwrap();
    set_value(&leaked, 42);
    let (o, l) = (outer.clone(), leaked.clone());
    std::thread::spawn(move || {
        let outer_guard = curvnet_set(&o);
        std::mem::forget(curvnet_set(&l));
        // Destroy is refused while the leaked guard keeps it current.
        assert!(matches!(
            l.clone().destroy().map_err(DestroyError::into_error),
            Err(Error::DestroyFromWithin { .. })
        ));
        assert_eq!(value(), 42);
        let msg = panic_message(|| drop(outer_guard));
        assert!(
            msg.contains("restored out of order") && msg.contains("mem::forget"),
            "{msg}"
        );
        assert_eq!(current_name(), None, "restored anyway");
        // A borrow taken while it was current may still be alive: it stays
        // pinned for the rest of this thread.
        assert!(matches!(
            l.destroy().map_err(DestroyError::into_error),
            Err(Error::DestroyFromWithin { .. })
        ));
    })
    .join()
    .unwrap();
    // The thread is gone, and its pins with it.
    leaked.destroy().unwrap();
    assert_eq!(vnet_runtime::__private0::graveyard_len(), 0);
    outer.destroy().unwrap();
}

/// Reviewer's use-after-free: a `V_` borrow whose instance is unpinned by an
/// outer restore inside the closure, then destroyed.
#[test]
fn a_borrow_survives_an_outer_restore_and_a_destroy_attempt() {
    let x = Vnet::create("ctx-borrow").unwrap();
    set_value(&x, 7);
    let handle = x.clone();
    std::thread::spawn(move || {
        let v0 = vnet_runtime::vnet0();
        let outer = curvnet_set(&v0);
        std::mem::forget(curvnet_set(&handle));
        V_VALUE.with(move |borrowed| {
            panic_message(|| drop(outer));
            // Still pinned (orphaned): destroying it is refused, so the
            // borrow stays valid.
            assert!(matches!(
                handle.destroy().map_err(DestroyError::into_error),
                Err(Error::DestroyFromWithin { .. })
            ));
            assert_eq!(borrowed.load(Relaxed), 7);
        });
    })
    .join()
    .unwrap();
    x.destroy().unwrap();
}

#[test]
fn dropping_every_user_handle_while_current_keeps_the_instance_usable() {
    // Runs on its own thread so that its leaked guard ends with the thread.
    std::thread::spawn(|| {
        let v = Vnet::create("ctx-deferred").unwrap();
        set_value(&v, 5);
        let keep = v.clone();
        std::mem::forget(curvnet_set(&keep));
        v.destroy().unwrap_err(); // busy: current here
                                  // Drop every user handle while it is still current on this thread.
        drop(keep);
        // The block is still there: the access reads the value, not freed memory.
        assert_eq!(value(), 5);
        assert_eq!(current_name().as_deref(), Some("ctx-deferred"));
    })
    .join()
    .unwrap();
    // The instance is still in the list (never destroyed); destroy it now
    // that no thread has it current.
    let v = Vnet::lookup("ctx-deferred").unwrap();
    v.destroy().unwrap();
}

#[test]
fn guards_dropped_out_of_order_never_restore_a_stale_instance() {
    let a = Vnet::create("ctx-ooo-a").unwrap();
    let b = Vnet::create("ctx-ooo-b").unwrap();
    let c = Vnet::create("ctx-ooo-c").unwrap();
    let (ha, hb, hc) = (a.clone(), b.clone(), c.clone());
    std::thread::spawn(move || {
        let ga = curvnet_set(&ha);
        let gb = curvnet_set(&hb);
        let msg = panic_message(|| drop(ga)); // restores past `b` too
        assert!(msg.contains("out of order"), "{msg}");
        assert_eq!(current_name(), None);
        let gc = curvnet_set(&hc);
        let gc2 = curvnet_set(&hc);
        drop(gb); // stale: must not touch `c`'s entries
        assert_eq!(current_name().as_deref(), Some("ctx-ooo-c"));
        drop(gc2);
        drop(gc);
        assert_eq!(current_name(), None);
    })
    .join()
    .unwrap();
    for v in [a, b, c] {
        v.destroy().unwrap();
    }
}

#[test]
fn entering_a_destroyed_instance_panics_clearly() {
    let v = Vnet::create("ctx-dead").unwrap();
    let handle = v.clone();
    v.destroy().unwrap();
    let err = std::panic::catch_unwind(|| handle.enter(|| ())).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("ctx-dead") && msg.contains("destroyed"),
        "{msg}"
    );
}

#[test]
fn create_and_destroy_inside_foreach_are_refused() {
    let mut results = Vec::new();
    vnet_runtime::vnet_foreach(|v| {
        if v.is_default() {
            results.push(Vnet::create("ctx-in-foreach").map(|_| ()));
        }
    });
    assert_eq!(results, vec![Err(Error::InsideForeach)]);
}

#[test]
fn module_load_and_unload_inside_foreach_are_refused() {
    // They take the lifecycle lock exclusively: with the list read-locked
    // they would deadlock against a concurrent create.
    let mut results = Vec::new();
    vnet_runtime::vnet_foreach(|v| {
        if v.is_default() {
            results.push(vnet_runtime::module::load("any-module"));
            results.push(vnet_runtime::module::unload("any-module"));
            results.push(vnet_runtime::module::unload_forced("any-module"));
        }
    });
    assert_eq!(results, vec![Err(Error::InsideForeach); 3]);
}

/// A guard leaked and restored past on another thread keeps its instance
/// pinned there until that thread exits: destroy says so, naming the thread.
#[test]
fn a_leaked_guard_on_another_thread_is_named_as_leaked() {
    let outer = Vnet::create("ctx-leaked-outer").unwrap();
    let leaked = Vnet::create("ctx-leaked-elsewhere").unwrap();
    let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
    let (exit_tx, exit_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("ctx-leaker".into())
        .spawn({
            let (o, l) = (outer.clone(), leaked.clone());
            move || {
                let outer_guard = curvnet_set(&o);
                std::mem::forget(curvnet_set(&l));
                let _ = panic_message(|| drop(outer_guard));
                pinned_tx.send(()).unwrap();
                exit_rx.recv().unwrap();
            }
        })
        .unwrap();
    pinned_rx.recv().unwrap();
    let refused = leaked.clone().destroy().unwrap_err();
    assert!(
        matches!(
            refused.error(),
            Error::Busy { holder: Holder::Thread { thread, leaked: true, .. }, .. }
                if thread.contains("ctx-leaker")
        ),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("mem::forget"), "{refused}");
    exit_tx.send(()).unwrap();
    thread.join().unwrap();
    refused.into_vnet().destroy().unwrap();
    outer.destroy().unwrap();
}
