//! What a rule is: its metadata, levels and families, and `declare_rule!`, which puts a rule's
//! documentation and metadata in the rule's own file. The base of the lint: it imports nothing else.

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

    /// Whether `key` names this rule: its code (any case), its name, or its snake_case name.
    ///
    /// ```
    /// let rule = vnet_lint::rules::find("VN101").unwrap();
    /// assert!(rule.is_named("static_mut") && rule.is_named("vn101"));
    /// ```
    pub fn is_named(&self, key: &str) -> bool {
        let key = key.trim();
        self.code.eq_ignore_ascii_case(key) || self.name == key || self.file_stem() == key
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
            pub const RULE: $crate::rule::Rule = $crate::rule::Rule {
                code: $code,
                name: $name,
                family: $crate::rule::Family::$family,
                default_level: $crate::rule::Level::$level,
                since: $since,
                summary: $summary,
                doc: concat!($($doc, "\n"),*),
            };
        }
    };
}
pub(crate) use declare_rule;
