//! Rule pages generated from the rule catalog: `docs/rules/VNxxx.md` per rule and an index,
//! `docs/rules/README.md`. A page is the rule's documentation with what the lint really prints for
//! the rule's example (the lint is run on it while the page is made), its fix safety and how to allow
//! it. `cargo vnet-lint explain RULE` prints the same page.
//!
//! Regenerate every page after adding or changing a rule:
//!
//! ```text
//! cargo run -p vnet-lint -- docs --write docs/rules
//! ```
//!
//! (Without `--write` it only checks: it names the stale pages and exits 1; the `rule_pages` test
//! fails the same way.)

use crate::diag::Report;
use crate::fix::{applicability_of, Applicability};
use crate::rule::{Family, Rule};
use crate::rules::RULES;
use std::io;
use std::path::Path;

/// The file a rule's page is written to, inside the pages directory.
///
/// ```
/// let rule = vnet_lint::rules::find("static-mut").unwrap();
/// assert_eq!(vnet_lint::docs::page_file(rule), "VN101.md");
/// ```
pub fn page_file(rule: &Rule) -> String {
    format!("{}.md", rule.code)
}

/// The index's file name inside the pages directory.
pub const INDEX_FILE: &str = "README.md";

/// The file name the lint is run on when a page is made.
pub const EXAMPLE_PATH: &str = "src/lib.rs";

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Input => "input",
        Family::Globals => "globals",
        Family::Ordering => "init order",
        Family::Context => "current instance",
    }
}

fn fix_name(applicability: Applicability) -> &'static str {
    match applicability {
        Applicability::Safe => "safe (`--fix`)",
        Applicability::Unsafe => "unsafe (`--fix --unsafe-fixes`)",
        Applicability::Unavailable => "none",
    }
}

