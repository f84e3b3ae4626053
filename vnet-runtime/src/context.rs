//! The current instance of each thread: CURVNET_SET / CURVNET_RESTORE, and
//! the *pins* teardown checks.
//!
//! The access path reads one thread-local, the current block's base pointer
//! (`Ctx::base`). Everything else here exists so that teardown can tell
//! whether an instance may still become current again on some thread:
//!
//! * every thread that ever sets an instance owns a [`ThreadRecord`],
//!   registered in a global list and recycled when the thread exits;
//! * the record holds the thread's stack of current instances. A guard pushes
//!   on set and truncates on restore, with plain (relaxed) stores only: no
//!   atomic read-modify-write and no reference counting on set or restore;
//! * an instance is *pinned* while it is on some thread's stack. A guard leaked
//!   with `mem::forget` leaves its instance pinned until an outer guard
//!   restores past it or the thread exits. Teardown never frees a pinned
//!   instance: its free waits in the graveyard (`graveyard.rs`), which this
//!   module calls back at thread exit ([`at_thread_exit`]).
//!
//! This module knows nothing of instances nor of their handles: a pin is an
//! opaque address (the instance's), and a guard borrows whatever value made
//! it. So it sits below `graveyard`, `instance` and the lifecycle, and
//! imports none of them.
//!
//! **Why plain stores suffice for the free:** a thread can only push an
//! instance while it borrows a handle to it. Ending that borrow and dropping
//! the last handle involves synchronization (the handle's reference count is
//! released with `Release` and the final drop acquires it, and moving a
//! borrow's end across threads needs a join or a lock), so every push that
//! matters happens-before the final drop that scans the records. Entering
//! versus *destroying* needs one more fence: see `instance::state`.

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering::*;

use parking_lot::Mutex;

use crate::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};

/// How deep `curvnet_set` may nest on one thread.
#[cfg(not(loom))]
pub(crate) const MAX_DEPTH: usize = 64;
/// Under loom, records are model objects: a short stack keeps every
/// execution within loom's branch bound (the protocol does not depend
/// on the stack's length).
#[cfg(loom)]
pub(crate) const MAX_DEPTH: usize = 2;

/// The address that identifies a pinned instance (its `Instance`).
pub(crate) type PinId = *const ();

/// Set in a stack slot whose entry pins its instance without making it
/// current (`V_X.with_in`): it does not count for `current_pin`.
const PIN_ONLY: usize = 1;
/// Set in the stack slot where a run of owned work (a callout firing, an
/// owned thread, an owned task's poll) entered its own instance: that
/// entry and every one above it end with the run, which the instance's
/// destroy stops itself. In the slot itself, so a scan reads the pin and
/// its kind in one load.
const OWNED: usize = 2;

#[inline(always)]
fn untag(slot: *mut ()) -> PinId {
    slot.map_addr(|a| a & !(PIN_ONLY | OWNED)).cast_const()
}

/// Per-thread state read on every access: the current block's base
/// (null when no instance is current), and this thread's record.
struct Ctx {
    base: Cell<*mut u8>,
    record: Cell<*const ThreadRecord>,
    /// How many `vnet_foreach` loops this thread is inside.
    foreach_depth: Cell<u32>,
    /// The instance whose owned work runs on this thread (innermost),
    /// or null: a push of it is tagged `OWNED`.
    work: Cell<PinId>,
}

thread_local! {
    // Const-initialized and without `Drop`, so `with` is a bare
    // thread-local load with no lazy-init or destructor state check.
    static CTX: Ctx = const {
        Ctx {
            base: Cell::new(ptr::null_mut()),
            record: Cell::new(ptr::null()),
            foreach_depth: Cell::new(0),
            work: Cell::new(ptr::null()),
        }
    };
    // Touched once per thread (when its record is allocated); its `Drop`
    // hands the record back at thread exit.
    static RELEASE_AT_EXIT: ReleaseAtExit = const { ReleaseAtExit };
}

