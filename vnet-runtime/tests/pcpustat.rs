//! Per-CPU statistics: counts from many threads of one instance add up
//! exactly, stay in their instance, and are zeroed per instance.

use vnet_runtime::pcpu::PcpuStat;
use vnet_runtime::{vnet, Vnet};

const RECEIVED: usize = 0;
const SENT: usize = 1;
const DROPPED: usize = 2;

#[vnet]
static STATS: PcpuStat<3> = PcpuStat::new();

/// `threads` threads, each with `v` current, each adding 1 to RECEIVED
/// `per_thread` times and `k` to SENT once, where `k` is the thread's number.
fn hammer(v: &Vnet, threads: u64, per_thread: u64) {
    std::thread::scope(|s| {
        for k in 0..threads {
            let v = v.clone();
            s.spawn(move || {
                v.enter(|| {
                    for _ in 0..per_thread {
                        V_STATS.with(|st| st.inc(RECEIVED));
                    }
                    V_STATS.with(|st| st.add(SENT, k));
                })
            });
        }
    });
}

#[test]
fn many_threads_sum_exactly() {
    let stat: PcpuStat<2> = PcpuStat::new();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..10_000 {
                    stat.inc(0);
                }
                stat.add(1, 3);
            });
        }
    });
    assert_eq!(stat.snapshot(), [80_000, 24]);
    assert_eq!(stat.get(0), 80_000);
    stat.zero();
    assert_eq!(stat.snapshot(), [0, 0]);
    assert_eq!(format!("{stat:?}"), "PcpuStat([0, 0])");
}

#[test]
fn more_threads_than_slots_and_threads_that_come_and_go_lose_nothing() {
    let stat: PcpuStat<1> = PcpuStat::new();
    // 100 threads alive at once: more than there are owned slots (at most
    // 64), so some share the overflow slots.
    let all_in = std::sync::Barrier::new(100);
    std::thread::scope(|s| {
        for _ in 0..100 {
            s.spawn(|| {
                all_in.wait();
                for _ in 0..1_000 {
                    stat.inc(0);
                }
            });
        }
    });
    assert_eq!(stat.get(0), 100_000);
    // Then waves of short-lived threads: slots given back at exit are
    // claimed again and keep their counts.
    for _ in 0..20 {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| stat.add(0, 10));
            }
        });
    }
    assert_eq!(stat.get(0), 100_800);
    // Zeroing records a base; counting goes on from zero.
    stat.zero();
    std::thread::scope(|s| {
        s.spawn(|| stat.add(0, 5));
    });
    stat.inc(0);
    assert_eq!(stat.get(0), 6);
}

#[test]
#[should_panic(expected = "counter 3 out of range")]
fn an_index_out_of_range_panics() {
    let stat: PcpuStat<3> = PcpuStat::new();
    stat.get(3);
}

#[cfg(feature = "vimage")]
#[test]
fn counters_of_one_instance_never_reach_another() {
    let a = Vnet::create("pcpu-a").unwrap();
    let b = Vnet::create("pcpu-b").unwrap();
    std::thread::scope(|s| {
        s.spawn(|| hammer(&a, 4, 5_000));
        s.spawn(|| hammer(&b, 3, 7_000));
    });
    let snap = |v: &Vnet| V_STATS.with_in(v, |st| st.snapshot());
    assert_eq!(snap(&a), [20_000, 1 + 2 + 3, 0]);
    assert_eq!(snap(&b), [21_000, 1 + 2, 0]);

    // Zeroing is per instance.
    a.enter(|| V_STATS.with(|st| st.zero()));
    assert_eq!(snap(&a), [0, 0, 0]);
    assert_eq!(snap(&b), [21_000, 3, 0]);
    b.enter(|| V_STATS.with(|st| st.inc(DROPPED)));
    assert_eq!(snap(&a), [0, 0, 0]);

    // A new instance starts at zero, whatever the others counted.
    let c = Vnet::create("pcpu-c").unwrap();
    assert_eq!(snap(&c), [0, 0, 0]);
    for v in [a, b, c] {
        v.destroy().unwrap();
    }
}

#[cfg(not(feature = "vimage"))]
#[test]
fn without_vimage_the_set_is_the_one_instance_counters() {
    let v = vnet_runtime::vnet0();
    let before = V_STATS.with(|st| st.get(RECEIVED));
    hammer(&v, 2, 1_000);
    assert_eq!(V_STATS.with(|st| st.get(RECEIVED)), before + 2_000);
    assert_eq!(V_STATS.with_in(&v, |st| st.get(DROPPED)), 0);
}
