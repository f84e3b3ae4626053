//! Running the lifecycle: the boot sequence, instance creation and
//! destruction, module load, unload and shutdown, and rollback.
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
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;

use super::catalog::{Catalog, SortKey, Unit};
use super::module::{ModError, ModEvent};
use super::{write, HookKind};
use crate::subsystem::{order_name, subsystem_name};
use crate::trace::{self, quote};
use crate::{Error, Vnet};

/// The catalog of this binary, built on first use (at boot).
pub(crate) fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::from_linked)
}

pub(crate) struct State {
    /// Loaded modules, in the order their `MODEVENT(load)` succeeded.
    pub(crate) loaded: Vec<usize>,
    /// Registered per-instance init hooks (indices into the catalog), in order.
    vnet_inits: Arc<Vec<usize>>,
    /// Registered per-instance teardown hooks, in (init) order.
    vnet_uninits: Arc<Vec<usize>>,
    booted: bool,
    /// Set by the first `shutdown`.
    shut_down: bool,
    /// `Some` once boot options were given.
    options: Option<Option<Vec<String>>>,
    pub(crate) boot_errors: Vec<Error>,
    #[cfg(not(feature = "vimage"))]
    vnet0: Option<Vnet>,
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
            #[cfg(not(feature = "vimage"))]
            vnet0: None,
        })
    })
}

/// Set while the boot sequence runs (its lines are kept for `trace::boot_lines`).
static BOOTING: AtomicBool = AtomicBool::new(false);

