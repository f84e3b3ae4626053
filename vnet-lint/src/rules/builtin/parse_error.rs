//! `VN002 parse-error`: a file is not valid Rust, or is nested too deeply to parse safely.

use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a Rust file the lint could not parse, pointing at the first token the parser rejected. Also
    /// reports files whose brackets or prefix operators nest deeper than the lint parses (256 levels), since
    /// parsing them could exhaust the stack.
    ///
    /// ## Why is this bad?
    /// The globals of a file that does not parse are not checked. The run goes on with the other files and
    /// exits with status 2.
    ///
    /// ## Example
    /// ```rust,ignore
    /// static COUNTER: AtomicU32 = ;
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// static COUNTER: AtomicU32 = AtomicU32::new(0);
    /// ```
    ///
    /// ## Known problems
    /// The lint reads syntax only: a file rustc accepts only after macro expansion or with an unstable
    /// feature the parser does not know is reported too. Of edition 2015 syntax, trait objects without
    /// `dyn` are read (`Box<Fn(u8) + Send>`); anonymous trait method parameters (`fn f(u8);`) are not.
    pub ParseError => "VN002", "parse-error", Input, Deny, since "0.1.0",
    "a file that could not be parsed as Rust"
}

/// Reports a file the parser could not read.
pub fn check(
    file: crate::diag::FileId,
    facts: &crate::parse::GlobalsFacts,
) -> Option<crate::diag::Finding> {
    let failure = facts.parse_failure.as_ref()?;
    let finding = crate::diag::Finding::new(&ParseError::RULE, file, failure.span.clone(), "");
    Some(match &failure.label {
        None => crate::diag::Finding {
            message: "this file nests deeper than the lint parses".into(),
            ..finding
        }
        .with_label(format!(
            "more than {} levels deep here",
            crate::parse::prefilter::MAX_NESTING
        ))
        .with_help("split the expression, or leave the generated file out of the paths to lint")
        .with_note("the file is skipped so that parsing it cannot exhaust the stack"),
        Some(label) => crate::diag::Finding {
            message: "this file is not valid Rust".into(),
            ..finding
        }
        .with_label(label.clone())
        .with_help("the lint reads files as written, without expanding macros: fix the syntax"),
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn edition_2015_bare_fn_trait_objects_parse() {
        check(
            r#"
type Action = Fn(&siginfo_t) + Send + Sync;
fn register(action: Box<FnMut(u8) -> Box<FnOnce()>>, f: &dyn Fn(), g: impl Fn()) {}
static GLOBAL_DATA: AtomicPtr<GlobalData> = AtomicPtr::new(ptr::null_mut());
                  //^^^^^^^^^^^^^^^^^^^^^ VN102
"#,
        );
    }

    #[test]
    fn other_errors_stand() {
        check(
            r#"
type A = std::ops::Fn(u8);
                   //^ VN002
static HITS: AtomicU64 = AtomicU64::new(0);
"#,
        );
    }
}
