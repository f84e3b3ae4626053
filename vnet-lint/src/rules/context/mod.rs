//! `VN3xx`: the current instance. Each rule is a function from one file's facts to findings.

pub mod guard_dropped_at_once;
pub mod v_accessor_in_spawned_closure;

use crate::diag::{FileId, Finding};
use crate::parse::lifecycle::ModelFacts;

/// Every context rule over one file's facts.
pub fn check(file: FileId, facts: &ModelFacts) -> Vec<(Finding, usize)> {
    let mut out = Vec::new();
    guard_dropped_at_once::check(file, facts, &mut out);
    v_accessor_in_spawned_closure::check(file, facts, &mut out);
    out
}
