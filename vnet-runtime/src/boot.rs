//! Booting: [`boot`], [`BootOptions`] and [`vnet0`]. Boot lays out the
//! per-instance block, creates vnet0 and runs the lifecycle's boot
//! sequence; every call that needs the runtime boots it on first use.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::OnceLock;

use parking_lot::ReentrantMutex;

use crate::instance::Vnet;
use crate::lifecycle;
use crate::Error;

static VNET0: OnceLock<Vnet> = OnceLock::new();

/// Starts the runtime (idempotent): lays out the per-instance block from
/// every `#[vnet]` static linked into the binary, creates `vnet0`, and runs
/// the boot sequence of the lifecycle.
///
/// Any call that needs the runtime boots it on first use, so calling `boot`
/// is optional; call it early to choose when boot hooks run.
///
/// ```
/// vnet_runtime::boot();
/// assert_eq!(vnet_runtime::vnet0().name(), "vnet0");
/// ```
pub fn boot() {
    booted();
}

/// Set once the boot sequence has finished.
static BOOTED: AtomicBool = AtomicBool::new(false);
/// Serializes boot; re-entrant so that boot hooks may use the runtime. The
/// flag says whether this process's boot sequence has started.
static BOOT_LOCK: ReentrantMutex<Cell<bool>> = ReentrantMutex::new(Cell::new(false));

#[inline]
pub(crate) fn booted() -> &'static Vnet {
    match VNET0.get() {
        Some(vnet0) if BOOTED.load(Acquire) => vnet0,
        _ => boot_slow(),
    }
}

#[cold]
fn boot_slow() -> &'static Vnet {
    let started = BOOT_LOCK.lock();
    let vnet0 = VNET0.get_or_init(Vnet::new_vnet0);
    if !started.replace(true) {
        // Hooks that call back into the runtime re-enter this lock on this
        // thread and see the boot as started; other threads wait for it.
        lifecycle::boot();
        BOOTED.store(true, Release);
    }
    vnet0
}

/// The default instance, created at boot and never destroyed.
///
/// ```
/// let v = vnet_runtime::vnet0();
/// assert_eq!(v, vnet_runtime::Vnet::lookup("vnet0").unwrap());
/// ```
pub fn vnet0() -> Vnet {
    booted().clone()
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
    /// (every one of them is in [`module::boot_errors`](crate::module::boot_errors)). A module that fails
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
        lifecycle::set_boot_options(self.modules)?;
        crate::policy::choose_at_boot(self.policy);
        boot();
        let errors = lifecycle::hooks::state().lock().boot_errors.clone();
        let about_named = errors
            .iter()
            .position(|e| matches!(e, Error::Module { module, .. } if named.contains(module)));
        match about_named.or((!errors.is_empty()).then_some(0)) {
            Some(i) => Err(errors[i].clone()),
            None => Ok(()),
        }
    }
}
