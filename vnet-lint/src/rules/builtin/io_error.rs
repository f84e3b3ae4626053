//! `VN001 io-error`: a file or directory could not be read.

use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a path the lint could not read: a missing or unreadable file, a file that is not UTF-8,
    /// a file larger than `--max-file-size`, a symbolic link loop, or a directory with no Rust source.
    ///
    /// ## Why is this bad?
    /// A file the lint cannot read is a file whose globals nobody checked. The run goes on with the other
    /// files, and the exit status is 2 so that CI does not mistake a partial run for a clean one.
    ///
    /// ## Example
    /// ```text
    /// error[VN001]: cannot read `src/net/route.rs`: permission denied (os error 13)
    /// ```
    ///
    /// ## Use instead
    /// Fix the permissions, the encoding (Rust source is UTF-8) or the link, or leave the path out of the
    /// paths given on the command line.
    ///
    /// ## Configuration
    /// `--max-file-size BYTES` (default 32 MiB) sets the size above which a file is reported, not parsed.
    pub IoError => "VN001", "io-error", Input, Deny, since "0.1.0",
    "a path that could not be read as Rust source"
}

/// An `io-error` finding with the generic advice; callers with better advice replace the help.
pub fn finding(file: crate::diag::FileId, message: String) -> crate::diag::Finding {
    crate::diag::Finding::new(&IoError::RULE, file, None, message)
        .with_help("fix the path or its permissions, or leave it out of the paths to lint")
}
