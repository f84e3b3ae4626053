//! The lifecycle's state: the catalog of this binary, the loaded modules,
//! the registered per-instance hook sets (FreeBSD's `vnet_register_sysinit`
//! and `vnet_deregister_sysuninit`), boot options and boot errors.

use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::catalog::{Catalog, Unit};
use super::HookKind;
use crate::instance::{list, Vnet};
use crate::Error;

/// The catalog of this binary, built on first use (at boot).
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::from_linked)
}

pub(crate) struct State {
    /// Loaded modules, in the order their `MODEVENT(load)` succeeded.
    pub(crate) loaded: Vec<usize>,
    /// Registered per-instance init hooks (indices into the catalog), in order.
    pub(super) vnet_inits: Arc<Vec<usize>>,
    /// Registered per-instance teardown hooks, in (init) order.
    pub(super) vnet_uninits: Arc<Vec<usize>>,
    pub(super) booted: bool,
    /// Set by the first `shutdown`.
    pub(super) shut_down: bool,
    /// `Some` once boot options were given.
    pub(super) options: Option<Option<Vec<String>>>,
    pub(crate) boot_errors: Vec<Error>,
}

pub(crate) fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(|| {
        Mutex::new(State {
            loaded: Vec::new(),
            vnet_inits: Arc::new(Vec::new()),
            vnet_uninits: Arc::new(Vec::new()),
            booted: false,
            shut_down: false,
            options: None,
            boot_errors: Vec::new(),
        })
    })
}

pub(crate) fn set_boot_options(modules: Option<Vec<String>>) -> Result<(), Error> {
    let mut st = state().lock();
    if st.booted || st.options.is_some() {
        return Err(Error::AlreadyBooted);
    }
    st.options = Some(modules);
    Ok(())
}

/// Every live instance, in creation order.
pub(super) fn instances() -> Vec<Vnet> {
    list::snapshot()
}

/// Registers `unit`'s per-instance teardown hooks up to `level` (all of them
/// with `None`), so an instance destroyed from now on runs them.
pub(super) fn register_uninits(unit: Unit, level: Option<(u32, u32)>) {
    let cat = catalog();
    let mut st = state().lock();
    let mut uninits = (*st.vnet_uninits).clone();
    for &h in cat.unit_hooks(unit) {
        let hook = &cat.hooks[h];
        if hook.desc.kind == HookKind::VnetSysuninit
            && level.is_none_or(|l| hook.level() <= l)
            && !uninits.contains(&h)
        {
            uninits.push(h);
        }
    }
    uninits.sort_by_key(|h| cat.hooks[*h].key());
    st.vnet_uninits = Arc::new(uninits);
}

pub(super) fn register_init(h: usize) {
    let cat = catalog();
    let mut st = state().lock();
    if !st.vnet_inits.contains(&h) {
        let mut inits = (*st.vnet_inits).clone();
        inits.push(h);
        inits.sort_by_key(|h| cat.hooks[*h].key());
        st.vnet_inits = Arc::new(inits);
    }
}

/// Forgets per-instance teardown hook `h` (FreeBSD's
/// `vnet_deregister_sysuninit`, after running it on every instance).
pub(super) fn deregister_uninit(h: usize) {
    let mut st = state().lock();
    if st.vnet_uninits.contains(&h) {
        st.vnet_uninits = Arc::new(
            st.vnet_uninits
                .iter()
                .copied()
                .filter(|u| *u != h)
                .collect(),
        );
    }
}

/// Forgets every per-instance init hook of `unit` (and that it is loaded).
pub(super) fn deregister_inits(unit: Unit) {
    let cat = catalog();
    let mut st = state().lock();
    let mine = |h: &usize| cat.hooks[*h].unit == unit;
    if st.vnet_inits.iter().any(mine) {
        st.vnet_inits = Arc::new(st.vnet_inits.iter().copied().filter(|h| !mine(h)).collect());
    }
    if let Unit::Module(m) = unit {
        st.loaded.retain(|l| *l != m);
    }
}

/// Forgets every per-instance hook of `unit`.
pub(super) fn deregister(unit: Unit) {
    let cat = catalog();
    let mut st = state().lock();
    let mine = |h: &usize| cat.hooks[*h].unit == unit;
    if st.vnet_inits.iter().any(mine) {
        st.vnet_inits = Arc::new(st.vnet_inits.iter().copied().filter(|h| !mine(h)).collect());
    }
    if st.vnet_uninits.iter().any(mine) {
        st.vnet_uninits = Arc::new(
            st.vnet_uninits
                .iter()
                .copied()
                .filter(|h| !mine(h))
                .collect(),
        );
    }
    if let Unit::Module(m) = unit {
        st.loaded.retain(|l| *l != m);
    }
}

pub(super) fn is_loaded(m: usize) -> bool {
    state().lock().loaded.contains(&m)
}
