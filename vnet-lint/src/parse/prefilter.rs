//! Cheap byte checks run before parsing: skip files that cannot hold anything a rule looks for, and refuse
//! files nested so deeply that parsing them could exhaust the stack.

use memchr::memmem;

/// Whether `bytes` may contain a global, a `#[vnet]` static or a suppression comment.
///
/// True when the keyword `static` appears outside a lifetime (`'static`) and identifier, or when
/// `thread_local`, `lazy_static` or `vnet-lint:` appear anywhere. False negatives are impossible for
/// ordinary source: every item the rules inspect is spelled with one of these.
pub fn may_contain_globals(bytes: &[u8]) -> bool {
    has_static_keyword(bytes)
        || memmem::find(bytes, b"thread_local").is_some()
        || memmem::find(bytes, b"lazy_static").is_some()
        || memmem::find(bytes, b"vnet-lint:").is_some()
}

fn has_static_keyword(bytes: &[u8]) -> bool {
    memmem::find_iter(bytes, b"static").any(|at| {
        let before = at.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(at + 6).copied();
        let keyword_start =
            !matches!(before, Some(b) if b == b'\'' || b == b'_' || b.is_ascii_alphanumeric());
        let keyword_end = matches!(after, Some(b' ' | b'\t' | b'\n' | b'\r'));
        keyword_start && keyword_end
    })
}

/// The deepest bracket nesting or prefix-operator chain the parser is asked to handle.
pub const MAX_NESTING: usize = 256;

/// The byte offset where nesting first exceeds [`MAX_NESTING`], if it does.
///
/// Counts `(`, `[` and `{` outside comments, strings and character literals, and runs of the prefix
/// operators `!`, `-`, `*` and `&` (which the parser also handles by recursion).
pub fn too_deep(bytes: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut prefix_run = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = skip_block_comment(bytes, i);
                continue;
            }
            b'"' => {
                i = skip_string(bytes, i + 1);
                continue;
            }
            b'r' if is_raw_string_start(bytes, i) => {
                i = skip_raw_string(bytes, i + 1);
                continue;
            }
            b'\'' => {
                i = skip_char_literal(bytes, i);
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        match b {
            b'!' | b'-' | b'*' | b'&' => {
                prefix_run += 1;
                if prefix_run > MAX_NESTING {
                    return Some(i);
                }
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            _ => prefix_run = 0,
        }
        i += 1;
    }
    None
}

/// Byte offsets of the `//` of every line comment, skipping strings, character literals and block
/// comments, so that text inside a string that looks like a comment is not taken for one.
pub fn line_comment_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                starts.push(i);
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'"' => i = skip_string(bytes, i + 1),
            b'r' if is_raw_string_start(bytes, i) => i = skip_raw_string(bytes, i + 1),
            b'\'' => i = skip_char_literal(bytes, i),
            _ => i += 1,
        }
    }
    starts
}

fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn is_raw_string_start(bytes: &[u8], i: usize) -> bool {
    let ident_before = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
    if ident_before {
        return false;
    }
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    bytes.get(i + 1 + hashes) == Some(&b'"')
}

fn skip_raw_string(bytes: &[u8], i: usize) -> usize {
    let hashes = bytes[i..].iter().take_while(|&&b| b == b'#').count();
    let body = i + hashes + 1;
    let mut closing = vec![b'"'];
    closing.extend(std::iter::repeat_n(b'#', hashes));
    memmem::find(&bytes[body..], &closing).map_or(bytes.len(), |n| body + n + closing.len())
}

/// Skips `'x'`, `'\n'`, `'\u{1F600}'` and multi-byte characters; leaves lifetimes (`'a`) after the quote.
fn skip_char_literal(bytes: &[u8], i: usize) -> usize {
    if bytes.get(i + 1) == Some(&b'\\') {
        return memchr::memchr(b'\'', &bytes[i + 2..]).map_or(bytes.len(), |n| i + 2 + n + 1);
    }
    let char_len = bytes.get(i + 1).map_or(1, |&b| utf8_len(b));
    if bytes.get(i + 1 + char_len) == Some(&b'\'') {
        i + 2 + char_len
    } else {
        i + 1
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_keyword_is_found_but_not_lifetimes_or_identifiers() {
        assert!(may_contain_globals(b"static X: u8 = 0;"));
        assert!(may_contain_globals(b"pub(crate) static\nX: u8 = 0;"));
        assert!(!may_contain_globals(b"fn f(x: &'static str) {}"));
        assert!(!may_contain_globals(b"let is_static = true;"));
        assert!(may_contain_globals(b"thread_local! { }"));
        assert!(may_contain_globals(b"lazy_static! { }"));
        assert!(may_contain_globals(b"// vnet-lint: allow(VN101)"));
    }

    #[test]
    fn line_comments_outside_strings() {
        let text = b"// a\nlet s = \"// not\"; let r = r#\"\n// not\"#; // b\n/* // not */";
        assert_eq!(line_comment_starts(text), [0, 45]);
    }

    #[test]
    fn nesting_counts_brackets_outside_literals() {
        let deep = format!("const X: u8 = {}1{};", "(".repeat(300), ")".repeat(300));
        assert!(too_deep(deep.as_bytes()).is_some());
        let quoted = format!(
            "const X: &str = \"{}\"; // {}",
            "(".repeat(300),
            "[".repeat(300)
        );
        assert_eq!(too_deep(quoted.as_bytes()), None);
        let raw = format!(
            "const X: &str = r#\"{}\"#; const C: char = '(';",
            "{".repeat(300)
        );
        assert_eq!(too_deep(raw.as_bytes()), None);
        let unary = format!("const X: bool = {}true;", "!".repeat(300));
        assert!(too_deep(unary.as_bytes()).is_some());
        assert_eq!(
            too_deep(b"fn f<'a>(x: &'a u8) -> bool { !(*x == b'(') }"),
            None
        );
    }
}
