//! The default-instance policy: what a `V_` access does on a thread where no
//! instance is current.
//!
//! The access path (`VnetKey::with`) is untouched by this module: it loads the
//! thread's base pointer and, only when that is null, calls its cold half,
//! which asks [`falls_back`]. So a program pays for the policy only on the
//! access that would otherwise panic. This module holds the choice only; it
//! knows no instance (the fallback, vnet0, is the caller's).
//!
//! The policy is per process and chosen once: by a [`context_policy!`]
//! declaration linked into the binary (it works for test binaries, which have
//! no `main`), or by [`BootOptions::context_policy`](crate::BootOptions::context_policy)
//! when the program boots explicitly. Without either it is
//! [`ContextPolicy::Strict`].

#[cfg(feature = "vimage")]
use std::cell::Cell;
use std::sync::atomic::{AtomicU8, Ordering::*};

/// What a `V_` access does on a thread where no instance is current.
///
/// Chosen once per process: with [`context_policy!`](crate::context_policy!)
/// in the binary (or in a test target's crate root), or with
/// [`BootOptions::context_policy`](crate::BootOptions::context_policy).
///
/// ```
/// use vnet_runtime::ContextPolicy;
/// // Nothing declared in this binary: the default.
/// assert_eq!(ContextPolicy::current(), ContextPolicy::Strict);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContextPolicy {
    /// A `V_` access with no current instance panics, naming the static (the
    /// default): a thread that forgot to enter its instance is a bug that
    /// would otherwise read or write another tenant's state.
    #[default]
    Strict,
    /// A thread with no current instance works on vnet0, as a program that
    /// never heard of instances expects: for porting a library to `#[vnet]`
    /// one caller at a time. Values being dropped still see no instance
    /// (their `Drop` panics on a `V_` access, as under `Strict`).
    DefaultInstance,
}

const UNSET: u8 = 0;
const STRICT: u8 = 1;
const DEFAULT_INSTANCE: u8 = 2;

/// The policy in effect, once resolved (`UNSET` until then).
static CHOSEN: AtomicU8 = AtomicU8::new(UNSET);

