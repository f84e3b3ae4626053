//! The journal of an operation and what each instance has initialized, and
//! undoing a failed step from them.
//!
//! **Rollback rule.** A step that fails (an init hook returns `Err` or
//! panics, or `MODEVENT(load)` fails) undoes, in reverse order, exactly what
//! its operation had done: for each module (and the base) and each target (the
//! process, or one instance), the teardown hooks whose `(subsystem, order)` is
//! at or below the highest level at which one of that module's init steps
//! succeeded on that target run, in reverse order; a module whose
//! `MODEVENT(load)` succeeded gets `MODEVENT(unload)` at its own position in
//! that reverse order. The failing hook itself gets no teardown (it cleans up
//! after itself, as a Linux pernet `init` does). Teardown hooks cannot veto;
//! their failures are traced and the teardown goes on. At boot, the failing
//! module and the boot modules that depend on it are undone together, in
//! reverse of the boot sequence (their steps were interleaved there); a load
//! after boot undoes the module, then the dependencies that load had loaded,
//! newest first (each ran its own sequence).

use std::collections::HashMap;
use std::sync::OnceLock;

use parking_lot::Mutex;

use super::catalog::{SortKey, Unit};
use super::hooks::{catalog, deregister, instances};
use super::modevent::ModEvent;
use super::run::{call_modevent, modevent_line, run_hook};
use super::HookKind;
use crate::instance::Vnet;
use crate::record::Outcome;

/// What one operation (boot, a module load) has done so far, for rollback.
/// What each instance has done is in [`done`].
#[derive(Default)]
pub(super) struct Journal {
    /// Modules whose `MODEVENT(load)` succeeded.
    pub(super) loaded: Vec<usize>,
    /// Highest `(subsystem, order)` at which a process-wide init step of a
    /// unit succeeded.
    marks: HashMap<Unit, (u32, u32)>,
}

impl Journal {
    pub(super) fn mark(&mut self, unit: Unit, level: (u32, u32)) {
        let mark = self.marks.entry(unit).or_insert(level);
        *mark = (*mark).max(level);
    }

    pub(super) fn reached(&self, unit: Unit, level: (u32, u32)) -> bool {
        self.marks.get(&unit).is_some_and(|mark| level <= *mark)
    }
}

/// The VNET_SYSINITs each instance (by id) has run. However hooks create or
/// destroy instances in the middle of a load, an instance runs each init
/// once, and its teardown runs only for what it had initialized.
pub(super) fn done() -> &'static Mutex<HashMap<u64, Vec<usize>>> {
    static DONE: OnceLock<Mutex<HashMap<u64, Vec<usize>>>> = OnceLock::new();
    DONE.get_or_init(Default::default)
}

pub(super) fn mark_done(vnet: &Vnet, h: usize) {
    done().lock().entry(vnet.id()).or_default().push(h);
}

pub(super) fn has_done(vnet: &Vnet, h: usize) -> bool {
    done()
        .lock()
        .get(&vnet.id())
        .is_some_and(|d| d.contains(&h))
}

/// Whether a VNET_SYSINIT of `unit` at `level` or above succeeded on `vnet`
/// (the rollback rule, per instance).
pub(super) fn reached(vnet: &Vnet, unit: Unit, level: (u32, u32)) -> bool {
    let cat = catalog();
    done().lock().get(&vnet.id()).is_some_and(|d| {
        d.iter()
            .any(|h| cat.hooks[*h].unit == unit && level <= cat.hooks[*h].level())
    })
}

/// Whether teardown hook `u` runs when `vnet` is torn down (destroyed, or
/// its module unloaded): when `vnet` ran every VNET_SYSINIT of the hook's
/// unit, or (partly initialized) one at the hook's level or above.
pub(super) fn tears_down(vnet: &Vnet, u: usize) -> bool {
    let cat = catalog();
    let hook = &cat.hooks[u];
    let complete = {
        let all = done();
        let all = all.lock();
        let mine = all.get(&vnet.id()).map(Vec::as_slice).unwrap_or(&[]);
        cat.unit_hooks(hook.unit)
            .iter()
            .filter(|h| cat.hooks[**h].desc.kind == HookKind::VnetSysinit)
            .all(|h| mine.contains(h))
    };
    complete || reached(vnet, hook.unit, hook.level())
}

#[cfg(feature = "vimage")]
pub(super) fn forget_vnet(vnet: &Vnet) {
    done().lock().remove(&vnet.id());
}

pub(super) fn forget_unit(unit: Unit) {
    let cat = catalog();
    for hooks in done().lock().values_mut() {
        hooks.retain(|h| cat.hooks[*h].unit != unit);
    }
}

/// Undoes what `journal` says `unit` had done (see the rollback rule).
pub(super) fn undo(journal: &Journal, units: &[Unit]) {
    enum Action<'a> {
        Hook(usize, Option<&'a Vnet>),
        Unload(usize),
    }
    let cat = catalog();
    let vnets = instances();
    let mut actions: Vec<(SortKey, u64, Action<'_>)> = Vec::new();
    for &unit in units {
        for &h in cat.unit_hooks(unit) {
            let hook = &cat.hooks[h];
            match hook.desc.kind {
                HookKind::Sysuninit if journal.reached(unit, hook.level()) => {
                    actions.push((hook.key(), 0, Action::Hook(h, None)));
                }
                HookKind::VnetSysuninit => {
                    // Every instance the unit's inits reached, including those a
                    // hook created during the operation.
                    for v in &vnets {
                        if reached(v, unit, hook.level()) {
                            actions.push((hook.key(), v.id(), Action::Hook(h, Some(v))));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Unit::Module(m) = unit {
            if journal.loaded.contains(&m) {
                actions.push((cat.modules[m].key(), 0, Action::Unload(m)));
            }
        }
    }
    // Reverse order of levels (the units' steps ran as one sorted sequence);
    // per-instance hooks visit instances in creation order.
    actions.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &unit in units {
        deregister(unit);
        forget_unit(unit);
    }
    for (_, _, action) in actions {
        match action {
            Action::Hook(h, vnet) => {
                let _ = run_hook(h, vnet);
            }
            Action::Unload(m) => match call_modevent(m, ModEvent::Unload) {
                Ok(()) => modevent_line(m, ModEvent::Unload, Outcome::Ok),
                Err(e) => modevent_line(m, ModEvent::Unload, Outcome::Failed(e.message())),
            },
        }
    }
}
