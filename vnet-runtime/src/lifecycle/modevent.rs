//! Module events and their errors: what a `#[vnet_module]` handler
//! receives and returns (FreeBSD's `modeventtype_t` and its error).

use std::fmt;

/// The event a module handler receives (FreeBSD's `MOD_LOAD`, `MOD_QUIESCE`,
/// `MOD_UNLOAD`, `MOD_SHUTDOWN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModEvent {
    /// The module is loading, at its `(subsystem, order)` among its hooks.
    /// An `Err` fails the load, which is rolled back.
    Load,
    /// First step of an unload; an `Err` vetoes it (a forced unload ignores
    /// the veto).
    Quiesce,
    /// Second step of an unload, *before* any teardown hook; an `Err` vetoes it
    /// (even when forced).
    Unload,
    /// The process shuts down: nothing else runs, so tear down what must be
    /// torn down here (the porting guide's example iterates the instances).
    Shutdown,
}

impl fmt::Display for ModEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModEvent::Load => "load",
            ModEvent::Quiesce => "quiesce",
            ModEvent::Unload => "unload",
            ModEvent::Shutdown => "shutdown",
        })
    }
}

/// A module handler's refusal or failure.
///
/// ```
/// use vnet_runtime::module::ModError;
/// let busy = ModError::new("3 rules still installed");
/// assert_eq!(busy.to_string(), "3 rules still installed");
/// assert!(ModError::unsupported().is_unsupported());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModError {
    message: String,
    unsupported: bool,
}

impl ModError {
    /// A failure (on `Load`) or veto (on `Quiesce`, `Unload`) with a reason.
    pub fn new(reason: impl fmt::Display) -> Self {
        ModError {
            message: reason.to_string(),
            unsupported: false,
        }
    }

    /// The handler does not handle this event (FreeBSD's `EOPNOTSUPP`): a
    /// success for `Quiesce` and `Shutdown`, a refusal for `Load` and
    /// `Unload` (a module that does not handle `Unload` cannot be unloaded).
    pub fn unsupported() -> Self {
        ModError {
            message: "event not supported by the module (EOPNOTSUPP)".to_owned(),
            unsupported: true,
        }
    }

    /// Whether this is [`ModError::unsupported`].
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }

    /// The reason.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ModError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ModError {}

impl From<&str> for ModError {
    fn from(reason: &str) -> Self {
        ModError::new(reason)
    }
}

impl From<String> for ModError {
    fn from(reason: String) -> Self {
        ModError::new(reason)
    }
}
