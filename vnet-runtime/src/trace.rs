//! Observing the lifecycle: one line per step, and the current-instance
//! recursion log (FreeBSD's verbose sysinit and `VNET_DEBUG`).
//!
//! Every lifecycle step (module event, SYSINIT, SYSUNINIT, VNET_SYSINIT,
//! VNET_SYSUNINIT) produces one line when it finishes:
//!
//! ```text
//! MODEVENT(load) mymod subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+64 version=1
//! SYSINIT mymod_init subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+65 module=mymod
//! VNET_SYSINIT mymod_vnet_init vnet=test subsystem=SI_SUB_PROTO_BEGIN order=SI_ORDER_ANY+66 module=mymod
//! MODEVENT(quiesce) mymod result=vetoed error="mymod is busy"
//! ```
//!
//! The line starts with the event, then the module (for `MODEVENT`) or the
//! hook's function name, then ` vnet=NAME` for per-instance hooks, then
//! `key=value` fields. A step that failed or vetoed ends with `result=…` and
//! `error="…"`; a step that succeeded has no `result` field.
//!
//! With `VNET_TRACE=1` in the environment every line goes to stderr. Tests
//! capture the lines of the steps *their own thread* runs with [`capture`]
//! (lifecycle steps run on the thread that asked for them), so tests running
//! in parallel do not see each other's steps.

pub use crate::record::{capture, recursions, Recursion};

/// The trace lines of this process's boot sequence (boot runs once, on the
/// first thread that needs the runtime, so a test cannot always capture it).
/// Boots the runtime first.
///
/// ```
/// let lines = vnet_runtime::trace::boot_lines();
/// assert!(lines.iter().all(|l| !l.is_empty()));
/// ```
pub fn boot_lines() -> Vec<String> {
    crate::boot::boot();
    crate::record::boot_lines()
}
