//! Finding instances: by name, all of them, the current one, and
//! `vnet_foreach` (each in turn, current).

use std::sync::atomic::Ordering::Acquire;

use super::{list, state, Instance, Vnet, VnetState};
use crate::boot::booted;
use crate::context;

impl Vnet {
    /// The current instance for a `*_current` form named `what` (vnet0
    /// under the default-instance policy); with none, the panic that names
    /// the call and its handle form.
    #[track_caller]
    pub(crate) fn current_or_panic(what: &str, handle_form: &str) -> Vnet {
        match Vnet::current() {
            Some(vnet) => vnet,
            None => no_current_instance(what, handle_form),
        }
    }

    /// The live instance named `name` (a hash lookup: its cost does not
    /// depend on how many instances exist).
    ///
    /// ```
    /// let v = vnet_runtime::Vnet::create("findme").unwrap();
    /// assert_eq!(vnet_runtime::Vnet::lookup("findme"), Some(v.clone()));
    /// v.destroy().unwrap();
    /// assert_eq!(vnet_runtime::Vnet::lookup("findme"), None);
    /// ```
    pub fn lookup(name: &str) -> Option<Vnet> {
        booted();
        // A destroy that is stopping the instance's owned work keeps it
        // listed (for module unloads) but it is no longer live.
        list::lookup(name).filter(|v| v.state() == VnetState::Live)
    }

    /// Every live instance, in creation order (vnet0 first).
    ///
    /// ```
    /// assert_eq!(vnet_runtime::Vnet::list()[0].name(), "vnet0");
    /// ```
    pub fn list() -> Vec<Vnet> {
        booted();
        let mut all = list::snapshot();
        all.retain(|v| v.state() == VnetState::Live);
        all
    }

    /// The instance current on this thread, if any (with none current, vnet0
    /// under [`ContextPolicy::DefaultInstance`](crate::ContextPolicy)).
    ///
    /// ```
    /// let v = vnet_runtime::vnet0();
    /// assert_eq!(vnet_runtime::Vnet::current(), None);
    /// v.enter(|| assert_eq!(vnet_runtime::Vnet::current(), Some(v.clone())));
    /// ```
    pub fn current() -> Option<Vnet> {
        let Some(pin) = context::current_pin() else {
            // None current: vnet0 under the default-instance policy.
            return crate::policy::falls_back().then(crate::boot::vnet0);
        };
        // SAFETY: a pin on this thread's stack is a pinned, hence not freed,
        // `Instance`; it is used only here, before any restore.
        Vnet::from_live(unsafe { &*pin.cast::<Instance>() })
    }
}

/// Runs `f` once for every live instance, in creation order, with that
/// instance current (FreeBSD's `VNET_LIST_RLOCK` + `VNET_FOREACH` +
/// `CURVNET_SET`). The instance list is read-locked for the whole loop, so no
/// instance is created or destroyed meanwhile.
///
/// ```
/// let mut names = Vec::new();
/// vnet_runtime::vnet_foreach(|v| names.push(v.name().to_owned()));
/// assert_eq!(names[0], "vnet0");
/// ```
pub fn vnet_foreach(mut f: impl FnMut(&Vnet)) {
    booted();
    let list = list::read();
    let _scope = context::ForeachScope::enter();
    for slot in list.slots() {
        // SAFETY: a live slot's instance is kept alive by its handle, which
        // stays listed while the list is read-locked.
        let instance = unsafe { &*slot.instance };
        if instance.state.load(Acquire) == state::STOPPING {
            // Its destroy is committed (stopping its owned work).
            continue;
        }
        let _guard = context::push(instance.pin(), slot.base, || instance.name().to_owned());
        f(slot.vnet.as_ref().expect("live slot"));
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn no_current_instance(what: &str, handle_form: &str) -> ! {
    panic!(
        "{what} needs a current instance and this thread has none: make one current first \
         (`vnet.enter(|| ...)`, `let _guard = curvnet_set(&vnet);`), or name the instance with \
         `{handle_form}`"
    )
}