/// A thread's stack of current instances, visible to teardown.
pub(crate) struct ThreadRecord {
    pub(crate) depth: AtomicUsize,
    pub(crate) stack: [AtomicPtr<()>; MAX_DEPTH],
    /// Epoch of each stack slot: bumped when a restore cuts the slot away
    /// from under a live or leaked guard (out of order), so that guard can
    /// tell it is stale once the slot is reused. A guard reads it at push;
    /// the usual push and restore never write it. Owner-only.
    epoch: [AtomicU64; MAX_DEPTH],
    /// Instances a restore went past (their guards were leaked or dropped
    /// out of order). A `V_` borrow taken while one of them was current
    /// may still be alive, so they stay pinned until the thread exits.
    orphans: Mutex<Vec<PinId>>,
    /// Whether `orphans` may be non-empty, so scans skip its lock.
    has_orphans: AtomicBool,
    /// Where each entry was pushed (debug builds: the debug record), for
    /// naming a guard that keeps `destroy` from going ahead.
    #[cfg(debug_assertions)]
    taken_at: [AtomicPtr<std::panic::Location<'static>>; MAX_DEPTH],
    /// The thread that owns the record, as refusals name it.
    thread: Mutex<String>,
}

/// One entry of a thread record that pins an instance a destroy is
/// checking.
pub(crate) struct Held {
    /// The instance pinned.
    pub(crate) pin: PinId,
    /// Inside a run of owned work of one of the checked instances:
    /// stopping that work ends it.
    pub(crate) owned_work: bool,
    /// Left behind by a leaked or out-of-order guard (held until the
    /// thread exits).
    pub(crate) leaked: bool,
    /// On the thread asking.
    pub(crate) this_thread: bool,
    /// The thread, as `thread `name` (ThreadId(n))`.
    pub(crate) thread: String,
    /// Where the guard was taken (debug builds).
    pub(crate) taken_at: Option<&'static std::panic::Location<'static>>,
}

// SAFETY: the raw pointers in `orphans` are only compared, never
// dereferenced through the record; everything else is atomic.
unsafe impl Sync for ThreadRecord {}
// SAFETY: as above.
unsafe impl Send for ThreadRecord {}

impl ThreadRecord {
    pub(crate) fn new() -> Self {
        ThreadRecord {
            depth: AtomicUsize::new(0),
            stack: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            epoch: std::array::from_fn(|_| AtomicU64::new(0)),
            orphans: Mutex::new(Vec::new()),
            has_orphans: AtomicBool::new(false),
            #[cfg(debug_assertions)]
            taken_at: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            thread: Mutex::new(String::new()),
        }
    }

    /// Calls `found(index, pin, owned_work)` for each entry of this
    /// record that pins an instance `doomed` accepts (`index` is `None`
    /// for an orphan). `owned_work`: the entry is at or above the start
    /// of a run of owned work of a doomed instance, so stopping that
    /// work ends it.
    pub(crate) fn doomed_pins(
        &self,
        doomed: &impl Fn(PinId) -> bool,
        mut found: impl FnMut(Option<usize>, PinId, bool),
    ) {
        let depth = self.depth.load(Acquire).min(MAX_DEPTH);
        let mut in_work = false;
        for index in 0..depth {
            let slot = self.stack[index].load(Relaxed);
            let pin = untag(slot);
            if !in_work {
                in_work = slot.addr() & OWNED != 0 && doomed(pin);
            }
            if doomed(pin) {
                found(Some(index), pin, in_work);
            }
        }
        if self.has_orphans.load(Acquire) {
            for &pin in self.orphans.lock().iter() {
                if doomed(pin) {
                    found(None, pin, false);
                }
            }
        }
    }

    /// Publishes `pin` at `index` (the stack's depth): plain stores, the
    /// slot before the depth that makes it visible to scans. `owned`:
    /// the first entry of a run of `pin`'s own owned work.
    #[inline(always)]
    pub(crate) fn push_slot(&self, index: usize, pin: PinId, pin_only: bool, owned: bool) {
        let tagged = pin
            .cast_mut()
            .map_addr(|a| a | (usize::from(pin_only) * PIN_ONLY) | (usize::from(owned) * OWNED));
        self.stack[index].store(tagged, Relaxed);
        self.depth.store(index + 1, Release);
    }

    /// Truncates the stack to `index` entries (unpins what was above).
    /// Release: this thread's uses of the instances come before any
    /// teardown or free that sees them unpinned.
    #[inline(always)]
    pub(crate) fn truncate(&self, index: usize) {
        self.depth.store(index, Release);
    }

