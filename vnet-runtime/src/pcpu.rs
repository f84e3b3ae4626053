//! Per-CPU statistics (FreeBSD's `VNET_PCPUSTAT_DEFINE` and `counter(9)`):
//! counters that many threads of one instance bump without fighting over
//! one cache line.
//!
//! A [`PcpuStat<N>`] holds `N` counters. It keeps one *shard* of all `N`
//! per slot, each shard on its own cache lines (128-byte aligned, so the
//! adjacent-line prefetcher does not pair two of them either); a thread
//! always adds to the slot it was given on its first increment (slots are
//! handed out round-robin, so concurrent threads use different slots until
//! there are more threads than slots). Reading sums the slots.
//!
//! The number of slots is the machine's available parallelism rounded up to
//! a power of two (at least 2, at most 64), the same for every set in the
//! process. The shards are allocated on the first increment, so a set costs
//! one pointer in every instance that never counts anything, and
//! [`PcpuStat::new`] is `const`: it is the initializer of a `#[vnet]`
//! static, which gives every instance its own set, starting at zero.
//!
//! Sums are not snapshots: a read racing increments sees some of them, as
//! in FreeBSD. With the `vimage` feature off the set is a plain global, the
//! counters of the one instance.
//!
//! ```
//! use vnet_runtime::{pcpu::PcpuStat, vnet, Vnet};
//!
//! const RECEIVED: usize = 0;
//! const DROPPED: usize = 1;
//!
//! /// `V_ipstat`, per instance and per CPU.
//! #[vnet]
//! static IPSTAT: PcpuStat<2> = PcpuStat::new();
//!
//! # if !vnet_runtime::VIMAGE { return; }
//! let v = Vnet::create("pcpu-doc").unwrap();
//! v.enter(|| {
//!     std::thread::scope(|s| {
//!         for _ in 0..4 {
//!             let v = v.clone();
//!             s.spawn(move || v.enter(|| V_IPSTAT.with(|st| st.add(RECEIVED, 10))));
//!         }
//!     });
//!     V_IPSTAT.with(|st| st.inc(DROPPED));
//!     assert_eq!(V_IPSTAT.with(|st| st.snapshot()), [40, 1]);
//! });
//! assert_eq!(vnet_runtime::vnet0().enter(|| V_IPSTAT.with(|st| st.get(RECEIVED))), 0);
//! # v.destroy().unwrap();
//! ```

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

/// `N` counters, one copy per slot, on cache lines of their own.
#[repr(align(128))]
struct Shard<const N: usize>([AtomicU64; N]);

impl<const N: usize> Shard<N> {
    fn new() -> Self {
        Shard([const { AtomicU64::new(0) }; N])
    }
}

/// A set of `N` per-CPU counters: cheap to bump from many threads at once,
/// read as a sum. Make it a `#[vnet]` static to get one set per instance.
///
/// ```
/// use vnet_runtime::pcpu::PcpuStat;
///
/// let stat: PcpuStat<3> = PcpuStat::new();
/// stat.inc(0);
/// stat.add(2, 5);
/// assert_eq!(stat.snapshot(), [1, 0, 5]);
/// stat.zero();
/// assert_eq!(stat.get(2), 0);
/// ```
pub struct PcpuStat<const N: usize> {
    shards: OnceLock<Box<[Shard<N>]>>,
}

/// One per-CPU counter.
///
/// ```
/// use vnet_runtime::pcpu::PcpuCounter;
///
/// #[vnet_runtime::vnet]
/// static FRAMES: PcpuCounter = PcpuCounter::new();
///
/// vnet_runtime::vnet0().enter(|| {
///     V_FRAMES.with(|f| f.inc(0));
///     assert!(V_FRAMES.with(|f| f.get(0)) >= 1);
/// });
/// ```
pub type PcpuCounter = PcpuStat<1>;

impl<const N: usize> PcpuStat<N> {
    /// A set of `N` counters at zero (allocates nothing until the first
    /// increment).
    ///
    /// ```
    /// static STAT: vnet_runtime::pcpu::PcpuStat<4> = vnet_runtime::pcpu::PcpuStat::new();
    /// assert_eq!(STAT.snapshot(), [0; 4]);
    /// ```
    pub const fn new() -> Self {
        PcpuStat {
            shards: OnceLock::new(),
        }
    }

