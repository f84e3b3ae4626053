//! Random operation sequences against a model (proptest state machine).
//!
//! Every step runs on the real runtime and on a small model of it: create
//! (with parents and `children_max`), destroy (with its refusals), guards and
//! `enter`, bound futures in flight (requests), `V_` reads and writes,
//! `with_in`, `vnet_foreach` (and what it refuses inside), module load and
//! unload, and hooks that fail on demand. Every instance also has owned
//! work (an armed callout, an event handler, an owned task): after every
//! step, each live instance's work still works (so a refused destroy
//! changed nothing, and the steps after it find the instance whole) and
//! each destroyed one's was stopped.
//! After each step the test compares every observable: the call's result or
//! panic, which hooks and module events ran on which instance and in which
//! order, each instance's values, the instance list in order, each handle's
//! state, the current instance and which modules are loaded. A failing
//! sequence shrinks to a minimal one.
//!
//! With `vimage` off the same source runs: the model degrades to the single
//! instance (vnet0 everywhere, `create` refused with `VimageDisabled`).
//!
//! Cases: `PROPTEST_CASES` (default 64), each up to 40 steps.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::Arc;
use std::sync::{Mutex, MutexGuard, Once};
use std::task::{Context, Poll};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{prop_state_machine, ReferenceStateMachine, StateMachineTest};
use vnet_runtime::callout::Callout;
use vnet_runtime::eventhandler::{Event, EventTag};
use vnet_runtime::module::{self, ModError, ModEvent};
use vnet_runtime::{
    curvnet_set, vnet, vnet0, vnet_foreach, vnet_module, vnet_sysinit, vnet_sysuninit, BootOptions,
    Bound, Cancelled, CurVnetGuard, DestroyError, Error, Holder, Owned, Vnet, VnetFutureExt,
    VnetState, VIMAGE,
};

// ---- the system: statics, modules, hooks ----------------------------------------

const COUNT_INIT: u64 = 7;

#[vnet]
static COUNT: AtomicU64 = AtomicU64::new(COUNT_INIT);

#[vnet]
static TAG: Mutex<String> = Mutex::new(String::new());

/// Module names, in the order of their (subsystem, order) keys.
const MODULES: [&str; 3] = ["alpha", "beta", "gamma"];
/// What each module's VNET_SYSINIT adds to COUNT (its VNET_SYSUNINIT takes it back).
const COUNT_DELTA: [u64; 3] = [100, 0, 1000];

/// Instance names a step may use; `FAIL_INIT` targets one of them.
const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "vnet0"];
/// Names `create` may be given: the first five, vnet0 (taken), and invalid ones.
const CREATE_NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "vnet0", "", "x\ty"];
const TAGS: [&str; 3] = ["red", "blue", ""];

/// Every hook and module event appends a line here.
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Per module: 0 = its VNET_SYSINIT succeeds; k = it fails in `NAMES[k - 1]`.
static FAIL_INIT: [AtomicU8; 3] = [AtomicU8::new(0), AtomicU8::new(0), AtomicU8::new(0)];
/// Per module: its `MODEVENT(load)` fails.
static FAIL_LOAD: [AtomicBool; 3] = [
    AtomicBool::new(false),
    AtomicBool::new(false),
    AtomicBool::new(false),
];
/// Per module: its `MODEVENT(quiesce)` vetoes.
static VETO: [AtomicBool; 3] = [
    AtomicBool::new(false),
    AtomicBool::new(false),
    AtomicBool::new(false),
];

fn log(line: String) {
    LOG.lock().unwrap().push(line);
}

fn take_log() -> Vec<String> {
    std::mem::take(&mut *LOG.lock().unwrap())
}

fn here() -> String {
    Vnet::current().map_or_else(|| "<none>".to_owned(), |v| v.name().to_owned())
}

fn modevent(m: usize, event: ModEvent) -> Result<(), ModError> {
    let name = MODULES[m];
    match event {
        ModEvent::Load if FAIL_LOAD[m].load(SeqCst) => {
            log(format!("load {name} failed"));
            Err(ModError::new(format!("{name} load refused")))
        }
        ModEvent::Quiesce if VETO[m].load(SeqCst) => {
            log(format!("quiesce {name} vetoed"));
            Err(ModError::new(format!("{name} busy")))
        }
        ModEvent::Load | ModEvent::Quiesce | ModEvent::Unload => {
            log(format!("{event} {name}"));
            Ok(())
        }
        ModEvent::Shutdown => Err(ModError::unsupported()),
    }
}

fn vnet_init(m: usize) -> Result<(), String> {
    let me = here();
    let target = FAIL_INIT[m].load(SeqCst);
    if target > 0 && NAMES[usize::from(target) - 1] == me {
        log(format!("init {} @ {me} failed", MODULES[m]));
        if m == 2 {
            EXPECTING_PANIC.with(|e| e.set(true));
            panic!("{} refused", MODULES[m]);
        }
        return Err(format!("{} refused", MODULES[m]));
    }
    log(format!("init {} @ {me}", MODULES[m]));
    V_COUNT.with(|c| c.fetch_add(COUNT_DELTA[m], SeqCst));
    if m == 1 {
        V_TAG.with(|t| t.lock().unwrap().push('b'));
    }
    Ok(())
}

