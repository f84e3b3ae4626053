//! `VN302 v-accessor-in-spawned-closure`: a `V_` accessor in a closure handed to a thread, task, timer or
//! callback registration, where nothing in the closure makes an instance current.

use crate::diag::{FileId, Finding};
use crate::parse::lifecycle::ModelFacts;
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks closures (and `async` blocks) passed to `thread::spawn`, task spawns, timers and callback
    /// registrations for `V_` accessors, when nothing in the closure enters an instance
    /// (`curvnet_set`, `enter`, `with_in`, `bind`, `vnet_foreach`).
    ///
    /// ## Why is this bad?
    /// The current instance belongs to a thread. The closure runs later, on another thread, where no
    /// instance (or another one) is current: the accessor panics or touches the wrong instance's state.
    ///
    /// ## Example
    /// ```rust,ignore
    /// fn start() {
    ///     std::thread::spawn(|| V_PACKETS.with(|p| p.load(Relaxed)));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let vnet = Vnet::current().expect("inside an instance");
    /// std::thread::spawn(move || vnet.enter(|| V_PACKETS.with(|p| p.load(Relaxed))));
    /// ```
    ///
    /// ## Known problems
    /// Closures passed by variable are not followed; an instance entered by a function the closure calls
    /// is not seen.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(v-accessor-in-spawned-closure): reason` above the statement.
    pub VAccessorInSpawnedClosure => "VN302", "v-accessor-in-spawned-closure", Context, Deny, since "0.2.0",
    "`V_` accessor in a spawned closure that makes no instance current"
}

/// Reports accessors in spawned closures.
pub(crate) fn check(file: FileId, facts: &ModelFacts, out: &mut Vec<(Finding, usize)>) {
    for access in &facts.spawned_accesses {
        out.push((
            Finding::new(
                &VAccessorInSpawnedClosure::RULE,
                file,
                access.span.clone(),
                format!(
                    "`{}` is used in a closure handed to `{}`, where no instance is current",
                    access.name, access.spawner
                ),
            )
            .with_label("no instance current here")
            .with_help(
                "capture the instance and enter it inside: `let vnet = Vnet::current()…; move || \
                 vnet.enter(|| …)` (or `vnet.bind(future)` for a task)",
            ),
            access.span.start,
        ));
    }
}