/// The documentation's sections, in order: `(heading, body)`; text before the first `## ` heading has
/// an empty heading.
fn sections(doc: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![(String::new(), String::new())];
    let mut fenced = false;
    for line in doc.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        match line.strip_prefix("## ") {
            Some(heading) if !fenced => out.push((heading.trim().to_owned(), String::new())),
            _ => {
                let body = &mut out.last_mut().expect("one section at least").1;
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    out
}

/// The first fenced code block of `body`: its info string and its text.
fn first_code_block(body: &str) -> Option<(String, String)> {
    let mut lines = body.lines();
    let info = lines.find_map(|line| line.trim_start().strip_prefix("```"))?;
    let mut code = String::new();
    for line in lines {
        if line.trim_start().starts_with("```") {
            return Some((info.trim().to_owned(), code));
        }
        code.push_str(line);
        code.push('\n');
    }
    None
}

/// The Rust code of the rule's `## Example` section, when it has one.
///
/// ```
/// let rule = vnet_lint::rules::find("VN101").unwrap();
/// assert!(vnet_lint::docs::example(rule).unwrap().contains("static mut"));
/// ```
pub fn example(rule: &Rule) -> Option<String> {
    let doc = rule.doc_text();
    let (_, body) = sections(&doc)
        .into_iter()
        .find(|(heading, _)| heading == "Example")?;
    let (info, code) = first_code_block(&body)?;
    info.split(',')
        .any(|word| word.trim() == "rust")
        .then_some(code)
}

/// The path the `io-error` page shows the lint failing to read (it must not exist).
pub const MISSING_PATH: &str = "src/net/route.rs";

/// What `cargo vnet-lint check` prints (no colours) for the rule's example: the command, and its
/// output. A Rust example is saved as [`EXAMPLE_PATH`] and checked with test code and macro bodies
/// included; `io-error`, whose example is not code, is shown on [`MISSING_PATH`], a file that does not
/// exist. `None` for other examples that are not Rust.
pub fn example_run(rule: &Rule) -> Option<(String, String)> {
    if rule.code == crate::rules::id::IO_ERROR.code {
        let options = crate::engine::Options::default();
        let report = crate::engine::check_paths(&[MISSING_PATH.into()], &options);
        let command = format!("cargo vnet-lint check {MISSING_PATH}");
        return Some((command, crate::emit::human::render_to_string(&report)));
    }
    let code = example(rule)?;
    let options = crate::engine::Options {
        include_tests: true,
        ..crate::engine::Options::default()
    };
    let report: Report = crate::engine::check_source(EXAMPLE_PATH, &code, &options);
    let command = format!("cargo vnet-lint check {EXAMPLE_PATH}");
    Some((command, crate::emit::human::render_to_string(&report)))
}

/// Rewrites fences for a Markdown page: `rust,ignore` blocks are Rust to a reader.
fn page_fences(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body.lines() {
        let trimmed = line.trim_start();
        match trimmed.strip_prefix("```") {
            Some(info) if info.split(',').any(|w| w.trim() == "rust") => {
                out.push_str(&line[..line.len() - trimmed.len()]);
                out.push_str("```rust");
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

fn fix_safety(rule: &Rule) -> String {
    match applicability_of(rule) {
        Applicability::Safe => {
            "`cargo vnet-lint check --fix` ports it; the fix is **safe**: it keeps what the code does.\n"
                .to_owned()
        }
        Applicability::Unsafe => "`cargo vnet-lint check --fix --unsafe-fixes` ports it; the fix is \
             **unsafe** (it changes what the code does), so plain `--fix` leaves it alone.\n"
            .to_owned(),
        Applicability::Unavailable => {
            "No automatic fix: `--fix` leaves these findings for you to change.\n".to_owned()
        }
    }
}

fn how_to_allow(rule: &Rule) -> String {
    if rule.family == Family::Input {
        return "Input problems cannot be allowed: the run would silently skip code. Fix the input, or \
                leave the path out of the paths given on the command line.\n"
            .to_owned();
    }
    let name = rule.name;
    let mut out = String::new();
    out.push_str(&format!(
        "- **One place:** the comment `// vnet-lint: allow({name}): reason` on the line above the \
         flagged line (`VN105` reports a comment that gives no reason).\n"
    ));
    if rule.family == Family::Globals {
        out.push_str(
            "- **A static that stays process-wide on purpose:** `#[vnet_runtime::global(reason = \"…\")]` \
             on it, or its path under `[paths] global = [...]` in the configuration.\n",
        );
    }
    out.push_str(&format!(
        "- **One run:** `cargo vnet-lint check -A {name}` (`-W {name}` reports it as a warning, \
         `-D {name}` as an error).\n"
    ));
    out.push_str(&format!(
        "- **A package or workspace:** in `vnet-lint.toml` (or `[package.metadata.vnet-lint]` / \
         `[workspace.metadata.vnet-lint]` in `Cargo.toml`):\n\n  ```toml\n  [levels]\n  {name} = \"allow\"\n  ```\n"
    ));
    out
}

/// The page of one rule, in Markdown; `explain` prints it.
pub fn page(rule: &Rule) -> String {
    let mut out = format!("# {} {}\n\n", rule.code, rule.name);
    out.push_str(&format!("{}.\n\n", capitalized(rule.summary)));
    out.push_str("| default level | family | fix | since |\n| --- | --- | --- | --- |\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} |\n",
        rule.default_level,
        family_name(rule.family),
        fix_name(applicability_of(rule)),
        rule.since
    ));
    let doc = rule.doc_text();
    let mut has_fix_safety = false;
    for (heading, body) in sections(&doc) {
        if heading.is_empty() {
            if !body.trim().is_empty() {
                out.push('\n');
                out.push_str(&page_fences(body.trim_end()));
            }
            continue;
        }
        has_fix_safety |= heading == "Fix safety";
        out.push_str(&format!("\n## {heading}\n"));
        out.push_str(&page_fences(body.trim_end()));
        if heading == "Example" {
            if let Some((command, printed)) = example_run(rule) {
                let when = if rule.code == crate::rules::id::IO_ERROR.code {
                    "when the file does not exist"
                } else {
                    "for it"
                };
                out.push_str(&format!(
                    "\nWhat `{command}` prints {when}:\n\n```text\n{printed}```\n"
                ));
            }
        }
    }
    if !has_fix_safety {
        out.push_str("\n## Fix safety\n");
        out.push_str(&fix_safety(rule));
    }
    out.push_str("\n## How to allow it\n");
    out.push_str(&how_to_allow(rule));
    out
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The index page: one table row per rule, linking its page.
pub fn index() -> String {
    let mut out = String::from(
        "# vnet-lint rules\n\n\
         Every rule `cargo vnet-lint` has, in the order of `cargo vnet-lint explain`. Each page says what \
         the rule finds, why it matters, an example with what the lint prints for it, the fix, and how \
         to allow it.\n\n\
         These pages are generated from the rule catalog; do not edit them by hand. After adding or \
         changing a rule, regenerate them all with:\n\n\
         ```sh\ncargo run -p vnet-lint -- docs --write docs/rules\n```\n\n\
         | code | name | default | fix | finds |\n| --- | --- | --- | --- | --- |\n",
    );
    for rule in RULES {
        out.push_str(&format!(
            "| [{code}]({file}) | `{name}` | {level} | {fix} | {summary} |\n",
            code = rule.code,
            file = page_file(rule),
            name = rule.name,
            level = rule.default_level,
            fix = match applicability_of(rule) {
                Applicability::Safe => "safe",
                Applicability::Unsafe => "unsafe",
                Applicability::Unavailable => "",
            },
            summary = rule.summary.replace('|', "\\|"),
        ));
    }
    out
}

/// Every generated file: `(file name, contents)`, the index first.
pub fn pages() -> Vec<(String, String)> {
    let mut out = vec![(INDEX_FILE.to_owned(), index())];
    out.extend(RULES.iter().map(|rule| (page_file(rule), page(rule))));
    out
}

/// Compares the pages in `dir` with [`pages`]; with `write`, brings them up to date (and removes
/// pages of rules that no longer exist). Returns the names of the files that were (or, without
/// `write`, would be) written or removed.
pub fn sync(dir: &Path, write: bool) -> io::Result<Vec<String>> {
    let pages = pages();
    let mut stale = Vec::new();
    for (name, text) in &pages {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
            if write {
                std::fs::create_dir_all(dir)?;
                std::fs::write(&path, text)?;
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let generated = name.starts_with("VN") && name.ends_with(".md");
            if generated && !pages.iter().any(|(page, _)| *page == name) {
                stale.push(name);
                if write {
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
    }
    stale.sort();
    Ok(stale)
}
