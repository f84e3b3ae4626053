//! The rule catalog: every diagnostic code the lint can emit, with its documentation.
//!
//! A rule is one file holding its documentation (the template of STYLE.md §2) and its metadata, declared
//! with `declare_rule!`. The order of [`RULES`] is the order of `explain` and of the SARIF rule table.
//! Families: `VN0xx` input problems, `VN1xx` globals, `VN2xx` ordering, `VN3xx` context.

pub mod builtin;
pub mod context;
pub mod globals;
pub mod order;

use std::fmt;

/// How seriously a rule's findings are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The rule is off: its findings are dropped.
    Allow,
    /// Findings are reported as warnings and do not fail the run.
    Warn,
    /// Findings are reported as errors and make the run exit with status 1.
    Deny,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Allow => "allow",
            Level::Warn => "warn",
            Level::Deny => "deny",
        })
    }
}

/// The family of a rule, shown by the hundreds digit of its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `VN0xx`: the input could not be read or parsed. Always reported, exit status 2.
    Input,
    /// `VN1xx`: mutable state that is not per instance.
    Globals,
    /// `VN2xx`: init order of lifecycle hooks and modules.
    Ordering,
    /// `VN3xx`: which instance is current.
    Context,
}

/// Everything known about one rule, next to its documentation.
#[derive(Debug)]
pub struct Rule {
    /// Stable code, e.g. `VN102`. Codes are never reused.
    pub code: &'static str,
    /// Kebab-case name of the flagged pattern, e.g. `interior-mutable-static`.
    pub name: &'static str,
    /// The family, matching the hundreds digit of `code`.
    pub family: Family,
    /// The level used when neither configuration nor command line sets one.
    pub default_level: Level,
    /// The version that introduced the rule.
    pub since: &'static str,
    /// One line saying what the rule finds (SARIF `shortDescription`).
    pub summary: &'static str,
    /// The rule's documentation in Markdown, as written on its declaration.
    pub doc: &'static str,
}

impl Rule {
    /// The rule's documentation with the one-space indent of `///` comments removed.
    pub fn doc_text(&self) -> String {
        let mut out = String::with_capacity(self.doc.len());
        for line in self.doc.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        out
    }

    /// The snake_case name used for the rule's source file and fixture folder.
    pub fn file_stem(&self) -> String {
        self.name.replace('-', "_")
    }
}

/// Declares a rule: a unit struct carrying the documentation, and a `RULE` constant with its metadata.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// …
///     pub StaticMut => "VN101", "static-mut", Globals, Deny, since "0.1.0",
///     "`static mut` items, one mutable value for the whole process"
/// }
/// ```
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub $ty:ident => $code:literal, $name:literal, $family:ident, $level:ident, since $since:literal,
        $summary:literal
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        pub struct $ty;

        impl $ty {
            /// The rule's metadata and documentation.
            pub const RULE: $crate::rules::Rule = $crate::rules::Rule {
                code: $code,
                name: $name,
                family: $crate::rules::Family::$family,
                default_level: $crate::rules::Level::$level,
                since: $since,
                summary: $summary,
                doc: concat!($($doc, "\n"),*),
            };
        }
    };
}
pub(crate) use declare_rule;

/// Every rule, in documentation order.
pub static RULES: &[&Rule] = &[
    &builtin::io_error::IoError::RULE,
    &builtin::parse_error::ParseError::RULE,
    &globals::static_mut::StaticMut::RULE,
    &globals::interior_mutable_static::InteriorMutableStatic::RULE,
    &globals::lazy_static_global::LazyStaticGlobal::RULE,
    &globals::thread_local_global::ThreadLocalGlobal::RULE,
    &globals::suppression_without_reason::SuppressionWithoutReason::RULE,
    &globals::unknown_rule_in_allow::UnknownRuleInAllow::RULE,
    &order::order_key_unresolved::OrderKeyUnresolved::RULE,
    &order::vnet_hook_outside_vnet::VnetHookOutsideVnet::RULE,
    &order::vnet_sysinit_before_module::VnetSysinitBeforeModule::RULE,
    &order::module_dependency::ModuleDependency::RULE,
    &order::init_without_uninit::InitWithoutUninit::RULE,
    &context::guard_dropped_at_once::GuardDroppedAtOnce::RULE,
    &context::v_accessor_in_spawned_closure::VAccessorInSpawnedClosure::RULE,
];

