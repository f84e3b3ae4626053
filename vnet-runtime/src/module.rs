//! Modules: FreeBSD's `DECLARE_MODULE`, `MODULE_VERSION`, `MODULE_DEPEND`
//! and modevent handlers, and `kldload` / `kldunload` / shutdown.
//!
//! A crate declares a module with `#[vnet_module]` on its event handler; the
//! lifecycle hooks of that crate belong to the module, load with it and
//! unload with it.
//!
//! ```
//! use vnet_runtime::module::{self, ModError, ModEvent};
//! use vnet_runtime::subsystem::*;
//!
//! #[vnet_runtime::vnet_module(counter, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY, version = 1)]
//! fn counter_modevent(event: ModEvent) -> Result<(), ModError> {
//!     match event {
//!         ModEvent::Load | ModEvent::Unload => Ok(()),
//!         _ => Err(ModError::unsupported()),
//!     }
//! }
//!
//! #[vnet_runtime::vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_ANY)]
//! fn counter_vnet_init() {}
//!
//! vnet_runtime::BootOptions::new().modules::<&str>([]).boot().unwrap(); // nothing at boot
//! assert!(!module::is_loaded("counter"));
//! let (_, lines) = vnet_runtime::trace::capture(|| module::load("counter").unwrap());
//! assert_eq!(lines[0], "MODEVENT(load) counter subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY version=1");
//! assert!(lines[1].starts_with("VNET_SYSINIT counter_vnet_init vnet=vnet0 "));
//! module::unload("counter").unwrap();
//! ```
//!
//! Loading a module loads its dependencies first; unloading a module that a
//! loaded module depends on is refused. See the crate docs for the order in
//! which events and hooks run, and [`introspect::modules`](crate::introspect::modules)
//! for the modules linked into the binary.

pub use crate::lifecycle::modevent::{ModError, ModEvent};

use crate::boot::boot;
use crate::lifecycle;
use crate::Error;

/// Loads module `name` after boot (FreeBSD's `kldload`): first the modules it
/// depends on that are not loaded, each with its own sequence; then its own
/// `MODEVENT(load)`, SYSINITs and VNET_SYSINITs (these once per live
/// instance, in creation order), sorted together by `(subsystem, order)`.
/// Instances created later run its VNET_SYSINITs too.
///
/// A failure rolls back everything this call did (dependencies included) and
/// returns the error naming the hook and module.
///
/// Refused ([`Error::Module`]) from a lifecycle hook or module event handler,
/// and ([`Error::InsideForeach`]) inside `vnet_foreach`.
pub fn load(name: &str) -> Result<(), Error> {
    refuse_inside_foreach()?;
    refuse_inside_step(name, "loaded")?;
    boot();
    lifecycle::load(name)
}

/// Unloads module `name` (FreeBSD's `kldunload`): `MODEVENT(quiesce)`, then
/// `MODEVENT(unload)` — either may veto, leaving everything loaded and intact
/// — then its VNET_SYSUNINITs on every instance and its SYSUNINITs, in
/// reverse `(subsystem, order)`. The handler is not called after them.
///
/// Refused while a loaded module depends on it, from a lifecycle hook or
/// module event handler (a handler unloading its own module), and inside
/// `vnet_foreach`. Modules loaded as its dependencies stay loaded.
pub fn unload(name: &str) -> Result<(), Error> {
    refuse_inside_foreach()?;
    refuse_inside_step(name, "unloaded")?;
    boot();
    lifecycle::unload(name, false)
}

/// [`unload`] ignoring a quiesce veto (`kldunload -f`); an unload veto still
/// refuses.
pub fn unload_forced(name: &str) -> Result<(), Error> {
    refuse_inside_foreach()?;
    refuse_inside_step(name, "unloaded")?;
    boot();
    lifecycle::unload(name, true)
}

/// Loading and unloading take the lifecycle lock exclusively; inside
/// `vnet_foreach` (instance list read-locked) that would deadlock against a
/// concurrent create, which holds the lifecycle lock and waits for the list.
fn refuse_inside_foreach() -> Result<(), Error> {
    #[cfg(feature = "vimage")]
    if crate::context::inside_foreach() {
        return Err(Error::InsideForeach);
    }
    Ok(())
}

/// A lifecycle hook or module handler runs while its thread holds the
/// lifecycle lock: a load or unload from there would deadlock (a hook of an
/// instance creation or destruction) or run inside another module's sequence
/// (a hook of boot, a load or an unload; a handler unloading its own module
/// would recurse forever).
fn refuse_inside_step(name: &str, what: &str) -> Result<(), Error> {
    if lifecycle::inside_step() {
        return Err(Error::Module {
            module: name.to_owned(),
            reason: format!(
                "cannot be {what} from a lifecycle hook or module event handler (this thread is \
                 running a lifecycle step); do it after the step returns"
            ),
        });
    }
    Ok(())
}

/// Sends `MODEVENT(shutdown)` to every loaded module, in reverse load order,
/// and nothing else: no teardown hook runs, no instance is destroyed, and
/// the modules stay loaded. Errors are traced and ignored.
///
/// The process shuts down once: later calls do nothing.
///
/// # Panics
///
/// When called from a lifecycle hook or module event handler, or inside
/// [`vnet_foreach`](crate::vnet_foreach) (it would deadlock).
pub fn shutdown() {
    #[cfg(feature = "vimage")]
    assert!(
        !crate::context::inside_foreach(),
        "module::shutdown() cannot run inside vnet_foreach (the instance list is read-locked)"
    );
    assert!(
        !lifecycle::inside_step(),
        "module::shutdown() cannot run from a lifecycle hook or module event handler"
    );
    boot();
    lifecycle::shutdown();
}

/// Whether module `name` is loaded.
pub fn is_loaded(name: &str) -> bool {
    boot();
    let cat = lifecycle::hooks::catalog();
    cat.module(name)
        .is_some_and(|m| lifecycle::hooks::state().lock().loaded.contains(&m))
}

/// Problems found at boot: ambiguous or misplaced hooks, duplicate modules,
/// dependencies that are not linked or have the wrong version, and hooks or
/// module events that failed during the boot sequence. With an implicit boot
/// they are also printed to stderr.
pub fn boot_errors() -> Vec<Error> {
    boot();
    lifecycle::hooks::state().lock().boot_errors.clone()
}