fn vnet_uninit(m: usize) {
    log(format!("uninit {} @ {}", MODULES[m], here()));
    V_COUNT.with(|c| c.fetch_sub(COUNT_DELTA[m], SeqCst));
    if m == 1 {
        V_TAG.with(|t| t.lock().unwrap().pop());
    }
}

#[vnet_module(alpha, SI_SUB_PROTO_BEGIN, SI_ORDER_FIRST)]
fn alpha_modevent(event: ModEvent) -> Result<(), ModError> {
    modevent(0, event)
}

#[vnet_sysinit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = alpha)]
fn alpha_vinit() -> Result<(), String> {
    vnet_init(0)
}

#[vnet_sysuninit(SI_SUB_PROTO_BEGIN, SI_ORDER_SECOND, module = alpha)]
fn alpha_vuninit() {
    vnet_uninit(0)
}

#[vnet_module(beta, SI_SUB_PROTO_IF, SI_ORDER_FIRST, depend(alpha, 1, 1, 1))]
fn beta_modevent(event: ModEvent) -> Result<(), ModError> {
    modevent(1, event)
}

#[vnet_sysinit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = beta)]
fn beta_vinit() -> Result<(), String> {
    vnet_init(1)
}

#[vnet_sysuninit(SI_SUB_PROTO_IF, SI_ORDER_SECOND, module = beta)]
fn beta_vuninit() {
    vnet_uninit(1)
}

#[vnet_module(gamma, SI_SUB_PROTO_DOMAIN, SI_ORDER_FIRST)]
fn gamma_modevent(event: ModEvent) -> Result<(), ModError> {
    modevent(2, event)
}

/// Panics (instead of returning an error) when told to fail.
#[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND, module = gamma)]
fn gamma_vinit() -> Result<(), String> {
    vnet_init(2)
}

#[vnet_sysuninit(SI_SUB_PROTO_DOMAIN, SI_ORDER_SECOND, module = gamma)]
fn gamma_vuninit() {
    vnet_uninit(2)
}

// ---- the model ----------------------------------------------------------------

/// One step of a sequence. Slots index the handles created so far (slot 0 is
/// vnet0), taken modulo their number so that shrinking keeps them valid.
#[derive(Debug, Clone)]
enum Step {
    Create {
        name: usize,
        parent: Option<usize>,
        children_max: Option<usize>,
    },
    Destroy(usize),
    /// `curvnet_set`, kept until a `Pop`.
    Push(usize),
    Pop,
    /// `enter`; inside: optionally destroy a slot, then read and bump COUNT.
    Enter {
        slot: usize,
        destroy: Option<usize>,
    },
    /// A request: a future bound to a slot, polled once (pending), kept.
    Request(usize),
    /// Every request finishes (is dropped).
    Finish,
    /// `V_COUNT` += n in the current instance.
    Add(u64),
    /// `V_TAG` = TAGS[i] in the current instance.
    SetTag(usize),
    /// `with_in` reads of a slot.
    ReadIn(usize),
    /// `vnet_foreach` reading every instance; optionally trying what it refuses.
    Foreach {
        refusals: usize,
    },
    Load(usize),
    Unload(usize),
    /// Module's VNET_SYSINIT fails in `NAMES[k - 1]` (0: never).
    FailInit(usize, u8),
    FailLoad(usize, bool),
    Veto(usize, bool),
}

/// (instance, COUNT, TAG) as read.
type Read = (String, u64, String);

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Unit,
    Reads(Vec<Read>),
    /// Results of the calls tried inside `vnet_foreach`, then the reads.
    Foreach(Vec<Result<(), Error>>, Vec<Read>),
    /// The destroy tried inside `enter`, then the read.
    Entered(Option<Result<(), Error>>, Read),
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Done(Result<Value, Error>),
    /// Panicked with a message containing this.
    Panicked(String),
}

#[derive(Debug, Clone)]
struct Inst {
    name: String,
    parent: Option<usize>,
    children_max: Option<usize>,
    children: usize,
    live: bool,
    count: u64,
    tag: String,
}

impl Inst {
    fn fresh(name: &str, parent: Option<usize>, children_max: Option<usize>) -> Inst {
        Inst {
            name: name.to_owned(),
            parent,
            children_max,
            children: 0,
            live: true,
            count: COUNT_INIT,
            tag: String::new(),
        }
    }

    fn read(&self) -> Read {
        (self.name.clone(), self.count, self.tag.clone())
    }

    fn init(&mut self, m: usize) {
        self.count = self.count.wrapping_add(COUNT_DELTA[m]);
        if m == 1 {
            self.tag.push('b');
        }
    }

