//! An instance's state word and the protocol that keeps `enter` and
//! `destroy` apart.
//!
//! The race: a thread checks that the instance is live and pushes it on its
//! context stack; `destroy` scans every stack and, seeing nothing, starts
//! the teardown hooks. With plain stores on both sides each can miss the
//! other (a store buffer delays the push past the scan), and the entered
//! body then runs beside VNET_SYSUNINIT. The protocol is Dekker's:
//!
//! * **enter** (`curvnet_set`, `enter`, `with_in`, a bound future's first
//!   poll — which publishes on the instance's `futures` counter instead of
//!   a stack slot and holds the instance until the future is dropped)
//!   publishes its pin (plain stores: the slot, then the depth with
//!   `Release`), then a `SeqCst` fence, then loads the state word
//!   ([`admit`]). `LIVE`: admitted. `CLOSING`: a destroy is checking; wait
//!   (still pinned) until it settles. Anything else: unpin and refuse.
//! * **destroy** stores `CLOSING` in the state word of every instance of the
//!   subtree, then a `SeqCst` fence, then scans the thread records
//!   ([`close`]). A pin found: the words go back to `LIVE` and destroy fails
//!   with `Busy`. None: the words become `DYING` and the teardown runs.
//!
//! Two `SeqCst` fences order the two store→load pairs: whichever fence comes
//! first in the single total order, the load after the other one sees the
//! store before it. So either destroy sees the pin (and is refused) or the
//! enter sees `CLOSING`/`DYING` (and waits, then is refused): never both
//! miss. Only the enter that *sets* pays the fence; restore stays a plain
//! `Release` store (a destroy that misses a fresh unpin reports `Busy`,
//! which is the snapshot's answer anyway). Pushes that need no fence: the
//! lifecycle's own (the instance is `CREATING`/`DYING` and owned by the
//! running operation, or module load/unload, which excludes destroy by the
//! lifecycle lock) and `vnet_foreach`'s (the list's read lock excludes
//! destroy's close, which runs under the write lock).

use std::sync::atomic::Ordering::*;

use crate::sync::atomic::{fence, AtomicU8, AtomicUsize};
use crate::sync::yield_now;

/// Its init hooks are running; not yet in the list.
pub(crate) const CREATING: u8 = 0;
/// In the list and usable.
pub(crate) const LIVE: u8 = 1;
/// Out of the list; its teardown hooks are running.
pub(crate) const DYING: u8 = 2;
/// Torn down.
pub(crate) const DESTROYED: u8 = 3;
/// A destroy is checking whether the instance is pinned: it goes back to
/// `LIVE` (destroy refused) or on to `DYING`. Reported as `Live`.
pub(crate) const CLOSING: u8 = 4;

/// The enter side, called once the pin is published on this thread's stack:
/// whether the instance may be used. `false`: the caller unpins and refuses.
#[inline(always)]
pub(crate) fn admit(state: &AtomicU8) -> bool {
    // StoreLoad barrier between the pin just published and the state load
    // (see the module docs): the one fence the protocol needs on `set`.
    fence(SeqCst);
    let now = state.load(Relaxed);
    now == LIVE || admit_slow(state, now)
}

/// The enter side for a holder published on a counter instead of a thread's
/// stack (a bound future, for its whole life): count it, then [`admit`];
/// `false`: the count is taken back and the caller refuses. The destroy
/// side reads the counter in its scan, after its fence.
#[inline]
pub(crate) fn admit_counted(holders: &AtomicUsize, state: &AtomicU8) -> bool {
    holders.fetch_add(1, Relaxed);
    if admit(state) {
        true
    } else {
        holders.fetch_sub(1, Release);
        false
    }
}

#[cold]
#[inline(never)]
fn admit_slow(state: &AtomicU8, mut now: u8) -> bool {
    // A destroy is between its fence and its verdict. It does not wait for
    // anything, so this ends as soon as it has scanned the records.
    while now == CLOSING {
        yield_now();
        now = state.load(Acquire);
    }
    now == LIVE
}

/// The destroy side, for instances that are all `LIVE` (the caller holds
/// the list's write lock, so no other destroy works on them): `pinned`
/// scans the thread records and returns the index of a pinned one. `Ok`:
/// they are `DYING` and may be torn down. `Err(i)`: `i` is pinned and they
/// are `LIVE` again.
pub(crate) fn close(
    states: &[&AtomicU8],
    pinned: impl FnOnce() -> Option<usize>,
) -> Result<(), usize> {
    for state in states {
        state.store(CLOSING, Relaxed);
    }
    // StoreLoad barrier between the CLOSING stores and the scan.
    fence(SeqCst);
    match pinned() {
        Some(i) => {
            for state in states {
                state.store(LIVE, Release);
            }
            Err(i)
        }
        None => {
            for state in states {
                state.store(DYING, Release);
            }
            Ok(())
        }
    }
}
