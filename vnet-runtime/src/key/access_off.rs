//! The `V_` access with `vimage` off: the static holds its value inline, a
//! plain global. Takes the place of `access.rs`.

use super::VnetKey;
#[cfg(feature = "std")]
use crate::instance::Vnet;

impl<T> VnetKey<T> {
    /// Calls `f` with the value (with `vimage` off there is one instance and
    /// the static is a plain global).
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
    }

    /// Calls `f` with the value in `vnet` (always vnet0 with `vimage` off).
    #[cfg(feature = "std")]
    pub fn with_in<R>(&'static self, _vnet: &Vnet, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
    }
}
