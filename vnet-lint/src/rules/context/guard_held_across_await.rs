//! `VN303 guard-held-across-await`: a current-instance guard held in a variable across an `.await`.

use crate::diag::{FileId, Finding};
use crate::model::Model;
use crate::parse::lifecycle::LifecycleFacts;
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks `async` code for a current-instance guard (`let guard = curvnet_set(&vnet);`, the
    /// runtime's `curvnet_set` however imported) that is still alive at an `.await` in the same block:
    /// neither the block ended nor `drop(guard)` ran before it. The shape of clippy's
    /// `await_holding_lock`.
    ///
    /// ## Why is this bad?
    /// The guard makes the instance current on the thread, not in the task. At the `.await` the task
    /// yields and the executor polls other tasks on the same thread: on a current-thread executor
    /// (`block_on`, `join!`, `LocalSet`), where no `Send` is required, an unrelated task sees this
    /// instance current and writes into its state, with no panic. Guards dropped out of order when the
    /// task resumes leave the skipped instance pinned. Under a multi-thread `tokio::spawn` the compile
    /// error names `*mut u8`, not the guard.
    ///
    /// ## Example
    /// ```rust,ignore
    /// async fn handle(vnet: &Vnet) {
    ///     let _guard = curvnet_set(vnet);
    ///     fetch().await; // other tasks run here with `vnet` current
    ///     V_REQUESTS.with(|r| r.fetch_add(1, Relaxed));
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// async fn handle(vnet: &Vnet) {
    ///     fetch().in_vnet(&vnet).await; // current only while the future is polled
    ///     vnet.enter(|| V_REQUESTS.with(|r| r.fetch_add(1, Relaxed)));
    /// }
    /// // or scope the guard so it ends before the `.await`:
    /// { let _guard = curvnet_set(vnet); V_REQUESTS.with(|r| r.fetch_add(1, Relaxed)); }
    /// fetch().await;
    /// ```
    ///
    /// ## Known problems
    /// Only guards bound with `let NAME = …` in the block that holds the `.await` are followed; a guard
    /// moved into a struct or returned from a helper is not. `.await`s inside closures and `async`
    /// blocks made while the guard lives do not run there and are not counted.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(guard-held-across-await): reason` above the `let`.
    pub GuardHeldAcrossAwait => "VN303", "guard-held-across-await", Context, Deny, since "0.2.0",
    "current-instance guard held across an `.await`"
}

/// Reports guards held across an `.await`.
pub(crate) fn check(
    model: &Model,
    file: FileId,
    module: &[String],
    facts: &LifecycleFacts,
    out: &mut Vec<(Finding, usize)>,
) {
    for guard in &facts.awaited_guards {
        if !super::is_guard_maker(model, module, &guard.inline, guard.maker.as_ref()) {
            continue;
        }
        out.push((
            Finding::new(
                &GuardHeldAcrossAwait::RULE,
                file,
                guard.span.clone(),
                format!(
                    "the current-instance guard `{}` is held across an `.await`: other tasks polled on this \
                     thread meanwhile run with this instance current",
                    guard.name
                ),
            )
            .with_label("guard made here")
            .with_note(format!(
                "the task yields at the `.await` on line {}, with the guard still held",
                guard.await_line
            ))
            .with_help(
                "bind the instance to the future instead (`fut.in_vnet(&vnet).await`), \
                 or end the guard's scope (a block, or `drop(guard)`) before the `.await`",
            ),
            guard.span.start,
        ));
    }
}
