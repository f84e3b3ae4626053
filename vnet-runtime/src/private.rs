//! Plumbing for macro expansions. Not public API: expansions name only
//! `::vnet_runtime::__private0::…`, and the version number in the module name
//! changes whenever this contract does.

pub use core;
pub use linkme;

pub use crate::block::{StaticDesc, STATICS};
pub use crate::key::VnetKey;
#[cfg(feature = "std")]
pub use crate::lifecycle::desc::{
    DependDesc, HookDesc, HookKind, HookResult, HookReturn, ModuleDesc, HOOKS, MODULES,
};
#[cfg(feature = "std")]
pub use crate::lifecycle::modevent::{ModError, ModEvent};
#[cfg(feature = "std")]
pub use crate::subsystem;

// `context_policy!` and `#[vnet_test]`.
#[cfg(feature = "std")]
pub use crate::fallback::{CrateFallback, CRATE_FALLBACKS};
#[cfg(feature = "std")]
pub use crate::policy::{PolicyDecl, POLICIES};
#[cfg(feature = "std")]
pub use crate::test_support::{vnet_test_run, vnet_test_run_async, VnetTestSpec};

// Test hooks for the runtime's own tests: how many frees wait in the
// graveyard, whether the instance list and its indices agree, how much work
// an instance owns.
#[cfg(feature = "vimage")]
pub use crate::graveyard::graveyard_len;
#[cfg(feature = "vimage")]
pub use crate::instance::list::check_consistency as check_instance_index;
#[cfg(feature = "std")]
pub use crate::owned::owned_work_len;

/// Implemented for every type a `#[vnet]` static may have.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the type of a #[vnet] static: it must be `Send + Sync`",
    label = "not `Send + Sync`",
    note = "every instance's copy may be used from any thread and dropped on another one",
    note = "wrap the value in a `Mutex`/`RwLock`, or use an atomic instead of a `Cell`"
)]
pub trait VnetValue {}

impl<T: Send + Sync + ?Sized> VnetValue for T {}

/// Compile-time check that `T` may be a `#[vnet]` static.
pub const fn assert_vnet_value<T: VnetValue>() {}

/// What the name of a `#[vnet]` static stands for after the macro: the
/// accessor is `V_NAME`, and `NAME` itself is this constant, imported under
/// the static's name so that using it the old way explains the change.
pub const RENAMED: NotTheAccessor = NotTheAccessor(());

/// The type of [`RENAMED`]: its methods mirror the accessor's and cannot be
/// called.
pub struct NotTheAccessor(());

/// Never implemented: the bound that turns a call on a `#[vnet]` static's old
/// name into a message naming the accessor.
#[diagnostic::on_unimplemented(
    message = "a #[vnet] static is used through its accessor: write `V_` before its name",
    label = "called on the static's own name, which is not its accessor",
    note = "`#[vnet] static FOO: T = init;` defines the accessor `V_FOO`: `V_FOO.with(|foo| ...)`"
)]
pub trait UseTheAccessor<F> {}

#[allow(missing_docs, clippy::missing_panics_doc)]
impl NotTheAccessor {
    pub fn with<F, N, R>(&self, _f: F) -> R
    where
        Self: UseTheAccessor<N>,
    {
        unreachable!("never compiles")
    }
    pub fn with_in<V, F, N, R>(&self, _vnet: V, _f: F) -> R
    where
        Self: UseTheAccessor<N>,
    {
        unreachable!("never compiles")
    }
    pub fn get<N, R>(&self) -> R
    where
        Self: UseTheAccessor<N>,
    {
        unreachable!("never compiles")
    }
}

/// Stands in for a `#[vnet]` static the macro refused, so that use sites
/// type-check and only the refusal is reported. Never reaches a binary: the
/// refusal is a compile error.
pub struct FallbackKey<T: ?Sized>(core::marker::PhantomData<fn() -> T>);

impl<T: ?Sized> FallbackKey<T> {
    /// The placeholder.
    pub const NEW: Self = FallbackKey(core::marker::PhantomData);
}

#[allow(missing_docs, clippy::missing_panics_doc)]
impl<T> FallbackKey<T> {
    pub fn with<R>(&'static self, _f: impl FnOnce(&T) -> R) -> R {
        unreachable!("a refused #[vnet] static never compiles")
    }
    #[cfg(feature = "std")]
    pub fn with_in<R>(&'static self, _vnet: &crate::instance::Vnet, _f: impl FnOnce(&T) -> R) -> R {
        unreachable!("a refused #[vnet] static never compiles")
    }
    pub fn get(&'static self) -> T {
        unreachable!("a refused #[vnet] static never compiles")
    }
    pub fn name(&'static self) -> &'static str {
        unreachable!("a refused #[vnet] static never compiles")
    }
}
