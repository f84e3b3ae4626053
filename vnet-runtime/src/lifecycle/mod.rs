//! The ordered lifecycle: boot, per-instance init and teardown hooks, modules.
//!
//! Hooks (`#[sysinit]`, `#[sysuninit]`, `#[vnet_sysinit]`,
//! `#[vnet_sysuninit]`) and modules (`#[vnet_module]`) register descriptors
//! in linker-collected slices ([`HOOKS`], [`MODULES`]). At boot the
//! [`catalog`] resolves them once; the [`engine`] runs them in `(subsystem,
//! order)` order and keeps the set of loaded hooks.
//!
//! **Architecture Invariant:** instance creation and destruction hold the
//! lifecycle lock shared, from their first hook until the instance is in (or
//! out of) the instance list; boot, module load, unload and shutdown hold it
//! exclusively. So a module's per-instance hooks see a stable set of
//! instances: every instance that ends up live runs each loaded module's
//! VNET_SYSINITs exactly once, and every initialized one its VNET_SYSUNINITs
//! exactly once (FreeBSD has a window here; Linux's `pernet_ops_rwsem` closes
//! it the same way).

use std::cell::Cell;

use linkme::distributed_slice;
use parking_lot::{RecursiveRwLock, RecursiveRwLockWriteGuard};

use crate::{Error, Vnet};

mod catalog;
mod engine;
// Introspection (`introspect::sysinits`): the catalog as plain data.
pub(crate) mod listing;
pub mod module;

/// Which kind of hook a descriptor registers.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookKind {
    /// `#[sysinit]`: once per process, at load.
    Sysinit,
    /// `#[sysuninit]`: once per process, at unload.
    Sysuninit,
    /// `#[vnet_sysinit]`: once per instance, at creation or module load.
    VnetSysinit,
    /// `#[vnet_sysuninit]`: once per instance, at destruction or module unload.
    VnetSysuninit,
}

impl HookKind {
    /// The name trace lines start with.
    pub fn event(self) -> &'static str {
        match self {
            HookKind::Sysinit => "SYSINIT",
            HookKind::Sysuninit => "SYSUNINIT",
            HookKind::VnetSysinit => "VNET_SYSINIT",
            HookKind::VnetSysuninit => "VNET_SYSUNINIT",
        }
    }
}

/// Registration record of one lifecycle hook (built by the attribute macros).
#[doc(hidden)]
pub struct HookDesc {
    pub kind: HookKind,
    /// The function's name.
    pub name: &'static str,
    pub subsystem: u32,
    pub order: u32,
    /// `module = name` when given.
    pub module: Option<&'static str>,
    pub module_path: &'static str,
    pub file: &'static str,
    pub line: u32,
    /// Calls the hook and converts its return value.
    pub run: fn() -> Result<(), String>,
}

/// One `depend(name, min, preferred, max)` of a module.
#[doc(hidden)]
pub struct DependDesc {
    pub name: &'static str,
    /// The crate expected to declare it (named in the error when it is not linked).
    pub krate: &'static str,
    pub min: u32,
    pub preferred: u32,
    pub max: u32,
}

/// Registration record of one module (built by `#[vnet_module]`).
#[doc(hidden)]
pub struct ModuleDesc {
    pub name: &'static str,
    pub subsystem: u32,
    pub order: u32,
    pub version: u32,
    pub depends: &'static [DependDesc],
    pub handler: fn(module::ModEvent) -> Result<(), module::ModError>,
    pub module_path: &'static str,
    pub file: &'static str,
    pub line: u32,
}

/// Every lifecycle hook linked into the binary.
#[doc(hidden)]
#[distributed_slice]
pub static HOOKS: [HookDesc];

/// Every module linked into the binary.
#[doc(hidden)]
#[distributed_slice]
pub static MODULES: [ModuleDesc];

/// What the wrapper around a hook returns: its error rendered.
#[doc(hidden)]
pub type HookResult = Result<(), String>;

/// What a lifecycle hook may return: `()`, or `Result<(), E>` with `E: Display`.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a lifecycle hook must return `()` or `Result<(), E>` with `E: Display`, not `{Self}`",
    label = "returns `{Self}`",
    note = "an `Err` from an init hook is a failure: the step is rolled back and the error names the hook"
)]
pub trait HookReturn {
    /// The hook's result, its error rendered.
    fn into_hook_result(self) -> Result<(), String>;
}

