//! `VN302 v-accessor-in-spawned-closure`: a `V_` accessor in a closure handed to a thread, task, timer or
//! callback registration, where nothing in the closure makes an instance current.

use crate::diag::{FileId, Finding};
use crate::model::names::Named;
use crate::model::Model;
use crate::parse::lifecycle::{LifecycleFacts, SpawnedAccess};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks closures (and `async` blocks) passed to spawns that carry no instance, timers and callback
    /// registrations for `V_` accessors, when nothing in the closure enters an instance
    /// (`curvnet_set`, `enter`, `with_in`, `bind`, `vnet_foreach`). The call is resolved, however it is
    /// imported or re-exported: `std::thread::spawn`, `std::thread::Builder::spawn`, `tokio::spawn`,
    /// `tokio::task::spawn_blocking`, `rayon::spawn` and other crates' `spawn`s carry no instance; the
    /// runtime's `thread::spawn_current`, `spawn_in` and the scoped forms carry the current one and are never
    /// reported, nor are futures bound with `.in_vnet(…)`/`.in_current_vnet()`.
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
    /// is not seen. Methods (`builder.spawn(…)`, `timer.schedule(…)`) are judged by name, since their
    /// receiver's type is not known; the crate's own functions are not judged.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(v-accessor-in-spawned-closure): reason` above the statement.
    pub VAccessorInSpawnedClosure => "VN302", "v-accessor-in-spawned-closure", Context, Deny, since "0.2.0",
    "`V_` accessor in a spawned closure that makes no instance current"
}

/// Spawns that carry no instance, by the path they resolve to. Any other function outside the runtime
/// whose name is one of [`SPAWN_NAMES`] is taken as one too (`async_std::task::spawn`, `smol::spawn`).
const NO_INSTANCE: &[&[&str]] = &[
    &["std", "thread", "spawn"],
    &["std", "thread", "Builder", "spawn"],
    &["tokio", "spawn"],
    &["tokio", "task", "spawn"],
    &["tokio", "task", "spawn_blocking"],
    &["tokio", "task", "spawn_local"],
    &["tokio", "task", "block_in_place"],
    &["rayon", "spawn"],
    &["rayon", "spawn_fifo"],
];

/// Names of functions that hand a closure to another thread, task, timer or callback list.
use crate::parse::lifecycle::body::SPAWNERS as SPAWN_NAMES;

/// Why the closure handed to `access`'s call runs with no instance, or `None` when it does not: the
/// runtime's spawns (`vnet_runtime::thread::spawn_current`, `spawn_in`…) carry the instance; the selection's own
/// functions are not judged; a method (`.spawn`, `.schedule`) is judged by name.
///
/// `Some(resolved)` when it carries none, with the path it resolved to when that is not how it is
/// written.
fn carries_no_instance(
    model: &Model,
    module: &[String],
    access: &SpawnedAccess,
) -> Option<Option<String>> {
    let Some(path) = &access.path else {
        let method = access.spawner.trim_start_matches('.');
        return SPAWN_NAMES.contains(&method).then_some(None);
    };
    let scope: Vec<String> = module.iter().chain(&access.inline).cloned().collect();
    match model.names.resolve(&scope, path) {
        Some(Named::External(p)) => {
            if p.first()
                .is_some_and(|k| k == "vnet_runtime" || k == "core")
            {
                return None;
            }
            let spawns = NO_INSTANCE
                .iter()
                .any(|known| known.iter().copied().eq(p.iter().map(String::as_str)))
                || p.last().is_some_and(|l| SPAWN_NAMES.contains(&l.as_str()));
            let shown = p.join("::");
            spawns.then(|| (shown != access.spawner).then_some(shown))
        }
        Some(_) => None,
        // A name the resolver cannot place (a glob of a crate it does not read, a macro's): by name.
        None => path
            .last()
            .is_some_and(|l| SPAWN_NAMES.contains(&l.as_str()))
            .then_some(None),
    }
}

/// Reports accessors in closures handed to calls that carry no instance.
pub(crate) fn check(
    model: &Model,
    file: FileId,
    module: &[String],
    facts: &LifecycleFacts,
    out: &mut Vec<(Finding, usize)>,
) {
    let mut reported: Vec<&std::ops::Range<usize>> = Vec::new();
    for access in &facts.spawned_accesses {
        // A closure inside another handed closure is reported once, for the innermost call.
        if reported.contains(&&access.span) {
            continue;
        }
        let Some(resolved) = carries_no_instance(model, module, access) else {
            continue;
        };
        reported.push(&access.span);
        let spawner = match resolved {
            Some(path) => format!("`{}` (`{path}`)", access.spawner),
            None => format!("`{}`", access.spawner),
        };
        out.push((
            Finding::new(
                &VAccessorInSpawnedClosure::RULE,
                file,
                access.span.clone(),
                format!(
                    "`{}` is used in a closure handed to {spawner}, where no instance is current",
                    access.name
                ),
            )
            .with_label("no instance current here")
            .with_help(
                "capture the instance and enter it inside: `let vnet = Vnet::current()…; move || \
                 vnet.enter(|| …)` (or `fut.in_vnet(&vnet)` for a task), or spawn with the runtime's \
                 `vnet_runtime::thread::spawn_current`, which carries the current instance",
            ),
            access.span.start,
        ));
    }
}