    fn uninit(&mut self, m: usize) {
        self.count = self.count.wrapping_sub(COUNT_DELTA[m]);
        if m == 1 {
            self.tag.pop();
        }
    }
}

#[derive(Debug, Clone)]
struct Model {
    /// Every instance created in this case, in creation order; 0 is vnet0.
    insts: Vec<Inst>,
    /// The guard stack (slots), innermost last.
    stack: Vec<usize>,
    /// Requests in flight (slots).
    requests: Vec<usize>,
    loaded: [bool; 3],
    fail_init: [u8; 3],
    fail_load: [bool; 3],
    veto: [bool; 3],
    /// What the last step returned, and the hook lines it produced.
    outcome: Outcome,
    log: Vec<String>,
}

fn hook_error(m: usize, vnet: &str) -> Error {
    let reason = if m == 2 {
        format!("panicked: {} refused", MODULES[m])
    } else {
        format!("{} refused", MODULES[m])
    };
    Error::Hook {
        hook: format!("{}_vinit", MODULES[m]),
        module: MODULES[m].to_owned(),
        reason: format!("{reason} (in vnet `{vnet}`)"),
    }
}

fn module_error(m: usize, reason: &str) -> Error {
    Error::Module {
        module: MODULES[m].to_owned(),
        reason: reason.to_owned(),
    }
}

impl Model {
    /// vnet0 alone, with its initial values; no module loaded.
    fn initial() -> Model {
        Model {
            insts: vec![Inst::fresh("vnet0", None, None)],
            stack: Vec::new(),
            requests: Vec::new(),
            loaded: [false; 3],
            fail_init: [0; 3],
            fail_load: [false; 3],
            veto: [false; 3],
            outcome: Outcome::Done(Ok(Value::Unit)),
            log: Vec::new(),
        }
    }

    fn slot(&self, s: usize) -> usize {
        s % self.insts.len()
    }

    fn live(&self) -> Vec<usize> {
        (0..self.insts.len())
            .filter(|&i| self.insts[i].live)
            .collect()
    }

    fn fails_in(&self, m: usize, name: &str) -> bool {
        self.fail_init[m] > 0 && NAMES[usize::from(self.fail_init[m]) - 1] == name
    }

    /// The slot whose values `V_` reaches now (vnet0 without vimage).
    fn current(&self) -> Option<usize> {
        if VIMAGE {
            self.stack.last().copied()
        } else {
            Some(0)
        }
    }

    fn create(
        &mut self,
        name: &str,
        parent: Option<usize>,
        children_max: Option<usize>,
    ) -> Result<Value, Error> {
        if !VIMAGE {
            return Err(Error::VimageDisabled);
        }
        if name.is_empty() || name.chars().any(char::is_control) {
            return Err(Error::InvalidName(name.to_owned()));
        }
        if let Some(p) = parent {
            let p = &self.insts[p];
            if !p.live {
                return Err(Error::Destroyed(p.name.clone()));
            }
            let max = p.children_max.unwrap_or(usize::MAX);
            if p.children >= max {
                return Err(Error::ChildLimit {
                    parent: p.name.clone(),
                    max,
                });
            }
        }
        if self.insts.iter().any(|i| i.live && i.name == name) {
            return Err(Error::NameInUse(name.to_owned()));
        }
        let mut inst = Inst::fresh(name, parent, children_max);
        for m in (0..3).filter(|&m| self.loaded[m]) {
            if self.fails_in(m, name) {
                self.log
                    .push(format!("init {} @ {name} failed", MODULES[m]));
                for u in (0..m).rev().filter(|&u| self.loaded[u]) {
                    self.log.push(format!("uninit {} @ {name}", MODULES[u]));
                }
                return Err(hook_error(m, name));
            }
            self.log.push(format!("init {} @ {name}", MODULES[m]));
            inst.init(m);
        }
        if let Some(p) = parent {
            self.insts[p].children += 1;
        }
        self.insts.push(inst);
        Ok(Value::Unit)
    }

    fn depth_below(&self, mut i: usize, root: usize) -> Option<usize> {
        let mut depth = 0;
        loop {
            if i == root {
                return Some(depth);
            }
            i = self.insts[i].parent?;
            depth += 1;
        }
    }

