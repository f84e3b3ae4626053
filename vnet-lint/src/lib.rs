//! `vnet-lint`: finds mutable globals that are not per instance, init-order mistakes of lifecycle hooks
//! and modules, and code that loses the current instance, for porting code to the vnet model.
//!
//! A program ported to vnet keeps its state in `#[vnet] static` items, one copy per instance. Every other
//! mutable global is still one value for the whole process, shared by every instance; the lint finds them
//! all, says what kind each is, and says what to write instead.
//!
//! # Running it
//!
//! ```text
//! cargo install --path vnet-lint                       # provides `cargo vnet-lint`
//! cargo vnet-lint                                      # the package or workspace here
//! cargo vnet-lint check src/net --message-format json  # exactly these paths
//! cargo vnet-lint list                                 # every #[vnet] static: name, module, file:line
//! cargo vnet-lint explain VN102                        # what a rule finds and how to fix it
//! cargo vnet-lint order --format json                  # the init order: boot, create, destroy, load/unload, shutdown
//! ```
//!
//! Exit status: 0 when nothing is at the deny level, 1 for findings, 2 for usage errors and for files
//! that could not be read or parsed (reported as `VN001`/`VN002` while the run goes on).
//!
//! # What it reports
//!
//! | code | rule | finds |
//! |---|---|---|
//! | `VN101` | `static-mut` | `static mut` items |
//! | `VN102` | `interior-mutable-static` | statics of atomics, locks, cells, once/lazy cells, and crate types holding them |
//! | `VN103` | `lazy-static-global` | items inside `lazy_static!` |
//! | `VN104` | `thread-local-global` | items inside `thread_local!` (per thread, not per instance) |
//! | `VN105` | `suppression-without-reason` | process-wide markers and allow comments without a reason |
//! | `VN106` | `unknown-rule-in-allow` | allow comments naming a rule that does not exist |
//! | `VN107` | `foreign-global` | `extern` statics that Rust code writes (warning) |
//! | `VN108` | `half-ported-state` | a global static used together with a `V_` accessor (a half port) |
//! | `VN201` | `order-key-unresolved` | hook and module keys, versions, `module =` the lint cannot resolve |
//! | `VN202` | `vnet-hook-outside-vnet` | per-instance hooks outside `(SI_SUB_VNET, SI_SUB_VNET_DONE]` |
//! | `VN203` | `vnet-sysinit-before-module` | a VNET_SYSINIT before its module's load event or SYSINIT |
//! | `VN204` | `module-dependency` | missing, cyclic or version-excluded module dependencies |
//! | `VN205` | `init-without-uninit` | init hooks without teardown, teardown keyed unlike its init |
//! | `VN206` | `reads-state-initialized-later` | hooks using state set up later (through calls too), or of modules not depended on |
//! | `VN207` | `same-key-shared-state` | hooks tied on `(subsystem, order)` sharing state |
//! | `VN208` | `shutdown-tears-nothing-down` | an empty shutdown arm in a module with per-instance state |
//! | `VN209` | `unregistered-handler` | handlers registered in init hooks, never unregistered |
//! | `VN210` | `reads-state-torn-down` | teardown hooks using state another teardown already tore down |
//! | `VN301` | `guard-dropped-at-once` | `let _ = curvnet_set(…)`, `drop(curvnet_set(…))` and bare guard statements |
//! | `VN302` | `v-accessor-in-spawned-closure` | `V_` accessors in closures handed to spawns that carry no instance |
//! | `VN303` | `guard-held-across-await` | current-instance guards held across an `.await` |
//!
//! Constants, immutable data (`&str`, arrays, slices, `fn` pointers, plain numbers) and `#[vnet]`
//! statics are never reported; test code and `macro_rules!` bodies only with `--include-tests`.
//!
//! # Keeping a global on purpose
//!
//! State that belongs to one piece of hardware stays process-wide. Say so, with a reason:
//!
//! ```ignore
//! #[vnet_runtime::global(reason = "one register window per physical NIC")]
//! static NIC_REGS: AtomicPtr<u32> = AtomicPtr::new(ptr::null_mut());
//!
//! // vnet-lint: allow(interior-mutable-static): the console is one device
//! static CONSOLE: Mutex<Console> = Mutex::new(Console::new());
//! ```
//!
//! or list whole paths in `vnet-lint.toml` (or `[package.metadata.vnet-lint]`):
//!
//! ```toml
//! [paths]
//! global = ["src/drivers"]
//! [levels]
//! thread-local-global = "warn"
//! ```
//!
//! # As a library
//!
//! ```no_run
//! use vnet_lint::engine::{check_paths, Options};
//!
//! let report = check_paths(&["src".into()], &Options::default());
//! print!("{}", vnet_lint::emit::human::render_to_string(&report));
//! std::process::exit(report.exit_code());
//! ```
//!
//! The lint reads syntax only (syn): it never compiles or runs user code, and never panics on input.

pub mod cli;
pub mod diag;
pub mod discover;
pub mod docs;
pub mod emit;
pub mod engine;
pub mod fix;
pub mod model;
pub mod parse;
pub mod report;
pub mod rule;
pub mod rules;
#[cfg(test)]
mod testing;

/// Lints the contents of one file, given as bytes, as if read from `path` — the entry point for
/// fuzzing and for embedding. Everything is checked, test code and `macro_rules!` bodies included.
/// Bytes that are not UTF-8 are decoded lossily (the file walker reports such a file as `VN001`
/// instead). Never panics on any input: what does not parse is a `VN002` finding.
///
/// ```
/// let report = vnet_lint::check_source("src/lib.rs", b"static mut HITS: u32 = 0;\n");
/// assert_eq!(report.diagnostics[0].finding.rule.code, "VN101");
/// let report = vnet_lint::check_source("src/lib.rs", b"static X: u8 = ;");
/// assert_eq!(report.diagnostics[0].finding.rule.code, "VN002");
/// ```
pub fn check_source(path: &str, bytes: &[u8]) -> diag::Report {
    let text = String::from_utf8_lossy(bytes);
    let options = engine::Options {
        include_tests: true,
        ..engine::Options::default()
    };
    engine::check_source(path, &text, &options)
}
