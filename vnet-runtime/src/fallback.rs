//! A library's declaration that its `#[vnet]` statics, used on a thread with no
//! current instance, work on vnet0's copy: what `cargo vnet-lint check --fix`
//! writes into a ported library, so that its callers that have no instances
//! (doc tests, examples, binaries written before the port) keep working.

/// One library's declaration (see [`fallback_to_vnet0!`](crate::fallback_to_vnet0)).
#[cfg(feature = "std")]
#[doc(hidden)]
#[derive(Debug)]
pub struct CrateFallback {
    /// `module_path!()` where it was declared; its first segment names the crate.
    pub module: &'static str,
}

#[cfg(feature = "std")]
#[doc(hidden)]
#[linkme::distributed_slice]
pub static CRATE_FALLBACKS: [CrateFallback];

/// Whether the crate that declared the static at `module` (its
/// `module_path!()`) declared [`fallback_to_vnet0!`](crate::fallback_to_vnet0).
#[cfg(feature = "vimage")]
pub(crate) fn declared_for(module: &'static str) -> bool {
    let krate = |path: &'static str| path.split("::").next().unwrap_or(path);
    let wanted = krate(module);
    CRATE_FALLBACKS.iter().any(|d| krate(d.module) == wanted)
}

/// Declares that this crate's `#[vnet]` statics, used on a thread with no
/// current instance, use vnet0's copy instead of panicking, unless the binary
/// chose [`ContextPolicy::Strict`](crate::ContextPolicy::Strict) explicitly
/// (`context_policy!(Strict)` or [`BootOptions`](crate::BootOptions)), which
/// wins. Write it once, at the root of a library whose callers may not use
/// instances yet. Only the cold path (no current instance) reads it: the
/// access with an instance current is unchanged. Without `std` it expands to
/// nothing.
///
/// ```
/// vnet_runtime::fallback_to_vnet0!();
///
/// #[vnet_runtime::vnet]
/// static MTU: u32 = 1500;
///
/// fn main() {
///     // No instance is current: this crate's statics use vnet0's copy.
///     assert_eq!(V_MTU.get(), 1500);
/// }
/// ```
#[cfg(feature = "std")]
#[macro_export]
macro_rules! fallback_to_vnet0 {
    () => {
        const _: () = {
            #[$crate::__private0::linkme::distributed_slice($crate::__private0::CRATE_FALLBACKS)]
            #[linkme(crate = $crate::__private0::linkme)]
            static FALLBACK: $crate::__private0::CrateFallback =
                $crate::__private0::CrateFallback {
                    module: $crate::__private0::core::module_path!(),
                };
        };
    };
}

/// Without `std` there is one instance and no context: nothing to declare.
#[cfg(not(feature = "std"))]
#[macro_export]
macro_rules! fallback_to_vnet0 {
    () => {};
}
