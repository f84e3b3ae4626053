//! The lifecycle's operations: the boot sequence, instance creation and
//! destruction, module load, unload and shutdown. Each runs one sequence
//! sorted by the catalog's key; a failure is undone from the journal
//! (`journal.rs` states the rollback rule).

use super::catalog::{SortKey, Unit};
use super::hooks::{
    catalog, deregister, deregister_inits, deregister_uninit, instances, is_loaded, register_init,
    register_uninits, state,
};
use super::journal::{forget_unit, has_done, mark_done, tears_down, undo, Journal};
#[cfg(feature = "vimage")]
use super::journal::{forget_vnet, reached};
use super::modevent::ModEvent;
use super::run::{call_modevent, hook_error, modevent_line, run_hook};
use super::{write, HookKind};
#[cfg(feature = "vimage")]
use crate::instance::Vnet;
use crate::instance::VnetState;
use crate::record::{self, Outcome};
use crate::Error;

/// One step of an init sequence.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    Load(usize),
    Hook(usize),
}

impl Step {
    fn key(self) -> SortKey {
        match self {
            Step::Load(m) => catalog().modules[m].key(),
            Step::Hook(h) => catalog().hooks[h].key(),
        }
    }

    fn unit(self) -> Unit {
        match self {
            Step::Load(m) => Unit::Module(m),
            Step::Hook(h) => catalog().hooks[h].unit,
        }
    }
}

/// The init steps of `unit`: its `MODEVENT(load)`, SYSINITs and VNET_SYSINITs.
pub(super) fn init_steps(unit: Unit) -> Vec<Step> {
    let cat = catalog();
    let mut steps: Vec<Step> = cat
        .unit_hooks(unit)
        .iter()
        .filter(|h| {
            matches!(
                cat.hooks[**h].desc.kind,
                HookKind::Sysinit | HookKind::VnetSysinit
            )
        })
        .map(|h| Step::Hook(*h))
        .collect();
    if let Unit::Module(m) = unit {
        steps.push(Step::Load(m));
    }
    steps
}

pub(super) fn sort_steps(steps: &mut [Step]) {
    steps.sort_by_key(|s| s.key());
}

/// Runs one init step; a VNET_SYSINIT runs on every live instance, in
/// creation order, and stops at the first failure.
pub(super) fn exec_step(step: Step, journal: &mut Journal) -> Result<(), Error> {
    let cat = catalog();
    let unit = step.unit();
    match step {
        Step::Load(m) => {
            let level = cat.modules[m].level();
            register_uninits(unit, Some(level));
            match call_modevent(m, ModEvent::Load) {
                Ok(()) => {
                    modevent_line(m, ModEvent::Load, Outcome::Ok);
                    journal.loaded.push(m);
                    journal.mark(unit, level);
                    state().lock().loaded.push(m);
                    Ok(())
                }
                Err(err) => {
                    modevent_line(m, ModEvent::Load, Outcome::Failed(err.message()));
                    Err(Error::Hook {
                        hook: "MODEVENT(load)".to_owned(),
                        module: cat.modules[m].desc.name.to_owned(),
                        reason: err.message().to_owned(),
                    })
                }
            }
        }
        Step::Hook(h) => {
            let hook = &cat.hooks[h];
            let level = hook.level();
            register_uninits(unit, Some(level));
            if hook.desc.kind == HookKind::Sysinit {
                run_hook(h, None).map_err(|e| hook_error(h, None, e))?;
                journal.mark(unit, level);
                return Ok(());
            }
            // FreeBSD's vnet_register_sysinit: register, then run on every
            // existing instance; instances created from now on run it themselves
            // (one a hook created meanwhile has run it; one a hook destroyed
            // meanwhile is skipped).
            register_init(h);
            for vnet in instances() {
                if vnet.state() != VnetState::Live || has_done(&vnet, h) {
                    continue;
                }
                run_hook(h, Some(&vnet)).map_err(|e| hook_error(h, Some(&vnet), e))?;
                mark_done(&vnet, h);
            }
            Ok(())
        }
    }
}

