//! Lifecycle costs: creating and destroying an instance of a binary with
//! 1,000 `#[vnet]` statics of mixed types (and no user hooks), against
//! allocating, initializing and dropping the same 1,000 values as one plain
//! heap struct; and iterating 10,000 instances reading one static in each,
//! against iterating a `Vec` of 10,000 `Arc`-held structs.
//!
//! `cargo bench -p vnet-runtime --bench lifecycle -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use criterion::{criterion_group, criterion_main, Criterion};
use vnet_runtime::{vnet, vnet_foreach, Vnet};

/// Ten statics of mixed types (five need dropping) in module `$m`, and the
/// same ten values as the fields of `$m::Plain` (the baseline).
macro_rules! group {
    ($m:ident) => {
        pub mod $m {
            use super::*;

            #[vnet]
            pub static A: AtomicU64 = AtomicU64::new(1);
            #[vnet]
            pub static B: AtomicU32 = AtomicU32::new(2);
            #[vnet]
            pub static C: AtomicBool = AtomicBool::new(true);
            #[vnet]
            pub static D: u64 = 4;
            #[vnet]
            pub static E: [u8; 16] = [5; 16];
            #[vnet]
            pub static F: Mutex<Vec<u8>> = Mutex::new(Vec::new());
            #[vnet]
            pub static G: RwLock<Option<String>> = RwLock::new(None);
            #[vnet]
            pub static H: Mutex<BTreeMap<u32, u32>> = Mutex::new(BTreeMap::new());
            #[vnet]
            pub static I: (u32, u16) = (9, 9);
            #[vnet]
            pub static J: Mutex<Option<Box<u64>>> = Mutex::new(None);

            #[allow(dead_code)]
            pub struct Plain {
                pub a: AtomicU64,
                b: AtomicU32,
                c: AtomicBool,
                d: u64,
                e: [u8; 16],
                f: Mutex<Vec<u8>>,
                g: RwLock<Option<String>>,
                h: Mutex<BTreeMap<u32, u32>>,
                i: (u32, u16),
                j: Mutex<Option<Box<u64>>>,
            }

            // A fresh value per use, as each `#[vnet]` initializer is.
            #[allow(clippy::declare_interior_mutable_const)]
            pub const PLAIN: Plain = Plain {
                a: AtomicU64::new(1),
                b: AtomicU32::new(2),
                c: AtomicBool::new(true),
                d: 4,
                e: [5; 16],
                f: Mutex::new(Vec::new()),
                g: RwLock::new(None),
                h: Mutex::new(BTreeMap::new()),
                i: (9, 9),
                j: Mutex::new(None),
            };
        }
    };
}

macro_rules! groups {
    ($($m:ident)*) => {
        $(group!($m);)*

        /// The 1,000 values as one plain struct.
        #[allow(dead_code)]
        struct AllPlain {
            $($m: $m::Plain,)*
        }

        #[allow(clippy::borrow_interior_mutable_const)]
        fn all_plain() -> Box<AllPlain> {
            Box::new(AllPlain { $($m: $m::PLAIN,)* })
        }
    };
}

groups!(g00 g01 g02 g03 g04 g05 g06 g07 g08 g09 g10 g11 g12 g13 g14 g15 g16 g17 g18 g19 g20 g21 g22 g23 g24 g25 g26 g27 g28 g29 g30 g31 g32 g33 g34 g35 g36 g37 g38 g39 g40 g41 g42 g43 g44 g45 g46 g47 g48 g49 g50 g51 g52 g53 g54 g55 g56 g57 g58 g59 g60 g61 g62 g63 g64 g65 g66 g67 g68 g69 g70 g71 g72 g73 g74 g75 g76 g77 g78 g79 g80 g81 g82 g83 g84 g85 g86 g87 g88 g89 g90 g91 g92 g93 g94 g95 g96 g97 g98 g99);

fn create_destroy(c: &mut Criterion) {
    vnet_runtime::boot();
    assert_eq!(vnet_runtime::registry::statics().count(), 1000);
    let mut group = c.benchmark_group("lifecycle");
    group.bench_function("create_destroy", |b| {
        b.iter(|| {
            let v = Vnet::create("bench-create").unwrap();
            black_box(&v);
            v.destroy().unwrap();
        })
    });
    group.bench_function("create_destroy_baseline", |b| {
        b.iter(|| drop(black_box(all_plain())))
    });

    const N: usize = 10_000;
    let instances: Vec<Vnet> = (0..N)
        .map(|i| Vnet::create(&format!("bench-{i}")).unwrap())
        .collect();
    group.bench_function("foreach_10k", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            vnet_foreach(|_| sum += g42::V_A.with(|a| a.load(Relaxed)));
            black_box(sum)
        })
    });
    // The baseline holds the same 1,000 values per element as an instance
    // does, so both loops touch the same amount of memory per element.
    let plain: Vec<Arc<AllPlain>> = (0..N).map(|_| Arc::from(all_plain())).collect();
    group.bench_function("foreach_baseline", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for p in &plain {
                sum += p.g42.a.load(Relaxed);
            }
            black_box(sum)
        })
    });
    drop(plain);
    // For reference: elements holding only the ten values of one group.
    #[allow(clippy::borrow_interior_mutable_const)]
    let small: Vec<Arc<g42::Plain>> = (0..N).map(|_| Arc::new(g42::PLAIN)).collect();
    group.bench_function("foreach_baseline_small", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for p in &small {
                sum += p.a.load(Relaxed);
            }
            black_box(sum)
        })
    });
    group.finish();
    for v in instances {
        v.destroy().unwrap();
    }
}

criterion_group!(benches, create_destroy);
criterion_main!(benches);
