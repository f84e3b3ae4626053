//! `VN1xx`: mutable state shared by every instance. The detection lives in `parse` (one file) and
//! `model::types` (types across a crate); these files hold what each code means.

pub mod foreign_global;
pub mod half_ported_state;
pub mod interior_mutable_static;
pub mod lazy_static_global;
pub mod static_mut;
pub mod suppression_without_reason;
pub mod thread_local_global;
pub mod unknown_rule_in_allow;

/// The note every global finding carries: how to keep a global on purpose.
pub(crate) const PROCESS_WIDE_NOTE: &str =
    "if it must stay process-wide (one piece of hardware), mark it \
     `#[vnet_runtime::global(reason = \"…\")]`";