    /// Adds this record's pins (its stack and orphans) to `out`.
    pub(crate) fn pins_into(&self, out: &mut Vec<PinId>) {
        // Acquire pairs with the Release stores of `depth`: a restore
        // that unpinned an instance comes after that thread's last use.
        let depth = self.depth.load(Acquire).min(MAX_DEPTH);
        out.extend(self.stack[..depth].iter().map(|s| untag(s.load(Relaxed))));
        if self.has_orphans.load(Acquire) {
            out.extend(self.orphans.lock().iter().copied());
        }
    }

    /// Whether `pin` is on this record's stack or among its orphans.
    pub(crate) fn has_pin(&self, pin: PinId) -> bool {
        let depth = self.depth.load(Acquire).min(MAX_DEPTH);
        self.stack[..depth]
            .iter()
            .any(|slot| ptr::eq(untag(slot.load(Relaxed)), pin))
            || (self.has_orphans.load(Acquire)
                && self.orphans.lock().iter().any(|o| ptr::eq(*o, pin)))
    }
}

/// Every record ever allocated (records are leaked and recycled, never
/// freed, so teardown can read them without lifetime worries), and the
/// free ones.
struct Records {
    all: Vec<&'static ThreadRecord>,
    free: Vec<&'static ThreadRecord>,
}

static RECORDS: Mutex<Records> = Mutex::new(Records {
    all: Vec::new(),
    free: Vec::new(),
});

struct ReleaseAtExit;

/// What runs after a thread gave its record back (the graveyard's
/// sweep, set by [`at_thread_exit`]): this module frees nothing itself.
static AT_THREAD_EXIT: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Asks for `f` to run on every thread exit, after the thread's pins are
/// gone (the first call wins; later ones are ignored).
pub(crate) fn at_thread_exit(f: fn()) {
    let _ = AT_THREAD_EXIT.set(f);
}

impl Drop for ReleaseAtExit {
    fn drop(&mut self) {
        let record = CTX.with(|c| c.record.replace(ptr::null()));
        if record.is_null() {
            return;
        }
        // SAFETY: records are leaked `&'static` values.
        let record = unsafe { &*record };
        record.depth.store(0, Release);
        record.orphans.lock().clear();
        record.has_orphans.store(false, Release);
        CTX.with(|c| c.base.set(ptr::null_mut()));
        RECORDS.lock().free.push(record);
        // Instances this thread had pinned may now be freed.
        if let Some(sweep) = AT_THREAD_EXIT.get() {
            sweep();
        }
    }
}

#[cold]
#[inline(never)]
fn register() -> &'static ThreadRecord {
    let record = {
        let mut records = RECORDS.lock();
        match records.free.pop() {
            Some(record) => record,
            None => {
                let record: &'static ThreadRecord = Box::leak(Box::new(ThreadRecord::new()));
                records.all.push(record);
                record
            }
        }
    };
    // If this thread's destructors already ran (a guard set from another
    // thread-local's destructor), the record is simply never recycled.
    let _ = RELEASE_AT_EXIT.try_with(|_| ());
    CTX.with(|c| c.record.set(record));
    let me = std::thread::current();
    *record.thread.lock() = match me.name() {
        Some(name) => format!("thread `{name}` ({:?})", me.id()),
        None => format!("an unnamed thread ({:?})", me.id()),
    };
    record
}

#[inline]
fn record() -> &'static ThreadRecord {
    let record = CTX.with(|c| c.record.get());
    if record.is_null() {
        register()
    } else {
        // SAFETY: records are leaked `&'static` values.
        unsafe { &*record }
    }
}

/// The current block's base pointer, null when no instance is current.
#[inline(always)]
pub(crate) fn current_base() -> *mut u8 {
    CTX.with(|c| c.base.get())
}

/// The pin of the current instance, if any.
///
/// An instance on this thread's stack is pinned, so it is not freed
/// while it stays there; callers use the pin only transiently on this
/// thread, before any restore can unpin it.
pub(crate) fn current_pin() -> Option<PinId> {
    let (base, record) = CTX.with(|c| (c.base.get(), c.record.get()));
    // A null base with a non-empty stack: values are being dropped
    // (`clear_base`), when no instance counts as current.
    if record.is_null() || base.is_null() {
        return None;
    }
    // SAFETY: records are leaked `&'static` values.
    let record = unsafe { &*record };
    let depth = record.depth.load(Relaxed).min(MAX_DEPTH);
    // The innermost entry that made its instance current: entries above it
    // that only pin (`V_X.with_in`) kept its base current.
    record.stack[..depth]
        .iter()
        .rev()
        .map(|slot| slot.load(Relaxed))
        .find(|slot| slot.addr() & PIN_ONLY == 0)
        .map(untag)
}

