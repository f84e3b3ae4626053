//! Release-mode measurement of create, destroy and lookup with many live
//! instances: how the per-instance cost moves from 1,000 to 100,000
//! live instances, with two `#[vnet]` statics.
//!
//! `cargo run --release -p vnet-runtime --example scale_probe [THREADS]`
//!
//! With `THREADS` (say 64), that many extra threads are registered first
//! (each enters vnet0 once and then waits), so the busy check of `destroy`
//! has that many thread records to look at.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::time::Instant;

use vnet_runtime::{vnet, vnet_foreach, Vnet};

#[path = "common/memory.rs"]
mod memory;

#[global_allocator]
static ALLOC: memory::Counting = memory::Counting;

#[vnet]
static PACKETS: AtomicU64 = AtomicU64::new(0);
#[vnet]
static NAME: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn per_op(start: Instant, n: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    {
        let threads: usize = std::env::args().nth(1).map_or(0, |t| t.parse().unwrap());
        let release = Arc::new(Barrier::new(threads + 1));
        let ready = Arc::new(Barrier::new(threads + 1));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (release, ready) = (release.clone(), ready.clone());
                std::thread::spawn(move || {
                    vnet_runtime::vnet0().enter(|| V_PACKETS.with(|p| p.fetch_add(1, Relaxed)));
                    ready.wait();
                    release.wait();
                })
            })
            .collect();
        ready.wait();
        let (bytes, block) = memory::per_instance(10_000);
        println!(
            "memory: {bytes:.0} bytes per instance ({} statics, {block} bytes of values; names of 9-10 bytes)",
            vnet_runtime::registry::statics().count()
        );
        println!("registered extra threads: {threads}");
        println!("live\tcreate_destroy_ns\tlookup_ns\tdestroy_each_ns\tforeach_per_instance_ns");
        let mut live: Vec<Vnet> = Vec::new();
        for &n in &[1_000usize, 20_000, 100_000] {
            while live.len() < n {
                let v = Vnet::create(&format!("t{}", live.len())).unwrap();
                v.enter(|| V_NAME.with(|s| s.lock().unwrap().push('x')));
                live.push(v);
            }
            let reps = 300;
            let start = Instant::now();
            for i in 0..reps {
                Vnet::create(&format!("probe{i}"))
                    .unwrap()
                    .destroy()
                    .unwrap();
            }
            let create_destroy = per_op(start, reps);
            let names: Vec<String> = (0..reps)
                .map(|i| live[(i * 7919) % n].name().to_owned())
                .collect();
            let start = Instant::now();
            for name in &names {
                assert!(Vnet::lookup(name).is_some());
            }
            let lookup = per_op(start, reps);
            // Best of three walks.
            let foreach = (0..3)
                .map(|_| {
                    let start = Instant::now();
                    let mut seen = 0u64;
                    vnet_foreach(|_| seen += V_PACKETS.with(|p| p.load(Relaxed)) + 1);
                    per_op(start, seen as usize)
                })
                .fold(f64::MAX, f64::min);
            // Destroy the first 2,000 in creation order, then create them again.
            let k = 2_000.min(n);
            let start = Instant::now();
            for v in live.drain(..k) {
                v.destroy().unwrap();
            }
            let destroy_each = per_op(start, k);
            for i in 0..k {
                live.push(Vnet::create(&format!("r{n}-{i}")).unwrap());
            }
            println!("{n}\t{create_destroy:.0}\t{lookup:.0}\t{destroy_each:.0}\t{foreach:.1}");
        }
        release.wait();
        for w in workers {
            w.join().unwrap();
        }
    }
}
