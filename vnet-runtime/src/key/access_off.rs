//! The `V_` access with `vimage` off: the static holds its value inline, a
//! plain global. Takes the place of `access.rs`.

use std::marker::PhantomData;

use super::VnetKey;
use crate::instance::Vnet;

impl<T> VnetKey<T> {
    #[doc(hidden)]
    pub const fn __new(name: &'static str, value: T) -> Self {
        VnetKey {
            value,
            name,
            _type: PhantomData,
        }
    }

    /// Calls `f` with the value (with `vimage` off there is one instance and
    /// the static is a plain global).
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
    }

    /// Calls `f` with the value in `vnet` (always vnet0 with `vimage` off).
    pub fn with_in<R>(&'static self, _vnet: &Vnet, f: impl FnOnce(&T) -> R) -> R {
        f(&self.value)
    }
}
