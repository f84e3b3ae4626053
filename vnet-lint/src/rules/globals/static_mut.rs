//! `VN101 static-mut`: a `static mut` item, one mutable value for the whole process.

use crate::diag::Finding;
use crate::parse::{GlobalItem, GlobalKind};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks for `static mut` items, in modules and inside functions.
    ///
    /// ## Why is this bad?
    /// A `static mut` is one value for the whole process. Every instance (every vnet) reads and writes the
    /// same memory, so one instance's state leaks into all others: the porting guide's first rule is that
    /// such state must become a per-instance variable ("redefinition of selected global state variables
    /// … stored in jail specific container storage regions"). `static mut` is also unsound to share
    /// between threads without external synchronization.
    ///
    /// ## Example
    /// ```rust,ignore
    /// static mut PACKETS_IN: u64 = 0;
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet]
    /// static PACKETS_IN: AtomicU64 = AtomicU64::new(0);
    ///
    /// V_PACKETS_IN.fetch_add(1, Ordering::Relaxed);
    /// ```
    ///
    /// ## Known problems
    /// Statics declared in `extern` blocks (`extern "C" { static mut environ: *mut *mut c_char; }`) are
    /// not reported: the foreign code defines and owns them, and `#[vnet]` cannot apply to a declaration.
    /// Porting such state means porting the foreign code. In `macro_rules!` bodies (with
    /// `--include-tests`) only transcribers are read, and a `static` with no initializer there is taken
    /// for a foreign one.
    ///
    /// ## Fix safety
    /// `cargo vnet-lint check --fix --unsafe-fixes` ports it; the fix is **unsafe** (it changes what the code
    /// does), so plain `--fix` leaves it alone. A `static mut` of an integer or `bool` becomes the matching
    /// atomic (`AtomicU64`, `AtomicBool`): reads become `V_NAME.with(|name| name.load(SeqCst))`, `NAME = v`
    /// a `store`, `NAME += v` a `fetch_add` (which wraps where `+=` would panic). A `static mut` of an atomic
    /// loses `mut`. Any other type becomes a `std::sync::Mutex` of it, each use taking the lock for one
    /// expression (a use that calls back into code taking the same lock deadlocks). The static is left alone,
    /// with the reason, when its address is taken (`&NAME`, `addr_of!`), a use sits in a macro the fix cannot
    /// read or in an expression that returns or uses `?`, the type is not `Send` (raw pointers, `Rc`,
    /// `Cell`), the crate is always `no_std`, or code that runs outside the instances reaches it (an
    /// `extern "C" fn` such as a signal handler, or a `thread_local!` initializer, directly or through
    /// the crate's functions it calls). When a lock cannot hold its uses (a borrow outlives the
    /// expression), or the crate also builds without `std`, it becomes a per-instance
    /// `vnet_runtime::StaticMut` instead: each use is `*V_NAME.as_ptr()` in the `unsafe` block it was
    /// in, and the code's own protocol (a guard, a state word) keeps it sound per instance; its guard is
    /// ported with it or both are left, also when a helper the guard's function calls is what writes it.
    ///
    /// ## Configuration
    /// Mark state that is truly process-wide (the driver of one piece of hardware) with
    /// `#[vnet_runtime::global(reason = "…")]`, or the comment `// vnet-lint: allow(static-mut): reason` on
    /// the line above. Paths listed under `global` in `vnet-lint.toml` are not checked.
    pub StaticMut => "VN101", "static-mut", Globals, Deny, since "0.1.0",
    "`static mut` items, one mutable value for the whole process"
}

/// Reports a `static mut` item.
pub(crate) fn check(item: &GlobalItem) -> Option<Finding> {
    let GlobalKind::StaticMut = item.kind else {
        return None;
    };
    Some(
        Finding::new(
            &StaticMut::RULE,
            item.file,
            item.primary.clone(),
            format!("`static mut {}` is one mutable value shared by every instance", item.name),
        )
        .with_label("mutable global")
        .with_help(format!(
            "make it per instance: `#[vnet] static {}: T = …;` with a `Sync` type (an atomic or a lock), \
             used through `V_{}`",
            item.name, item.name
        ))
        .with_note(super::PROCESS_WIDE_NOTE),
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, check_including_tests};

    #[test]
    fn points_at_the_mut_token() {
        check(
            r#"
static mut COUNT: u32 = 0;
     //^^^ VN101
fn f() { static mut LOCAL: u8 = 0; }
              //^^^ VN101
"#,
        );
    }

    #[test]
    fn vnet_and_marked_statics_are_silent() {
        check(
            r#"
#[vnet] static mut PER_INSTANCE: u32 = 0;
#[global(reason = "one NIC")] static mut NIC: u32 = 0;
const NOT_A_STATIC: u32 = 0;
"#,
        );
    }

    #[test]
    fn extern_statics_belong_to_the_foreign_code() {
        check(
            r#"
extern "C" {
    static mut environ: *mut *mut c_char;
    static in6addr_any: in6_addr;
}
"#,
        );
    }

    #[test]
    fn macro_rules_matchers_and_foreign_statics_are_not_statics() {
        check_including_tests(
            r#"
macro_rules! prefixed {
    ($vis:vis static mut $name:ident: $typ:ty;) => {
        extern "C" { $vis static mut $name: $typ; }
    };
    ($name:ident) => {
        static mut $name: u8 = 0;
             //^^^ VN101
    };
}
"#,
        );
    }
}
