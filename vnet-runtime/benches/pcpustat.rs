//! Two threads of one instance increment one counter: a per-CPU counter set
//! (`pcpustat`) against one shared `AtomicU64` (`atomic_u64`, `fetch_add`),
//! both `#[vnet]` statics reached the same way (`V_.with`). The time is
//! per increment of each thread (both threads do `iters` increments at once),
//! in *thread CPU time* (`CLOCK_THREAD_CPUTIME_ID`), the slower thread's: on
//! a shared, loaded machine wall time mostly measures the other processes,
//! while a stall on a cache line that bounces between cores is CPU time.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Barrier;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use vnet_runtime::pcpu::PcpuStat;
use vnet_runtime::{vnet, Vnet};

#[vnet]
static STAT: PcpuStat<1> = PcpuStat::new();

#[vnet]
static SHARED: AtomicU64 = AtomicU64::new(0);

/// CPU time consumed by the calling thread.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `bump` `iters` times on each of two threads with `vnet` current,
/// started together; returns the CPU time of the slower one.
fn two_threads(vnet: &Vnet, iters: u64, bump: fn()) -> Duration {
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let run = || {
            vnet.enter(|| {
                bump(); // first touch outside the timed loop
                start.wait();
                let t = thread_cpu_time();
                for _ in 0..iters {
                    bump();
                }
                thread_cpu_time() - t
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
