//! The one error type of the runtime.

use std::fmt;

/// Why an instance operation was refused.
///
/// Every variant names the instance (or hook) involved and says what to do,
/// so `eprintln!("{err}")` is a complete message.
///
/// ```
/// # vnet_runtime::boot();
/// let err = vnet_runtime::vnet0().destroy().unwrap_err();
/// assert!(matches!(err, vnet_runtime::Error::Vnet0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The crate was built without the `vimage` feature: only `vnet0` exists.
    VimageDisabled,
    /// `vnet0` is the default instance and is never destroyed.
    Vnet0,
    /// Another live (or still initializing) instance already has this name.
    NameInUse(String),
    /// The name is empty or contains a control character.
    InvalidName(String),
    /// The parent already has `children_max` children.
    ChildLimit {
        /// The parent's name.
        parent: String,
        /// Its limit.
        max: usize,
    },
    /// The instance (or the parent asked for) was already destroyed.
    Destroyed(String),
    /// The instance is current on some thread (a live guard, an `enter`
    /// closure, or a guard that was leaked with `mem::forget`).
    Busy {
        /// The instance that is in use.
        name: String,
    },
    /// A child of this instance is still running its init hooks; destroy
    /// the parent once it is created.
    ChildrenCreating(String),
    /// Creating or destroying an instance, or loading or unloading a module,
    /// from inside `vnet_foreach` would deadlock on the instance list lock.
    InsideForeach,
    /// A lifecycle hook failed (returned an error or panicked); everything the
    /// step had done was undone.
    Hook {
        /// The hook's function name (or `MODEVENT(load)` style for module events).
        hook: String,
        /// The module the hook belongs to.
        module: String,
        /// The hook's own error or panic message.
        reason: String,
    },
    /// A lifecycle hook is declared wrong (its module is ambiguous or not
    /// linked, or a per-instance hook's subsystem is out of range): a
    /// configuration error found at boot; the hook never runs.
    HookDeclaration {
        /// The hook's function name.
        hook: String,
        /// What is wrong, where, and how to fix it.
        reason: String,
    },
    /// [`BootOptions::boot`](crate::BootOptions::boot) was called after the
    /// runtime had booted (explicitly, or implicitly by its first use).
    AlreadyBooted,
    /// A module operation was refused (unknown module, dependency problem, veto, ...).
    Module {
        /// The module.
        module: String,
        /// What went wrong and how to fix it.
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::VimageDisabled => f.write_str(
                "vnet instances are disabled: vnet-runtime was built without the `vimage` feature, so only vnet0 exists",
            ),
            Error::Vnet0 => f.write_str("vnet0 is the default instance and cannot be destroyed"),
            Error::NameInUse(name) => write!(f, "a vnet named `{name}` already exists"),
            Error::InvalidName(name) => write!(
                f,
                "invalid vnet name {name:?}: use a non-empty name without control characters"
            ),
            Error::ChildLimit { parent, max } => write!(
                f,
                "vnet `{parent}` already has its maximum of {max} children (children_max)"
            ),
            Error::Destroyed(name) => write!(f, "vnet `{name}` was destroyed"),
            Error::Busy { name } => write!(
                f,
                "vnet `{name}` is current on some thread (a live guard, an `enter` closure, or a leaked guard): \
                 leave it before destroying it"
            ),
            Error::ChildrenCreating(name) => write!(
                f,
                "vnet `{name}` has a child that is still being created: destroy it once that finishes"
            ),
            Error::InsideForeach => f.write_str(
                "cannot create or destroy a vnet, or load or unload a module, inside vnet_foreach: \
                 the instance list is read-locked; collect the handles first and act after the loop",
            ),
            Error::Hook {
                hook,
                module,
                reason,
            } => write!(f, "hook `{hook}` of module `{module}` failed: {reason}"),
            Error::HookDeclaration { hook, reason } => {
                write!(f, "hook `{hook}` is misdeclared and never runs: {reason}")
            }
            Error::AlreadyBooted => f.write_str(
                "the vnet runtime has booted already: pass boot options before anything uses the runtime",
            ),
            Error::Module { module, reason } => write!(f, "module `{module}`: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