impl HookReturn for () {
    fn into_hook_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display> HookReturn for Result<(), E> {
    fn into_hook_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// Guards the set of loaded hooks against instances coming and going.
static LIFECYCLE: RecursiveRwLock<()> = RecursiveRwLock::new(());

thread_local! {
    /// Whether this thread holds the lifecycle lock exclusively (it runs boot,
    /// a module load or unload), so hooks it runs may create and destroy
    /// instances without deadlocking on their own lock.
    static EXCLUSIVE: Cell<bool> = const { Cell::new(false) };
    /// How many lifecycle guards (shared or exclusive) this thread holds: it
    /// is running a lifecycle step, so its hooks may not load, unload or
    /// shut down modules (a deadlock on the lock, or a sequence run twice).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether this thread is inside a lifecycle step (boot, instance creation or
/// destruction, module load, unload or shutdown), i.e. in a hook or handler.
pub(crate) fn inside_step() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Counts one guard held by this thread.
struct Depth;

impl Depth {
    fn enter() -> Depth {
        DEPTH.with(|d| d.set(d.get() + 1));
        Depth
    }
}

impl Drop for Depth {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get() - 1));
    }
}

#[cfg(feature = "vimage")]
/// The shared side of the lifecycle lock (recursive: hooks may create instances).
pub(crate) struct ReadGuard {
    _guard: Option<parking_lot::RecursiveRwLockReadGuard<'static, ()>>,
    _depth: Depth,
}

#[cfg(feature = "vimage")]
pub(crate) fn read() -> ReadGuard {
    if EXCLUSIVE.with(Cell::get) {
        return ReadGuard {
            _guard: None,
            _depth: Depth::enter(),
        };
    }
    ReadGuard {
        _guard: Some(LIFECYCLE.read()),
        _depth: Depth::enter(),
    }
}

/// The exclusive side, re-entrant on the thread that holds it.
pub(crate) struct WriteGuard {
    guard: Option<RecursiveRwLockWriteGuard<'static, ()>>,
    _depth: Depth,
}

pub(crate) fn write() -> WriteGuard {
    if EXCLUSIVE.with(Cell::get) {
        return WriteGuard {
            guard: None,
            _depth: Depth::enter(),
        };
    }
    let guard = LIFECYCLE.write();
    EXCLUSIVE.with(|e| e.set(true));
    WriteGuard {
        guard: Some(guard),
        _depth: Depth::enter(),
    }
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        if self.guard.take().is_some() {
            EXCLUSIVE.with(|e| e.set(false));
        }
    }
}

/// Runs the boot sequence with vnet0 existing.
pub(crate) fn boot(vnet0: &Vnet) {
    engine::boot(vnet0);
}

#[cfg(feature = "vimage")]
/// Runs every loaded per-instance init hook on a new instance.
pub(crate) fn create(_lock: &ReadGuard, vnet: &Vnet) -> Result<(), Error> {
    engine::create(vnet)
}

#[cfg(feature = "vimage")]
/// Runs every loaded per-instance teardown hook on a dying instance.
pub(crate) fn destroy(_lock: &ReadGuard, vnet: &Vnet) {
    engine::destroy(vnet);
}

/// Boot options: which modules load at boot. Without them (or with
/// [`boot`](crate::boot)), every linked module loads at boot.
///
/// ```
/// // Load no module at boot; load them later with `module::load`.
/// vnet_runtime::BootOptions::new().modules::<&str>([]).boot().unwrap();
/// assert!(vnet_runtime::BootOptions::new().boot().is_err()); // booted already
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "the options do nothing until `boot` is called"]
pub struct BootOptions {
    modules: Option<Vec<String>>,
    policy: Option<crate::ContextPolicy>,
}

impl BootOptions {
    /// Default options: every linked module loads at boot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads only these modules (and their dependencies) at boot.
    pub fn modules<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.modules = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// What a `V_` access does on a thread with no current instance, for the
    /// whole process (it overrides a [`context_policy!`](crate::context_policy!)
    /// declaration).
    ///
    /// ```
    /// use vnet_runtime::{BootOptions, ContextPolicy};
    /// BootOptions::new().context_policy(ContextPolicy::DefaultInstance).boot().unwrap();
    /// assert_eq!(ContextPolicy::current(), ContextPolicy::DefaultInstance);
    /// ```
    pub fn context_policy(mut self, policy: crate::ContextPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// Boots the runtime with these options and returns the first boot error
    /// (every one of them is in [`module::boot_errors`]). A module that fails
    /// to load at boot is left unloaded, with the modules that depend on it,
    /// and the boot goes on.
    ///
    /// Fails with [`Error::AlreadyBooted`] when the runtime was booted
    /// already (explicitly, or implicitly by its first use).
    ///
    /// The error returned is about a module these options name (one not
    /// linked, say) when there is one.
    pub fn boot(self) -> Result<(), Error> {
        let named = self.modules.clone().unwrap_or_default();
        engine::set_boot_options(self.modules)?;
        crate::policy::choose_at_boot(self.policy);
        crate::boot();
        let errors = module::boot_errors();
        let about_named = errors
            .iter()
            .position(|e| matches!(e, Error::Module { module, .. } if named.contains(module)));
        match about_named.or((!errors.is_empty()).then_some(0)) {
            Some(i) => Err(errors[i].clone()),
            None => Ok(()),
        }
    }
}
