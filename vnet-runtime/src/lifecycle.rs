//! The ordered lifecycle: boot, per-instance init and teardown hooks.
//!
//! Instance creation and destruction hold the lifecycle lock shared; module
//! load and unload hold it exclusively, so a module's per-instance hooks see a
//! stable set of instances (no registration race).

use parking_lot::{RecursiveRwLock, RecursiveRwLockReadGuard};

use crate::{Error, Vnet};

/// Guards the set of loaded hooks against instances coming and going.
static LIFECYCLE: RecursiveRwLock<()> = RecursiveRwLock::new(());

/// The shared side of the lifecycle lock (recursive: hooks may create instances).
pub(crate) type ReadGuard = RecursiveRwLockReadGuard<'static, ()>;

pub(crate) fn read() -> ReadGuard {
    LIFECYCLE.read()
}

/// Runs the boot sequence with vnet0 existing.
pub(crate) fn boot(_vnet0: &Vnet) {}

/// Runs every loaded per-instance init hook on a new instance.
pub(crate) fn create(_lock: &ReadGuard, _vnet: &Vnet) -> Result<(), Error> {
    Ok(())
}

/// Runs every loaded per-instance teardown hook on a dying instance.
pub(crate) fn destroy(_lock: &ReadGuard, _vnet: &Vnet) {}