/// Finds a rule by code (`VN102`, any case) or by name (`interior-mutable-static` or `interior_mutable_static`).
pub fn find(key: &str) -> Option<&'static Rule> {
    let key = key.trim();
    RULES.iter().copied().find(|rule| {
        rule.code.eq_ignore_ascii_case(key) || rule.name == key || rule.file_stem() == key
    })
}

/// Shorthands for the rules the analysis emits.
pub mod id {
    use super::Rule;

    /// `VN001 io-error`.
    pub const IO_ERROR: &Rule = &super::builtin::io_error::IoError::RULE;
    /// `VN002 parse-error`.
    pub const PARSE_ERROR: &Rule = &super::builtin::parse_error::ParseError::RULE;
    /// `VN101 static-mut`.
    pub const STATIC_MUT: &Rule = &super::globals::static_mut::StaticMut::RULE;
    /// `VN102 interior-mutable-static`.
    pub const INTERIOR_MUTABLE_STATIC: &Rule =
        &super::globals::interior_mutable_static::InteriorMutableStatic::RULE;
    /// `VN103 lazy-static-global`.
    pub const LAZY_STATIC_GLOBAL: &Rule =
        &super::globals::lazy_static_global::LazyStaticGlobal::RULE;
    /// `VN104 thread-local-global`.
    pub const THREAD_LOCAL_GLOBAL: &Rule =
        &super::globals::thread_local_global::ThreadLocalGlobal::RULE;
    /// `VN105 suppression-without-reason`.
    pub const SUPPRESSION_WITHOUT_REASON: &Rule =
        &super::globals::suppression_without_reason::SuppressionWithoutReason::RULE;
}

/// The in-file test helper of the rules: tiny cases marked with `//^^^ CODE` under the flagged span.
#[cfg(test)]
pub(crate) mod testing {
    use crate::engine::{check_source, Options};

    /// Lints `src` and checks that the diagnostics are exactly the marked ones: a line `//^^^ VN102`
    /// marks, on the nearest line above that is not a marker, the columns of its carets.
    pub(crate) fn check(src: &str) {
        check_with(src, &Options::default());
    }

    /// [`check`] with `--include-tests`: test code and `macro_rules!` bodies are read too.
    pub(crate) fn check_including_tests(src: &str) {
        let options = Options {
            include_tests: true,
            ..Options::default()
        };
        check_with(src, &options);
    }

    fn check_with(src: &str, options: &Options) {
        let lines: Vec<&str> = src.lines().collect();
        let mut expected = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let Some(start) = line.find("//^") else {
                continue;
            };
            let carets = &line[start + 2..];
            let width = carets.chars().take_while(|&c| c == '^').count();
            let code = carets[width..].trim().to_owned();
            let target = (0..index)
                .rev()
                .find(|&i| !lines[i].contains("//^"))
                .expect("a code line");
            expected.push((target + 1, start + 2, start + 2 + width, code));
        }
        let report = check_source("case.rs", src, options);
        let mut actual: Vec<_> = report
            .diagnostics
            .iter()
            .map(|d| {
                let span = d.finding.span.clone().expect("a span");
                let start = report.db.line_col(d.finding.file, span.start);
                let end = report.db.line_col(d.finding.file, span.end);
                (
                    start.line,
                    start.column - 1,
                    end.column - 1,
                    d.finding.rule.code.to_owned(),
                )
            })
            .collect();
        expected.sort();
        actual.sort();
        assert_eq!(
            actual, expected,
            "(line, start column, end column, code) in:\n{src}"
        );
    }
}
