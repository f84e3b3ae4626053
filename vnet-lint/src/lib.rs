//! `vnet-lint`: finds mutable globals that are not per instance, for porting code to the vnet model.
//!
//! The lint reads syntax only (syn), never compiles or runs user code, and never panics on input: every
//! file it cannot read or parse becomes a diagnostic and the run goes on.
//!
//! ```no_run
//! use vnet_lint::engine::{check_paths, Options};
//!
//! let report = check_paths(&["src".into()], &Options::default());
//! print!("{}", vnet_lint::emit::human::render_to_string(&report));
//! std::process::exit(report.exit_code());
//! ```

pub mod analysis;
pub mod cli;
pub mod config;
pub mod diag;
pub mod emit;
pub mod engine;
pub mod prefilter;
pub mod resolve;
pub mod rules;
pub mod suppress;
pub mod walk;
pub mod workspace;
