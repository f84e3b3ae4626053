//! `VN204 module-dependency`: a module dependency that is missing, cyclic, or whose version range
//! excludes the declared version.

use super::Located;
use crate::diag::Finding;
use crate::model::{Model, Problem};
use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Checks every `depend(name, min, preferred, max)` of `#[vnet_module]`: a module of that name is
    /// declared in the selection or its path dependencies, its `version` is the preferred one or within
    /// `[min, max]`, and no dependency cycle exists.
    ///
    /// ## Why is this bad?
    /// The runtime refuses to load such a module at boot, and every module that needs it. FreeBSD's porting guide's own
    /// sample once declared `MODULE_DEPEND(dummynet, ipfw, …)` in `mymod`'s file: the dependency was
    /// declared under the wrong module name and nothing said so.
    ///
    /// ## Example
    /// ```rust,ignore
    /// use vnet_runtime::subsystem::*;
    ///
    /// #[vnet_module(ipfw, SI_SUB_PROTO_FIREWALL, SI_ORDER_ANY, version = 2)]
    /// fn ipfw_modevent(e: ModEvent) -> Result<(), ModError> { Ok(()) }
    /// #[vnet_module(mymod, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY, depend(ipfw, 3, 3, 3))] // ipfw is version 2
    /// fn mymod_modevent(e: ModEvent) -> Result<(), ModError> { Ok(()) }
    /// ```
    ///
    /// ## Use instead
    /// ```rust,ignore
    /// #[vnet_module(mymod, SI_SUB_PROTO_BEGIN, SI_ORDER_ANY, depend(ipfw, 2, 2, 2))]
    /// fn mymod_modevent(e: ModEvent) -> Result<(), ModError> { Ok(()) }
    /// ```
    ///
    /// ## Known problems
    /// A module declared in a crate that is neither selected nor a path dependency using the runtime is
    /// reported missing: lint the workspace (`--workspace`) or the binary's package.
    ///
    /// ## Configuration
    /// `// vnet-lint: allow(module-dependency): reason` above the handler.
    pub ModuleDependency => "VN204", "module-dependency", Ordering, Deny, since "0.2.0",
    "module dependency that is missing, cyclic, or excludes the declared version"
}

/// Reports dependency problems.
pub(crate) fn check(model: &Model, out: &mut Vec<Located>) {
    for problem in &model.problems {
        let (m, span, message, label, help) = match problem {
            Problem::MissingDependency { module, depend, known } => {
                let d = &model.modules[*module].depends[*depend];
                let others: Vec<&String> = known.iter().filter(|k| **k != model.modules[*module].name).collect();
                (
                    *module,
                    d.span.clone(),
                    format!("module `{}` depends on module `{}`, which no crate of the selection declares", model.modules[*module].name, d.name),
                    "unknown module".to_owned(),
                    if others.is_empty() {
                        format!("declare `#[vnet_module({}, …)]` in the crate that provides it and add that crate as a dependency, or fix the name", d.name)
                    } else {
                        format!("name a declared module ({}), or add the crate that declares `{}`", others.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "), d.name)
                    },
                )
            }
            Problem::VersionExcluded { module, depend, found } => {
                let d = &model.modules[*module].depends[*depend];
                let (min, preferred, max) = d.versions.unwrap_or_default();
                (
                    *module,
                    d.span.clone(),
                    format!("module `{}` needs `{}` version {min}..={max} (preferred {preferred}), but it is version {found}", model.modules[*module].name, d.name),
                    format!("excludes version {found}"),
                    format!("widen the range to include {found} (`depend({}, {found}, {found}, {found})`), or declare the version it needs", d.name),
                )
            }
            Problem::Cycle { module, names } => (
                *module,
                model.modules[*module].name_span.clone(),
                format!("dependency cycle: {}", names.join(" -> ")),
                "part of a cycle".to_owned(),
                "remove one of the dependencies: modules load dependencies first, so a cycle never loads".to_owned(),
            ),
            _ => continue,
        };
        let site = &model.modules[m].site;
        if !site.selected {
            continue;
        }
        out.push(Located {
            finding: Finding::new(&ModuleDependency::RULE, site.file, span, message)
                .with_label(label)
                .with_help(help)
                .with_note(
                    "the runtime refuses to load this module, and every module that needs it",
                ),
            item_start: site.item_start,
        });
    }
}
