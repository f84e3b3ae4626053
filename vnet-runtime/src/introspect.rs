//! Introspection: the runtime's own `show vnets` and `show sysinit` (the
//! commands FreeBSD's kernel debugger has for the same questions), and
//! `kldstat`.
//!
//! [`vnets`] lists the instances with their state, parent and children;
//! [`sysinits`] lists the module handlers and lifecycle hooks linked into
//! the binary with their `(subsystem, order)`, in the order the boot
//! sequence runs them; [`modules`] lists the modules with their version,
//! dependencies and whether they are loaded. All return plain data (to
//! assert on, or to render as JSON yourself); `vnets` and `sysinits` have a
//! `Display` that is a table for a person.
//!
//! With the `vimage` feature off, [`vnets`] lists vnet0 alone; [`sysinits`]
//! is the same either way.
//!
//! ```
//! use vnet_runtime::{introspect, Vnet};
//! # if !vnet_runtime::VIMAGE { return; }
//!
//! let parent = Vnet::create("show-parent").unwrap();
//! let child = Vnet::builder("show-child").parent(&parent).create().unwrap();
//! let table = introspect::vnets();
//! let p = table.get("show-parent").unwrap();
//! assert_eq!(p.children, ["show-child"]);
//! assert_eq!(table.get("show-child").unwrap().parent.as_deref(), Some("show-parent"));
//! println!("{table}");
//! # drop(child);
//! parent.destroy().unwrap();
//! ```

use std::collections::HashMap;
use std::fmt;

use crate::boot::boot;
use crate::instance::{Vnet, VnetState};
use crate::lifecycle::catalog::{SortKey, Unit};
use crate::lifecycle::{hooks, HookKind};
use crate::subsystem::{order_name, subsystem_name};

/// One instance, as [`vnets`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnetInfo {
    /// [`Vnet::id`].
    pub id: u64,
    /// [`Vnet::name`].
    pub name: String,
    /// [`Vnet::state`].
    pub state: VnetState,
    /// The parent's name, if it has one.
    pub parent: Option<String>,
    /// The names of its live children, in creation order.
    pub children: Vec<String>,
}

/// The live instances, in creation order (vnet0 first): the result of
/// [`vnets`]. `Display` renders a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vnets(pub Vec<VnetInfo>);

impl Vnets {
    /// The entry of the instance named `name`.
    ///
    /// ```
    /// assert!(vnet_runtime::introspect::vnets().get("vnet0").is_some());
    /// ```
    pub fn get(&self, name: &str) -> Option<&VnetInfo> {
        self.0.iter().find(|v| v.name == name)
    }
}

/// Every live instance with its state, parent and children (`show vnets`).
///
/// Instances still running their init hooks, or already tearing down, are
/// not in the instance list and so not shown (they are not visible to
/// iteration either). The list is a snapshot: it can be out of date as soon
/// as it is returned.
///
/// ```
/// let table = vnet_runtime::introspect::vnets();
/// assert_eq!(table.0[0].name, "vnet0");
/// assert!(table.to_string().lines().nth(1).unwrap().contains("vnet0"));
/// ```
pub fn vnets() -> Vnets {
    // Each instance's state is read once: one destroyed since the list was
    // taken is left out, not listed as `Destroyed`.
    let mut list = Vnet::list();
    list.retain(|v| v.state() == VnetState::Live);
    let mut children: HashMap<u64, Vec<String>> = HashMap::new();
    for v in &list {
        if let Some(parent) = v.parent() {
            children
                .entry(parent.id())
                .or_default()
                .push(v.name().to_owned());
        }
    }
    Vnets(
        list.iter()
            .map(|v| VnetInfo {
                id: v.id(),
                name: v.name().to_owned(),
                state: VnetState::Live,
                parent: v.parent().map(|p| p.name().to_owned()),
                children: children.remove(&v.id()).unwrap_or_default(),
            })
            .collect(),
    )
}