fn emit(line: String) {
    trace::emit(line, BOOTING.load(Ordering::Relaxed));
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
#[cfg(feature = "vimage")]
fn instances() -> Vec<Vnet> {
    crate::instance::list::snapshot()
}

#[cfg(not(feature = "vimage"))]
fn instances() -> Vec<Vnet> {
    state().lock().vnet0.iter().cloned().collect()
}

/// Runs `f` with `vnet` current, without logging a recursion (the
/// lifecycle's own switch, FreeBSD's `CURVNET_SET_QUIET`).
#[cfg(feature = "vimage")]
fn in_instance<R>(vnet: &Vnet, f: impl FnOnce() -> R) -> R {
    let i = vnet.instance();
    let _guard = crate::context::push(i.pin(), i.base(), || i.name().to_owned());
    f()
}

#[cfg(not(feature = "vimage"))]
fn in_instance<R>(_vnet: &Vnet, f: impl FnOnce() -> R) -> R {
    f()
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    format!("panicked: {msg}")
}

/// How a step ended, as its trace line says.
enum Outcome<'a> {
    Ok,
    Failed(&'a str),
    Vetoed(&'a str),
    /// A quiesce veto that a forced unload ignored.
    VetoIgnored(&'a str),
    /// The handler does not handle this event (counts as success).
    Unsupported,
}

impl Outcome<'_> {
    fn suffix(&self) -> String {
        match self {
            Outcome::Ok => String::new(),
            Outcome::Failed(e) => format!(" result=failed error={}", quote(e)),
            Outcome::Vetoed(e) => format!(" result=vetoed error={}", quote(e)),
            Outcome::VetoIgnored(e) => format!(" result=veto-ignored error={}", quote(e)),
            Outcome::Unsupported => " result=unsupported".to_owned(),
        }
    }
}

/// Runs hook `h` (with `vnet` current for per-instance hooks) and traces it.
fn run_hook(h: usize, vnet: Option<&Vnet>) -> Result<(), String> {
    let hook = &catalog().hooks[h];
    let call = || {
        catch_unwind(AssertUnwindSafe(hook.desc.run)).unwrap_or_else(|p| Err(panic_message(&*p)))
    };
    let result = match vnet {
        Some(v) => in_instance(v, call),
        None => call(),
    };
    let d = hook.desc;
    let outcome = match &result {
        Ok(()) => Outcome::Ok,
        Err(e) => Outcome::Failed(e),
    };
    emit(format!(
        "{} {}{} subsystem={} order={} module={}{}",
        d.kind.event(),
        d.name,
        vnet.map(|v| format!(" vnet={}", v.name()))
            .unwrap_or_default(),
        subsystem_name(d.subsystem),
        order_name(d.order),
        hook.unit_name,
        outcome.suffix()
    ));
    result
}

/// Calls module `m`'s handler (a panic is an error).
fn call_modevent(m: usize, event: ModEvent) -> Result<(), ModError> {
    let handler = catalog().modules[m].desc.handler;
    catch_unwind(AssertUnwindSafe(|| handler(event)))
        .unwrap_or_else(|p| Err(ModError::new(panic_message(&*p))))
}

fn modevent_line(m: usize, event: ModEvent, outcome: Outcome<'_>) {
    let d = catalog().modules[m].desc;
    let key = if event == ModEvent::Load {
        format!(
            " subsystem={} order={} version={}",
            subsystem_name(d.subsystem),
            order_name(d.order),
            d.version
        )
    } else {
        String::new()
    };
    emit(format!(
        "MODEVENT({event}) {}{key}{}",
        d.name,
        outcome.suffix()
    ));
}

fn hook_error(h: usize, vnet: Option<&Vnet>, reason: String) -> Error {
    let hook = &catalog().hooks[h];
    Error::Hook {
        hook: hook.desc.name.to_owned(),
        module: hook.unit_name.to_owned(),
        reason: match vnet {
            Some(v) => format!("{reason} (in vnet `{}`)", v.name()),
            None => reason,
        },
    }
}

/// What one operation (boot, a module load) has done so far, for rollback.
/// What each instance has done is in [`done`].
#[derive(Default)]
struct Journal {
    /// Modules whose `MODEVENT(load)` succeeded.
    loaded: Vec<usize>,
    /// Highest `(subsystem, order)` at which a process-wide init step of a
    /// unit succeeded.
    marks: HashMap<Unit, (u32, u32)>,
}

impl Journal {
    fn mark(&mut self, unit: Unit, level: (u32, u32)) {
        let mark = self.marks.entry(unit).or_insert(level);
        *mark = (*mark).max(level);
    }

    fn reached(&self, unit: Unit, level: (u32, u32)) -> bool {
        self.marks.get(&unit).is_some_and(|mark| level <= *mark)
    }
}

/// The VNET_SYSINITs each instance (by id) has run. However hooks create or
/// destroy instances in the middle of a load, an instance runs each init
/// once, and its teardown runs only for what it had initialized.
fn done() -> &'static Mutex<HashMap<u64, Vec<usize>>> {
    static DONE: OnceLock<Mutex<HashMap<u64, Vec<usize>>>> = OnceLock::new();
    DONE.get_or_init(Default::default)
}

fn mark_done(vnet: &Vnet, h: usize) {
    done().lock().entry(vnet.id()).or_default().push(h);
}

fn has_done(vnet: &Vnet, h: usize) -> bool {
    done()
        .lock()
        .get(&vnet.id())
        .is_some_and(|d| d.contains(&h))
}

/// Whether a VNET_SYSINIT of `unit` at `level` or above succeeded on `vnet`
/// (the rollback rule, per instance).
fn reached(vnet: &Vnet, unit: Unit, level: (u32, u32)) -> bool {
    let cat = catalog();
    done().lock().get(&vnet.id()).is_some_and(|d| {
        d.iter()
            .any(|h| cat.hooks[*h].unit == unit && level <= cat.hooks[*h].level())
    })
}

/// Whether teardown hook `u` runs when `vnet` is torn down (destroyed, or
/// its module unloaded): when `vnet` ran every VNET_SYSINIT of the hook's
/// unit, or (partly initialized) one at the hook's level or above.
fn tears_down(vnet: &Vnet, u: usize) -> bool {
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
fn forget_vnet(vnet: &Vnet) {
    done().lock().remove(&vnet.id());
}

fn forget_unit(unit: Unit) {
    let cat = catalog();
    for hooks in done().lock().values_mut() {
        hooks.retain(|h| cat.hooks[*h].unit != unit);
    }
}

/// One step of an init sequence.
#[derive(Debug, Clone, Copy)]
enum Step {
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
fn init_steps(unit: Unit) -> Vec<Step> {
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

fn sort_steps(steps: &mut [Step]) {
    steps.sort_by_key(|s| s.key());
}

/// Registers `unit`'s per-instance teardown hooks up to `level` (all of them
/// with `None`), so an instance destroyed from now on runs them.
fn register_uninits(unit: Unit, level: Option<(u32, u32)>) {
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

fn register_init(h: usize) {
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
fn deregister_uninit(h: usize) {
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
fn deregister_inits(unit: Unit) {
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
fn deregister(unit: Unit) {
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

/// Runs one init step; a VNET_SYSINIT runs on every live instance, in
/// creation order, and stops at the first failure.
fn exec_step(step: Step, journal: &mut Journal) -> Result<(), Error> {
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
                if vnet.state() != crate::VnetState::Live || has_done(&vnet, h) {
                    continue;
                }
                run_hook(h, Some(&vnet)).map_err(|e| hook_error(h, Some(&vnet), e))?;
                mark_done(&vnet, h);
            }
            Ok(())
        }
    }
}

/// Undoes what `journal` says `unit` had done (see the rollback rule).
fn undo(journal: &Journal, units: &[Unit]) {
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

/// The boot sequence: module load events, SYSINITs and VNET_SYSINITs of the
/// base and of the modules loaded at boot, as one sorted sequence.
pub(crate) fn boot(vnet0: &Vnet) {
    let _exclusive = write();
    let cat = catalog();
    let (wanted, explicit) = {
        let mut st = state().lock();
        #[cfg(not(feature = "vimage"))]
        {
            st.vnet0 = Some(vnet0.clone());
        }
        #[cfg(feature = "vimage")]
        let _ = vnet0;
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

    BOOTING.store(true, Ordering::Relaxed);
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
    BOOTING.store(false, Ordering::Relaxed);
    let mut st = state().lock();
    st.booted = true;
    if !explicit {
        for err in &st.boot_errors {
            eprintln!("vnet: boot: {err}");
        }
    }
}

/// Whether module `m` is `dep` or needs it, directly or not.
fn depends_on(m: usize, dep: usize) -> bool {
    m == dep
        || catalog().modules[m]
            .deps
            .iter()
            .any(|d| depends_on(*d, dep))
}

fn unknown_module(name: &str) -> Error {
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

fn module_index(name: &str) -> Result<usize, Error> {
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

fn is_loaded(m: usize) -> bool {
    state().lock().loaded.contains(&m)
}

/// Loads a module after boot: its dependencies first, then its own sequence.
pub(crate) fn load(name: &str) -> Result<(), Error> {
    crate::boot();
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
    crate::boot();
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
    // Issue 10: cancel and wait for the module's timers and global event
    // handlers before any of its teardown hooks runs.
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
                    let state = v.state();
                    let listed = matches!(state, crate::VnetState::Live | crate::VnetState::Dying);
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
    crate::boot();
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
