//! Mostly-valid Rust for the lint: an `arbitrary` structure of items
//! (statics, `static mut`, consts, `thread_local!`, `lazy_static!`,
//! `#[vnet]`/`#[global]`/`#[sysinit(...)]`/`#[vnet_module(...)]`, modules,
//! `use`, impls, fns, type definitions, macros, allow comments, nesting)
//! rendered to source, so that inputs reach the analysis past the parser.
//! Names come from a small set so that types, modules and imports refer to
//! each other. Now and then a raw fragment breaks the syntax on purpose.

#![no_main]

use std::fmt::Write;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "Foo", "BAR", "state", "imp", "Counter", "x", "r#type", "Cell",
];
const RULES: [&str; 7] = [
    "static-mut",
    "interior-mutable-static",
    "lazy-static-global",
    "thread-local-global",
    "suppression-without-reason",
    "unknown-rule-in-allow",
    "no-such-rule",
];
const SUBSYSTEMS: [&str; 5] = [
    "SI_SUB_PROTO_BEGIN",
    "SI_SUB_VNET",
    "SI_SUB_DRIVERS",
    "0x8000000",
    "SI_SUB_PROTO_IF + 1",
];
const ORDERS: [&str; 4] = ["SI_ORDER_FIRST", "SI_ORDER_ANY", "SI_ORDER_SECOND + 2", "7"];
const FRAGMENTS: [&str; 12] = [
    "{", "}", "(", ")", ";", "static", "mut", "#[", "'a", "\"", "/*", "r#\"",
];

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Name(u8);

impl Name {
    fn get(self) -> &'static str {
        NAMES[usize::from(self.0) % NAMES.len()]
    }
}

#[derive(Arbitrary, Debug)]
enum Ty {
    Int,
    Str,
    Atomic(u8),
    Mutex(Box<Ty>),
    RwLock(Box<Ty>),
    Cell(Box<Ty>),
    RefCell(Box<Ty>),
    OnceLock(Box<Ty>),
    LazyLock(Box<Ty>),
    Array(Box<Ty>, u8),
    Slice(Box<Ty>),
    Ref(bool, Box<Ty>),
    Ptr(Box<Ty>),
    Tuple(Vec<Ty>),
    Option(Box<Ty>),
    Vec(Box<Ty>),
    FnPtr,
    Named(Name),
    Path(Vec<Name>),
    Generic(Name, Vec<Ty>),
}

