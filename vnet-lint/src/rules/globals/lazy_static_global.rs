//! `VN103 lazy-static-global`: an item declared inside `lazy_static!`.

use crate::diag::Finding;
use crate::parse::{GlobalItem, GlobalKind};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks for items declared inside a `lazy_static!` invocation (`static ref NAME: T = …;`).
    ///
    /// ## Why is this bad?
    /// A `lazy_static!` item is initialized once per process, on first use, and then shared by every
    /// instance. Whichever instance touches it first decides its value for all others, and any interior
    /// mutability in `T` leaks state between instances. The porting guide: the initial values "will be
    /// stored and used as the initial values for EACH NEW INSTANCE" only for virtualized variables.
    ///
    /// ## Example
    /// ```rust,ignore
    /// lazy_static! {
    ///     static ref ARP_CACHE: Mutex<HashMap<Ipv4Addr, MacAddr>> = Mutex::new(HashMap::new());
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet]
    /// static ARP_CACHE: LazyLock<Mutex<HashMap<Ipv4Addr, MacAddr>>> =
    ///     LazyLock::new(|| Mutex::new(HashMap::new()));
    /// ```
    ///
    /// ## Known problems
    /// Every item is reported, also one holding immutable data (a compiled regular expression). Mark those
    /// process-wide with a reason.
    ///
    /// ## Fix safety
    /// `cargo vnet-lint check --fix --unsafe-fixes` ports it; the fix is **unsafe**: the item leaves the
    /// macro and becomes `#[vnet] static NAME: std::sync::LazyLock<T> = std::sync::LazyLock::new(|| init);`,
    /// so the initializer runs once per instance instead of once per process, and `T` must be `Send + Sync`
    /// (a `lazy_static!` needs only `Sync`). Uses become `V_NAME.with(|name| …)`; an invocation whose items
    /// are all ported is removed. It is left alone, with the reason, when a borrow of it outlives the
    /// expression (`let map = NAME.lock().unwrap();`), a use sits in a macro the fix cannot read, or the
    /// crate builds without `std` (no `LazyLock` there). When every `lazy_static!` of the crate is
    /// ported, its import and the `lazy_static` dependency go; `rust-version` below 1.80 is raised.
    ///
    /// ## Configuration
    /// Mark the item with `#[vnet_runtime::global(reason = "…")]` inside the macro, or put the comment
    /// `// vnet-lint: allow(lazy-static-global): reason` on the line above it.
    pub LazyStaticGlobal => "VN103", "lazy-static-global", Globals, Deny, since "0.1.0",
    "items declared inside `lazy_static!`, initialized once per process"
}

/// Reports an item declared inside `lazy_static!`.
pub(crate) fn check(item: &GlobalItem) -> Option<Finding> {
    let GlobalKind::LazyStatic { via } = &item.kind else {
        return None;
    };
    Some(
        Finding::new(
            &LazyStaticGlobal::RULE,
            item.file,
            item.primary.clone(),
            format!(
                "`{via}!` item `{}` is initialized once and shared by every instance",
                item.name
            ),
        )
        .with_label("process-wide lazy global")
        .with_help(format!(
            "make it per instance: `#[vnet] static {}: LazyLock<…> = LazyLock::new(…);`, used through `V_{}`",
            item.name, item.name
        ))
        .with_note(super::PROCESS_WIDE_NOTE),
    )
}

#[cfg(test)]
mod tests {
    use crate::testing::check;

    #[test]
    fn points_at_each_name() {
        check(
            r#"
lazy_static! {
    static ref A: u8 = 0;
             //^ VN103
    pub static ref BB: Mutex<u8> = Mutex::new(0);
                 //^^ VN103
}
"#,
        );
    }
}