/// The boot sequence: module load events, SYSINITs and VNET_SYSINITs of the
/// base and of the modules loaded at boot, as one sorted sequence.
pub(crate) fn boot() {
    let _exclusive = write();
    let cat = catalog();
    let (wanted, explicit) = {
        let mut st = state().lock();
        st.boot_errors.extend(cat.errors.iter().cloned());
        (st.options.clone().flatten(), st.options.is_some())
    };
    let mut modules: Vec<usize> = Vec::new();
    match wanted {
        None => modules.extend((0..cat.modules.len()).filter(|m| cat.modules[*m].usable)),
        Some(names) => {
            for name in names {
                match cat.module(&name) {
                    Some(m) if cat.modules[m].usable => modules.push(m),
                    Some(_) => {} // its problem is among the catalog's errors
                    None => state().lock().boot_errors.push(unknown_module(&name)),
                }
            }
        }
    }
    let modules = cat.with_dependencies(&modules, |_| false);

    record::set_booting(true);
    let mut steps: Vec<Step> = init_steps(Unit::Base);
    for &m in &modules {
        steps.extend(init_steps(Unit::Module(m)));
    }
    sort_steps(&mut steps);
    let mut journal = Journal::default();
    let mut dropped: Vec<Unit> = Vec::new();
    for step in steps {
        let unit = step.unit();
        if dropped.contains(&unit) {
            continue;
        }
        let Err(err) = exec_step(step, &mut journal) else {
            continue;
        };
        state().lock().boot_errors.push(err);
        let Unit::Module(failed) = unit else {
            continue; // the base cannot be unloaded: report and go on
        };
        // Unload the module and every boot module that needs it: their steps
        // ran interleaved in the boot sequence, so they are undone together,
        // in reverse of that sequence.
        let doomed: Vec<Unit> = modules
            .iter()
            .filter(|m| depends_on(**m, failed))
            .map(|m| Unit::Module(*m))
            .collect();
        undo(&journal, &doomed);
        dropped.extend(doomed);
    }
    for unit in std::iter::once(Unit::Base).chain(modules.iter().map(|m| Unit::Module(*m))) {
        if !dropped.contains(&unit) {
            register_uninits(unit, None);
        }
    }
    record::set_booting(false);
    let mut st = state().lock();
    st.booted = true;
    if !explicit {
        for err in &st.boot_errors {
            eprintln!("vnet: boot: {err}");
        }
    }
}

/// Whether module `m` is `dep` or needs it, directly or not.
pub(super) fn depends_on(m: usize, dep: usize) -> bool {
    m == dep
        || catalog().modules[m]
            .deps
            .iter()
            .any(|d| depends_on(*d, dep))
}

pub(super) fn unknown_module(name: &str) -> Error {
    let linked: Vec<&str> = catalog().modules.iter().map(|m| m.desc.name).collect();
    Error::Module {
        module: name.to_owned(),
        reason: format!(
            "no module of this name is linked into this binary (linked: {}); if its crate is a dependency, \
             add `vnet_runtime::link!(that_crate);` to the binary",
            if linked.is_empty() { "none".to_owned() } else { linked.join(", ") }
        ),
    }
}

#[cfg(feature = "vimage")]
/// A new instance: every registered VNET_SYSINIT, in order, with it current.
pub(crate) fn create(vnet: &Vnet) -> Result<(), Error> {
    let (inits, uninits) = {
        let st = state().lock();
        (st.vnet_inits.clone(), st.vnet_uninits.clone())
    };
    if inits.is_empty() {
        return Ok(());
    }
    let cat = catalog();
    for &h in inits.iter() {
        if let Err(reason) = run_hook(h, Some(vnet)) {
            for &u in uninits.iter().rev() {
                let undo = &cat.hooks[u];
                if reached(vnet, undo.unit, undo.level()) {
                    let _ = run_hook(u, Some(vnet));
                }
            }
            forget_vnet(vnet);
            return Err(hook_error(h, Some(vnet), reason));
        }
        mark_done(vnet, h);
    }
    Ok(())
}

#[cfg(feature = "vimage")]
/// A dying instance: every registered VNET_SYSUNINIT, in reverse order.
pub(crate) fn destroy(vnet: &Vnet) {
    let uninits = state().lock().vnet_uninits.clone();
    for &h in uninits.iter().rev() {
        if tears_down(vnet, h) {
            let _ = run_hook(h, Some(vnet));
        }
    }
    forget_vnet(vnet);
}

