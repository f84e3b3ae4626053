//! Arbitrary token streams to the attribute macros' expansion functions:
//! each must return code or a `compile_error!`, never panic.
//!
//! vnet-macros is a proc-macro crate, whose functions other crates cannot
//! call. Its expansion modules only use proc_macro2, syn and quote (the
//! `#[proc_macro_attribute]` shims in its lib.rs convert the compiler's
//! token streams and call them), so this target compiles those same source
//! files as its own modules, with `#[path]`, at its crate root (they refer
//! to each other as `crate::hook`, `crate::symbol`).

#![no_main]
#![allow(dead_code, unused_imports)]

#[path = "../../vnet-macros/src/global.rs"]
mod global;
#[path = "../../vnet-macros/src/hook.rs"]
mod hook;
#[path = "../../vnet-macros/src/module.rs"]
mod module;
#[path = "../../vnet-macros/src/symbol.rs"]
mod symbol;
#[path = "../../vnet-macros/src/vnet_static.rs"]
mod vnet_static;
#[path = "../../vnet-macros/src/vnet_test.rs"]
mod vnet_test;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proc_macro2::TokenStream;

/// The item the attribute is put on: raw text, or a template with fuzzed holes
/// (so that most inputs reach the validation and expansion past the parser).
#[derive(Arbitrary, Debug)]
enum Item<'a> {
    Raw(&'a str),
    Static {
        attrs: &'a str,
        vis: bool,
        mutable: bool,
        name: &'a str,
        ty: &'a str,
        init: &'a str,
    },
    Fn {
        attrs: &'a str,
        name: &'a str,
        args: &'a str,
        ret: Option<&'a str>,
        body: &'a str,
    },
}

impl Item<'_> {
    fn render(&self) -> String {
        match self {
            Item::Raw(text) => (*text).to_owned(),
            Item::Static {
                attrs,
                vis,
                mutable,
                name,
                ty,
                init,
            } => format!(
                "{attrs} {} static {} {name}: {ty} = {init};",
                if *vis { "pub" } else { "" },
                if *mutable { "mut" } else { "" }
            ),
            Item::Fn {
                attrs,
                name,
                args,
                ret,
                body,
            } => format!(
                "{attrs} fn {name}({args}) {} {{ {body} }}",
                ret.map(|r| format!("-> {r}")).unwrap_or_default()
            ),
        }
    }
}

/// The attribute's arguments: raw text, or a hook/module argument list with
/// fuzzed holes.
#[derive(Arbitrary, Debug)]
enum Args<'a> {
    Raw(&'a str),
    Key {
        name: Option<&'a str>,
        subsystem: &'a str,
        order: &'a str,
        rest: Vec<(&'a str, &'a str)>,
    },
}

impl Args<'_> {
    fn render(&self) -> String {
        match self {
            Args::Raw(text) => (*text).to_owned(),
            Args::Key {
                name,
                subsystem,
                order,
                rest,
            } => {
                let mut out = name.map(|n| format!("{n}, ")).unwrap_or_default();
                out.push_str(&format!("{subsystem}, {order}"));
                for (key, value) in rest {
                    out.push_str(&format!(", {key} = {value}"));
                }
                out
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    which: u8,
    args: Args<'a>,
    item: Item<'a>,
}

fn tokens(text: &str) -> Option<TokenStream> {
    text.parse().ok()
}

fuzz_target!(|input: Input<'_>| {
    // proc_macro2 keeps a table of the source text of every span (its
    // span-locations feature is on for vnet-lint in this build): start afresh.
    proc_macro2::extra::invalidate_current_thread_spans();
    let (Some(attr), Some(item)) = (tokens(&input.args.render()), tokens(&input.item.render()))
    else {
        return;
    };
    let _out: TokenStream = match input.which % 8 {
        0 => vnet_static::expand(attr, item),
        1 => global::expand(attr, item),
        2 => hook::expand(hook::Kind::Sysinit, attr, item),
        3 => hook::expand(hook::Kind::Sysuninit, attr, item),
        4 => hook::expand(hook::Kind::VnetSysinit, attr, item),
        5 => hook::expand(hook::Kind::VnetSysuninit, attr, item),
        6 => module::expand(attr, item),
        _ => vnet_test::expand(attr, item),
    };
});
