//! The ordered lifecycle: boot, per-instance init and teardown hooks, modules.
//!
//! Hooks (`#[sysinit]`, `#[sysuninit]`, `#[vnet_sysinit]`,
//! `#[vnet_sysuninit]`) and modules (`#[vnet_module]`) register descriptors
//! ([`desc`]) in linker-collected slices. At boot the [`catalog`] resolves
//! them once; [`hooks`] keeps the loaded modules and registered hook sets,
//! [`engine`] runs the operations in `(subsystem, order)` order, [`run`]
//! runs one step and traces it, and [`journal`] undoes a failed step.
//! Module events are [`modevent`]; the public face is `crate::module`.
//! This module runs on a `Vnet` it is given and never boots the runtime:
//! `crate::boot` is above it.
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

use parking_lot::{RecursiveRwLock, RecursiveRwLockWriteGuard};

#[cfg(feature = "vimage")]
use crate::instance::Vnet;
use crate::Error;

pub(crate) mod catalog;
pub(crate) mod desc;
mod engine;
pub(crate) mod hooks;
mod journal;
pub(crate) mod modevent;
mod run;

pub(crate) use desc::HookKind;
pub(crate) use engine::{load, shutdown, unload};

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

/// Runs the boot sequence (vnet0 exists and is listed).
pub(crate) fn boot() {
    engine::boot();
}

/// Records the modules to load at boot ([`Error::AlreadyBooted`] after boot).
pub(crate) fn set_boot_options(modules: Option<Vec<String>>) -> Result<(), Error> {
    hooks::set_boot_options(modules)
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
