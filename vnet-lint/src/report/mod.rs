//! The report pass: drops findings in paths that stay process-wide, applies levels (command line over
//! configuration over defaults), sorts, and loads the text of the files diagnostics point into.

pub mod config;

use crate::diag::{severity_for, Diagnostic, FileId, Finding, Report, SourceDb};
use crate::rules::{Family, Level, Rule};
use config::Scoped;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What the report pass needs of a run's options.
#[derive(Clone, Copy, Debug)]
pub struct Levels<'a> {
    /// Level overrides from the command line, in the order given; later ones win.
    pub overrides: &'a [(&'static Rule, Level)],
    /// Configurations, each applying to the files below its root (the nearest wins).
    pub configs: &'a [Scoped],
}

/// Turns the analysis into a report: drops findings in paths that stay global, applies levels (command
/// line over configuration over defaults), sorts, and loads the text of files that diagnostics point into.
pub fn report(
    files: Vec<PathBuf>,
    texts: Vec<Option<String>>,
    findings: Vec<Finding>,
    walk_errors: Vec<(PathBuf, String)>,
    options: Levels<'_>,
) -> Report {
    let scoped: Vec<Option<&Scoped>> = files
        .iter()
        .map(|path| nearest_config(options.configs, path))
        .collect();
    let mut diagnostics = Vec::new();
    for finding in findings {
        let config = scoped.get(finding.file).copied().flatten();
        let rule = finding.rule;
        if rule.family == Family::Globals
            && config.is_some_and(|c| {
                !c.checks_globals(&crate::discover::normalize(&files[finding.file]))
            })
        {
            continue;
        }
        let level = if rule.family == Family::Input {
            Level::Deny
        } else {
            options
                .overrides
                .iter()
                .rev()
                .find(|(r, _)| r.code == rule.code)
                .map(|&(_, level)| level)
                .or_else(|| config.and_then(|c| c.level(rule)))
                .unwrap_or(rule.default_level)
        };
        if let Some(severity) = severity_for(level) {
            diagnostics.push(Diagnostic { finding, severity });
        }
    }

    let mut db = SourceDb::default();
    let pointed: HashSet<FileId> = diagnostics
        .iter()
        .filter(|d| d.finding.span.is_some())
        .map(|d| d.finding.file)
        .collect();
    let files_checked = files.len();
    for (file, (path, text)) in files.into_iter().zip(texts).enumerate() {
        let text = if pointed.contains(&file) {
            text.unwrap_or_default()
        } else {
            String::new()
        };
        db.add(path, text);
    }
    for (path, message) in walk_errors {
        let file = db.add(path, String::new());
        let finding = crate::rules::builtin::io_error::finding(file, message);
        diagnostics.push(Diagnostic {
            finding,
            severity: crate::diag::Severity::Error,
        });
    }
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            (
                db.get(d.finding.file).name.clone(),
                d.finding.span.as_ref().map(|s| s.start),
                d.finding.rule.code,
            )
        };
        key(a).cmp(&key(b))
    });
    Report {
        diagnostics,
        db,
        files_checked,
    }
}

fn nearest_config<'a>(configs: &'a [Scoped], path: &Path) -> Option<&'a Scoped> {
    let path = crate::discover::normalize(path);
    configs
        .iter()
        .filter(|c| c.applies_to(&path))
        .max_by_key(|c| (!c.everywhere, c.root.components().count()))
}
