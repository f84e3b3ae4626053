//! `VN301 guard-dropped-at-once`: a current-instance guard dropped as soon as it is made.

use crate::diag::{FileId, Finding};
use crate::model::Model;
use crate::parse::lifecycle::LifecycleFacts;
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks for `let _ = curvnet_set(&vnet);`, `curvnet_set(&vnet);` as a bare statement and
    /// `drop(curvnet_set(&vnet));`, where `curvnet_set` is the runtime's however it is imported (a
    /// function of the crate's own that happens to be named `curvnet_set` is not).
    ///
    /// ## Why is this bad?
    /// The guard restores the previous instance when it is dropped. `let _ =` and a bare statement drop
    /// it at once, so the code after it runs in whatever instance was current before: `V_` accessors
    /// touch the wrong instance's state, or panic with no instance at all.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::{curvnet_set, Vnet};
    ///
    /// fn count(vnet: &Vnet) {
    ///     let _ = curvnet_set(vnet);
    ///     V_PACKETS.with(|p| p.fetch_add(1, Relaxed));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// let _guard = curvnet_set(&vnet); // held to the end of the scope
    /// V_PACKETS.with(|p| p.fetch_add(1, Relaxed));
    /// // or: vnet.enter(|| V_PACKETS.with(|p| p.fetch_add(1, Relaxed)));
    /// ```
    ///
    /// ## Known problems
    /// Guards made through other names (a wrapper function, `curvnet_set` imported under another name)
    /// are not followed.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(guard-dropped-at-once): reason` above the statement.
    pub GuardDroppedAtOnce => "VN301", "guard-dropped-at-once", Context, Deny, since "0.2.0",
    "current-instance guard dropped as soon as it is made"
}

/// Reports guards dropped at once.
pub(crate) fn check(
    model: &Model,
    file: FileId,
    module: &[String],
    facts: &LifecycleFacts,
    out: &mut Vec<(Finding, usize)>,
) {
    for guard in &facts.dropped_guards {
        if !super::is_guard_maker(model, module, &guard.inline, guard.maker.as_ref()) {
            continue;
        }
        out.push((
            Finding::new(
                &GuardDroppedAtOnce::RULE,
                file,
                guard.span.clone(),
                format!(
                    "the current-instance guard is dropped at once ({}): no instance stays current",
                    guard.how
                ),
            )
            .with_label("guard dropped here")
            .with_help(
                "bind it to a named variable (`let _guard = curvnet_set(&vnet);`), or run the code in \
                 `vnet.enter(|| …)`",
            ),
            guard.span.start,
        ));
    }
}
