//! The catalog as plain data, for [`introspect::sysinits`](crate::introspect::sysinits).

use super::catalog::{SortKey, Unit};
use super::{engine, HookKind};
use crate::introspect::{StepKind, SysinitInfo};

/// Every module handler and hook the catalog accepted, in boot-sequence
/// order (the tie rule of the catalog), with whether each is registered now.
pub(crate) fn steps() -> Vec<SysinitInfo> {
    crate::boot();
    let cat = engine::catalog();
    let loaded = engine::state().lock().loaded.clone();
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
    steps.into_iter().map(|(_, s)| s).collect()
}
