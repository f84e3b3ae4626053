//! The catalog: every hook and module linked into the binary, resolved once at
//! boot (which module each hook belongs to, each module's dependencies) and
//! checked (ambiguous hooks, unknown or unlinked modules, versions, cycles).
//!
//! **Tie rule.** Steps are sorted by `(subsystem, order)`; at equal keys by
//! kind (`MODEVENT(load)` first, then `SYSINIT`/`SYSUNINIT`, then
//! `VNET_SYSINIT`/`VNET_SYSUNINIT`), then by module name (the base, named
//! `base`, sorts as the empty name, so first), then by function name, then by
//! `module_path!` and line. Teardown sequences are the same order reversed.
//! The rule never depends on link order, so every build runs the same sequence.

use std::collections::BTreeMap;

use super::desc::{DependDesc, HookDesc, HookKind, ModuleDesc, HOOKS, MODULES};
use crate::subsystem::is_vnet_subsystem;
use crate::Error;

/// The name the base (hooks of crates that declare no module) goes by.
pub(crate) const BASE: &str = "base";

/// Who a hook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Unit {
    /// The always-loaded base.
    Base,
    /// A module, by index in [`Catalog::modules`].
    Module(usize),
}

/// The total order of steps (see the module docs for the tie rule).
pub(crate) type SortKey = (u32, u32, u8, &'static str, &'static str, &'static str, u32);

pub(crate) struct Hook {
    pub(crate) desc: &'static HookDesc,
    pub(crate) unit: Unit,
    pub(crate) unit_name: &'static str,
}

impl Hook {
    pub(crate) fn key(&self) -> SortKey {
        let rank = match self.desc.kind {
            HookKind::Sysinit | HookKind::Sysuninit => 1,
            HookKind::VnetSysinit | HookKind::VnetSysuninit => 2,
        };
        let unit = if self.unit == Unit::Base {
            ""
        } else {
            self.unit_name
        };
        let d = self.desc;
        (
            d.subsystem,
            d.order,
            rank,
            unit,
            d.name,
            d.module_path,
            d.line,
        )
    }

    pub(crate) fn level(&self) -> (u32, u32) {
        (self.desc.subsystem, self.desc.order)
    }
}

pub(crate) struct Module {
    pub(crate) desc: &'static ModuleDesc,
    /// Resolved dependencies (indices into `modules`).
    pub(crate) deps: Vec<usize>,
    /// Its hooks (indices into `hooks`), in sort order.
    pub(crate) hooks: Vec<usize>,
    /// False when a declaration or dependency problem was found.
    pub(crate) usable: bool,
}

impl Module {
    pub(crate) fn key(&self) -> SortKey {
        let d = self.desc;
        (d.subsystem, d.order, 0, d.name, "", d.module_path, d.line)
    }

    pub(crate) fn level(&self) -> (u32, u32) {
        (self.desc.subsystem, self.desc.order)
    }
}

pub(crate) struct Catalog {
    /// Every hook, sorted by [`Hook::key`].
    pub(crate) hooks: Vec<Hook>,
    /// Every module, sorted by name.
    pub(crate) modules: Vec<Module>,
    /// Hooks of the base, in sort order.
    pub(crate) base_hooks: Vec<usize>,
    /// Problems found; the modules and hooks involved are left out.
    pub(crate) errors: Vec<Error>,
}

/// The crate that contains `module_path` (its first segment).
fn crate_of(module_path: &str) -> &str {
    module_path.split("::").next().unwrap_or(module_path)
}

impl Catalog {
    pub(crate) fn from_linked() -> Catalog {
        Catalog::build(HOOKS.iter().collect(), MODULES.iter().collect())
    }

    pub(crate) fn build(
        hooks: Vec<&'static HookDesc>,
        modules: Vec<&'static ModuleDesc>,
    ) -> Catalog {
        let mut errors = Vec::new();
        let mut modules: Vec<Module> = modules
            .into_iter()
            .map(|desc| Module {
                desc,
                deps: Vec::new(),
                hooks: Vec::new(),
                usable: true,
            })
            .collect();
        modules.sort_by_key(|m| (m.desc.name, m.desc.module_path, m.desc.line));

        // Module names are unique (FreeBSD's module_register: EEXIST).
        for pair in modules.windows(2) {
            if pair[0].desc.name == pair[1].desc.name {
                errors.push(Error::Module {
                    module: pair[0].desc.name.to_owned(),
                    reason: format!(
                        "declared twice, at {}:{} and {}:{}: module names must be unique",
                        pair[0].desc.file, pair[0].desc.line, pair[1].desc.file, pair[1].desc.line
                    ),
                });
            }
        }
        let by_name: BTreeMap<&str, usize> = modules
            .iter()
            .enumerate()
            .map(|(i, m)| (m.desc.name, i))
            .rev()
            .collect();
        // A later duplicate stays out; the first one is usable.
        let duplicates: Vec<usize> = (0..modules.len())
            .filter(|i| by_name.get(modules[*i].desc.name) != Some(i))
            .collect();
        for i in duplicates {
            modules[i].usable = false;
        }

        // Dependencies, checked against versions.
        for i in 0..modules.len() {
            let desc = modules[i].desc;
            for dep in desc.depends {
                match resolve_dependency(&modules, &by_name, dep) {
                    Ok(d) => modules[i].deps.push(d),
                    Err(reason) => {
                        modules[i].usable = false;
                        errors.push(Error::Module {
                            module: desc.name.to_owned(),
                            reason,
                        });
                    }
                }
            }
        }
        // Cycles.
        for i in 0..modules.len() {
            if let Some(cycle) = find_cycle(&modules, i) {
                modules[i].usable = false;
                if cycle.first() == cycle.iter().min() {
                    errors.push(Error::Module {
                        module: modules[i].desc.name.to_owned(),
                        reason: format!(
                            "dependency cycle: {}",
                            cycle
                                .iter()
                                .chain(std::iter::once(&i))
                                .map(|m| modules[*m].desc.name)
                                .collect::<Vec<_>>()
                                .join(" -> ")
                        ),
                    });
                }
            }
        }
        // A module is usable only if its dependencies are.
        loop {
            let mut changed = false;
            for i in 0..modules.len() {
                if modules[i].usable && modules[i].deps.iter().any(|d| !modules[*d].usable) {
                    modules[i].usable = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }

        // Which module each hook belongs to.
        let mut resolved = Vec::new();
        for desc in hooks {
            match resolve_unit(&modules, &by_name, desc) {
                Ok(unit) => {
                    if matches!(desc.kind, HookKind::VnetSysinit | HookKind::VnetSysuninit)
                        && !is_vnet_subsystem(desc.subsystem)
                    {
                        errors.push(hook_error(
                            desc,
                            format!(
                                "it belongs to module `{}`; per-instance hooks need a subsystem in \
                                 (SI_SUB_VNET, SI_SUB_VNET_DONE], found {} ({}:{})",
                                unit_name(&modules, unit),
                                crate::subsystem::subsystem_name(desc.subsystem),
                                desc.file,
                                desc.line
                            ),
                        ));
                        continue;
                    }
                    resolved.push(Hook {
                        desc,
                        unit,
                        unit_name: unit_name(&modules, unit),
                    });
                }
                Err(err) => errors.push(err),
            }
        }
        resolved.sort_by_key(Hook::key);
        let mut base_hooks = Vec::new();
        for (h, hook) in resolved.iter().enumerate() {
            match hook.unit {
                Unit::Base => base_hooks.push(h),
                Unit::Module(m) => modules[m].hooks.push(h),
            }
        }
        Catalog {
            hooks: resolved,
            modules,
            base_hooks,
            errors,
        }
    }

    pub(crate) fn module(&self, name: &str) -> Option<usize> {
        self.modules
            .iter()
            .position(|m| m.desc.name == name && m.usable)
            .or_else(|| self.modules.iter().position(|m| m.desc.name == name))
    }

    pub(crate) fn unit_hooks(&self, unit: Unit) -> &[usize] {
        match unit {
            Unit::Base => &self.base_hooks,
            Unit::Module(m) => &self.modules[m].hooks,
        }
    }

    /// `wanted` and everything it needs, dependencies before dependents
    /// (ties by name), skipping what `skip` says is done already.
    pub(crate) fn with_dependencies(
        &self,
        wanted: &[usize],
        skip: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        fn visit(
            cat: &Catalog,
            m: usize,
            skip: &dyn Fn(usize) -> bool,
            out: &mut Vec<usize>,
            seen: &mut Vec<bool>,
        ) {
            if seen[m] || skip(m) {
                return;
            }
            seen[m] = true;
            for &d in &cat.modules[m].deps {
                visit(cat, d, skip, out, seen);
            }
            out.push(m);
        }
        let mut out = Vec::new();
        let mut seen = vec![false; self.modules.len()];
        let mut wanted = wanted.to_vec();
        wanted.sort_unstable();
        for m in wanted {
            visit(self, m, &skip, &mut out, &mut seen);
        }
        out
    }
}

fn unit_name(modules: &[Module], unit: Unit) -> &'static str {
    match unit {
        Unit::Base => BASE,
        Unit::Module(m) => modules[m].desc.name,
    }
}

/// A declaration problem of a hook (a configuration error, not a failure).
fn hook_error(desc: &HookDesc, reason: String) -> Error {
    Error::HookDeclaration {
        hook: desc.name.to_owned(),
        reason,
    }
}

/// The module a hook belongs to: the one it names, else the one its crate
/// declares, else the base. Several candidates is an error, never a guess.
fn resolve_unit(
    modules: &[Module],
    by_name: &BTreeMap<&str, usize>,
    desc: &HookDesc,
) -> Result<Unit, Error> {
    if let Some(name) = desc.module {
        return match by_name.get(name) {
            Some(&m) => Ok(Unit::Module(m)),
            None => Err(hook_error(
                desc,
                format!(
                    "`module = {name}` names a module that is not linked into this binary \
                     ({}:{}); declare it with #[vnet_module({name}, ...)] or link the crate that does",
                    desc.file, desc.line
                ),
            )),
        };
    }
    let krate = crate_of(desc.module_path);
    let mut candidates: Vec<usize> = modules
        .iter()
        .enumerate()
        .filter(|(i, m)| {
            crate_of(m.desc.module_path) == krate && by_name.get(m.desc.name) == Some(i)
        })
        .map(|(i, _)| i)
        .collect();
    candidates.dedup();
    match candidates.as_slice() {
        [] => Ok(Unit::Base),
        [m] => Ok(Unit::Module(*m)),
        several => {
            let names: Vec<&str> = several.iter().map(|m| modules[*m].desc.name).collect();
            Err(hook_error(
                desc,
                format!(
                    "crate `{krate}` declares several modules ({}), so the hook's module is ambiguous \
                     ({}:{}); name it: `module = {}`",
                    names.join(", "),
                    desc.file,
                    desc.line,
                    names[0]
                ),
            ))
        }
    }
}

/// FreeBSD's `modlist_lookup2`: the candidate whose version is the preferred
/// one, else the highest version within `[min, max]`.
pub(crate) fn select_version(
    candidates: &[(usize, u32)],
    min: u32,
    preferred: u32,
    max: u32,
) -> Option<usize> {
    candidates
        .iter()
        .find(|(_, v)| *v == preferred)
        .or_else(|| {
            candidates
                .iter()
                .filter(|(_, v)| (min..=max).contains(v))
                .max_by_key(|(_, v)| *v)
        })
        .map(|(i, _)| *i)
}

fn resolve_dependency(
    modules: &[Module],
    by_name: &BTreeMap<&str, usize>,
    dep: &DependDesc,
) -> Result<usize, String> {
    let Some(&candidate) = by_name.get(dep.name) else {
        return Err(format!(
            "depends on module `{name}`, which is not linked into this binary: the crate that declares it \
             (`{krate}`) was dropped by the linker or is missing; add `vnet_runtime::link!({krate});` \
             (or `use {krate} as _;`) to the binary, and `{krate}` to its [dependencies]",
            name = dep.name,
            krate = dep.krate,
        ));
    };
    let version = modules[candidate].desc.version;
    select_version(&[(candidate, version)], dep.min, dep.preferred, dep.max).ok_or_else(|| {
        format!(
            "depends on module `{}` version {}..={} (preferred {}), but the linked one is version {}",
            dep.name, dep.min, dep.max, dep.preferred, version
        )
    })
}

/// A path from `start` back to itself through dependencies, if any.
fn find_cycle(modules: &[Module], start: usize) -> Option<Vec<usize>> {
    fn dfs(
        modules: &[Module],
        start: usize,
        at: usize,
        path: &mut Vec<usize>,
        seen: &mut Vec<bool>,
    ) -> bool {
        for &d in &modules[at].deps {
            if d == start {
                return true;
            }
            if !seen[d] {
                seen[d] = true;
                path.push(d);
                if dfs(modules, start, d, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    let mut seen = vec![false; modules.len()];
    dfs(modules, start, start, &mut path, &mut seen).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_selection_prefers_exact_then_highest_in_range() {
        let c = [(0, 1), (1, 2), (2, 3), (3, 5)];
        assert_eq!(select_version(&c, 1, 2, 4), Some(1));
        assert_eq!(select_version(&c, 1, 4, 4), Some(2));
        assert_eq!(select_version(&c, 6, 6, 9), None);
        assert_eq!(select_version(&c, 2, 2, 2), Some(1));
    }

    #[test]
    fn crate_is_the_first_path_segment() {
        assert_eq!(crate_of("mymod::sub"), "mymod");
        assert_eq!(crate_of("mymod"), "mymod");
    }
}
