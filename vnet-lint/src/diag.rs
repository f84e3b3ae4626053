//! Findings and diagnostics: what analyses return, before and after severity levels are applied.

use crate::rule::{Family, Level, Rule};
use std::ops::Range;
use std::path::PathBuf;

/// Index of a file in a [`SourceDb`].
pub type FileId = usize;

/// One problem found by an analysis, not yet given a severity.
#[derive(Clone, Debug)]
pub struct Finding {
    /// The rule that found it.
    pub rule: &'static Rule,
    /// The file it is in.
    pub file: FileId,
    /// Byte range of the primary label, or `None` when the problem has no position (an unreadable file).
    pub span: Option<Range<usize>>,
    /// The headline: lowercase, no final period, constructs in backticks.
    pub message: String,
    /// Text of the primary label.
    pub label: Option<String>,
    /// What to write instead.
    pub help: Option<String>,
    /// Further sentences.
    pub notes: Vec<String>,
}

impl Finding {
    /// A finding of `rule` at `span` in `file`.
    pub fn new(
        rule: &'static Rule,
        file: FileId,
        span: impl Into<Option<Range<usize>>>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule,
            file,
            span: span.into(),
            message: message.into(),
            label: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// Sets the primary label's text.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Sets the `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a `note:` line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

/// The severity a finding is reported with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Reported; does not fail the run.
    Warning,
    /// Reported; the run exits with 1 (or 2 for input problems).
    Error,
}

impl Severity {
    /// The lowercase name used in JSON and cargo output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A finding with its effective severity.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// What was found.
    pub finding: Finding,
    /// How it is reported.
    pub severity: Severity,
}

/// A source file as far as diagnostics need it: its name and, when a diagnostic points into it, its text.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as read.
    pub path: PathBuf,
    /// The path as shown (relative to the current directory when possible, `/` separators).
    pub name: String,
    /// The file's text; empty when it could not be read or nothing points into it.
    pub text: String,
    line_starts: Vec<usize>,
}

/// One-based line and column (in characters) of a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LineCol {
    /// One-based line number.
    pub line: usize,
    /// One-based column, counted in characters.
    pub column: usize,
}

/// All files diagnostics point into; implements codespan's `Files`.
#[derive(Debug, Default)]
pub struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    /// Adds a file and returns its id.
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let name = display_path(&path);
        let line_starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        self.files.push(SourceFile {
            path,
            name,
            text,
            line_starts,
        });
        self.files.len() - 1
    }

    /// The file with this id.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    /// Line and column of `offset` in file `id`.
    pub fn line_col(&self, id: FileId, offset: usize) -> LineCol {
        let file = &self.files[id];
        let offset = offset.min(file.text.len());
        let line = file.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = file.line_starts[line];
        let column = file
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// The full text of line `line` (one-based) of file `id`, without its line ending.
    pub fn line_text(&self, id: FileId, line: usize) -> &str {
        let file = &self.files[id];
        let Some(&start) = file.line_starts.get(line - 1) else {
            return "";
        };
        let end = file
            .line_starts
            .get(line)
            .copied()
            .unwrap_or(file.text.len());
        file.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

impl<'a> codespan_reporting::files::Files<'a> for SourceDb {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        self.files
            .get(id)
            .map(|f| f.name.as_str())
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        self.files
            .get(id)
            .map(|f| f.text.as_str())
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn line_index(
        &'a self,
        id: FileId,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        let file = self
            .files
            .get(id)
            .ok_or(codespan_reporting::files::Error::FileMissing)?;
        Ok(file
            .line_starts
            .partition_point(|&start| start <= byte_index)
            - 1)
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<Range<usize>, codespan_reporting::files::Error> {
        let file = self
            .files
            .get(id)
            .ok_or(codespan_reporting::files::Error::FileMissing)?;
        let start = *file.line_starts.get(line_index).ok_or(
            codespan_reporting::files::Error::LineTooLarge {
                given: line_index,
                max: file.line_starts.len() - 1,
            },
        )?;
        let end = file
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(file.text.len());
        Ok(start..end)
    }
}

/// Shows `path` relative to the current directory when it lies below it, with `/` separators.
pub fn display_path(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path);
    let text = shown.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

/// The outcome of a run: diagnostics sorted by file and position, plus how many files were checked.
#[derive(Debug, Default)]
pub struct Report {
    /// Every reported diagnostic, in output order.
    pub diagnostics: Vec<Diagnostic>,
    /// The files diagnostics point into.
    pub db: SourceDb,
    /// Number of Rust files examined.
    pub files_checked: usize,
}

impl Report {
    /// The exit status: 2 for input problems, 1 for findings at the deny level, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        let errors = self
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error);
        let mut code = 0;
        for diagnostic in errors {
            if diagnostic.finding.rule.family == Family::Input {
                return 2;
            }
            code = 1;
        }
        code
    }
}

/// The severity for a rule at `level`, or `None` when the rule is allowed.
pub fn severity_for(level: Level) -> Option<Severity> {
    match level {
        Level::Allow => None,
        Level::Warn => Some(Severity::Warning),
        Level::Deny => Some(Severity::Error),
    }
}
