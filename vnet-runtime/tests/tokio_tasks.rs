//! Futures in instances on tokio's multi-threaded runtime: many tasks in
//! different instances interleave on two worker threads; none ever sees
//! another's state, and none leaks its instance into the next task polled on
//! the same worker.

#![cfg(feature = "vimage")]

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use vnet_runtime::{vnet, Cancelled, Vnet, VnetFutureExt};

#[vnet]
static TENANT: AtomicU64 = AtomicU64::new(u64::MAX);

#[vnet]
static STEPS: AtomicU64 = AtomicU64::new(0);

const INSTANCES: usize = 8;
const TASKS_PER_INSTANCE: usize = 16;
const STEPS_PER_TASK: u64 = 50;

fn check(expected: &Vnet) {
    assert_eq!(
        Vnet::current().as_ref(),
        Some(expected),
        "a task saw another instance"
    );
    assert_eq!(
        V_TENANT.with(|t| t.load(SeqCst)),
        expected.id(),
        "a task saw another instance's state"
    );
}

#[test]
fn tasks_in_many_instances_interleave_on_few_workers_without_crossing() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let instances: Vec<Vnet> = (0..INSTANCES)
        .map(|i| {
            let v = Vnet::create(&format!("tokio-{i}")).unwrap();
            V_TENANT.with_in(&v, |t| t.store(v.id(), SeqCst));
            v
        })
        .collect();
    let leaks = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let mut handles = Vec::new();
        for (i, v) in instances.iter().enumerate() {
            for t in 0..TASKS_PER_INSTANCE {
                let expected = v.clone();
                let fut = async move {
                    for step in 0..STEPS_PER_TASK {
                        check(&expected);
                        V_STEPS.with(|s| s.fetch_add(1, SeqCst));
                        if step % 7 == 0 {
                            tokio::time::sleep(Duration::from_micros(50)).await;
                        } else {
                            tokio::task::yield_now().await;
                        }
                        check(&expected);
                    }
                };
                // Half bound where created, half bound explicitly.
                handles.push(if (i + t) % 2 == 0 {
                    tokio::spawn(v.enter(|| fut.in_current_vnet()))
                } else {
                    tokio::spawn(fut.in_vnet(v))
                });
            }
            // Unbound tasks between them: they must never find an instance
            // current (one left behind by the task polled before them).
            for _ in 0..4 {
                let leaks = leaks.clone();
                handles.push(tokio::spawn(async move {
                    for _ in 0..STEPS_PER_TASK {
                        if Vnet::current().is_some() {
                            leaks.fetch_add(1, SeqCst);
                        }
                        tokio::task::yield_now().await;
                    }
                }));
            }
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(
        leaks.load(SeqCst),
        0,
        "an instance leaked into an unbound task"
    );
    for v in &instances {
        assert_eq!(
            V_STEPS.with_in(v, |s| s.load(SeqCst)),
            TASKS_PER_INSTANCE as u64 * STEPS_PER_TASK,
            "every step counted in its own instance"
        );
    }
    for v in instances {
        v.destroy().unwrap();
    }
}

#[test]
fn owned_tasks_on_tokio_are_cancelled_when_their_instance_goes() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let v = Vnet::create("tokio-owned").unwrap();
    V_TENANT.with_in(&v, |t| t.store(v.id(), SeqCst));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let expected = v.clone();
            rt.spawn(
                async move {
                    loop {
                        check(&expected);
                        tokio::time::sleep(Duration::from_micros(100)).await;
                    }
                }
                .owned_by(&v),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    // Waits for polls in progress, drops the futures, wakes the tasks.
    v.destroy().unwrap();
    for h in handles {
        let out: Result<(), Cancelled> = rt.block_on(h).unwrap();
        assert_eq!(out, Err(Cancelled));
    }
}
