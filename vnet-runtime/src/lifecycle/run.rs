//! Running one step: a hook with its instance current (the lifecycle's own
//! quiet switch), a module's event handler, a panic turned into an error,
//! and the step's trace line.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::hooks::catalog;
use super::modevent::{ModError, ModEvent};
use crate::instance::Vnet;
use crate::record::{self, Outcome};
use crate::Error;

/// Runs `f` with `vnet` current, without logging a recursion (the
/// lifecycle's own switch, FreeBSD's `CURVNET_SET_QUIET`).
pub(super) fn in_instance<R>(vnet: &Vnet, f: impl FnOnce() -> R) -> R {
    let _guard = vnet.push_quiet();
    f()
}

pub(super) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    format!("panicked: {msg}")
}

/// Runs hook `h` (with `vnet` current for per-instance hooks) and traces it.
pub(super) fn run_hook(h: usize, vnet: Option<&Vnet>) -> Result<(), String> {
    let hook = &catalog().hooks[h];
    let call = || {
        catch_unwind(AssertUnwindSafe(hook.desc.run)).unwrap_or_else(|p| Err(panic_message(&*p)))
    };
    let result = match vnet {
        Some(v) => in_instance(v, call),
        None => call(),
    };
    let outcome = match &result {
        Ok(()) => Outcome::Ok,
        Err(e) => Outcome::Failed(e),
    };
    record::hook_line(hook.desc, vnet.map(Vnet::name), hook.unit_name, &outcome);
    result
}

/// Calls module `m`'s handler (a panic is an error).
pub(super) fn call_modevent(m: usize, event: ModEvent) -> Result<(), ModError> {
    let handler = catalog().modules[m].desc.handler;
    catch_unwind(AssertUnwindSafe(|| handler(event)))
        .unwrap_or_else(|p| Err(ModError::new(panic_message(&*p))))
}

/// Traces module `m`'s event.
pub(super) fn modevent_line(m: usize, event: ModEvent, outcome: Outcome<'_>) {
    record::modevent_line(catalog().modules[m].desc, event, &outcome);
}

pub(super) fn hook_error(h: usize, vnet: Option<&Vnet>, reason: String) -> Error {
    let hook = &catalog().hooks[h];
    Error::Hook {
        hook: hook.desc.name.to_owned(),
        module: hook.unit_name.to_owned(),
        reason: match vnet {
            Some(v) => format!("{reason} (in vnet `{}`)", v.name()),
            None => reason,
        },
    }
}
