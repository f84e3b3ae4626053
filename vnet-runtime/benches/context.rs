//! Cost of running a future in an instance: one poll of a ready future
//! bound to an instance (`in_vnet_poll`: CURVNET_SET and RESTORE around the
//! poll) against one poll of the same future unbound, with the instance
//! entered once outside the loop (`plain_poll`).
//!
//! The future is always ready and does what code in an instance does: one
//! relaxed load and store of a `#[vnet]` counter. It is polled in place
//! again and again (a task is polled many times over its life), so neither
//! side pays for building it.

use std::future::Future;
use std::hint::black_box;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, Criterion};
use vnet_runtime::{curvnet_set, vnet, Vnet, VnetFutureExt};

#[vnet]
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A future that is ready at every poll: bumps the current instance's counter.
struct Ready;

impl Future for Ready {
    type Output = u64;

    #[inline]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<u64> {
        Poll::Ready(V_COUNTER.with(|c| {
            let v = c.load(Relaxed);
            c.store(v + 1, Relaxed);
            v
        }))
    }
}

fn context(c: &mut Criterion) {
    let vnet = Vnet::create("bench-context").unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let mut group = c.benchmark_group("context");
    {
        let _guard = curvnet_set(&vnet);
        let mut fut = pin!(Ready);
        group.bench_function("plain_poll", |b| {
            b.iter(|| black_box(fut.as_mut().poll(&mut cx)))
        });
    }
    {
        let mut fut = pin!(Ready.in_vnet(&vnet));
        group.bench_function("in_vnet_poll", |b| {
            b.iter(|| black_box(fut.as_mut().poll(&mut cx)))
        });
    }
    group.finish();
    vnet.destroy().unwrap();
}

criterion_group!(benches, context);
criterion_main!(benches);