impl Ty {
    fn render(&self, out: &mut String) {
        let inner = |out: &mut String, name: &str, t: &Ty| {
            out.push_str(name);
            out.push('<');
            t.render(out);
            out.push('>');
        };
        match self {
            Ty::Int => out.push_str("u32"),
            Ty::Str => out.push_str("&'static str"),
            Ty::Atomic(k) => {
                let kinds = [
                    "AtomicU32",
                    "std::sync::atomic::AtomicBool",
                    "AtomicPtr<u8>",
                    "core::sync::atomic::AtomicUsize",
                ];
                out.push_str(kinds[usize::from(*k) % kinds.len()]);
            }
            Ty::Mutex(t) => inner(out, "std::sync::Mutex", t),
            Ty::RwLock(t) => inner(out, "parking_lot::RwLock", t),
            Ty::Cell(t) => inner(out, "Cell", t),
            Ty::RefCell(t) => inner(out, "core::cell::RefCell", t),
            Ty::OnceLock(t) => inner(out, "OnceLock", t),
            Ty::LazyLock(t) => inner(out, "std::sync::LazyLock", t),
            Ty::Array(t, n) => {
                out.push('[');
                t.render(out);
                let _ = write!(out, "; {n}]");
            }
            Ty::Slice(t) => {
                out.push_str("&'static [");
                t.render(out);
                out.push(']');
            }
            Ty::Ref(m, t) => {
                out.push_str(if *m { "&'static mut " } else { "&'static " });
                t.render(out);
            }
            Ty::Ptr(t) => {
                out.push_str("*const ");
                t.render(out);
            }
            Ty::Tuple(ts) => {
                out.push('(');
                for t in ts {
                    t.render(out);
                    out.push_str(", ");
                }
                out.push(')');
            }
            Ty::Option(t) => inner(out, "Option", t),
            Ty::Vec(t) => inner(out, "Vec", t),
            Ty::FnPtr => out.push_str("fn(u8) -> u8"),
            Ty::Named(n) => out.push_str(n.get()),
            Ty::Path(ns) => {
                out.push_str("crate");
                for n in ns {
                    out.push_str("::");
                    out.push_str(n.get());
                }
            }
            Ty::Generic(n, ts) => {
                out.push_str(n.get());
                out.push('<');
                for t in ts {
                    t.render(out);
                    out.push(',');
                }
                out.push('>');
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Init {
    Zero,
    Str,
    New(Name),
    Call(Vec<Name>),
    Block(Box<Init>),
    Macro(Name),
    Closure,
}

impl Init {
    fn render(&self, out: &mut String) {
        match self {
            Init::Zero => out.push('0'),
            Init::Str => out.push_str("\"text ✓\""),
            Init::New(n) => {
                let _ = write!(out, "{}::new(0)", n.get());
            }
            Init::Call(ns) => {
                out.push_str("self::");
                for n in ns {
                    out.push_str(n.get());
                    out.push_str("::");
                }
                out.push_str("make()");
            }
            Init::Block(i) => {
                out.push_str("{ const K: u8 = 1; ");
                i.render(out);
                out.push_str(" }");
            }
            Init::Macro(n) => {
                let _ = write!(out, "{}!(1, 2)", n.get());
            }
            Init::Closure => out.push_str("|| 1"),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Attr {
    Vnet,
    VnetCrate(Name),
    Global(Option<String>),
    Sysinit(u8, u8, u8, Option<Name>),
    VnetModule(Name, u8, u8, Option<u8>, Vec<(Name, u8)>),
    CfgTest,
    CfgAllTest,
    CfgNotTest,
    Allow(u8),
    Path(Name),
    Doc(String),
    Other(Name),
}

impl Attr {
    fn render(&self, out: &mut String) {
        match self {
            Attr::Vnet => out.push_str("#[vnet]"),
            Attr::VnetCrate(n) => {
                let _ = write!(out, "#[vnet_runtime::vnet(crate = {})]", n.get());
            }
            Attr::Global(reason) => match reason {
                Some(r) => {
                    let _ = write!(out, "#[global(reason = {r:?})]");
                }
                None => out.push_str("#[vnet_runtime::global]"),
            },
            Attr::Sysinit(kind, sub, order, module) => {
                let kinds = [
                    "sysinit",
                    "sysuninit",
                    "vnet_sysinit",
                    "vnet_runtime::vnet_sysuninit",
                ];
                let _ = write!(
                    out,
                    "#[{}({}, {}",
                    kinds[usize::from(*kind) % kinds.len()],
                    SUBSYSTEMS[usize::from(*sub) % SUBSYSTEMS.len()],
                    ORDERS[usize::from(*order) % ORDERS.len()]
                );
                if let Some(m) = module {
                    let _ = write!(out, ", module = {}", m.get());
                }
                out.push_str(")]");
            }
            Attr::VnetModule(name, sub, order, version, deps) => {
                let _ = write!(
                    out,
                    "#[vnet_module({}, {}, {}",
                    name.get(),
                    SUBSYSTEMS[usize::from(*sub) % SUBSYSTEMS.len()],
                    ORDERS[usize::from(*order) % ORDERS.len()]
                );
                if let Some(v) = version {
                    let _ = write!(out, ", version = {v}");
                }
                for (d, v) in deps {
                    let _ = write!(out, ", depend({}, {v}, {v}, {v})", d.get());
                }
                out.push_str(")]");
            }
            Attr::CfgTest => out.push_str("#[cfg(test)]"),
            Attr::CfgAllTest => out.push_str("#[cfg(all(test, unix))]"),
            Attr::CfgNotTest => out.push_str("#[cfg(not(test))]"),
            Attr::Allow(r) => {
                let _ = write!(
                    out,
                    "#[allow({})]",
                    RULES[usize::from(*r) % RULES.len()].replace('-', "_")
                );
            }
            Attr::Path(n) => {
                let _ = write!(out, "#[path = \"{}.rs\"]", n.get());
            }
            Attr::Doc(text) => {
                let _ = write!(out, "#[doc = {text:?}]");
            }
            Attr::Other(n) => {
                let _ = write!(out, "#[{}]", n.get());
            }
        }
        out.push('\n');
    }
}

#[derive(Arbitrary, Debug)]
struct Var {
    name: Name,
    ty: Ty,
    init: Init,
}

impl Var {
    fn render(&self, out: &mut String, sep: &str) {
        out.push_str(self.name.get());
        out.push_str(": ");
        self.ty.render(out);
        out.push_str(sep);
        self.init.render(out);
    }
}

#[derive(Arbitrary, Debug)]
enum Item {
    Static {
        attrs: Vec<Attr>,
        public: bool,
        mutable: bool,
        var: Var,
    },
    Const(Var),
    ThreadLocal(Vec<(bool, Var)>),
    LazyStatic(Vec<Var>),
    Module {
        attrs: Vec<Attr>,
        name: Name,
        items: Vec<Item>,
    },
    ModDecl(Vec<Attr>, Name),
    Use(Vec<Name>, Option<Name>, bool),
    Impl(Name, Vec<Item>),
    Fn {
        attrs: Vec<Attr>,
        name: Name,
        body: Vec<Item>,
    },
    Struct(Name, Vec<Ty>),
    Enum(Name, Vec<Ty>),
    Union(Name, Ty),
    Alias(Name, Ty),
    MacroRules(Name, Vec<Item>),
    CfgIf(Vec<Item>, Vec<Item>),
    Allow {
        rules: Vec<u8>,
        reason: Option<String>,
        block: bool,
    },
    Fragment(u8),
}

impl Item {
    fn render(&self, out: &mut String) {
        match self {
            Item::Static {
                attrs,
                public,
                mutable,
                var,
            } => {
                for a in attrs {
                    a.render(out);
                }
                if *public {
                    out.push_str("pub ");
                }
                out.push_str(if *mutable { "static mut " } else { "static " });
                var.render(out, " = ");
                out.push_str(";\n");
            }
            Item::Const(var) => {
                out.push_str("const ");
                var.render(out, " = ");
                out.push_str(";\n");
            }
            Item::ThreadLocal(vars) => {
                out.push_str("thread_local! {\n");
                for (constant, var) in vars {
                    out.push_str("    pub static ");
                    var.render(out, if *constant { " = const { " } else { " = " });
                    out.push_str(if *constant { " };\n" } else { ";\n" });
                }
                out.push_str("}\n");
            }
            Item::LazyStatic(vars) => {
                out.push_str("lazy_static::lazy_static! {\n");
                for var in vars {
                    out.push_str("    static ref ");
                    var.render(out, " = ");
                    out.push_str(";\n");
                }
                out.push_str("}\n");
            }
            Item::Module { attrs, name, items } => {
                for a in attrs {
                    a.render(out);
                }
                let _ = writeln!(out, "mod {} {{", name.get());
                for item in items {
                    item.render(out);
                }
                out.push_str("}\n");
            }
            Item::ModDecl(attrs, name) => {
                for a in attrs {
                    a.render(out);
                }
                let _ = writeln!(out, "mod {};", name.get());
            }
            Item::Use(path, rename, glob) => {
                out.push_str("use crate");
                for n in path {
                    out.push_str("::");
                    out.push_str(n.get());
                }
                if *glob {
                    out.push_str("::*");
                } else if let Some(r) = rename {
                    let _ = write!(out, " as {}", r.get());
                }
                out.push_str(";\n");
            }
            Item::Impl(name, items) => {
                let _ = writeln!(out, "impl {} {{", name.get());
                for item in items {
                    item.render(out);
                }
                out.push_str("}\n");
            }
            Item::Fn { attrs, name, body } => {
                for a in attrs {
                    a.render(out);
                }
                let _ = writeln!(out, "fn {}() {{", name.get());
                for item in body {
                    item.render(out);
                }
                out.push_str("}\n");
            }
            Item::Struct(name, fields) => {
                let _ = write!(out, "struct {}(", name.get());
                for f in fields {
                    f.render(out);
                    out.push_str(", ");
                }
                out.push_str(");\n");
            }
            Item::Enum(name, variants) => {
                let _ = write!(out, "enum {} {{", name.get());
                for (i, v) in variants.iter().enumerate() {
                    let _ = write!(out, "V{i}(");
                    v.render(out);
                    out.push_str("), ");
                }
                out.push_str("}\n");
            }
            Item::Union(name, ty) => {
                let _ = write!(out, "union {} {{ a: ", name.get());
                ty.render(out);
                out.push_str(" }\n");
            }
            Item::Alias(name, ty) => {
                let _ = write!(out, "type {} = ", name.get());
                ty.render(out);
                out.push_str(";\n");
            }
            Item::MacroRules(name, body) => {
                let _ = writeln!(out, "macro_rules! {} {{ () => {{", name.get());
                for item in body {
                    item.render(out);
                }
                out.push_str("}; }\n");
            }
            Item::CfgIf(then, otherwise) => {
                out.push_str("cfg_if::cfg_if! { if #[cfg(unix)] {\n");
                for item in then {
                    item.render(out);
                }
                out.push_str("} else {\n");
                for item in otherwise {
                    item.render(out);
                }
                out.push_str("} }\n");
            }
            Item::Allow {
                rules,
                reason,
                block,
            } => {
                out.push_str(if *block {
                    "/* vnet-lint: allow("
                } else {
                    "// vnet-lint: allow("
                });
                for (i, r) in rules.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(RULES[usize::from(*r) % RULES.len()]);
                }
                out.push(')');
                if let Some(reason) = reason {
                    out.push_str(": ");
                    out.push_str(&reason.replace(['\n', '*'], " "));
                }
                out.push_str(if *block { " */\n" } else { "\n" });
            }
            Item::Fragment(f) => {
                out.push_str(FRAGMENTS[usize::from(*f) % FRAGMENTS.len()]);
                out.push('\n');
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
struct File {
    inner_attrs: Vec<Name>,
    items: Vec<Item>,
}

fuzz_target!(|file: File| {
    let mut text = String::new();
    for a in &file.inner_attrs {
        let _ = writeln!(text, "#![{}]", a.get());
    }
    text.push_str("use std::cell::Cell;\nuse std::sync::{OnceLock, atomic::*};\n");
    for item in &file.items {
        item.render(&mut text);
    }
    let report = vnet_lint::check_source("src/lib.rs", text.as_bytes());
    let _ = vnet_lint::emit::human::render_to_string(&report);
});
