//! [`StaticMut`]: what a `static mut` becomes when it is made per instance and
//! its code keeps its own synchronization (a once-flag, a state word).

use core::cell::UnsafeCell;

use crate::VnetKey;

/// The value of a `static mut`, one per instance: `static mut LOGGER: T = x;`
/// becomes `#[vnet] static LOGGER: StaticMut<T> = StaticMut::new(x);` and each
/// use `LOGGER` becomes `(*V_LOGGER.as_ptr())`, still inside the `unsafe`
/// block it was in. Nothing about the access changes but where the value
/// lives: the code's own protocol (a state word published with release and
/// read with acquire, a `Once`) keeps it sound, per instance as it did per
/// process. This is the form `cargo vnet-lint check --fix` writes for a
/// `static mut` it cannot make an atomic, and it needs no `std`.
///
/// ```
/// use vnet_runtime::{vnet, StaticMut};
///
/// #[vnet]
/// static LIMIT: StaticMut<u32> = StaticMut::new(10);
///
/// vnet_runtime::vnet0().enter(|| {
///     // SAFETY: no other thread uses this instance's `LIMIT` meanwhile.
///     unsafe { *V_LIMIT.as_ptr() = 20 };
///     assert_eq!(unsafe { *V_LIMIT.as_ptr() }, 20);
/// });
/// ```
#[repr(transparent)]
pub struct StaticMut<T>(UnsafeCell<T>);

// SAFETY: a `StaticMut` hands out only a raw pointer; every read or write
// through it is `unsafe`, under the same contract as a `static mut` (which is
// shared by every thread too). `T: Send` because an instance's value may be
// dropped on another thread than the one that wrote it.
unsafe impl<T: Send> Sync for StaticMut<T> {}

impl<T> StaticMut<T> {
    /// The cell holding `value` (a constant: it is a `#[vnet]` initializer).
    ///
    /// ```
    /// let cell = vnet_runtime::StaticMut::new(3u8);
    /// assert_eq!(unsafe { *cell.get() }, 3);
    /// ```
    pub const fn new(value: T) -> Self {
        StaticMut(UnsafeCell::new(value))
    }

    /// A pointer to the value, valid as long as the cell (for a `#[vnet]`
    /// static: as long as its instance).
    ///
    /// ```
    /// let cell = vnet_runtime::StaticMut::new(3u8);
    /// // SAFETY: nothing else uses `cell`.
    /// unsafe { *cell.get() += 1 };
    /// assert_eq!(unsafe { *cell.get() }, 4);
    /// ```
    pub const fn get(&self) -> *mut T {
        self.0.get()
    }
}

impl<T: 'static> VnetKey<StaticMut<T>> {
    /// A pointer to this static's value in the current instance: what a use
    /// of the `static mut` it was becomes, `(*V_NAME.as_ptr())`. It stays
    /// valid as long as that instance does (vnet0's copy, for the life of the
    /// process); reads and writes through it are `unsafe`, as the `static mut`
    /// accesses were.
    ///
    /// # Panics
    /// As [`with`](VnetKey::with): with no current instance under the strict
    /// policy.
    ///
    /// ```
    /// #[vnet_runtime::vnet]
    /// static COUNT: vnet_runtime::StaticMut<u64> = vnet_runtime::StaticMut::new(0);
    /// let seen = vnet_runtime::vnet0().enter(|| unsafe { *V_COUNT.as_ptr() });
    /// assert_eq!(seen, 0);
    /// ```
    #[inline(always)]
    pub fn as_ptr(&'static self) -> *mut T {
        self.with(StaticMut::get)
    }
}