    /// `pinned`: slots current on this thread besides the guard stack.
    fn destroy(&mut self, slot: usize, pinned: &[usize]) -> Result<Value, Error> {
        if !VIMAGE || slot == 0 {
            return Err(Error::Vnet0);
        }
        if !self.insts[slot].live {
            return Err(Error::Destroyed(self.insts[slot].name.clone()));
        }
        let mut doomed: Vec<(usize, usize)> = self
            .live()
            .into_iter()
            .filter_map(|i| self.depth_below(i, slot).map(|d| (d, i)))
            .collect();
        doomed.sort_by(|a, b| b.cmp(a)); // deepest first, then newest first
        if let Some(&(_, busy)) = doomed
            .iter()
            .find(|(_, i)| self.stack.contains(i) || pinned.contains(i))
        {
            // Everything is on this one thread: a destroy from inside.
            return Err(Error::DestroyFromWithin {
                name: self.insts[busy].name.clone(),
                from: String::new(),
            });
        }
        if let Some(&(_, busy)) = doomed.iter().find(|(_, i)| self.requests.contains(i)) {
            return Err(Error::Busy {
                name: self.insts[busy].name.clone(),
                holder: Holder::Futures {
                    count: self.requests.iter().filter(|&&r| r == busy).count(),
                },
            });
        }
        for &(_, i) in &doomed {
            for m in (0..3).rev().filter(|&m| self.loaded[m]) {
                let name = self.insts[i].name.clone();
                self.log.push(format!("uninit {} @ {name}", MODULES[m]));
                self.insts[i].uninit(m);
            }
            self.insts[i].live = false;
            if let Some(p) = self.insts[i].parent {
                self.insts[p].children -= 1;
            }
        }
        Ok(Value::Unit)
    }

    fn load(&mut self, m: usize) -> Result<Value, Error> {
        if self.loaded[m] {
            return Err(module_error(m, "already loaded"));
        }
        let units: Vec<usize> = if m == 1 && !self.loaded[0] {
            vec![0, 1]
        } else {
            vec![m]
        };
        let live = self.live();
        // Per unit of this call: whether its load event succeeded, and the
        // instances its VNET_SYSINIT ran on.
        let mut done: Vec<(usize, bool, Vec<usize>)> = Vec::new();
        let mut failure = None;
        for &u in &units {
            if self.fail_load[u] {
                self.log.push(format!("load {} failed", MODULES[u]));
                done.push((u, false, Vec::new()));
                failure = Some(Error::Hook {
                    hook: "MODEVENT(load)".to_owned(),
                    module: MODULES[u].to_owned(),
                    reason: format!("{} load refused", MODULES[u]),
                });
                break;
            }
            self.log.push(format!("load {}", MODULES[u]));
            done.push((u, true, Vec::new()));
            for &i in &live {
                let name = self.insts[i].name.clone();
                if self.fails_in(u, &name) {
                    self.log
                        .push(format!("init {} @ {name} failed", MODULES[u]));
                    failure = Some(hook_error(u, &name));
                    break;
                }
                self.log.push(format!("init {} @ {name}", MODULES[u]));
                self.insts[i].init(u);
                done.last_mut().unwrap().2.push(i);
            }
            if failure.is_some() {
                break;
            }
            self.loaded[u] = true;
        }
        let Some(err) = failure else {
            return Ok(Value::Unit);
        };
        // Undo, the last unit first: its teardown on the instances it
        // reached (creation order), then its unload event.
        for (u, loaded, reached) in done.into_iter().rev() {
            for i in reached {
                let name = self.insts[i].name.clone();
                self.log.push(format!("uninit {} @ {name}", MODULES[u]));
                self.insts[i].uninit(u);
            }
            if loaded {
                self.log.push(format!("unload {}", MODULES[u]));
            }
            self.loaded[u] = false;
        }
        Err(err)
    }

    fn unload(&mut self, m: usize) -> Result<Value, Error> {
        if !self.loaded[m] {
            return Err(module_error(m, "not loaded"));
        }
        if m == 0 && self.loaded[1] {
            return Err(module_error(
                0,
                "loaded module(s) beta depend on it: unload it first",
            ));
        }
        if self.veto[m] {
            self.log.push(format!("quiesce {} vetoed", MODULES[m]));
            return Err(module_error(
                m,
                &format!("unload vetoed by MODEVENT(quiesce): {} busy", MODULES[m]),
            ));
        }
        self.log.push(format!("quiesce {}", MODULES[m]));
        self.log.push(format!("unload {}", MODULES[m]));
        for i in self.live() {
            let name = self.insts[i].name.clone();
            self.log.push(format!("uninit {} @ {name}", MODULES[m]));
            self.insts[i].uninit(m);
        }
        self.loaded[m] = false;
        Ok(Value::Unit)
    }

