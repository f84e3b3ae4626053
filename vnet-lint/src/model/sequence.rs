//! The sequences the runtime runs, computed from the model: `boot` (every usable module loaded, one
//! instance), `create` and `destroy` (one instance), `load:<module>` and `unload:<module>` (one
//! instance, its dependencies loaded), and `shutdown`. Each step carries the runtime trace's event word,
//! so a sequence's `EVENT NAME` pairs are exactly the lines the runtime prints for one instance.

use super::{Model, SortKey, Unit};
use crate::parse::lifecycle::HookKind;

/// One step of a sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// `MODEVENT(load)`, `SYSINIT`, `VNET_SYSINIT`… exactly as the runtime's trace writes it.
    pub event: &'static str,
    /// The hook's function name, or the module's name for a `MODEVENT`.
    pub name: String,
    /// The module (or `base`).
    pub module: String,
    /// Subsystem value.
    pub subsystem: u32,
    /// Order value.
    pub order: u32,
    /// The subsystem as written in the source.
    pub subsystem_written: String,
    /// The order as written in the source.
    pub order_written: String,
    /// The file.
    pub file: usize,
    /// One-based line.
    pub line: usize,
    /// The hook's index in [`Model::hooks`], `None` for a module event.
    pub hook: Option<usize>,
}

/// One named sequence.
#[derive(Clone, Debug)]
pub struct Sequence {
    /// `boot`, `create`, `destroy`, `load:NAME`, `unload:NAME`, `shutdown`.
    pub name: String,
    /// Its steps in order.
    pub steps: Vec<Step>,
}

fn hook_step(model: &Model, h: usize) -> Step {
    let hook = &model.hooks[h];
    Step {
        event: hook.kind.event(),
        name: hook.name.clone(),
        module: model.unit_name(hook.unit).to_owned(),
        subsystem: hook.subsystem.value,
        order: hook.order.value,
        subsystem_written: hook.subsystem.written.clone(),
        order_written: hook.order.written.clone(),
        file: hook.site.file,
        line: hook.site.line,
        hook: Some(h),
    }
}

fn module_step(model: &Model, m: usize, event: &'static str) -> Step {
    let module = &model.modules[m];
    Step {
        event,
        name: module.name.clone(),
        module: module.name.clone(),
        subsystem: module.subsystem.value,
        order: module.order.value,
        subsystem_written: module.subsystem.written.clone(),
        order_written: module.order.written.clone(),
        file: module.site.file,
        line: module.site.line,
        hook: None,
    }
}

/// Init steps of `units` (module loads, SYSINITs, VNET_SYSINITs), sorted by the runtime's key.
fn init_steps(model: &Model, units: &[Unit]) -> Vec<Step> {
    let mut keyed: Vec<(SortKey, Step)> = Vec::new();
    for (h, hook) in model.hooks.iter().enumerate() {
        if hook.kind.is_init() && units.contains(&hook.unit) {
            keyed.push((model.hook_key(hook), hook_step(model, h)));
        }
    }
    for unit in units {
        if let Unit::Module(m) = unit {
            keyed.push((
                model.modules[*m].key(),
                module_step(model, *m, "MODEVENT(load)"),
            ));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, s)| s).collect()
}

/// Every sequence of the model, in the order `order` prints them.
pub fn sequences(model: &Model) -> Vec<Sequence> {
    let usable: Vec<usize> = (0..model.modules.len())
        .filter(|m| model.modules[*m].usable)
        .collect();
    let mut units = vec![Unit::Base];
    units.extend(usable.iter().map(|m| Unit::Module(*m)));
    let mut out = Vec::new();
    let boot = init_steps(model, &units);
    // Modules load in boot order; shutdown goes newest first.
    let load_order: Vec<usize> = boot
        .iter()
        .filter(|s| s.event == "MODEVENT(load)")
        .filter_map(|s| {
            usable
                .iter()
                .copied()
                .find(|m| model.modules[*m].name == s.name)
        })
        .collect();
    out.push(Sequence {
        name: "boot".into(),
        steps: boot,
    });
    let per_instance = |kind: HookKind| -> Vec<Step> {
        (0..model.hooks.len())
            .filter(|h| model.hooks[*h].kind == kind && units.contains(&model.hooks[*h].unit))
            .map(|h| hook_step(model, h))
            .collect()
    };
    out.push(Sequence {
        name: "create".into(),
        steps: per_instance(HookKind::VnetSysinit),
    });
    let mut destroy = per_instance(HookKind::VnetSysuninit);
    destroy.reverse();
    out.push(Sequence {
        name: "destroy".into(),
        steps: destroy,
    });
    for &m in &usable {
        let name = &model.modules[m].name;
        out.push(Sequence {
            name: format!("load:{name}"),
            steps: init_steps(model, &[Unit::Module(m)]),
        });
        let mut unload = vec![
            module_step(model, m, "MODEVENT(quiesce)"),
            module_step(model, m, "MODEVENT(unload)"),
        ];
        let mut teardown: Vec<Step> = (0..model.hooks.len())
            .filter(|h| model.hooks[*h].unit == Unit::Module(m) && !model.hooks[*h].kind.is_init())
            .map(|h| hook_step(model, h))
            .collect();
        teardown.reverse();
        unload.extend(teardown);
        out.push(Sequence {
            name: format!("unload:{name}"),
            steps: unload,
        });
    }
    out.push(Sequence {
        name: "shutdown".into(),
        steps: load_order
            .iter()
            .rev()
            .map(|m| module_step(model, *m, "MODEVENT(shutdown)"))
            .collect(),
    });
    out
}
