//! Destroying instances: the subtree from the children index, the busy
//! check, and the teardown hooks.

use std::sync::atomic::Ordering::*;

use super::handle::catch_drop_panics;
use super::{list, state, Instance, Vnet, VnetState};
use crate::context;
use crate::lifecycle;
use crate::Error;

impl Vnet {
    /// Destroys the instance: first its children (deepest first), then the
    /// instance itself. Each leaves the instance list, then its per-instance
    /// teardown hooks (VNET_SYSUNINIT) run in reverse order with it current.
    ///
    /// Refused (and nothing is changed) for vnet0, from inside
    /// [`vnet_foreach`](crate::vnet_foreach), and while the instance or one of
    /// its descendants is current on any thread ([`Error::Busy`]). Other
    /// handles may outlive the call: they see [`VnetState::Destroyed`], and the
    /// values are dropped when the last of them goes.
    ///
    /// A thread that enters the instance (or one of its descendants) at the
    /// same moment either gets in first, and then this destroy is refused
    /// with [`Error::Busy`], or is refused itself (its `enter` panics, its
    /// `try_enter`-style callers see the instance gone): an entered body
    /// never runs beside the teardown hooks.
    ///
    /// The cost does not depend on how many other instances exist: the
    /// subtree comes from the children index, leaving the list is O(1)
    /// (amortized), and the busy check is one pass over the registered
    /// threads' context stacks.
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::create("short-lived").unwrap();
    /// v.destroy().unwrap();
    /// assert!(vnet_runtime::Vnet::lookup("short-lived").is_none());
    /// ```
    pub fn destroy(self) -> Result<(), Error> {
        if self.is_default() {
            return Err(Error::Vnet0);
        }
        if context::inside_foreach() {
            return Err(Error::InsideForeach);
        }
        // Issue 10: cancel and wait for the threads, tasks, timers and event
        // handlers owned by this instance and its descendants, before the busy
        // check (an owned thread has its instance current) and before any
        // VNET_SYSUNINIT runs. Dropped at the end: reopens them if refused.
        let _stopped_work = crate::owned::stop_instance_work(&self);
        let lifecycle = lifecycle::read();
        let doomed = {
            let mut list = list::write();
            if self.state() != VnetState::Live {
                return Err(Error::Destroyed(self.name().to_owned()));
            }
            let doomed = subtree_deepest_first(&list, &self);
            // A child still running its init hooks is not in the list yet;
            // tearing its parent down first would break "children first".
            if let Some(parent) = doomed
                .iter()
                .find(|p| p.instance().children.load(Acquire) > list.children(p).count())
            {
                return Err(Error::ChildrenCreating(parent.name().to_owned()));
            }
            let states: Vec<_> = doomed.iter().map(|v| &v.instance().state).collect();
            let closed = state::close(&states, || {
                let pinned = context::pinned();
                doomed.iter().position(|v| {
                    v.instance().futures.load(Relaxed) > 0
                        || pinned.binary_search(&v.instance().pin()).is_ok()
                })
            });
            if let Err(busy) = closed {
                return Err(Error::Busy {
                    name: doomed[busy].name().to_owned(),
                });
            }
            for v in &doomed {
                list.remove(v);
            }
            doomed
        };
        for v in &doomed {
            lifecycle::destroy(&lifecycle, v);
            v.instance().set_state(VnetState::Destroyed);
            release_reservations(v.instance());
        }
        drop(lifecycle);
        // Usually the last handles: the values are dropped here, outside the
        // lifecycle lock (a value's `Drop` may use the runtime). A panic from
        // a `Drop` is caught (it must not unwind out of the handle's `Drop`)
        // and re-raised here, after everything was freed.
        let panic = catch_drop_panics(move || drop((doomed, self)));
        crate::graveyard::sweep();
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        Ok(())
    }
}

/// Gives back what `new_unpublished` reserved: the name and the parent's slot.
pub(super) fn release_reservations(instance: &Instance) {
    list::release_name(instance.name());
    if let Some(parent) = &instance.parent {
        parent.instance().children.fetch_sub(1, AcqRel);
    }
}

/// `root` and its listed descendants, children before parents: deepest
/// first, and among equals newest first (reverse creation order). Walks the
/// children index from `root`, so it costs O(k log n) for a subtree of k.
fn subtree_deepest_first(list: &list::List, root: &Vnet) -> Vec<Vnet> {
    let mut found: Vec<(usize, usize, Vnet)> = vec![(0, list.position(root), root.clone())];
    let mut next = 0;
    while next < found.len() {
        let (depth, _, parent) = found[next].clone();
        for child in list.children(&parent) {
            found.push((depth + 1, list.position(child), child.clone()));
        }
        next += 1;
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    found.into_iter().map(|(_, _, v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// The one way to drop the last handle of an instance that is current on
    /// a thread: a set that races `destroy` (entering during teardown) and
    /// is leaked. Emulated here by pushing without the state check.
    #[test]
    fn last_handle_dropped_while_pinned_is_freed_when_the_thread_exits() {
        let v = Vnet::create("unit-grave").unwrap();
        let handle = v.clone();
        v.destroy().unwrap();
        let (pinned_tx, pinned_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let i = handle.instance();
            std::mem::forget(context::push(i.pin(), i.base(), String::new));
            let base = context::current_base();
            drop(handle); // the last handle, while current here
            pinned_tx
                .send((
                    crate::graveyard::graveyard_len(),
                    base == context::current_base(),
                ))
                .unwrap();
            exit_rx.recv().unwrap();
        });
        let (in_graveyard, base_kept) = pinned_rx.recv().unwrap();
        assert!(in_graveyard >= 1, "the instance waits in the graveyard");
        assert!(base_kept);
        exit_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(crate::graveyard::graveyard_len(), 0, "thread exit frees it");
    }
}