    fn step(&mut self, step: &Step) -> Outcome {
        use Outcome::{Done, Panicked};
        match *step {
            Step::Create {
                name,
                parent,
                children_max,
            } => {
                let parent = parent.map(|p| self.slot(p));
                Done(self.create(CREATE_NAMES[name], parent, children_max))
            }
            Step::Destroy(s) => {
                let s = self.slot(s);
                Done(self.destroy(s, &[]))
            }
            Step::Push(s) => {
                let s = self.slot(s);
                if !self.insts[s].live {
                    return Panicked(format!(
                        "cannot make vnet `{}` current: it was destroyed",
                        self.insts[s].name
                    ));
                }
                self.stack.push(s);
                Done(Ok(Value::Unit))
            }
            Step::Pop => {
                self.stack.pop();
                Done(Ok(Value::Unit))
            }
            Step::Request(s) => {
                let s = self.slot(s);
                if !self.insts[s].live {
                    return Panicked(format!(
                        "cannot make vnet `{}` current: it was destroyed",
                        self.insts[s].name
                    ));
                }
                self.requests.push(s);
                Done(Ok(Value::Unit))
            }
            Step::Finish => {
                self.requests.clear();
                Done(Ok(Value::Unit))
            }
            Step::Enter { slot, destroy } => {
                let s = self.slot(slot);
                if !self.insts[s].live {
                    return Panicked(format!(
                        "cannot make vnet `{}` current: it was destroyed",
                        self.insts[s].name
                    ));
                }
                let inner = destroy.map(|d| {
                    let d = self.slot(d);
                    self.destroy(d, &[s]).map(drop)
                });
                let read = self.insts[s].read();
                self.insts[s].count += 1;
                Done(Ok(Value::Entered(inner, read)))
            }
            Step::Add(n) => match self.current() {
                None => Panicked("V_COUNT accessed with no current vnet".to_owned()),
                Some(c) => {
                    self.insts[c].count += n;
                    Done(Ok(Value::Unit))
                }
            },
            Step::SetTag(t) => match self.current() {
                None => Panicked("V_TAG accessed with no current vnet".to_owned()),
                Some(c) => {
                    self.insts[c].tag = TAGS[t].to_owned();
                    Done(Ok(Value::Unit))
                }
            },
            Step::ReadIn(s) => {
                let s = self.slot(s);
                if !self.insts[s].live {
                    return Panicked(format!(
                        "V_COUNT accessed in vnet `{}`, which was destroyed",
                        self.insts[s].name
                    ));
                }
                Done(Ok(Value::Reads(vec![self.insts[s].read()])))
            }
            Step::Foreach { refusals } => {
                let mut tried = Vec::new();
                if VIMAGE && refusals > 0 {
                    let s = self.slot(refusals);
                    tried = vec![
                        Err(Error::InsideForeach),
                        Err(if s == 0 {
                            Error::Vnet0
                        } else {
                            Error::InsideForeach
                        }),
                        Err(Error::InsideForeach),
                        Err(Error::InsideForeach),
                    ];
                }
                let reads = self.live().iter().map(|&i| self.insts[i].read()).collect();
                Done(Ok(Value::Foreach(tried, reads)))
            }
            Step::Load(m) => Done(self.load(m)),
            Step::Unload(m) => Done(self.unload(m)),
            Step::FailInit(m, k) => {
                self.fail_init[m] = k;
                Done(Ok(Value::Unit))
            }
            Step::FailLoad(m, on) => {
                self.fail_load[m] = on;
                Done(Ok(Value::Unit))
            }
            Step::Veto(m, on) => {
                self.veto[m] = on;
                Done(Ok(Value::Unit))
            }
        }
    }
}

struct RefMachine;

impl ReferenceStateMachine for RefMachine {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::initial()).boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Step> {
        let slot = 0..8usize;
        prop_oneof![
            4 => (0..CREATE_NAMES.len(), proptest::option::weighted(0.5, slot.clone()), proptest::option::weighted(0.3, 0..3usize))
                .prop_map(|(name, parent, children_max)| Step::Create { name, parent, children_max }),
            3 => slot.clone().prop_map(Step::Destroy),
            2 => slot.clone().prop_map(Step::Push),
            2 => Just(Step::Pop),
            2 => slot.clone().prop_map(Step::Request),
            1 => Just(Step::Finish),
            2 => (slot.clone(), proptest::option::weighted(0.4, slot.clone()))
                .prop_map(|(slot, destroy)| Step::Enter { slot, destroy }),
            2 => (1..50u64).prop_map(Step::Add),
            1 => (0..TAGS.len()).prop_map(Step::SetTag),
            2 => slot.clone().prop_map(Step::ReadIn),
            1 => (0..4usize).prop_map(|refusals| Step::Foreach { refusals }),
            3 => (0..3usize).prop_map(Step::Load),
            3 => (0..3usize).prop_map(Step::Unload),
            1 => (0..3usize, 0..=NAMES.len() as u8).prop_map(|(m, k)| Step::FailInit(m, k)),
            1 => (0..3usize, any::<bool>()).prop_map(|(m, on)| Step::FailLoad(m, on)),
            1 => (0..3usize, any::<bool>()).prop_map(|(m, on)| Step::Veto(m, on)),
        ]
        .boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.log.clear();
        state.outcome = state.step(step);
        state
    }
}

// ---- the system under test ------------------------------------------------------

struct System {
    /// Mirrors `Model::insts`: the handles this case created.
    handles: Vec<Vnet>,
    /// Mirrors `handles`: each instance's owned work (none for vnet0).
    work: Vec<Option<Work>>,
    /// The guards of `Step::Push`, innermost last.
    guards: Vec<Pinned>,
    /// The requests of `Step::Request`, polled once.
    requests: Vec<Pin<Box<Bound<YieldForever>>>>,
    /// The tests of this file share the runtime: one case at a time.
    _serial: MutexGuard<'static, ()>,
}

