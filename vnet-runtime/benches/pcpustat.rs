//! Two threads of one instance increment one counter: a per-CPU counter set
//! (`pcpustat`) against one shared `AtomicU64` (`atomic_u64`, `fetch_add`),
//! both `#[vnet]` statics reached the same way (`V_.with`). The time is
//! per increment of each thread (both threads do `iters` increments at once).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use vnet_runtime::pcpu::PcpuStat;
use vnet_runtime::{vnet, Vnet};

#[vnet]
static STAT: PcpuStat<1> = PcpuStat::new();

#[vnet]
static SHARED: AtomicU64 = AtomicU64::new(0);

/// Runs `bump` `iters` times on each of two threads with `vnet` current,
/// started together; returns the wall time of the slower one.
fn two_threads(vnet: &Vnet, iters: u64, bump: fn()) -> Duration {
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            vnet.enter(|| {
                bump(); // first touch outside the timed loop
                start.wait();
                let t = Instant::now();
                for _ in 0..iters {
                    bump();
                }
                t.elapsed()
            })
        };
        let a = s.spawn(run);
        let b = s.spawn(run);
        a.join().unwrap().max(b.join().unwrap())
    })
}

fn pcpustat(c: &mut Criterion) {
    let vnet = Vnet::create("bench-pcpustat").unwrap();
    let mut group = c.benchmark_group("pcpustat");
    group.bench_function("pcpustat", |b| {
        b.iter_custom(|iters| two_threads(&vnet, iters, || V_STAT.with(|s| s.inc(black_box(0)))))
    });
    group.bench_function("atomic_u64", |b| {
        b.iter_custom(|iters| {
            two_threads(&vnet, iters, || {
                V_SHARED.with(|a| black_box(a.fetch_add(1, Relaxed)));
            })
        })
    });
    group.finish();
    let counted = V_STAT.with_in(&vnet, |s| s.get(0));
    assert!(counted > 0 && V_SHARED.with_in(&vnet, |a| a.load(Relaxed)) > 0);
    vnet.destroy().unwrap();
}

criterion_group!(benches, pcpustat);
criterion_main!(benches);