/// What a lifecycle step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StepKind {
    /// A module's event handler (`DECLARE_MODULE`, `MODEVENT` in traces),
    /// at its load position. (Not named `ModEvent`: a second item of that
    /// name would make rustc print `module::ModEvent` by its full path.)
    Handler,
    /// `#[sysinit]`: once per process.
    Sysinit,
    /// `#[sysuninit]`: once per process, at unload.
    Sysuninit,
    /// `#[vnet_sysinit]`: once per instance.
    VnetSysinit,
    /// `#[vnet_sysuninit]`: once per instance, at teardown.
    VnetSysuninit,
}

impl StepKind {
    /// The name used in trace lines (`MODEVENT`, `SYSINIT`, `VNET_SYSINIT`, ...).
    ///
    /// ```
    /// use vnet_runtime::introspect::StepKind;
    /// assert_eq!(StepKind::VnetSysinit.as_str(), "VNET_SYSINIT");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Handler => "MODEVENT",
            StepKind::Sysinit => "SYSINIT",
            StepKind::Sysuninit => "SYSUNINIT",
            StepKind::VnetSysinit => "VNET_SYSINIT",
            StepKind::VnetSysuninit => "VNET_SYSUNINIT",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One module handler or hook, as [`sysinits`] saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysinitInfo {
    /// Its `SI_SUB_*` value.
    pub subsystem: u32,
    /// Its `SI_ORDER_*` value.
    pub order: u32,
    /// Handler or which kind of hook.
    pub kind: StepKind,
    /// The module it belongs to (`base` for the always-loaded base).
    pub module: &'static str,
    /// The function's name (the module's name for a handler).
    pub name: &'static str,
    /// Where it is declared.
    pub file: &'static str,
    /// See `file`.
    pub line: u32,
    /// Whether it is registered now: its module is loaded (the base always
    /// is), so it runs for new instances (per-instance hooks) or at unload.
    pub registered: bool,
}

/// The result of [`sysinits`]. `Display` renders a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysinits(pub Vec<SysinitInfo>);

impl Sysinits {
    /// The entries named `name` (a hook's function name or a module's name).
    ///
    /// ```
    /// assert_eq!(vnet_runtime::introspect::sysinits().named("no_such_hook").count(), 0);
    /// ```
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a SysinitInfo> + 'a {
        self.0.iter().filter(move |s| s.name == name)
    }
}

/// Every module handler and lifecycle hook linked into the binary, with its
/// `(subsystem, order)`, in the order the boot sequence runs them (the
/// catalog's tie rule; teardown runs the reverse). Hooks the catalog refused
/// (see [`module::boot_errors`](crate::module::boot_errors)) are not listed.
///
/// ```
/// use vnet_runtime::{introspect, subsystem::*, vnet_sysinit};
///
/// #[vnet_sysinit(SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY)]
/// fn doc_proto_init() {}
///
/// let all = introspect::sysinits();
/// let hook = all.named("doc_proto_init").next().unwrap();
/// assert_eq!((hook.subsystem, hook.order), (SI_SUB_PROTO_DOMAIN, SI_ORDER_ANY));
/// assert_eq!(hook.kind, introspect::StepKind::VnetSysinit);
/// assert!(all.to_string().contains("doc_proto_init"));
/// ```
pub fn sysinits() -> Sysinits {
    crate::boot();
    let cat = hooks::catalog();
    let loaded = hooks::state().lock().loaded.clone();
    let unit_loaded = |unit: Unit| match unit {
        Unit::Base => true,
        Unit::Module(m) => loaded.contains(&m),
    };
    let mut steps: Vec<(SortKey, SysinitInfo)> = Vec::new();
    for (i, m) in cat.modules.iter().enumerate() {
        if !m.usable {
            continue;
        }
        let d = m.desc;
        steps.push((
            m.key(),
            SysinitInfo {
                subsystem: d.subsystem,
                order: d.order,
                kind: StepKind::Handler,
                module: d.name,
                name: d.name,
                file: d.file,
                line: d.line,
                registered: loaded.contains(&i),
            },
        ));
    }
    for hook in &cat.hooks {
        let d = hook.desc;
        steps.push((
            hook.key(),
            SysinitInfo {
                subsystem: d.subsystem,
                order: d.order,
                kind: match d.kind {
                    HookKind::Sysinit => StepKind::Sysinit,
                    HookKind::Sysuninit => StepKind::Sysuninit,
                    HookKind::VnetSysinit => StepKind::VnetSysinit,
                    HookKind::VnetSysuninit => StepKind::VnetSysuninit,
                },
                module: hook.unit_name,
                name: d.name,
                file: d.file,
                line: d.line,
                registered: unit_loaded(hook.unit),
            },
        ));
    }
    steps.sort_by(|a, b| a.0.cmp(&b.0));
    Sysinits(steps.into_iter().map(|(_, s)| s).collect())
}

