//! What the runtime records as it runs: one trace line per lifecycle step
//! (to stderr under `VNET_TRACE=1`, to this thread's open captures, and to
//! the boot record while booting) and the current-instance recursion log.
//! The public face, with the line format, is `crate::trace`; this part sits
//! low so that the lifecycle and the enter side can record.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::lifecycle::desc::{HookDesc, ModuleDesc};
use crate::lifecycle::modevent::ModEvent;
use crate::subsystem::{order_name, subsystem_name};

thread_local! {
    /// Open captures on this thread, innermost last.
    static CAPTURES: RefCell<Vec<Vec<String>>> = const { RefCell::new(Vec::new()) };
}

/// Whether `VNET_TRACE` asks for lines on stderr (read once).
fn to_stderr() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("VNET_TRACE").is_some_and(|v| !v.is_empty() && v != "0"))
}

/// Records the boot sequence, which runs once per process on whichever
/// thread gets there first.
static BOOT_LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Set while the boot sequence runs (its lines are kept for [`boot_lines`]).
static BOOTING: AtomicBool = AtomicBool::new(false);

/// The boot sequence starts (`true`) or ends (`false`).
pub(crate) fn set_booting(on: bool) {
    BOOTING.store(on, Relaxed);
}

/// How a step ended, as its trace line says.
pub(crate) enum Outcome<'a> {
    Ok,
    Failed(&'a str),
    Vetoed(&'a str),
    /// A quiesce veto that a forced unload ignored.
    VetoIgnored(&'a str),
    /// The handler does not handle this event (counts as success).
    Unsupported,
}

impl Outcome<'_> {
    fn suffix(&self) -> String {
        match self {
            Outcome::Ok => String::new(),
            Outcome::Failed(e) => format!(" result=failed error={}", quote(e)),
            Outcome::Vetoed(e) => format!(" result=vetoed error={}", quote(e)),
            Outcome::VetoIgnored(e) => format!(" result=veto-ignored error={}", quote(e)),
            Outcome::Unsupported => " result=unsupported".to_owned(),
        }
    }
}

/// The line of one hook: `EVENT name[ vnet=NAME] subsystem=… order=…
/// module=…[ result=…]`.
pub(crate) fn hook_line(d: &HookDesc, vnet: Option<&str>, module: &str, outcome: &Outcome<'_>) {
    emit(format!(
        "{} {}{} subsystem={} order={} module={module}{}",
        d.kind.event(),
        d.name,
        vnet.map(|v| format!(" vnet={v}")).unwrap_or_default(),
        subsystem_name(d.subsystem),
        order_name(d.order),
        outcome.suffix()
    ));
}

/// The line of one module event: `MODEVENT(event) name`, with the module's
/// key and version for `load`.
pub(crate) fn modevent_line(d: &ModuleDesc, event: ModEvent, outcome: &Outcome<'_>) {
    let key = if event == ModEvent::Load {
        format!(
            " subsystem={} order={} version={}",
            subsystem_name(d.subsystem),
            order_name(d.order),
            d.version
        )
    } else {
        String::new()
    };
    emit(format!(
        "MODEVENT({event}) {}{key}{}",
        d.name,
        outcome.suffix()
    ));
}

/// Emits one trace line: to stderr under `VNET_TRACE=1`, to every open
/// capture on this thread, and to the boot record while booting.
fn emit(line: String) {
    if to_stderr() {
        eprintln!("{line}");
    }
    if BOOTING.load(Relaxed) {
        BOOT_LINES.lock().push(line.clone());
    }
    CAPTURES.with(|c| {
        for capture in c.borrow_mut().iter_mut() {
            capture.push(line.clone());
        }
    });
}

/// Reports something a user must see (a destroy waiting long on owned
/// work): always on stderr, and to every open capture on this thread.
pub(crate) fn report(line: String) {
    eprintln!("{line}");
    CAPTURES.with(|c| {
        for capture in c.borrow_mut().iter_mut() {
            capture.push(line.clone());
        }
    });
}

/// Runs `f` and returns what it returned with the trace lines of the
/// lifecycle steps run on this thread meanwhile. Captures nest.
///
/// ```
/// use vnet_runtime::{trace, Vnet};
/// vnet_runtime::boot();
/// let (created, lines) = trace::capture(|| Vnet::create("traced"));
/// assert!(lines.iter().all(|l| l.contains("vnet=traced"))); // its VNET_SYSINITs
/// # if let Ok(v) = created { v.destroy().unwrap(); }
/// ```
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    struct Close;
    impl Drop for Close {
        fn drop(&mut self) {
            CAPTURES.with(|c| c.borrow_mut().pop());
        }
    }
    CAPTURES.with(|c| c.borrow_mut().push(Vec::new()));
    let close = Close;
    let out = f();
    let lines = CAPTURES.with(|c| {
        c.borrow_mut()
            .last_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    });
    drop(close);
    (out, lines)
}

/// The lines recorded while the boot sequence ran.
pub(crate) fn boot_lines() -> Vec<String> {
    BOOT_LINES.lock().clone()
}

/// `"text"` with `"` and `\` escaped and control characters shown escaped,
/// so a value never breaks the one-line format.
pub(crate) fn quote(text: &str) -> String {
    format!("{:?}", text)
}

/// One `curvnet_set` made while a different instance was current (recorded
/// in debug builds only, as FreeBSD's `VNET_DEBUG` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recursion {
    /// Where the inner `curvnet_set` (or `enter`) was called.
    pub location: &'static std::panic::Location<'static>,
    /// The instance that was current.
    pub outer: String,
    /// The instance made current on top of it.
    pub inner: String,
}

impl std::fmt::Display for Recursion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "curvnet_set recursion at {}: {} -> {}",
            self.location, self.outer, self.inner
        )
    }
}

/// How many distinct recursions are kept (oldest kept, later ones dropped).
const RECURSION_LOG_MAX: usize = 1024;

static RECURSIONS: Mutex<Vec<Recursion>> = Mutex::new(Vec::new());

/// Records a recursion once per (location, outer, inner).
#[cfg_attr(not(all(feature = "vimage", debug_assertions)), allow(dead_code))]
pub(crate) fn log_recursion(
    location: &'static std::panic::Location<'static>,
    outer: &str,
    inner: &str,
) {
    let mut log = RECURSIONS.lock();
    let seen = log
        .iter()
        .any(|r| r.location == location && r.outer == outer && r.inner == inner);
    if !seen && log.len() < RECURSION_LOG_MAX {
        log.push(Recursion {
            location,
            outer: outer.to_owned(),
            inner: inner.to_owned(),
        });
    }
}

/// Every distinct current-instance recursion seen so far: a guard set while a
/// *different* instance was current, with where and which instances. Empty in
/// release builds and with `vimage` off. The switches the lifecycle makes to
/// run per-instance hooks are not recorded (FreeBSD's `CURVNET_SET_QUIET`).
///
/// ```
/// use vnet_runtime::{trace, Vnet};
/// # if let (Ok(a), Ok(b)) = (Vnet::create("rec-outer"), Vnet::create("rec-inner")) {
/// a.enter(|| b.enter(|| ())); // b set while a is current
/// if cfg!(debug_assertions) {
///     assert!(trace::recursions().iter().any(|r| r.outer == "rec-outer" && r.inner == "rec-inner"));
/// }
/// # a.destroy().unwrap(); b.destroy().unwrap();
/// # }
/// ```
pub fn recursions() -> Vec<Recursion> {
    RECURSIONS.lock().clone()
}