    /// Adds `n` to counter `counter` (`counter_u64_add`), in this thread's slot.
    ///
    /// # Panics
    /// When `counter >= N`.
    ///
    /// ```
    /// let stat = vnet_runtime::pcpu::PcpuStat::<2>::new();
    /// stat.add(1, 1500);
    /// assert_eq!(stat.get(1), 1500);
    /// ```
    #[inline]
    pub fn add(&self, counter: usize, n: u64) {
        let shards = match self.shards.get() {
            Some(shards) => shards,
            None => self.allocate(),
        };
        shards[this_thread_slot()].0[counter].fetch_add(n, Relaxed);
    }

    /// Adds one to counter `counter`.
    ///
    /// # Panics
    /// When `counter >= N`.
    ///
    /// ```
    /// let stat = vnet_runtime::pcpu::PcpuStat::<1>::new();
    /// stat.inc(0);
    /// stat.inc(0);
    /// assert_eq!(stat.get(0), 2);
    /// ```
    #[inline]
    pub fn inc(&self, counter: usize) {
        self.add(counter, 1);
    }

    /// The sum of counter `counter` over every slot (`counter_u64_fetch`);
    /// wraps around at `u64::MAX` like the counters.
    ///
    /// # Panics
    /// When `counter >= N`.
    ///
    /// ```
    /// let stat = vnet_runtime::pcpu::PcpuStat::<1>::new();
    /// assert_eq!(stat.get(0), 0);
    /// ```
    pub fn get(&self, counter: usize) -> u64 {
        assert!(
            counter < N,
            "counter {counter} out of range: this set has {N}"
        );
        self.shards.get().map_or(0, |shards| {
            shards
                .iter()
                .fold(0u64, |sum, s| sum.wrapping_add(s.0[counter].load(Relaxed)))
        })
    }

    /// Every counter's sum, in order.
    ///
    /// ```
    /// let stat = vnet_runtime::pcpu::PcpuStat::<2>::new();
    /// stat.inc(1);
    /// assert_eq!(stat.snapshot(), [0, 1]);
    /// ```
    pub fn snapshot(&self) -> [u64; N] {
        let mut sums = [0u64; N];
        if let Some(shards) = self.shards.get() {
            for shard in shards.iter() {
                for (sum, c) in sums.iter_mut().zip(shard.0.iter()) {
                    *sum = sum.wrapping_add(c.load(Relaxed));
                }
            }
        }
        sums
    }

    /// Sets every counter to zero (`counter_u64_zero`). Increments racing
    /// the reset may be kept or lost.
    ///
    /// ```
    /// let stat = vnet_runtime::pcpu::PcpuStat::<1>::new();
    /// stat.add(0, 7);
    /// stat.zero();
    /// assert_eq!(stat.get(0), 0);
    /// ```
    pub fn zero(&self) {
        if let Some(shards) = self.shards.get() {
            for shard in shards.iter() {
                for c in &shard.0 {
                    c.store(0, Relaxed);
                }
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn allocate(&self) -> &[Shard<N>] {
        self.shards
            .get_or_init(|| (0..slots()).map(|_| Shard::new()).collect())
    }
}

impl<const N: usize> Default for PcpuStat<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for PcpuStat<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PcpuStat").field(&self.snapshot()).finish()
    }
}

/// How many slots every set has: a power of two in `2..=64`.
fn slots() -> usize {
    static SLOTS: OnceLock<usize> = OnceLock::new();
    *SLOTS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        cpus.clamp(2, 64).next_power_of_two()
    })
}

/// Hands out slots round-robin, one per thread.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot (`usize::MAX` until its first increment).
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's slot, below [`slots()`].
#[inline]
fn this_thread_slot() -> usize {
    let slot = SLOT.get();
    if slot != usize::MAX {
        return slot;
    }
    let slot = NEXT_SLOT.fetch_add(1, Relaxed) & (slots() - 1);
    SLOT.set(slot);
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_sit_on_separate_cache_lines() {
        assert_eq!(std::mem::align_of::<Shard<1>>(), 128);
        assert_eq!(std::mem::size_of::<Shard<1>>(), 128);
        assert_eq!(std::mem::size_of::<Shard<17>>(), 256);
        assert!(slots().is_power_of_two() && slots() >= 2);
    }
}
