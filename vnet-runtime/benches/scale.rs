//! Scale: the cost of creating and destroying one instance while 1,000 or
//! 100,000 others are live, and of destroying 10,000 one by one (creation
//! order), per instance. A binary with a few `#[vnet]` statics and no hooks.
//!
//! `cargo bench -p vnet-runtime --bench scale -- --warm-up-time 1 --measurement-time 3`
//!
//! Targets: `create_destroy/100k ≤ 1.5 × create_destroy/1k`;
//! `destroy_all/10k ≤ 2 × create_destroy/1k`.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use vnet_runtime::{vnet, Vnet};

#[vnet]
static PACKETS: AtomicU64 = AtomicU64::new(0);
#[vnet]
static BYTES: AtomicU64 = AtomicU64::new(0);
#[vnet]
static NAME: Mutex<String> = Mutex::new(String::new());
#[vnet]
static ROUTES: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn live(prefix: &str, n: usize) -> Vec<Vnet> {
    (0..n)
        .map(|i| {
            let v = Vnet::create(&format!("{prefix}{i}")).unwrap();
            v.enter(|| V_PACKETS.with(|p| p.fetch_add(1, Relaxed)));
            v
        })
        .collect()
}

fn create_destroy_with(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: &str,
    others: usize,
) {
    let others = live(&format!("others-{id}-"), others);
    c.bench_function(id, |b| {
        b.iter(|| {
            let v = Vnet::create("scale-probe").unwrap();
            black_box(&v);
            v.destroy().unwrap();
        })
    });
    for v in others {
        v.destroy().unwrap();
    }
}

fn scale(c: &mut Criterion) {
    vnet_runtime::boot();
    let _ = (&V_BYTES, &V_NAME, &V_ROUTES);
    let mut group = c.benchmark_group("scale");
    create_destroy_with(&mut group, "create_destroy/1k", 1_000);
    create_destroy_with(&mut group, "create_destroy/100k", 100_000);
    // One iteration is one destroy; the batch of 10,000 is created untimed,
    // then destroyed one by one in creation order, timed.
    const BATCH: usize = 10_000;
    let mut round = 0;
    group.bench_function("destroy_all/10k", |b| {
        b.iter_custom(|iters| {
            let rounds = (iters as usize).div_ceil(BATCH);
            let mut timed = Duration::ZERO;
            for _ in 0..rounds {
                round += 1;
                let batch = live(&format!("batch{round}-"), BATCH);
                let start = Instant::now();
                for v in batch {
                    v.destroy().unwrap();
                }
                timed += start.elapsed();
            }
            timed.mul_f64(iters as f64 / (rounds * BATCH) as f64)
        })
    });
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
