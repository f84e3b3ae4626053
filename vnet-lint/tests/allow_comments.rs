//! Where an allow comment may sit: directly above the item, or directly above the line its finding
//! points at (after the item's doc comments and attributes, or inside `thread_local!`).

fn codes(text: &str) -> Vec<String> {
    let report = vnet_lint::check_source("src/lib.rs", text.as_bytes());
    report
        .diagnostics
        .iter()
        .map(|d| d.finding.rule.code.to_owned())
        .collect()
}

#[test]
fn an_allow_comment_between_doc_comments_and_the_item_counts() {
    let text = "/// How many times the table was reset.\n\
                /// Per thread by design.\n\
                // vnet-lint: allow(static-mut): one counter for the process, on purpose\n\
                static mut RESETS: u32 = 0;\n\
                pub fn reset() { unsafe { RESETS += 1 } }\n";
    assert_eq!(codes(text), Vec::<String>::new());
}

#[test]
fn an_allow_comment_after_a_thread_local_item_s_doc_comment_counts() {
    let text = "use std::cell::Cell;\n\
                thread_local! {\n    \
                    /// Resets seen by this thread.\n    \
                    // vnet-lint: allow(thread-local-global): per-thread cache of a per-thread table\n    \
                    static EPOCH: Cell<u64> = const { Cell::new(0) };\n\
                }\n";
    assert_eq!(codes(text), Vec::<String>::new());
}

#[test]
fn an_allow_comment_above_the_doc_comments_still_counts_and_others_do_not() {
    let above = "// vnet-lint: allow(static-mut): one counter for the process\n\
                 /// Resets.\n\
                 static mut RESETS: u32 = 0;\n";
    assert_eq!(codes(above), Vec::<String>::new());
    // A comment for another rule, or a plain comment, suppresses nothing.
    let other = "/// Resets.\n\
                 // vnet-lint: allow(thread-local-global): not this rule\n\
                 static mut RESETS: u32 = 0;\n";
    assert_eq!(codes(other), vec!["VN101".to_owned()]);
}
