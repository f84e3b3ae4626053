//! The one `use`-tree flattener: every pass (the globals' imports, the resolver's scopes, `--fix`)
//! reads `use` declarations through [`flatten`], so `self`, renames and globs mean the same everywhere.

use std::ops::Range;

/// One name a `use` brings into scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlatUse {
    /// The full path as written (`crate`, `self`, `super` kept); for `a::b::{self}` it is `a::b`.
    pub path: Vec<String>,
    /// The name in scope (the `as` name for renames); `None` for a glob (`path::*`).
    pub alias: Option<String>,
    /// Byte range of the imported name as written (empty for a glob).
    pub span: Range<usize>,
    /// Whether it is written `self` (`a::b::{self}` or `a::b::{self as c}`).
    pub is_self: bool,
}

impl FlatUse {
    /// Whether it is `path::*`.
    pub fn is_glob(&self) -> bool {
        self.alias.is_none()
    }
}

/// Every name `tree` brings in, in the order written.
///
/// ```
/// let item: syn::ItemUse = syn::parse_str("use a::{b as c, d::{self, *}};").unwrap();
/// let flat = vnet_lint::parse::uses::flatten(&item.tree);
/// let shown: Vec<String> = flat
///     .iter()
///     .map(|u| format!("{} {:?}", u.path.join("::"), u.alias))
///     .collect();
/// assert_eq!(shown, ["a::b Some(\"c\")", "a::d Some(\"d\")", "a::d None"]);
/// ```
pub fn flatten(tree: &syn::UseTree) -> Vec<FlatUse> {
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

fn walk(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<FlatUse>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            walk(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let is_self = name == "self";
            let (path, alias) = if is_self {
                (prefix.clone(), prefix.last().cloned().unwrap_or(name))
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                (path, name)
            };
            out.push(FlatUse {
                path,
                alias: Some(alias),
                span: n.ident.span().byte_range(),
                is_self,
            });
        }
        syn::UseTree::Rename(r) => {
            let is_self = r.ident == "self";
            let mut path = prefix.clone();
            if !is_self {
                path.push(r.ident.to_string());
            }
            out.push(FlatUse {
                path,
                alias: Some(r.rename.to_string()),
                span: r.ident.span().byte_range(),
                is_self,
            });
        }
        syn::UseTree::Glob(_) => out.push(FlatUse {
            path: prefix.clone(),
            alias: None,
            span: 0..0,
            is_self: false,
        }),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                walk(tree, prefix, out);
            }
        }
    }
}
