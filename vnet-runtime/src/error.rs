//! The one error type of the runtime, and what keeps an instance busy when
//! `destroy` is refused (the refusal itself, which hands the handle back,
//! is `instance::destroy`'s [`DestroyError`](crate::DestroyError)).

use std::fmt;

/// Why an instance operation was refused.
///
/// Every variant names the instance (or hook) involved and says what to do,
/// so `eprintln!("{err}")` is a complete message.
///
/// ```
/// # vnet_runtime::boot();
/// let err = vnet_runtime::vnet0().destroy().unwrap_err();
/// assert!(matches!(err.error(), vnet_runtime::Error::Vnet0));
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
    /// `destroy` was refused, and changed nothing, because the instance
    /// (or a descendant) is in use by something destroy does not stop
    /// itself: `holder` says what. (Owned work — callouts, handlers, owned
    /// threads and tasks — never makes destroy busy: destroy stops it.)
    Busy {
        /// The instance that is in use.
        name: String,
        /// What holds it.
        holder: Holder,
    },
    /// `destroy` was called from inside the instance (or a descendant)
    /// itself: from its own callout, event handler, owned thread or task,
    /// or inside an `enter` closure or guard on the calling thread. Refused,
    /// with nothing changed: destroying it would have to wait for the very
    /// code that asks. Destroy it from elsewhere (another thread or task).
    DestroyFromWithin {
        /// The instance.
        name: String,
        /// Where the call comes from ("its own callout", ...).
        from: String,
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
            Error::Busy { name, holder } => write!(f, "vnet `{name}` {holder}"),
            Error::DestroyFromWithin { name, from } => write!(
                f,
                "vnet `{name}` cannot be destroyed from inside itself ({from}): destroying it would \
                 wait for this very code; nothing was changed. Destroy it from another thread or task"
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

/// What keeps an instance busy when `destroy` is refused ([`Error::Busy`]).
///
/// ```
/// use std::future::Future;
/// use vnet_runtime::{Error, Holder, Vnet, VnetFutureExt};
/// # if !vnet_runtime::VIMAGE { return; }
/// let v = Vnet::create("holder-doc").unwrap();
/// let mut request = Box::pin(async { std::future::pending::<()>().await }.in_vnet(&v));
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// let _ = request.as_mut().poll(&mut cx); // started: holds `v`
/// let refused = v.destroy().unwrap_err();
/// assert!(matches!(refused.error(), Error::Busy { holder: Holder::Futures { count: 1 }, .. }));
/// let v = refused.into_vnet(); // the handle comes back
/// drop(request); // the request ends (or is aborted)
/// v.destroy().unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Holder {
    /// The instance is current (or pinned by `V_X.with_in`) on a thread: a
    /// live guard, an `enter` closure, or a guard leaked with `mem::forget`
    /// or dropped out of order (then it stays pinned until that thread
    /// exits).
    Thread {
        /// The thread, as `thread `name` (ThreadId(n))`.
        thread: String,
        /// Where the guard was taken (`curvnet_set`, `enter`, ...), in
        /// debug builds; `None` in release builds and for a leaked guard.
        taken_at: Option<String>,
        /// Left behind by a leaked or out-of-order guard.
        leaked: bool,
    },
    /// Bound futures ([`in_vnet`](crate::VnetFutureExt::in_vnet),
    /// [`in_current_vnet`](crate::VnetFutureExt::in_current_vnet)) that were polled and not dropped yet: each holds the
    /// instance from its first poll to its end, as a request must. Await or
    /// abort them first; background tasks that should end with the
    /// instance are made with [`owned_by`](crate::VnetFutureExt::owned_by),
    /// which destroy cancels.
    Futures {
        /// How many.
        count: usize,
    },
    /// A descendant is being destroyed by another call right now; try
    /// again once that call returned.
    BeingDestroyed,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::Thread {
                thread,
                taken_at,
                leaked: false,
            } => {
                write!(f, "is current on {thread}")?;
                if let Some(at) = taken_at {
                    write!(f, " (guard taken at {at})")?;
                }
                f.write_str(
                    " (a live guard or an `enter` closure): leave it before destroying it; nothing was changed",
                )
            }
            Holder::Thread { thread, .. } => write!(
                f,
                "is pinned on {thread} by a guard leaked with mem::forget or dropped out of order \
                 (held across an `.await`?): it stays pinned until that thread exits; nothing was changed"
            ),
            Holder::Futures { count } => write!(
                f,
                "is held by {count} bound future(s) (`in_vnet` / `in_current_vnet`) that started and were \
                 not dropped: await or abort them first, or make background tasks with `owned_by`, \
                 which destroy cancels; nothing was changed"
            ),
            Holder::BeingDestroyed => f.write_str(
                "is being destroyed by another call (it or a descendant): try again once that returned",
            ),
        }
    }
}
