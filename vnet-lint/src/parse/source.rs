//! The text syn parses, with byte offsets that are the file's.
//!
//! `syn::parse_file` drops a leading byte order mark and a `#!` interpreter line before lexing, so
//! the byte ranges of its spans count from after them: every finding (and every `--fix` edit) would
//! land that many bytes early. [`blank_prelude`] instead overwrites them with spaces of the same byte
//! length, which syn skips as whitespace, so a span's byte range is a range of the original text.

use std::borrow::Cow;

/// `text` with a leading byte order mark and a shebang line (`#!…` not followed by `[`) replaced by
/// as many spaces as they have bytes; borrowed when there is neither.
///
/// ```
/// use vnet_lint::parse::source::blank_prelude;
/// assert_eq!(blank_prelude("\u{feff}static X: u8 = 0;"), "   static X: u8 = 0;");
/// assert_eq!(blank_prelude("#!/bin/x\nfn f() {}"), "        \nfn f() {}");
/// assert_eq!(blank_prelude("#![no_std]"), "#![no_std]");
/// ```
pub fn blank_prelude(text: &str) -> Cow<'_, str> {
    const BOM: &str = "\u{feff}";
    let bom = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let rest = &text[bom..];
    // syn's rule: `#!` starts a shebang unless the next token (after whitespace and comments) is `[`.
    let shebang = if rest.starts_with("#!") && !starts_with_bracket(&rest[2..]) {
        rest.find('\n').unwrap_or(rest.len())
    } else {
        0
    };
    if bom == 0 && shebang == 0 {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    // The shebang line may hold multi-byte characters: one space per byte keeps every offset.
    out.extend(std::iter::repeat_n(' ', bom + shebang));
    out.push_str(&text[bom + shebang..]);
    Cow::Owned(out)
}

/// Whether `text`, after whitespace and comments, starts with `[` (then `#!` is an inner attribute).
fn starts_with_bracket(mut text: &str) -> bool {
    loop {
        let trimmed = text.trim_start();
        if let Some(rest) = trimmed.strip_prefix("//") {
            match rest.find('\n') {
                Some(end) => text = &rest[end..],
                None => return false,
            }
        } else if let Some(rest) = trimmed.strip_prefix("/*") {
            match rest.find("*/") {
                Some(end) => text = &rest[end + 2..],
                None => return false,
            }
        } else {
            return trimmed.starts_with('[');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_kept() {
        for text in [
            "\u{feff}pub static mut X: u8 = 0;",
            "#!/usr/bin/env rust-script é\npub static mut X: u8 = 0;",
            "\u{feff}#!/x\npub static mut X: u8 = 0;",
        ] {
            let blanked = blank_prelude(text);
            assert_eq!(blanked.len(), text.len());
            assert_eq!(blanked.find("static"), text.find("static"));
            assert!(syn::parse_file(&blanked).is_ok(), "{blanked:?}");
        }
    }

    #[test]
    fn inner_attributes_are_not_shebangs() {
        for text in [
            "#![no_std]",
            "#! [allow(x)]",
            "#! /* c */ [allow(x)]",
            "#!// c\n[x]",
        ] {
            assert!(matches!(blank_prelude(text), Cow::Borrowed(_)), "{text}");
        }
    }
}