static SERIAL: Mutex<()> = Mutex::new(());

impl Drop for System {
    fn drop(&mut self) {
        // Restore in order, also when a failed assertion unwinds.
        while let Some(guard) = self.guards.pop() {
            drop(guard);
        }
        self.requests.clear();
    }
}

/// A request that never completes by itself.
struct YieldForever;

impl Future for YieldForever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

type Task = Owned<std::future::Pending<()>>;

static WORK_EVENT: Event<()> = Event::new("state-machine-work");

/// One instance's owned work: a callout armed far ahead, an event handler
/// counting its runs, an owned task that never completes.
struct Work {
    callout: Callout,
    _tag: EventTag,
    hits: Arc<AtomicU64>,
    task: Mutex<Pin<Box<Task>>>,
}

impl Work {
    fn new(v: &Vnet) -> Work {
        let callout = Callout::new_in(v);
        assert!(callout.reset(Duration::from_secs(3600), || {}));
        let hits = Arc::new(AtomicU64::new(0));
        let counter = hits.clone();
        let tag = WORK_EVENT.register_in(v, move |_| {
            counter.fetch_add(1, SeqCst);
        });
        let task = Mutex::new(Box::pin(std::future::pending::<()>().owned_by(v)));
        Work {
            callout,
            _tag: tag,
            hits,
            task,
        }
    }

    fn poll_task(&self) -> Poll<Result<(), Cancelled>> {
        let mut task = self.task.lock().unwrap();
        task.as_mut()
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    /// The instance is live: everything still works. Destroyed: all of it
    /// was stopped.
    fn check(&self, v: &Vnet, live: bool) {
        if live {
            assert!(
                self.callout.pending(),
                "{}: the callout is still armed",
                v.name()
            );
            assert!(
                self.poll_task().is_pending(),
                "{}: the owned task lives",
                v.name()
            );
            let before = self.hits.load(SeqCst);
            WORK_EVENT.invoke_in(v, &());
            assert_eq!(
                self.hits.load(SeqCst),
                before + 1,
                "{}: the handler runs",
                v.name()
            );
        } else {
            assert!(
                !self.callout.pending(),
                "{}: the callout was stopped",
                v.name()
            );
            assert!(
                !self.callout.reset(Duration::ZERO, || {}),
                "{}: stopped for good",
                v.name()
            );
            assert_eq!(
                self.poll_task(),
                Poll::Ready(Err(Cancelled)),
                "{}",
                v.name()
            );
        }
    }
}

/// A `curvnet_set` guard together with the handle it borrows.
struct Pinned {
    guard: ManuallyDrop<CurVnetGuard<'static>>,
    handle: *mut Vnet,
}

impl Pinned {
    /// Makes `vnet` current; panics like `curvnet_set` (nothing is leaked then).
    fn new(vnet: Vnet) -> Pinned {
        let handle = Box::into_raw(Box::new(vnet));
        let guard = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: `handle` stays allocated until `Drop` has dropped the
            // guard that borrows it (or below, if `curvnet_set` panics).
            curvnet_set(unsafe { &*handle })
        }));
        match guard {
            Ok(guard) => Pinned {
                guard: ManuallyDrop::new(guard),
                handle,
            },
            Err(panic) => {
                // SAFETY: from `Box::into_raw` above; no guard borrows it.
                drop(unsafe { Box::from_raw(handle) });
                std::panic::resume_unwind(panic)
            }
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        // SAFETY: dropped once, here, before the handle it borrows.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        // SAFETY: from `Box::into_raw` in `new`; the guard is gone.
        drop(unsafe { Box::from_raw(self.handle) });
    }
}

thread_local! {
    /// Set while a panic is expected: the panic hook stays quiet.
    static EXPECTING_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn expect_panic<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    EXPECTING_PANIC.with(|e| e.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    EXPECTING_PANIC.with(|e| e.set(false));
    result.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    })
}

fn read_in(v: &Vnet) -> Read {
    (
        v.name().to_owned(),
        V_COUNT.with_in(v, |c| c.load(SeqCst)),
        V_TAG.with_in(v, |t| t.lock().unwrap().clone()),
    )
}

fn read_current() -> Read {
    (
        here(),
        V_COUNT.with(|c| c.load(SeqCst)),
        V_TAG.with(|t| t.lock().unwrap().clone()),
    )
}