/// One module linked into the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Its name.
    pub name: &'static str,
    /// Its `version`.
    pub version: u32,
    /// The `(subsystem, order)` of its `MODEVENT(load)`.
    pub subsystem: u32,
    /// See `subsystem`.
    pub order: u32,
    /// Names of the modules it depends on.
    pub depends: Vec<&'static str>,
    /// Whether it is loaded.
    pub loaded: bool,
    /// False when it cannot load (see [`module::boot_errors`](crate::module::boot_errors)).
    pub usable: bool,
}

/// Every module linked into the binary (FreeBSD's `kldstat`), in the
/// catalog's order, loaded or not.
///
/// ```
/// use vnet_runtime::introspect;
/// let modules = introspect::modules();
/// assert!(modules.iter().all(|m| !m.name.is_empty()));
/// assert!(modules.iter().all(|m| m.usable || !m.loaded));
/// ```
pub fn modules() -> Vec<ModuleInfo> {
    boot();
    let cat = hooks::catalog();
    let loaded = hooks::state().lock().loaded.clone();
    cat.modules
        .iter()
        .enumerate()
        .map(|(i, m)| ModuleInfo {
            name: m.desc.name,
            version: m.desc.version,
            subsystem: m.desc.subsystem,
            order: m.desc.order,
            depends: m.desc.depends.iter().map(|d| d.name).collect(),
            loaded: loaded.contains(&i),
            usable: m.usable,
        })
        .collect()
}

/// Writes `rows` as columns padded to their widest cell, two spaces apart.
fn table(f: &mut fmt::Formatter<'_>, rows: &[Vec<String>]) -> fmt::Result {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 < columns {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            } else {
                line.push_str(cell);
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

fn state_name(state: VnetState) -> &'static str {
    match state {
        VnetState::Creating => "creating",
        VnetState::Live => "live",
        VnetState::Dying => "dying",
        VnetState::Destroyed => "destroyed",
    }
}

impl fmt::Display for Vnets {
    /// One line per instance: `ID  NAME  STATE  PARENT  CHILDREN` (`-` for none).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows = vec![["ID", "NAME", "STATE", "PARENT", "CHILDREN"]
            .map(str::to_owned)
            .to_vec()];
        for v in &self.0 {
            rows.push(vec![
                v.id.to_string(),
                v.name.clone(),
                state_name(v.state).to_owned(),
                v.parent.clone().unwrap_or_else(|| "-".to_owned()),
                if v.children.is_empty() {
                    "-".to_owned()
                } else {
                    v.children.join(",")
                },
            ]);
        }
        table(f, &rows)
    }
}

impl fmt::Display for Sysinits {
    /// One line per step: `SUBSYSTEM  ORDER  KIND  MODULE  NAME  REGISTERED`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows = vec![
            ["SUBSYSTEM", "ORDER", "KIND", "MODULE", "NAME", "REGISTERED"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for s in &self.0 {
            rows.push(vec![
                subsystem_name(s.subsystem),
                order_name(s.order),
                s.kind.as_str().to_owned(),
                s.module.to_owned(),
                s.name.to_owned(),
                if s.registered { "yes" } else { "no" }.to_owned(),
            ]);
        }
        table(f, &rows)
    }
}