/// Whether `pin` is the current instance of this thread.
#[inline]
pub(crate) fn is_current(pin: PinId) -> bool {
    current_pin().is_some_and(|top| ptr::eq(top, pin))
}

/// Makes "no instance" current for `V_` accesses (values being dropped)
/// and returns what was current, for [`restore_base`].
pub(crate) fn clear_base() -> *mut u8 {
    CTX.with(|c| c.base.replace(ptr::null_mut()))
}

/// Undoes [`clear_base`].
pub(crate) fn restore_base(base: *mut u8) {
    CTX.with(|c| c.base.set(base));
}

/// Whether `pin` is on some thread's stack. Costs one pass over the
/// registered threads' stacks (live depth only): O(threads × depth),
/// independent of how many instances exist.
pub(crate) fn is_pinned(pin: PinId) -> bool {
    RECORDS.lock().all.iter().any(|record| record.has_pin(pin))
}

/// Every entry on any thread that pins an instance `doomed` accepts:
/// one pass over the registered threads (O(threads × depth)), for
/// checking a whole subtree (`destroy`).
pub(crate) fn holders(doomed: impl Fn(PinId) -> bool) -> Vec<Held> {
    let mine = CTX.with(|c| c.record.get());
    let mut out = Vec::new();
    for &record in &RECORDS.lock().all {
        record.doomed_pins(&doomed, |index, pin, owned_work| {
            #[cfg(debug_assertions)]
            let taken_at = index.and_then(|i| {
                // SAFETY: only `'static` locations are stored.
                unsafe { record.taken_at[i].load(Relaxed).cast_const().as_ref() }
            });
            #[cfg(not(debug_assertions))]
            let taken_at = None;
            out.push(Held {
                pin,
                owned_work,
                leaked: index.is_none(),
                this_thread: ptr::eq(record, mine),
                thread: record.thread.lock().clone(),
                taken_at,
            });
        });
    }
    out
}

/// Marks that owned work of `owner` runs on this thread (its pushes of
/// `owner` are tagged `OWNED`) until [`end_work`] gets back what this
/// returns.
pub(crate) fn begin_work(owner: PinId) -> PinId {
    CTX.with(|c| c.work.replace(owner))
}

/// Ends what [`begin_work`] began.
pub(crate) fn end_work(previous: PinId) {
    CTX.with(|c| c.work.set(previous));
}

