//! A server-shaped program: tenants created and destroyed concurrently,
//! each with a callout that re-arms itself, an event handler, a background
//! task owned by the tenant and a request in flight (a future bound with
//! `in_vnet`). The server retries `destroy` while the request runs: every
//! refusal must leave the tenant fully working (the callout keeps firing,
//! the handler runs, the owned task stays alive), and once the request is
//! done the destroy goes through and stops all of it.
//!
//! `SCENARIO_ROUNDS` (default 2) rounds of `SCENARIO_TENANTS` (default 3)
//! tenants per server thread, four server threads; `.ci/run` runs it in
//! release with more rounds under a time bound.
#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use vnet_runtime::callout::Callout;
use vnet_runtime::eventhandler::Event;
use vnet_runtime::{vnet, Cancelled, Error, Holder, Vnet, VnetFutureExt};

#[vnet]
static TICKS: AtomicU64 = AtomicU64::new(0);
#[vnet]
static PINGS: AtomicU64 = AtomicU64::new(0);
#[vnet]
static BEATS: AtomicU64 = AtomicU64::new(0);
#[vnet]
static REQUESTS: AtomicU64 = AtomicU64::new(0);

static PING: Event<u64> = Event::new("scenario-ping");

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Waits (at most 10 s) until `f` holds.
#[track_caller]
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn read(v: &Vnet, x: &'static vnet_runtime::VnetKey<AtomicU64>) -> u64 {
    x.with_in(v, |n| n.load(SeqCst))
}

/// Arms `c` to count a tick in its instance and re-arm itself.
fn arm(c: &Callout) -> bool {
    let again = c.clone();
    c.reset(Duration::from_micros(500), move || {
        V_TICKS.with(|t| t.fetch_add(1, SeqCst));
        arm(&again);
    })
}

/// One tenant's life on the server: its requests and background work run
/// on the shared executor `rt`; the server thread manages it.
fn tenant(rt: &tokio::runtime::Runtime, name: String, refusals: usize) {
    let v = Vnet::create(&name).unwrap();
    let callout = Callout::new_in(&v);
    assert!(arm(&callout));
    let tag = PING.register_in(&v, |n| {
        V_PINGS.with(|p| p.fetch_add(*n, SeqCst));
    });
    let background = rt.spawn(
        async {
            loop {
                tokio::time::sleep(Duration::from_micros(500)).await;
                V_BEATS.with(|b| b.fetch_add(1, SeqCst));
            }
        }
        .owned_by(&v),
    );
    // A request in flight: started, waiting for its reply.
    let (reply_tx, reply_rx) = tokio::sync::oneshot::channel::<u64>();
    let request = rt.spawn(
        async move {
            V_REQUESTS.with(|r| r.fetch_add(1, SeqCst));
            let n = reply_rx.await.unwrap();
            V_REQUESTS.with(|r| r.fetch_add(n, SeqCst));
        }
        .in_vnet(&v),
    );
    eventually("the request started", || read(&v, &V_REQUESTS) == 1);

    let mut handle = v;
    for attempt in 0..refusals {
        let refused = handle.destroy().unwrap_err();
        match refused.error() {
            Error::Busy {
                holder: Holder::Futures { count: 1 },
                name: busy,
            } => assert_eq!(*busy, name),
            other => panic!("{name}: attempt {attempt}: {other}"),
        }
        handle = refused.into_vnet();
        // Nothing changed: the callout keeps firing and re-arming...
        let ticks = read(&handle, &V_TICKS);
        eventually("the callout fires again", || {
            read(&handle, &V_TICKS) > ticks
        });
        assert!(callout.pending() || callout.running());
        // ...the handler runs...
        let pings = read(&handle, &V_PINGS);
        PING.invoke_in(&handle, &1);
        assert_eq!(read(&handle, &V_PINGS), pings + 1);
        // ...the owned task lives on...
        let beats = read(&handle, &V_BEATS);
        eventually("the owned task runs", || read(&handle, &V_BEATS) > beats);
        assert!(!background.is_finished());
        // ...and new work is accepted.
        assert!(Callout::new_in(&handle).reset(Duration::from_secs(3600), || {}));
    }
    // The request finishes; the destroy then goes through.
    reply_tx.send(10).unwrap();
    rt.block_on(request).unwrap();
    assert_eq!(read(&handle, &V_REQUESTS), 11);
    let keep = handle.clone();
    let mut handle = Some(handle);
    loop {
        match handle.take().unwrap().destroy() {
            Ok(()) => break,
            // The request's future is dropped just after its output is
            // delivered: a moment of `Busy` is possible.
            Err(refused) if matches!(refused.error(), Error::Busy { .. }) => {
                handle = Some(refused.into_vnet());
                std::thread::yield_now();
            }
            Err(refused) => panic!("{name}: {refused}"),
        }
    }
    assert_eq!(keep.state(), vnet_runtime::VnetState::Destroyed);
    // Stopped for good: the callout cannot re-arm, the task was cancelled.
    assert!(!callout.reset(Duration::ZERO, || unreachable!()));
    assert_eq!(rt.block_on(background).unwrap(), Err(Cancelled));
    tag.deregister();
}

#[test]
fn a_server_retrying_a_refused_destroy_keeps_its_tenants_working() {
    let rounds = env("SCENARIO_ROUNDS", 2);
    let tenants = env("SCENARIO_TENANTS", 3);
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    std::thread::scope(|s| {
        for server in 0..4 {
            let rt = &rt;
            s.spawn(move || {
                for round in 0..rounds {
                    for t in 0..tenants {
                        let name = format!("scenario-{server}-{round}-{t}");
                        tenant(rt, name, 1 + (round + t) % 3);
                    }
                }
            });
        }
    });
    assert!(
        Vnet::list()
            .iter()
            .all(|v| !v.name().starts_with("scenario-")),
        "every tenant was destroyed"
    );
    println!(
        "{} tenants, each refused 1-3 times while working, in {:.2} s",
        4 * rounds * tenants,
        started.elapsed().as_secs_f64()
    );
}