/// A `context_policy!` declaration, collected by the linker.
#[doc(hidden)]
#[derive(Debug)]
pub struct PolicyDecl {
    /// The declared policy.
    pub policy: ContextPolicy,
    /// Where it was declared (`file!()`, `line!()`), for conflict messages.
    pub site: (&'static str, u32),
}

/// Every `context_policy!` declaration linked into the binary.
#[doc(hidden)]
#[linkme::distributed_slice]
pub static POLICIES: [PolicyDecl];

fn encode(policy: ContextPolicy) -> u8 {
    match policy {
        ContextPolicy::Strict => STRICT,
        ContextPolicy::DefaultInstance => DEFAULT_INSTANCE,
    }
}

impl ContextPolicy {
    /// The policy of this process: the one given to
    /// [`BootOptions::context_policy`](crate::BootOptions::context_policy),
    /// else the one declared with [`context_policy!`](crate::context_policy!),
    /// else [`ContextPolicy::Strict`].
    ///
    /// # Panics
    /// When the binary links declarations that disagree (the message lists
    /// where each was written).
    ///
    /// ```
    /// assert_eq!(vnet_runtime::ContextPolicy::current(), vnet_runtime::ContextPolicy::Strict);
    /// ```
    pub fn current() -> ContextPolicy {
        match CHOSEN.load(Acquire) {
            STRICT => ContextPolicy::Strict,
            DEFAULT_INSTANCE => ContextPolicy::DefaultInstance,
            _ => resolve_declared(),
        }
    }
}

#[cold]
fn resolve_declared() -> ContextPolicy {
    let mut declared = POLICIES.iter();
    let policy = match declared.next() {
        None => ContextPolicy::Strict,
        Some(first) => {
            if POLICIES.iter().any(|d| d.policy != first.policy) {
                let sites: Vec<String> = POLICIES
                    .iter()
                    .map(|d| format!("{:?} at {}:{}", d.policy, d.site.0, d.site.1))
                    .collect();
                panic!(
                    "conflicting vnet_runtime::context_policy! declarations in this binary: {}; \
                     the policy is per process, declare it once (in the binary)",
                    sites.join(", ")
                );
            }
            first.policy
        }
    };
    // A choice made at boot meanwhile wins.
    let _ = CHOSEN.compare_exchange(UNSET, encode(policy), AcqRel, Acquire);
    ContextPolicy::current()
}

/// Records the policy given to `BootOptions` (it overrides a declaration).
pub(crate) fn choose_at_boot(policy: Option<ContextPolicy>) {
    if let Some(policy) = policy {
        EXPLICIT_STRICT.store(policy == ContextPolicy::Strict, Release);
        CHOSEN.store(encode(policy), Release);
    }
}

#[cfg(feature = "vimage")]
thread_local! {
    /// How many instances' values this thread is dropping right now (they are
    /// dropped with no instance current, and must not fall back to vnet0).
    static DROPPING: Cell<u32> = const { Cell::new(0) };
}

/// Values are being dropped on this thread (`context::clear_base`).
#[cfg(feature = "vimage")]
pub(crate) fn enter_drop() {
    DROPPING.with(|d| d.set(d.get() + 1));
}

/// Undoes [`enter_drop`] (`context::restore_base`).
#[cfg(feature = "vimage")]
pub(crate) fn leave_drop() {
    DROPPING.with(|d| d.set(d.get().saturating_sub(1)));
}

/// Whether a thread with no current instance works on vnet0 right now:
/// under [`ContextPolicy::DefaultInstance`], unless it is dropping values.
#[cfg(feature = "vimage")]
pub(crate) fn falls_back() -> bool {
    ContextPolicy::current() == ContextPolicy::DefaultInstance
        && DROPPING.try_with(Cell::get).unwrap_or(0) == 0
}

/// Whether the binary chose `Strict` explicitly (`context_policy!(Strict)` or
/// the boot options), which overrides a library's `fallback_to_vnet0!`.
static EXPLICIT_STRICT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// [`falls_back`], or the static's crate declared `fallback_to_vnet0!` and the
/// binary did not choose `Strict` explicitly.
#[cfg(feature = "vimage")]
pub(crate) fn falls_back_for(crate_declared: bool) -> bool {
    if falls_back() {
        return true;
    }
    let explicit_strict =
        EXPLICIT_STRICT.load(Acquire) || POLICIES.iter().any(|d| d.policy == ContextPolicy::Strict);
    !explicit_strict && crate_declared && DROPPING.try_with(Cell::get).unwrap_or(0) == 0
}

/// Declares the process's [`ContextPolicy`]: write it once, in the binary (or
/// at the root of each test target, which is a binary of its own).
///
/// ```
/// vnet_runtime::context_policy!(DefaultInstance);
///
/// #[vnet_runtime::vnet]
/// static MTU: u32 = 1500;
///
/// fn main() {
///     // No instance was made current: this thread works on vnet0.
///     assert_eq!(V_MTU.get(), 1500);
///     assert_eq!(vnet_runtime::Vnet::current(), Some(vnet_runtime::vnet0()));
/// }
/// ```
///
/// `context_policy!(Strict)` states the default explicitly.
#[macro_export]
macro_rules! context_policy {
    ($policy:ident) => {
        const _: () = {
            #[$crate::__private0::linkme::distributed_slice($crate::__private0::POLICIES)]
            #[linkme(crate = $crate::__private0::linkme)]
            static POLICY: $crate::__private0::PolicyDecl = $crate::__private0::PolicyDecl {
                policy: $crate::ContextPolicy::$policy,
                site: (
                    $crate::__private0::core::file!(),
                    $crate::__private0::core::line!(),
                ),
            };
        };
    };
}