pub(super) fn module_index(name: &str) -> Result<usize, Error> {
    let cat = catalog();
    let m = cat.module(name).ok_or_else(|| unknown_module(name))?;
    if !cat.modules[m].usable {
        let reason = cat
            .errors
            .iter()
            .find_map(|e| match e {
                Error::Module { module, reason } if module == name => Some(reason.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "a module it depends on cannot be loaded".to_owned());
        return Err(Error::Module {
            module: name.to_owned(),
            reason,
        });
    }
    Ok(m)
}

/// Loads a module after boot: its dependencies first, then its own sequence.
pub(crate) fn load(name: &str) -> Result<(), Error> {
    let _exclusive = write();
    let m = module_index(name)?;
    if is_loaded(m) {
        return Err(Error::Module {
            module: name.to_owned(),
            reason: "already loaded".to_owned(),
        });
    }
    let units = catalog().with_dependencies(&[m], is_loaded);
    let mut journal = Journal::default();
    for (i, &u) in units.iter().enumerate() {
        let mut steps = init_steps(Unit::Module(u));
        sort_steps(&mut steps);
        for step in steps {
            if let Err(err) = exec_step(step, &mut journal) {
                // Each module's sequence ran after its dependencies': undo
                // them one by one, the last loaded first.
                for &d in units[..=i].iter().rev() {
                    undo(&journal, &[Unit::Module(d)]);
                }
                return Err(err);
            }
        }
        register_uninits(Unit::Module(u), None);
    }
    Ok(())
}

/// Unloads a module: quiesce, unload, then its teardown hooks in reverse.
pub(crate) fn unload(name: &str, force: bool) -> Result<(), Error> {
    let _exclusive = write();
    let cat = catalog();
    let m = cat.module(name).ok_or_else(|| unknown_module(name))?;
    let refuse = |reason: String| Error::Module {
        module: name.to_owned(),
        reason,
    };
    let loaded = state().lock().loaded.clone();
    if !loaded.contains(&m) {
        return Err(refuse("not loaded".to_owned()));
    }
    let dependents: Vec<&str> = loaded
        .iter()
        .filter(|l| cat.modules[**l].deps.contains(&m))
        .map(|l| cat.modules[*l].desc.name)
        .collect();
    if !dependents.is_empty() {
        return Err(refuse(format!(
            "loaded module(s) {} depend on it: unload {} first",
            dependents.join(", "),
            if dependents.len() == 1 { "it" } else { "them" }
        )));
    }
    match call_modevent(m, ModEvent::Quiesce) {
        Ok(()) => modevent_line(m, ModEvent::Quiesce, Outcome::Ok),
        Err(e) if e.is_unsupported() => modevent_line(m, ModEvent::Quiesce, Outcome::Unsupported),
        Err(e) if force => modevent_line(m, ModEvent::Quiesce, Outcome::VetoIgnored(e.message())),
        Err(e) => {
            modevent_line(m, ModEvent::Quiesce, Outcome::Vetoed(e.message()));
            return Err(refuse(format!(
                "unload vetoed by MODEVENT(quiesce): {}",
                e.message()
            )));
        }
    }
    if let Err(e) = call_modevent(m, ModEvent::Unload) {
        modevent_line(m, ModEvent::Unload, Outcome::Vetoed(e.message()));
        return Err(refuse(format!(
            "unload vetoed by MODEVENT(unload): {}",
            e.message()
        )));
    }
    modevent_line(m, ModEvent::Unload, Outcome::Ok);
    // Cancel and wait for the module's timers and global event handlers
    // before any of its teardown hooks runs.
    crate::owned::stop_module_work(name);
    let unit = Unit::Module(m);
    // No new instance runs its inits from now on; each teardown hook stays
    // registered until it has run on every instance, so an instance a hook
    // destroys meanwhile runs the rest of them itself.
    deregister_inits(unit);
    for &h in cat.unit_hooks(unit).iter().rev() {
        match cat.hooks[h].desc.kind {
            HookKind::Sysuninit => {
                let _ = run_hook(h, None);
            }
            HookKind::VnetSysuninit => {
                // Every instance the module had initialized (a hook may have
                // destroyed some meanwhile). `Dying` here is a destroy still
                // stopping owned work (its teardown waits for this lock, and
                // would no longer find this hook).
                for v in instances() {
                    let listed = matches!(v.state(), VnetState::Live | VnetState::Dying);
                    if listed && tears_down(&v, h) {
                        let _ = run_hook(h, Some(&v));
                    }
                }
                deregister_uninit(h);
            }
            _ => {}
        }
    }
    deregister(unit);
    forget_unit(unit);
    Ok(())
}

/// Sends `MODEVENT(shutdown)` to every loaded module, newest first.
pub(crate) fn shutdown() {
    let _exclusive = write();
    let loaded = {
        let mut st = state().lock();
        if std::mem::replace(&mut st.shut_down, true) {
            return; // the process shuts down once
        }
        st.loaded.clone()
    };
    for &m in loaded.iter().rev() {
        match call_modevent(m, ModEvent::Shutdown) {
            Ok(()) => modevent_line(m, ModEvent::Shutdown, Outcome::Ok),
            Err(e) if e.is_unsupported() => {
                modevent_line(m, ModEvent::Shutdown, Outcome::Unsupported)
            }
            Err(e) => modevent_line(m, ModEvent::Shutdown, Outcome::Failed(e.message())),
        }
    }
}
