//! `VN106 unknown-rule-in-allow`: an allow comment that names no rule of the lint.

use crate::diag::{FileId, Finding};
use crate::rules::declare_rule;
use std::ops::Range;

declare_rule! {
    /// ## What it does
    /// Checks that every rule an allow comment names (`// vnet-lint: allow(RULE): reason`) is a code or a
    /// name of the lint, as `cargo vnet-lint explain` lists them.
    ///
    /// ## Why is this bad?
    /// A misspelt rule suppresses nothing: the global the comment was meant to keep process-wide is still
    /// reported, or, worse, the comment outlives a rename and silently stops applying. Either way the
    /// reason written next to it no longer describes what the lint does.
    ///
    /// ## Example
    /// ```rust,ignore
    /// // vnet-lint: allow(interior-mutable-statics): one register window per NIC
    /// static NIC_REGS: AtomicPtr<u32> = AtomicPtr::new(ptr::null_mut());
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// // vnet-lint: allow(interior-mutable-static): one register window per NIC
    /// static NIC_REGS: AtomicPtr<u32> = AtomicPtr::new(ptr::null_mut());
    /// ```
    pub UnknownRuleInAllow => "VN106", "unknown-rule-in-allow", Globals, Deny, since "0.1.0",
    "allow comments that name a rule the lint does not have"
}

/// The finding for an allow comment at `span` in `file` that names `rule`, which does not exist.
/// Reports names in allow comments that are not rules of the lint.
pub fn check(file: FileId, directives: &crate::parse::directives::Directives) -> Vec<Finding> {
    let mut out = Vec::new();
    for directive in directives.all() {
        for name in &directive.rules {
            if crate::rules::find(name).is_none() {
                out.push(finding(file, directive.span.clone(), name));
            }
        }
    }
    out
}

fn finding(file: FileId, span: Range<usize>, rule: &str) -> Finding {
    Finding::new(
        &UnknownRuleInAllow::RULE,
        file,
        Some(span),
        format!("allow comment names `{rule}`, which is not a rule of vnet-lint"),
    )
    .with_label("unknown rule")
    .with_help("name a rule by code or name; `cargo vnet-lint explain` lists them")
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn names_must_be_codes_or_rule_names() {
        check(
            r#"
  // vnet-lint: allow(VN102, interior-mutable-statics): one NIC
//^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ VN106
  static A: u8 = 0;
  // vnet-lint: allow(vn102, interior_mutable_static): one NIC
  static B: u8 = 0;
"#,
        );
    }
}
