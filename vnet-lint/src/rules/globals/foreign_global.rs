//! `VN107 foreign-global`: a static of an `extern` block that Rust code writes.

use crate::diag::Finding;
use crate::parse::{GlobalItem, GlobalKind};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks `extern` blocks (also those written inside an item-bodied macro invocation) for statics
    /// that Rust code of the same file writes: assigns (`FLAG = 1`, `FLAG |= 2`), borrows `&mut`,
    /// `&raw mut` or `addr_of_mut!`, or changes with an atomic method (`store`, `fetch_or`…). Foreign
    /// statics that Rust only reads are the foreign code's business and are not reported.
    ///
    /// ## Why is this bad?
    /// The static lives in C (or another language): one value for the whole process, shared by every
    /// instance, and the port cannot make it per instance — `#[vnet]` does not apply to a foreign
    /// item, and the C side keeps reading the one copy. A write from one instance (a CPU-feature flag,
    /// a debug level) changes it for all. That may be right; it should be said.
    ///
    /// ## Example
    /// ```rust,ignore
    /// extern "C" { static mut debug_level: i32; }
    /// fn set_debug(level: i32) { unsafe { debug_level = level; } } // every instance's debug level
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// extern "C" {
    ///     #[vnet_runtime::global(reason = "the C library has one debug level per process")]
    ///     static mut debug_level: i32;
    /// }
    /// ```
    /// or keep a per-instance value in a `#[vnet]` static and hand it to the C side per call.
    /// `--fix` never changes foreign statics.
    ///
    /// ## Known problems
    /// Only writes in the file that declares the static are seen, through a path to it in that file
    /// (`FLAGS`, `ffi::FLAGS`, `super::FLAGS`, `crate::ffi::FLAGS` in the crate root); writes
    /// through `use`, pointers or from C are not. `#[thread_local]` foreign
    /// statics (C's `errno`) are one per thread and are not reported.
    ///
    /// ## Configuration
    /// `#[vnet_runtime::global(reason = "…")]` on the static or on the `extern` block, or
    /// `// vnet-lint: allow(foreign-global): reason` above the static.
    pub ForeignGlobal => "VN107", "foreign-global", Globals, Warn, since "0.2.0",
    "`extern` statics written by Rust code, shared by every instance"
}

/// Reports a foreign static that Rust writes.
pub(crate) fn check(item: &GlobalItem) -> Option<Finding> {
    let GlobalKind::Foreign { written_at } = item.kind else {
        return None;
    };
    Some(
        Finding::new(
            &ForeignGlobal::RULE,
            item.file,
            item.primary.clone(),
            format!(
                "foreign static `{}` is written by Rust (line {written_at}): one value shared by every instance",
                item.name
            ),
        )
        .with_label("declared in an `extern` block")
        .with_help(format!(
            "keep it global and say why: `#[vnet_runtime::global(reason = \"…\")]` on `{}` (or an allow \
             comment); a foreign static cannot be made per instance",
            item.name
        )),
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn written_foreign_statics_only() {
        check(
            r#"
extern "C" {
    static mut flags: u32;
             //^^^^^ VN107
    static mut only_read: u32;
    #[global(reason = "one C library")] static mut marked: u32;
    #[thread_local] static mut errno: i32;
}
fn e() -> *mut i32 { unsafe { &mut errno } }
mod ffi {
    extern "C" { pub static mut level: i32; }
                              //^^^^^ VN107
}
fn g() { unsafe { ffi::level = 1; } }
fn f() { unsafe { flags |= 1; let _ = only_read; marked = 2; } }
"#,
        );
    }
}
