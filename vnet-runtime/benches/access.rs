//! Cost of reaching a per-instance value, against the alternatives.
//!
//! Every function does the same relaxed load and relaxed store of an
//! `AtomicU64` (no locked instruction), so what differs is the cost of
//! finding the value: a plain static, a `thread_local!`, a `#[vnet]` static
//! through `V_.with`, and the naive type map. `curvnet/set_restore` is one
//! CURVNET_SET + CURVNET_RESTORE pair.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use criterion::{criterion_group, criterion_main, Criterion};
use vnet_runtime::{curvnet_set, vnet, Vnet};

static PLAIN: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static LOCAL: AtomicU64 = const { AtomicU64::new(0) };
}

#[vnet]
static COUNTER: AtomicU64 = AtomicU64::new(0);

#[inline(always)]
fn bump(counter: &AtomicU64) -> u64 {
    let v = counter.load(Relaxed);
    counter.store(v + 1, Relaxed);
    v
}

/// The key type of the type map.
struct Counter;

fn access(c: &mut Criterion) {
    let mut group = c.benchmark_group("access");
    group.bench_function("plain_static", |b| b.iter(|| black_box(bump(&PLAIN))));
    group.bench_function("thread_local", |b| b.iter(|| black_box(LOCAL.with(bump))));

    let vnet = Vnet::create("bench").unwrap();
    {
        let _guard = curvnet_set(&vnet);
        group.bench_function("vnet_with", |b| b.iter(|| black_box(V_COUNTER.with(bump))));
    }

    let mut map: HashMap<TypeId, Box<dyn Any + Send + Sync>> = HashMap::new();
    map.insert(TypeId::of::<Counter>(), Box::new(AtomicU64::new(0)));
    let map = black_box(map);
    group.bench_function("typemap", |b| {
        b.iter(|| {
            let counter = map[&TypeId::of::<Counter>()]
                .downcast_ref::<AtomicU64>()
                .unwrap();
            black_box(bump(counter))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("curvnet");
    group.bench_function("set_restore", |b| {
        b.iter(|| {
            let guard = curvnet_set(black_box(&vnet));
            black_box(&guard);
        })
    });
    group.finish();
    vnet.destroy().unwrap();
    black_box((
        probe_vnet_with as fn() -> u64,
        probe_thread_local as fn() -> u64,
    ));
    black_box(probe_set_restore as fn(&Vnet));
}

criterion_group!(benches, access);
criterion_main!(benches);

#[doc(hidden)]
#[inline(never)]
pub fn probe_vnet_with() -> u64 {
    V_COUNTER.with(bump)
}

#[doc(hidden)]
#[inline(never)]
pub fn probe_thread_local() -> u64 {
    LOCAL.with(bump)
}

#[doc(hidden)]
#[inline(never)]
pub fn probe_set_restore(vnet: &Vnet) {
    let guard = curvnet_set(vnet);
    black_box(&guard);
}