/// Every pinned address, sorted: one pass over the registered threads,
/// for the graveyard's sweep.
pub(crate) fn pinned() -> Vec<PinId> {
    let mut out = Vec::new();
    for record in &RECORDS.lock().all {
        record.pins_into(&mut out);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether this thread is inside `vnet_foreach` (the instance list is
/// read-locked: creating, destroying, or loading and unloading modules
/// would deadlock against a writer).
pub(crate) fn inside_foreach() -> bool {
    CTX.with(|c| c.foreach_depth.get()) > 0
}

/// Marks this thread as inside `vnet_foreach` until dropped.
pub(crate) struct ForeachScope(());

impl ForeachScope {
    pub(crate) fn enter() -> Self {
        CTX.with(|c| c.foreach_depth.set(c.foreach_depth.get() + 1));
        ForeachScope(())
    }
}

impl Drop for ForeachScope {
    fn drop(&mut self) {
        CTX.with(|c| c.foreach_depth.set(c.foreach_depth.get() - 1));
    }
}

/// Restores the previously current instance when dropped.
///
/// Created by [`curvnet_set`](crate::curvnet_set). The guard borrows the
/// handle it was made from, so the instance outlives it; it is `!Send`,
/// because it restores *this* thread's context. While it lives the
/// instance is current on this thread and pinned: [`Vnet::destroy`](crate::Vnet::destroy)
/// is refused ([`Error::Busy`](crate::Error::Busy), naming this thread
/// and, in debug builds, where the guard was taken).
///
/// **Never hold a guard across `.await`.** The instance stays current
/// on the executor thread while the task is suspended, so every other
/// task polled there meanwhile runs in it (and writes into its state);
/// guards then drop out of order, which panics and leaves the skipped
/// instance pinned until the thread exits. On a multi-threaded executor
/// the compiler refuses such a future (`*const CurVnetGuardIsNotSend
/// cannot be sent between threads safely`); a current-thread executor
/// (`block_on`, `join!`, a `LocalSet`) does not require `Send` and so
/// catches nothing. Bind the future instead:
/// [`fut.in_vnet(&v)`](crate::VnetFutureExt::in_vnet) for work that
/// must finish (a request), [`fut.owned_by(&v)`](crate::VnetFutureExt::owned_by)
/// for background work the instance's destroy may cancel.
///
/// ```
/// use vnet_runtime::{curvnet_set, Vnet, VnetFutureExt};
/// # if !vnet_runtime::VIMAGE { return; }
/// let v = Vnet::create("guard-doc").unwrap();
/// {
///     let _guard = curvnet_set(&v); // synchronous code only
///     assert_eq!(Vnet::current(), Some(v.clone()));
/// }
/// // Across `.await`: bind the future, not a guard.
/// let _request = async { Vnet::current() }.in_vnet(&v);
/// # drop(_request);
/// v.destroy().unwrap();
/// ```
#[must_use = "the instance is current only until the guard is dropped: bind it with `let _guard = ...`"]
pub struct CurVnetGuard<'a> {
    /// This guard's slot and the slot's epoch at push, packed as
    /// `epoch << SLOT_BITS | index` so a guard is two words.
    entry: u64,
    prev_base: SavedBase,
    _handle: PhantomData<&'a ()>,
    /// What makes the guard `!Send`, named so that the compiler's
    /// error for a guard held across `.await` names it.
    _not_send: PhantomData<*const CurVnetGuardIsNotSend>,
}

/// Never constructed: the name the compiler prints when a
/// [`CurVnetGuard`] is held across `.await` in a future that must be
/// `Send` (the guard restores *this* thread's context). Bind the future
/// with [`in_vnet`](crate::VnetFutureExt::in_vnet) or
/// [`owned_by`](crate::VnetFutureExt::owned_by) instead.
///
/// ```compile_fail
/// fn spawn<F: std::future::Future + Send + 'static>(_: F) {}
/// async fn elsewhere() {}
/// let v = vnet_runtime::vnet0();
/// spawn(async move {
///     let _guard = vnet_runtime::curvnet_set(&v);
///     elsewhere().await; // `*const CurVnetGuardIsNotSend` cannot be sent
/// });
/// ```
#[derive(Debug)]
pub enum CurVnetGuardIsNotSend {}

/// The base the guard restores, kept as a plain value (so that the only
/// thing keeping the guard `!Send` is its named marker).
#[derive(Clone, Copy)]
struct SavedBase(*mut u8);

// SAFETY: the guard never dereferences the base; it only writes it back
// into this thread's context on drop. The guard itself stays `!Send`
// (its marker), so the base never reaches another thread's context.
unsafe impl Send for SavedBase {}
// SAFETY: as above; shared references never read it.
unsafe impl Sync for SavedBase {}

/// Bits of a guard's `entry` that hold its slot index (`MAX_DEPTH` ≤ 64).
const SLOT_BITS: u32 = 6;
const _: () = assert!(MAX_DEPTH <= 1 << SLOT_BITS);

/// A guard's `entry` for slot `index` at `epoch`.
#[inline(always)]
fn entry(index: usize, epoch: u64) -> u64 {
    epoch << SLOT_BITS | index as u64
}

impl CurVnetGuard<'_> {
    #[inline(always)]
    fn index(&self) -> usize {
        (self.entry & ((1 << SLOT_BITS) - 1)) as usize
    }
}

impl std::fmt::Debug for CurVnetGuard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurVnetGuard")
            .field("depth", &(self.index() + 1))
            .finish()
    }
}

/// Pushes `pin` with block `base` on this thread's stack and makes `base`
/// current (the push half of CURVNET_SET): plain stores only. `name`
/// names the instance in the panic when the stack is full.
#[inline]
#[cfg_attr(debug_assertions, track_caller)]
pub(crate) fn push<'a>(
    pin: PinId,
    base: *mut u8,
    name: impl FnOnce() -> String,
) -> CurVnetGuard<'a> {
    push_entry(pin, base, false, name)
}

