//! `VN105 suppression-without-reason`: a process-wide marker or an allow comment that gives no reason.

use crate::diag::{FileId, Finding};
use crate::rules::declare_rule;
use std::ops::Range;

declare_rule! {
    /// ## What it does
    /// Checks that every process-wide marker (`#[vnet_runtime::global(reason = "…")]`) and every allow
    /// comment (`// vnet-lint: allow(RULE): reason`) gives a non-empty reason.
    ///
    /// ## Why is this bad?
    /// Keeping a global process-wide is a design decision: the porting guide keeps "a driver for specific
    /// hardware" global because "there is only one piece of hardware". Without the reason, the next reader
    /// cannot tell a deliberate exception from a global someone silenced to make CI pass. The marked item
    /// is still not reported; only the missing reason is.
    ///
    /// ## Example
    /// ```rust,ignore
    /// #[vnet_runtime::global]
    /// static NIC_REGS: AtomicPtr<u32> = AtomicPtr::new(ptr::null_mut());
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_runtime::global(reason = "one register window per physical NIC")]
    /// static NIC_REGS: AtomicPtr<u32> = AtomicPtr::new(ptr::null_mut());
    /// ```
    pub SuppressionWithoutReason => "VN105", "suppression-without-reason", Globals, Deny, since "0.1.0",
    "process-wide markers and allow comments that give no reason"
}

/// The finding for a marker at `span` in `file` that gives no reason; `what` names the marker.
/// Reports allow comments and `#[global]` markers of one file that give no reason.
pub fn check(file: FileId, facts: &crate::parse::GlobalsFacts) -> Vec<Finding> {
    let comments = facts
        .directives
        .without_reason()
        .map(|d| finding(file, d.span.clone(), "allow comment"));
    let markers = facts
        .markers_without_reason
        .iter()
        .map(|span| finding(file, span.clone(), "process-wide marker"));
    comments.chain(markers).collect()
}

fn finding(file: FileId, span: Range<usize>, what: &str) -> Finding {
    Finding::new(
        &SuppressionWithoutReason::RULE,
        file,
        Some(span),
        format!("{what} gives no reason"),
    )
    .with_label("reason missing")
    .with_help(
        "say why the item stays process-wide: `#[vnet_runtime::global(reason = \"…\")]` or \
         `// vnet-lint: allow(RULE): reason`",
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn markers_and_comments_need_a_reason() {
        check(
            r#"
  #[global]
//^^^^^^^^^ VN105
  static A: Mutex<u8> = Mutex::new(0);
  // vnet-lint: allow(VN102)
//^^^^^^^^^^^^^^^^^^^^^^^^^^ VN105
  static B: Mutex<u8> = Mutex::new(0);
// vnet-lint: allow(VN102): the one NIC
static C: Mutex<u8> = Mutex::new(0);
"#,
        );
    }
}
