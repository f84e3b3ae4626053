//! `VN104 thread-local-global`: an item declared inside `thread_local!`.

use crate::diag::Finding;
use crate::parse::{GlobalItem, GlobalKind};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks for items declared inside a `thread_local!` invocation, or a macro of the same shape whose
    /// name ends in `thread_local` (`tokio_thread_local!`, scoped-tls's `scoped_thread_local!`, whose items
    /// have no initializer).
    ///
    /// ## Why is this bad?
    /// A thread-local is per thread, not per instance. A thread that serves two instances one after the
    /// other carries the first instance's value into the second, and two threads of one instance see two
    /// different values. The porting guide ties state to the instance ("all network interfaces and sockets
    /// hold pointers back to their associated vnets"), never to the thread that happens to run.
    ///
    /// ## Example
    /// ```rust,ignore
    /// thread_local! {
    ///     static LAST_ROUTE: RefCell<Option<Route>> = RefCell::new(None);
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet]
    /// static LAST_ROUTE: Mutex<Option<Route>> = Mutex::new(None);
    /// ```
    ///
    /// ## Fix safety
    /// Never fixed: a `thread_local!` is per thread by design, and whether its value belongs to the thread
    /// (a scratch buffer, a cached handle) or to the instance is a decision the code's author must make.
    /// `--fix` reports it as left alone, with that reason.
    ///
    /// ## Configuration
    /// Per-thread scratch space that holds no instance state (a formatting buffer) can stay: mark it with
    /// `#[vnet_runtime::global(reason = "…")]` inside the macro, or the comment
    /// `// vnet-lint: allow(thread-local-global): reason` on the line above.
    pub ThreadLocalGlobal => "VN104", "thread-local-global", Globals, Deny, since "0.1.0",
    "items declared inside `thread_local!`, per thread rather than per instance"
}

/// Reports an item declared inside `thread_local!`.
pub(crate) fn check(item: &GlobalItem) -> Option<Finding> {
    let GlobalKind::ThreadLocal { via } = &item.kind else {
        return None;
    };
    Some(
        Finding::new(
            &ThreadLocalGlobal::RULE,
            item.file,
            item.primary.clone(),
            format!(
                "`{via}!` item `{}` is per thread, not per instance",
                item.name
            ),
        )
        .with_label("per-thread global")
        .with_help(format!(
            "if it holds instance state, make it `#[vnet] static {}: … = …;`, used through `V_{}`",
            item.name, item.name
        ))
        .with_note(super::PROCESS_WIDE_NOTE),
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::{check, check_including_tests};

    #[test]
    fn points_at_each_name() {
        check(
            r#"
thread_local!(static DEPTH: Cell<u32> = const { Cell::new(0) });
                   //^^^^^ VN104
fn f() {
    std::thread_local! { static LOCAL: u8 = 0 }
                              //^^^^^ VN104
}
"#,
        );
    }

    #[test]
    fn scoped_thread_locals_have_no_initializer() {
        check(
            r#"
scoped_tls::scoped_thread_local!(static CURRENT: Context);
                                      //^^^^^^^ VN104
scoped_thread_local! { pub(crate) static SET: u8; static OTHER: u8 }
                                       //^^^ VN104
                                                       //^^^^^ VN104
"#,
        );
    }

    #[test]
    fn thread_locals_written_by_macro_rules() {
        check_including_tests(
            r#"
macro_rules! task_local {
    ($vis:vis $name:ident, $t:ty) => {
        $vis static $name: LocalKey<$t> = {
            std::thread_local! {
                static __KEY: RefCell<Option<$t>> = const { RefCell::new(None) };
                     //^^^^^ VN104
            }
            LocalKey { inner: __KEY }
        };
    };
}
"#,
        );
    }
}
