//! Allow comments: `// vnet-lint: allow(RULE, …): reason` on the lines directly above an item.
//!
//! Comments are not in the syntax tree, so they are read from the text: only lines that are nothing but a
//! `//` comment count (doc comments `///` and `//!` never do).

use crate::rule::Rule;
use std::collections::HashMap;
use std::ops::Range;

/// One allow comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The rules it names, as written (codes or names).
    pub rules: Vec<String>,
    /// The reason after the closing parenthesis and colon, if any.
    pub reason: Option<String>,
    /// Byte range of the comment.
    pub span: Range<usize>,
}

/// The allow comments of one file, by one-based line, plus which lines are comment-only.
#[derive(Debug, Default)]
pub struct Directives {
    by_line: HashMap<usize, Directive>,
    comment_lines: Vec<bool>,
}

/// The marker that starts an allow comment.
const PREFIX: &str = "vnet-lint:";

impl Directives {
    /// Reads every allow comment of `text`.
    pub fn scan(text: &str) -> Directives {
        let mut directives = Directives::default();
        if memchr::memmem::find(text.as_bytes(), PREFIX.as_bytes()).is_none() {
            return directives;
        }
        let comments = super::prefilter::line_comment_starts(text.as_bytes());
        let mut offset = 0;
        directives.comment_lines.push(false);
        for (index, line) in text.split_inclusive('\n').enumerate() {
            let trimmed = line.trim_start();
            let comment_at = offset + (line.len() - trimmed.len());
            let is_comment = comments.binary_search(&comment_at).is_ok()
                && trimmed.starts_with("//")
                && !trimmed.starts_with("///")
                && !trimmed.starts_with("//!");
            directives.comment_lines.push(is_comment);
            if is_comment {
                let body = trimmed[2..].trim();
                if let Some(directive) = parse(body) {
                    let start = offset + (line.len() - trimmed.len());
                    let end = offset + line.trim_end().len();
                    directives.by_line.insert(
                        index + 1,
                        Directive {
                            span: start..end,
                            ..directive
                        },
                    );
                }
            }
            offset += line.len();
        }
        directives
    }

    /// Allow comments that give no reason.
    pub fn without_reason(&self) -> impl Iterator<Item = &Directive> {
        let mut missing: Vec<_> = self
            .by_line
            .values()
            .filter(|d| d.reason.is_none())
            .collect();
        missing.sort_by_key(|d| d.span.start);
        missing.into_iter()
    }

    /// Every allow comment, in file order.
    pub fn all(&self) -> Vec<&Directive> {
        let mut all: Vec<_> = self.by_line.values().collect();
        all.sort_by_key(|d| d.span.start);
        all
    }

    /// Whether a comment in the block of comment lines directly above `line` allows `rule`.
    pub fn allows(&self, line: usize, rule: &Rule) -> bool {
        if self.by_line.is_empty() {
            return false;
        }
        let mut above = line.saturating_sub(1);
        while above >= 1 && self.comment_lines.get(above).copied().unwrap_or(false) {
            if let Some(directive) = self.by_line.get(&above) {
                let named = directive.rules.iter().any(|name| rule.is_named(name));
                if named {
                    return true;
                }
            }
            above -= 1;
        }
        false
    }
}

/// Parses `vnet-lint: allow(A, B): reason`.
fn parse(body: &str) -> Option<Directive> {
    let rest = body.strip_prefix(PREFIX)?.trim_start();
    let rest = rest.strip_prefix("allow")?.trim_start();
    let rest = rest.strip_prefix('(')?;
    let close = rest.find(')')?;
    let rules = rest[..close]
        .split(',')
        .map(|name| name.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    let after = rest[close + 1..].trim_start();
    let reason = after
        .strip_prefix(':')
        .map(str::trim)
        .filter(|reason| !reason.is_empty())
        .map(str::to_owned);
    Some(Directive {
        rules,
        reason,
        span: 0..0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::id;

    #[test]
    fn reads_rules_and_reason() {
        let text = "// vnet-lint: allow(VN102, static-mut): one NIC\n#[attr]\nstatic X: u8 = 0;\n";
        let directives = Directives::scan(text);
        assert!(directives.allows(2, id::INTERIOR_MUTABLE_STATIC));
        assert!(directives.allows(2, id::STATIC_MUT));
        assert!(!directives.allows(2, id::LAZY_STATIC_GLOBAL));
        assert_eq!(directives.without_reason().count(), 0);
    }

    #[test]
    fn text_in_strings_is_not_a_comment() {
        let text = "const S: &str = r\"\n// vnet-lint: allow(VN102)\n\";\nstatic X: u8 = 0;\n";
        let directives = Directives::scan(text);
        assert_eq!(directives.without_reason().count(), 0);
        assert!(!directives.allows(4, id::INTERIOR_MUTABLE_STATIC));
    }

    #[test]
    fn missing_reason_and_doc_comments() {
        let text =
            "// vnet-lint: allow(VN102)\n/// vnet-lint: allow(VN101): doc\nstatic X: u8 = 0;\n";
        let directives = Directives::scan(text);
        assert_eq!(directives.without_reason().count(), 1);
        assert!(
            !directives.allows(3, id::STATIC_MUT),
            "doc comments do not suppress and end the block"
        );
    }
}