/// Puts the runtime back where every case starts: vnet0 alone, no test
/// module loaded, vnet0's values at their initial values, switches off.
fn reset() {
    static BOOT: Once = Once::new();
    BOOT.call_once(|| {
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTING_PANIC.with(|e| e.get()) {
                quiet(info);
            }
        }));
        BootOptions::new()
            .modules::<&str>([])
            .boot()
            .expect("the test modules are well declared");
    });
    assert_eq!(Vnet::current(), (!VIMAGE).then(vnet0), "a guard leaked");
    for m in 0..3 {
        FAIL_INIT[m].store(0, SeqCst);
        FAIL_LOAD[m].store(false, SeqCst);
        VETO[m].store(false, SeqCst);
    }
    for v in Vnet::list().into_iter().rev() {
        match v.destroy().map_err(DestroyError::into_error) {
            Ok(()) | Err(Error::Vnet0) | Err(Error::Destroyed(_)) => {}
            Err(e) => panic!("cleanup: {e}"),
        }
    }
    for m in MODULES.iter().rev() {
        if module::is_loaded(m) {
            module::unload(m).expect("cleanup unload");
        }
    }
    let v0 = vnet0();
    V_COUNT.with_in(&v0, |c| c.store(COUNT_INIT, SeqCst));
    V_TAG.with_in(&v0, |t| t.lock().unwrap().clear());
    take_log();
}

/// `destroy`'s answer as the model gives it: the error alone, with the
/// parts the model cannot predict (where a guard was taken) left out.
fn destroyed(v: Vnet) -> Result<(), Error> {
    v.destroy().map_err(|refused| match refused.into_error() {
        Error::DestroyFromWithin { name, .. } => Error::DestroyFromWithin {
            name,
            from: String::new(),
        },
        other => other,
    })
}

struct SystemTest;

impl SystemTest {
    fn run(system: &mut System, step: Step) -> Result<Value, Result<Error, String>> {
        let h = |s: usize| system.handles[s % system.handles.len()].clone();
        let done = |r: Result<(), Error>| r.map(|()| Value::Unit).map_err(Ok);
        let unit = |r: Result<(), String>| r.map(|()| Value::Unit).map_err(Err);
        match step {
            Step::Create {
                name,
                parent,
                children_max,
            } => {
                let mut builder = Vnet::builder(CREATE_NAMES[name]);
                if let Some(p) = parent {
                    builder = builder.parent(&h(p));
                }
                if let Some(max) = children_max {
                    builder = builder.children_max(max);
                }
                let v = builder.create().map_err(Ok)?;
                system.work.push(Some(Work::new(&v)));
                system.handles.push(v);
                Ok(Value::Unit)
            }
            Step::Destroy(s) => done(destroyed(h(s))),
            Step::Push(s) => {
                let v = h(s);
                let guard = expect_panic(move || Pinned::new(v)).map_err(Err)?;
                system.guards.push(guard);
                Ok(Value::Unit)
            }
            Step::Pop => {
                system.guards.pop();
                Ok(Value::Unit)
            }
            Step::Request(s) => {
                let mut request = Box::pin(YieldForever.in_vnet(&h(s)));
                expect_panic(|| {
                    let poll = request
                        .as_mut()
                        .poll(&mut Context::from_waker(std::task::Waker::noop()));
                    assert!(poll.is_pending());
                })
                .map_err(Err)?;
                system.requests.push(request);
                Ok(Value::Unit)
            }
            Step::Finish => {
                system.requests.clear();
                Ok(Value::Unit)
            }
            Step::Enter { slot, destroy } => {
                let v = h(slot);
                let target = destroy.map(h);
                expect_panic(|| {
                    v.enter(|| {
                        let inner = target.map(destroyed);
                        let read = read_current();
                        V_COUNT.with(|c| c.fetch_add(1, SeqCst));
                        Value::Entered(inner, read)
                    })
                })
                .map_err(Err)
            }
            Step::Add(n) => unit(expect_panic(|| {
                V_COUNT.with(|c| c.fetch_add(n, SeqCst));
            })),
            Step::SetTag(t) => unit(expect_panic(|| {
                V_TAG.with(|tag| *tag.lock().unwrap() = TAGS[t].to_owned());
            })),
            Step::ReadIn(s) => {
                let v = h(s);
                expect_panic(|| Value::Reads(vec![read_in(&v)])).map_err(Err)
            }
            Step::Foreach { refusals } => {
                let target = h(refusals);
                let mut tried = Vec::new();
                let mut reads = Vec::new();
                vnet_foreach(|v| {
                    if VIMAGE && refusals > 0 && tried.is_empty() {
                        tried.push(Vnet::create("inside").map(drop));
                        tried.push(destroyed(target.clone()));
                        tried.push(module::load("gamma"));
                        tried.push(module::unload("alpha"));
                    }
                    let read = read_current();
                    assert_eq!(read.0, v.name(), "vnet_foreach makes each instance current");
                    reads.push(read);
                });
                Ok(Value::Foreach(tried, reads))
            }
            Step::Load(m) => done(module::load(MODULES[m])),
            Step::Unload(m) => done(module::unload(MODULES[m])),
            Step::FailInit(m, k) => {
                FAIL_INIT[m].store(k, SeqCst);
                Ok(Value::Unit)
            }
            Step::FailLoad(m, on) => {
                FAIL_LOAD[m].store(on, SeqCst);
                Ok(Value::Unit)
            }
            Step::Veto(m, on) => {
                VETO[m].store(on, SeqCst);
                Ok(Value::Unit)
            }
        }
    }
}