/// Pins `pin` on this thread's stack without making it current (the
/// current base and instance stay): for `V_X.with_in`, so that `destroy`
/// sees the instance in use. Dropping the guard unpins it.
#[inline]
#[cfg_attr(debug_assertions, track_caller)]
pub(crate) fn pin_only<'a>(pin: PinId, name: impl FnOnce() -> String) -> CurVnetGuard<'a> {
    push_entry(pin, current_base(), true, name)
}

#[inline(always)]
#[cfg_attr(debug_assertions, track_caller)]
fn push_entry<'a>(
    pin: PinId,
    base: *mut u8,
    pin_only: bool,
    name: impl FnOnce() -> String,
) -> CurVnetGuard<'a> {
    let record = record();
    let index = record.depth.load(Relaxed);
    if index >= MAX_DEPTH {
        depth_exceeded(name());
    }
    let entry = entry(index, record.epoch[index].load(Relaxed));
    #[cfg(debug_assertions)]
    record.taken_at[index].store(
        std::ptr::from_ref(std::panic::Location::caller()).cast_mut(),
        Relaxed,
    );
    let (owned, prev_base) = CTX.with(|c| (ptr::eq(c.work.get(), pin), c.base.replace(base)));
    record.push_slot(index, pin, pin_only, owned);
    CurVnetGuard {
        entry,
        prev_base: SavedBase(prev_base),
        _handle: PhantomData,
        _not_send: PhantomData,
    }
}

#[cold]
#[inline(never)]
fn depth_exceeded(name: String) -> ! {
    panic!(
        "curvnet_set nested more than {MAX_DEPTH} deep on this thread (setting vnet `{name}`): \
         are guards being leaked with mem::forget?"
    )
}

impl Drop for CurVnetGuard<'_> {
    /// The usual restore (this guard's entry is the top of the stack) is
    /// inline: a depth load, an epoch compare, two stores. Everything
    /// else is `restore_slow`.
    #[inline]
    fn drop(&mut self) {
        let record = record();
        let depth = record.depth.load(Relaxed);
        let index = self.index();
        if index + 1 == depth && entry(index, record.epoch[index].load(Relaxed)) == self.entry {
            record.truncate(index);
            CTX.with(|c| c.base.set(self.prev_base.0));
        } else {
            restore_slow(record, self.entry, self.prev_base.0, depth);
        }
    }
}

/// A restore that is not of the top entry: past other entries (leaked or
/// still-alive guards), or stale (an outer guard already restored past this
/// one: its slot is gone or reused). Takes the guard's fields by value, so
/// the inline restore keeps them in registers.
#[cold]
#[inline(never)]
fn restore_slow(record: &ThreadRecord, guard_entry: u64, prev_base: *mut u8, depth: usize) {
    let index = (guard_entry & ((1 << SLOT_BITS) - 1)) as usize;
    if index < depth && entry(index, record.epoch[index].load(Relaxed)) == guard_entry {
        restore_past(record, index, depth);
        record.truncate(index);
        CTX.with(|c| c.base.set(prev_base));
        if !std::thread::panicking() {
            out_of_order(depth - index - 1);
        }
    }
}

/// Keeps the instances above `index` pinned for the rest of the thread:
/// their guards were leaked or are still alive, and a `V_` borrow taken
/// while one of them was current may outlive this restore.
#[cold]
#[inline(never)]
fn restore_past(record: &ThreadRecord, index: usize, depth: usize) {
    let mut orphans = record.orphans.lock();
    for slot in &record.stack[index + 1..depth] {
        orphans.push(untag(slot.load(Relaxed)));
    }
    // The guards of the cut slots, leaked or alive, are stale from now on:
    // a later push into one of these slots gets a new epoch.
    for epoch in &record.epoch[index + 1..depth] {
        epoch.store(epoch.load(Relaxed) + 1, Relaxed);
    }
    orphans.sort_unstable();
    orphans.dedup();
    record.has_orphans.store(true, Release);
}

#[cold]
#[inline(never)]
fn out_of_order(skipped: usize) -> ! {
    panic!(
        "curvnet guard restored out of order: {skipped} guard(s) set after it were leaked \
         (mem::forget) or are still alive (held across an `.await`, or moved away); \
         the context was restored anyway. Drop guards in reverse order, and bind futures \
         with `fut.in_vnet(&vnet)` instead of holding a guard across `.await`"
    )
}
