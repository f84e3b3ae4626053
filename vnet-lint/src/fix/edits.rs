//! Byte-range edits on a file's original text, and applying a set of them.
//!
//! Every edit names a range of the original text and its replacement; nothing outside the ranges
//! changes. Edits of one file must not overlap (insertions at the same offset keep their order).

use std::ops::Range;

/// Replace `range` of the original text with `text` (an insertion when the range is empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    /// Byte range of the original text.
    pub range: Range<usize>,
    /// What goes there.
    pub text: String,
}

impl Edit {
    /// An edit replacing `range` with `text`.
    ///
    /// ```
    /// use vnet_lint::fix::edits::{apply, Edit};
    /// let out = apply("static X: u8 = 0;", &[Edit::new(0..0, "#[vnet] ")]).unwrap();
    /// assert_eq!(out.0, "#[vnet] static X: u8 = 0;");
    /// ```
    pub fn new(range: Range<usize>, text: impl Into<String>) -> Self {
        Edit {
            range,
            text: text.into(),
        }
    }

    /// Whether two edits touch the same bytes (two insertions at one offset do not).
    pub fn overlaps(&self, other: &Edit) -> bool {
        let a = &self.range;
        let b = &other.range;
        if a.is_empty() || b.is_empty() {
            // An insertion conflicts only with a replacement strictly around it.
            let (ins, rep) = if a.is_empty() { (a, b) } else { (b, a) };
            return !rep.is_empty() && rep.start < ins.start && ins.start < rep.end;
        }
        a.start < b.end && b.start < a.end
    }
}

/// Applies `edits` to `original`. Returns the new text and, for each edit in the order given, its range
/// in the new text; `None` when two edits overlap or one lies outside the text. In a file whose lines
/// end in `\r\n` (its first line break says), the line breaks the edits write do too.
pub fn apply(original: &str, edits: &[Edit]) -> Option<(String, Vec<Range<usize>>)> {
    let crlf = original
        .find('\n')
        .is_some_and(|at| original[..at].ends_with('\r'));
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].range.start, edits[i].range.end, i));
    let mut out = String::with_capacity(original.len() + 256);
    let mut new_ranges = vec![0..0; edits.len()];
    let mut at = 0;
    for &i in &order {
        let edit = &edits[i];
        if edit.range.start < at
            || edit.range.end > original.len()
            || !original.is_char_boundary(edit.range.start)
            || !original.is_char_boundary(edit.range.end)
        {
            return None;
        }
        out.push_str(&original[at..edit.range.start]);
        let start = out.len();
        if crlf {
            push_crlf(&mut out, &edit.text);
        } else {
            out.push_str(&edit.text);
        }
        new_ranges[i] = start..out.len();
        at = edit.range.end;
    }
    out.push_str(&original[at..]);
    Some((out, new_ranges))
}

/// Appends `text` with every `\n` not already after a `\r` written as `\r\n`.
fn push_crlf(out: &mut String, text: &str) {
    let mut previous = None;
    for c in text.chars() {
        if c == '\n' && previous != Some('\r') {
            out.push('\r');
        }
        out.push(c);
        previous = Some(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_files_get_crlf_line_breaks() {
        let text = "use a;\r\nstatic X: u8 = 0;\r\n";
        let (out, ranges) = apply(
            text,
            &[
                Edit::new(8..8, "#[vnet]\n"),
                Edit::new(6..6, "\nuse b;\r\n"),
            ],
        )
        .expect("no overlap");
        assert_eq!(
            out,
            "use a;\r\nuse b;\r\n\r\n#[vnet]\r\nstatic X: u8 = 0;\r\n"
        );
        assert_eq!(&out[ranges[0].clone()], "#[vnet]\r\n");
        // A file with `\n` line breaks keeps them.
        let (out, _) = apply("a;\nb;\n", &[Edit::new(3..3, "c;\n")]).expect("ok");
        assert_eq!(out, "a;\nc;\nb;\n");
    }

    #[test]
    fn untouched_bytes_stay_identical() {
        let text = "a /* keep */ b c";
        let (out, ranges) =
            apply(text, &[Edit::new(15..16, "C"), Edit::new(0..1, "A")]).expect("no overlap");
        assert_eq!(out, "A /* keep */ b C");
        assert_eq!(ranges, vec![15..16, 0..1]);
    }

    #[test]
    fn overlapping_edits_are_refused() {
        assert!(apply("abcdef", &[Edit::new(0..3, "x"), Edit::new(2..4, "y")]).is_none());
        assert!(Edit::new(0..3, "x").overlaps(&Edit::new(1..1, "y")));
        assert!(!Edit::new(0..3, "x").overlaps(&Edit::new(3..3, "y")));
    }
}
