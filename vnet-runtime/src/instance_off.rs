//! Instances with the `vimage` feature off: vnet0 is the only instance, the
//! statics are plain globals, and creating an instance is an error. The
//! surface is the same as with `vimage` on, so user code compiles both ways.
//!
//! This file takes the place of `instance` (and its parts) in the layer
//! order; with one instance that always exists, nothing here needs to boot
//! the runtime ([`boot`](crate::boot) and [`vnet0`](crate::vnet0) do).

use std::fmt;
use std::marker::PhantomData;

use crate::context::CurVnetGuard;
use crate::Error;

#[path = "instance/refused.rs"]
mod refused;
pub use refused::DestroyError;

/// A handle to the one instance, vnet0 (`vimage` is off).
///
/// ```
/// let v = vnet_runtime::vnet0();
/// assert!(v.is_default());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Vnet(());

/// Lifecycle state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum VnetState {
    /// Its init hooks are running; not yet in the list.
    Creating = 0,
    /// In the list and usable.
    Live = 1,
    /// Out of the list; its teardown hooks are running.
    Dying = 2,
    /// Torn down; it can no longer be entered.
    Destroyed = 3,
}

/// Options for a new instance (creation fails with `vimage` off).
///
/// ```
/// assert!(vnet_runtime::Vnet::builder("x").create().is_err());
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `create` is called"]
pub struct VnetBuilder(());

impl VnetBuilder {
    /// Makes the new instance a child of `parent`.
    pub fn parent(self, _parent: &Vnet) -> Self {
        self
    }

    /// Limits how many children the new instance may have.
    pub fn children_max(self, _max: usize) -> Self {
        self
    }

    /// Always [`Error::VimageDisabled`].
    pub fn create(self) -> Result<Vnet, Error> {
        Err(Error::VimageDisabled)
    }
}

impl Vnet {
    /// Always [`Error::VimageDisabled`]: only vnet0 exists without `vimage`.
    pub fn create(_name: &str) -> Result<Vnet, Error> {
        Err(Error::VimageDisabled)
    }

    /// A builder whose `create` fails with [`Error::VimageDisabled`].
    pub fn builder(_name: &str) -> VnetBuilder {
        VnetBuilder(())
    }

    /// vnet0 for `"vnet0"`, otherwise `None`.
    pub fn lookup(name: &str) -> Option<Vnet> {
        (name == "vnet0").then(Vnet::only)
    }

    /// `[vnet0]`.
    pub fn list() -> Vec<Vnet> {
        vec![Vnet::only()]
    }

    /// vnet0 (with `vimage` off there is always a current instance).
    pub(crate) fn current_or_panic(_what: &str, _handle_form: &str) -> Vnet {
        Vnet::only()
    }

    /// vnet0: with `vimage` off it is current everywhere.
    pub fn current() -> Option<Vnet> {
        Some(Vnet::only())
    }

    /// `"vnet0"`.
    pub fn name(&self) -> &str {
        "vnet0"
    }

    /// `0`.
    pub fn id(&self) -> u64 {
        0
    }

    /// `true`.
    pub fn is_default(&self) -> bool {
        true
    }

    /// `None`.
    pub fn parent(&self) -> Option<Vnet> {
        None
    }

    /// [`VnetState::Live`].
    pub fn state(&self) -> VnetState {
        VnetState::Live
    }

    /// Runs `f` (vnet0 is always current).
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        f()
    }

    pub(crate) fn push_current(&self) -> CurVnetGuard<'_> {
        CurVnetGuard {
            _handle: PhantomData,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn try_push_current(&self) -> Option<CurVnetGuard<'_>> {
        Some(self.push_current())
    }

    pub(crate) fn try_hold_future(&self) -> Option<Held> {
        Some(Held)
    }

    pub(crate) fn unpin_future(&self) {}

    pub(crate) fn push_held(&self, _held: Held) -> CurVnetGuard<'_> {
        self.push_current()
    }

    /// Always refused with [`Error::Vnet0`] (the handle comes back):
    /// vnet0 is never destroyed.
    ///
    /// ```
    /// let refused = vnet_runtime::vnet0().destroy().unwrap_err();
    /// assert_eq!(*refused.error(), vnet_runtime::Error::Vnet0);
    /// ```
    pub fn destroy(self) -> Result<(), DestroyError> {
        Err(DestroyError::new(self, Error::Vnet0))
    }
}

/// A handle that does not keep its instance alive (with `vimage` off it
/// always upgrades to vnet0).
///
/// ```
/// assert!(vnet_runtime::vnet0().downgrade().upgrade().is_some());
/// ```
#[derive(Debug, Clone)]
pub struct WeakVnet(());

impl Vnet {
    /// The one instance (made once, by boot).
    pub(crate) fn only() -> Vnet {
        Vnet(())
    }

    /// vnet0 (boot makes it once).
    pub(crate) fn new_vnet0() -> Vnet {
        Vnet(())
    }

    /// The lifecycle's own switch: nothing to switch.
    pub(crate) fn push_quiet(&self) -> CurVnetGuard<'_> {
        self.push_current()
    }

    /// A [`WeakVnet`] to this instance.
    pub fn downgrade(&self) -> WeakVnet {
        WeakVnet(())
    }
}

impl WeakVnet {
    /// vnet0.
    pub fn upgrade(&self) -> Option<Vnet> {
        Some(Vnet::only())
    }
}

impl fmt::Debug for Vnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vnet").field("name", &"vnet0").finish()
    }
}

impl fmt::Display for Vnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("vnet0")
    }
}

/// Runs `f` once, for vnet0 (FreeBSD's `VNET_FOREACH` without VIMAGE runs
/// its body exactly once).
///
/// ```
/// let mut n = 0;
/// vnet_runtime::vnet_foreach(|_| n += 1);
/// assert_eq!(n, 1);
/// ```
pub fn vnet_foreach(mut f: impl FnMut(&Vnet)) {
    f(&Vnet::only());
}

/// The instance list with one entry.
pub(crate) mod list {
    use super::Vnet;

    /// `[vnet0]`.
    pub(crate) fn snapshot() -> Vec<Vnet> {
        vec![Vnet::only()]
    }
}

/// What a bound future holds (nothing to hold with one instance).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Held;
