//! What the attribute macros register: one descriptor per hook
//! ([`HookDesc`]) and per module ([`ModuleDesc`]), in linker-collected
//! slices, and what a hook may return. Plain data, read by the catalog.

use linkme::distributed_slice;

use super::modevent::{ModError, ModEvent};

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
    pub handler: fn(ModEvent) -> Result<(), ModError>,
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
