//! Output formats. **Architecture Invariant:** only this module knows JSON, SARIF, cargo's message
//! shape and the CI formats (GitHub workflow commands, GitLab Code Quality, JUnit XML); analyses
//! return [`Report`](crate::diag::Report)s and never print.

pub mod cargo;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod json;
pub mod junit;
pub mod order;
pub mod sarif;

use crate::diag::{Diagnostic, LineCol, SourceDb};

/// `--message-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style diagnostics, coloured on a terminal, with a summary line.
    #[default]
    Human,
    /// One JSON object per diagnostic, one per line.
    Json,
    /// One SARIF 2.1.0 log with rule metadata.
    Sarif,
    /// Cargo's `compiler-message` JSON lines, as `cargo check --message-format json` prints them.
    Cargo,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`): annotations on the diff.
    Github,
    /// A GitLab Code Quality report (JSON array), for `artifacts: reports: codequality:`.
    Gitlab,
    /// A JUnit XML report: one test case per file checked, findings as failures.
    Junit,
}

/// Start and end (one-based, end exclusive column) of a diagnostic, when it has a position.
pub(crate) fn positions(db: &SourceDb, diagnostic: &Diagnostic) -> Option<(LineCol, LineCol)> {
    let span = diagnostic.finding.span.as_ref()?;
    Some((
        db.line_col(diagnostic.finding.file, span.start),
        db.line_col(diagnostic.finding.file, span.end),
    ))
}
