//! Plumbing for macro expansions. Not public API: expansions name only
//! `::vnet_runtime::__private0::…`, and the version number in the module name
//! changes whenever this contract does.

pub use core;
pub use linkme;

pub use crate::block::{StaticDesc, STATICS};
pub use crate::key::VnetKey;
pub use crate::lifecycle::desc::{
    DependDesc, HookDesc, HookKind, HookResult, HookReturn, ModuleDesc, HOOKS, MODULES,
};
pub use crate::lifecycle::modevent::{ModError, ModEvent};
pub use crate::subsystem;

// `context_policy!` and `#[vnet_test]`.
pub use crate::policy::{PolicyDecl, POLICIES};
pub use crate::test_support::{vnet_test_run, vnet_test_run_async, VnetTestSpec};

// Test hooks for the runtime's own tests: how many frees wait in the
// graveyard, whether the instance list and its indices agree, how much work
// an instance owns.
#[cfg(feature = "vimage")]
pub use crate::graveyard::graveyard_len;
#[cfg(feature = "vimage")]
pub use crate::instance::list::check_consistency as check_instance_index;
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

/// Expands one `#[vnet]` static once the attribute macro has validated it.
///
/// `[outer attrs] [cfg attrs] vis NAME, "LABEL", Type, init`.
#[cfg(feature = "vimage")]
#[doc(hidden)]
#[macro_export]
macro_rules! __vnet_define_static {
    ([$($attr:tt)*] [$($cfg:tt)*] $vis:vis $key:ident, $label:expr, $ty:ty, $init:expr) => {
        $($attr)*
        $($cfg)*
        // SAFETY: registered just below, by a descriptor of the same type.
        $vis static $key: $crate::__private0::VnetKey<$ty> = unsafe { $crate::__private0::VnetKey::__new($label) };

        $($cfg)*
        const _: () = {
            const INIT: $ty = $init;

            unsafe fn init(at: *mut u8) {
                // SAFETY: the runtime passes a block address reserved for
                // this static, aligned for its type and not yet initialized.
                unsafe { at.cast::<$ty>().write(INIT) }
            }

            unsafe fn drop(at: *mut u8) {
                // SAFETY: the runtime passes the address of a live value of
                // this static's type, and drops it once.
                unsafe { $crate::__private0::core::ptr::drop_in_place(at.cast::<$ty>()) }
            }

            #[$crate::__private0::linkme::distributed_slice($crate::__private0::STATICS)]
            #[linkme(crate = $crate::__private0::linkme)]
            // SAFETY: `init`, `drop`, the layout and the key all use `$ty`.
            static DESC: $crate::__private0::StaticDesc = unsafe {
                $crate::__private0::StaticDesc::new(
                    (
                        $label,
                        $crate::__private0::core::module_path!(),
                        $crate::__private0::core::file!(),
                        $crate::__private0::core::line!(),
                    ),
                    $crate::__private0::core::alloc::Layout::new::<$ty>(),
                    init,
                    if $crate::__private0::core::mem::needs_drop::<$ty>() {
                        ::core::option::Option::Some(drop)
                    } else {
                        ::core::option::Option::None
                    },
                    $key.__offset_cell(),
                )
            };
        };
    };
}

/// Expands one `#[vnet]` static as a plain global (`vimage` off).
#[cfg(not(feature = "vimage"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __vnet_define_static {
    ([$($attr:tt)*] [$($cfg:tt)*] $vis:vis $key:ident, $label:expr, $ty:ty, $init:expr) => {
        $($attr)*
        $($cfg)*
        $vis static $key: $crate::__private0::VnetKey<$ty> = $crate::__private0::VnetKey::__new($label, $init);

        $($cfg)*
        const _: () = {
            #[$crate::__private0::linkme::distributed_slice($crate::__private0::STATICS)]
            #[linkme(crate = $crate::__private0::linkme)]
            static DESC: $crate::__private0::StaticDesc = $crate::__private0::StaticDesc::new(
                (
                    $label,
                    $crate::__private0::core::module_path!(),
                    $crate::__private0::core::file!(),
                    $crate::__private0::core::line!(),
                ),
                $crate::__private0::core::alloc::Layout::new::<$ty>(),
            );
        };
    };
}

pub use crate::__vnet_define_static as define_static;

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