impl StateMachineTest for SystemTest {
    type SystemUnderTest = System;
    type Reference = RefMachine;

    fn init_test(_: &Model) -> System {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        reset();
        System {
            handles: vec![vnet0()],
            work: vec![None],
            guards: Vec::new(),
            requests: Vec::new(),
            _serial: serial,
        }
    }

    fn apply(mut system: System, model: &Model, step: Step) -> System {
        let result = Self::run(&mut system, step.clone());
        EXPECTING_PANIC.with(|e| e.set(false));
        let log = take_log();
        match (&model.outcome, result) {
            (Outcome::Panicked(fragment), Err(Err(message))) => assert!(
                message.contains(fragment.as_str()),
                "{step:?}: panicked with {message:?}, expected a message containing {fragment:?}"
            ),
            (Outcome::Done(expected), Ok(value)) => {
                assert_eq!(Ok(&value), expected.as_ref(), "{step:?}")
            }
            (Outcome::Done(expected), Err(Ok(err))) => {
                assert_eq!(Err(&err), expected.as_ref(), "{step:?}")
            }
            (expected, actual) => panic!("{step:?}: expected {expected:?}, got {actual:?}"),
        }
        assert_eq!(log, model.log, "{step:?}: hooks and module events");
        system
    }

    fn check_invariants(system: &System, model: &Model) {
        // Who is live, in creation order.
        let live: Vec<Read> = if VIMAGE {
            model
                .live()
                .iter()
                .map(|&i| model.insts[i].read())
                .collect()
        } else {
            vec![model.insts[0].read()]
        };
        let actual: Vec<Read> = Vnet::list().iter().map(read_in).collect();
        assert_eq!(actual, live, "instances and their values");
        // Lookup by name finds exactly the live ones.
        for name in NAMES {
            let expected = live.iter().find(|r| r.0 == name).map(|r| r.0.as_str());
            let found = Vnet::lookup(name);
            assert_eq!(found.as_ref().map(Vnet::name), expected, "lookup {name:?}");
        }
        // Each handle's state.
        assert_eq!(system.handles.len(), model.insts.len());
        for (v, inst) in system.handles.iter().zip(&model.insts) {
            let state = if inst.live {
                VnetState::Live
            } else {
                VnetState::Destroyed
            };
            assert_eq!((v.name(), v.state()), (inst.name.as_str(), state));
            let parent = inst.parent.map(|p| model.insts[p].name.as_str());
            assert_eq!(v.parent().as_ref().map(Vnet::name), parent, "{}", v.name());
        }
        // Each instance's owned work: whole while it lives (whatever
        // destroys were refused), stopped once it is destroyed.
        for ((v, inst), work) in system.handles.iter().zip(&model.insts).zip(&system.work) {
            if let Some(work) = work {
                work.check(v, inst.live);
            }
        }
        // The current instance and the loaded modules.
        let current = model.current().map(|c| model.insts[c].name.as_str());
        assert_eq!(Vnet::current().as_ref().map(Vnet::name), current);
        for (m, name) in MODULES.iter().enumerate() {
            assert_eq!(module::is_loaded(name), model.loaded[m], "{name} loaded");
        }
    }
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        // Failures are reported with their minimal sequence; do not write
        // regression files into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

prop_state_machine! {
    #![proptest_config(config())]

    /// Random sequences of runtime operations behave like the model.
    #[test]
    fn runtime_behaves_like_the_model(sequential 1..40 => SystemTest);
}

/// The model is not vacuous: a sequence that exercises create, hooks,
/// rollback and destroy gives the results written out here by hand.
#[test]
fn a_known_sequence_gives_the_expected_results() {
    let mut model = Model::initial();
    let mut system = SystemTest::init_test(&model);
    let steps = [
        Step::Load(1),
        Step::Create {
            name: 0,
            parent: None,
            children_max: Some(1),
        },
        Step::Create {
            name: 1,
            parent: Some(1),
            children_max: None,
        },
        Step::Create {
            name: 2,
            parent: Some(1),
            children_max: None,
        },
        Step::FailInit(1, 3),
        Step::Create {
            name: 2,
            parent: None,
            children_max: None,
        },
        Step::Push(2),
        Step::Destroy(1),
        Step::Pop,
        Step::Destroy(1),
    ];
    for step in steps {
        model = RefMachine::apply(model, &step);
        system = SystemTest::apply(system, &model, step);
        SystemTest::check_invariants(&system, &model);
    }
    if VIMAGE {
        assert_eq!(model.outcome, Outcome::Done(Ok(Value::Unit)));
        assert_eq!(
            model.log,
            [
                "uninit beta @ b",
                "uninit alpha @ b",
                "uninit beta @ a",
                "uninit alpha @ a"
            ]
        );
        assert!(model.insts.iter().skip(1).all(|i| !i.live));
    }
    assert_eq!(model.insts[0].count, COUNT_INIT + 100);
    assert_eq!(model.insts[0].tag, "b");
    drop(system);
}
