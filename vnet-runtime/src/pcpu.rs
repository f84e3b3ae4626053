//! Per-CPU statistics (FreeBSD's `VNET_PCPUSTAT_DEFINE` and `counter(9)`):
//! counters that many threads of one instance bump without fighting over
//! one cache line.
//!
//! A [`PcpuStat<N>`] holds `N` counters. It keeps one *shard* of all `N`
//! per slot, each shard on its own cache lines (128-byte aligned, so the
//! adjacent-line prefetcher does not pair two of them either). Reading sums
//! the slots.
//!
//! A thread *owns* a slot from its first increment until it exits: slots
//! are claimed from a process-wide set, the same index in every counter
//! set. Only the owner writes an owned slot, so an increment is a plain
//! load and store (no `lock`-prefixed read-modify-write, as FreeBSD's
//! `counter_u64_add` is one unlocked add to the CPU's copy). When every
//! owned slot is taken, further threads share a few overflow slots with
//! atomic `fetch_add`. A slot given back at thread exit keeps its counts
//! for the next owner, so sums never lose them.
//!
//! There are `2 × available parallelism` owned slots (between 4 and 64) and
//! half as many shared ones (between 2 and 16). The shards are allocated on
//! the first increment, so a set costs a pointer and `N` words in every
//! instance that never counts anything, and [`PcpuStat::new`] is `const`:
//! it is the initializer of a `#[vnet]` static, which gives every instance
//! its own set, starting at zero. [`zero`](PcpuStat::zero) never writes a
//! slot (its owner could overwrite it): it records the sums as a new base.
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
use std::sync::atomic::{
    AtomicU64, AtomicUsize, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
};
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
    /// The sums at the last `zero` (subtracted from every read).
    base: [AtomicU64; N],
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
            base: [const { AtomicU64::new(0) }; N],
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
        let slot = this_thread_slot();
        if slot < SHARED {
            let c = &shards[slot].0[counter];
            // Only this thread writes an owned slot: no read-modify-write.
            c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
        } else {
            shards[slot - SHARED + owned_slots()].0[counter].fetch_add(n, Relaxed);
        }
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
        self.raw()[counter].wrapping_sub(self.base[counter].load(Relaxed))
    }

    /// Every counter's sum, in order.
    ///
    /// ```
    /// let stat = vnet_runtime::pcpu::PcpuStat::<2>::new();
    /// stat.inc(1);
    /// assert_eq!(stat.snapshot(), [0, 1]);
    /// ```
    pub fn snapshot(&self) -> [u64; N] {
        let mut sums = self.raw();
        for (sum, base) in sums.iter_mut().zip(&self.base) {
            *sum = sum.wrapping_sub(base.load(Relaxed));
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
    /// stat.inc(0);
    /// assert_eq!(stat.get(0), 1);
    /// ```
    pub fn zero(&self) {
        for (base, sum) in self.base.iter().zip(self.raw()) {
            base.store(sum, Relaxed);
        }
    }

    /// The sums over every slot, without the base.
    fn raw(&self) -> [u64; N] {
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

    #[cold]
    #[inline(never)]
    fn allocate(&self) -> &[Shard<N>] {
        self.shards.get_or_init(|| {
            (0..owned_slots() + shared_slots())
                .map(|_| Shard::new())
                .collect()
        })
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

/// How many owned slots every set has: `2 × parallelism`, in `4..=64`.
fn owned_slots() -> usize {
    static OWNED: OnceLock<usize> = OnceLock::new();
    *OWNED.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        (2 * cpus).clamp(4, 64)
    })
}

/// How many shared (overflow) slots every set has, in `2..=16`.
fn shared_slots() -> usize {
    (owned_slots() / 2).min(16)
}

/// `SLOT` values from here on mean "shared slot `value - SHARED`".
const SHARED: usize = 1 << 16;
/// `SLOT` before the thread's first increment.
const UNCLAIMED: usize = usize::MAX;

/// Which owned slots are taken (bit `i`: slot `i`).
static CLAIMED: AtomicU64 = AtomicU64::new(0);
/// Hands out shared slots round-robin.
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot: an owned index below [`SHARED`], `SHARED + j`
    /// for shared slot `j`, or [`UNCLAIMED`].
    static SLOT: Cell<usize> = const { Cell::new(UNCLAIMED) };
    /// Gives the owned slot back when the thread exits.
    static OWNER: Owner = const { Owner(Cell::new(UNCLAIMED)) };
}

/// The owned slot of this thread, released on drop (thread exit).
struct Owner(Cell<usize>);

impl Drop for Owner {
    fn drop(&mut self) {
        let slot = self.0.get();
        if slot < SHARED {
            // Counting in a later thread-exit destructor goes to a shared
            // slot from now on: the owned one may have a new owner.
            SLOT.set(SHARED);
            // Release: the next owner sees this thread's last stores.
            CLAIMED.fetch_and(!(1u64 << slot), Release);
        }
    }
}

/// This thread's slot (see [`SLOT`]).
#[inline]
fn this_thread_slot() -> usize {
    let slot = SLOT.get();
    if slot != UNCLAIMED {
        return slot;
    }
    claim()
}

#[cold]
#[inline(never)]
fn claim() -> usize {
    let owned = owned_slots();
    let mut claimed = CLAIMED.load(Relaxed);
    let slot = loop {
        let free = (!claimed).trailing_zeros() as usize;
        if free >= owned {
            break SHARED + NEXT_SHARED.fetch_add(1, Relaxed) % shared_slots();
        }
        // Acquire: this thread sees the previous owner's stores.
        match CLAIMED.compare_exchange_weak(claimed, claimed | 1 << free, Acquire, Relaxed) {
            Ok(_) => {
                // If the thread is already exiting, it cannot register the
                // release: give the slot back and share instead.
                if OWNER.try_with(|o| o.0.set(free)).is_err() {
                    CLAIMED.fetch_and(!(1u64 << free), Release);
                    break SHARED + NEXT_SHARED.fetch_add(1, Relaxed) % shared_slots();
                }
                break free;
            }
            Err(now) => claimed = now,
        }
    };
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
        assert!((4..=64).contains(&owned_slots()));
        assert!((2..=16).contains(&shared_slots()));
    }
}
