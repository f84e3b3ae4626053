//! The in-file test helper of the rules: tiny cases marked with `//^^^ CODE` under the flagged span.

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
