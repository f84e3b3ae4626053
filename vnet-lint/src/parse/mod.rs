//! The per-file syntax pass: parse one file and return its globals, its `#[vnet]` statics, its type
//! definitions and the findings that need no other file (suppressions without a reason, parse errors).
//!
//! **Architecture Invariant:** nothing here prints, and the returned facts hold no syn types, so files are
//! analyzed on any thread and merged afterwards.

pub mod cfg;
pub mod directives;
pub mod lifecycle;
pub mod macros;
pub mod mod_decls;
pub mod prefilter;
pub mod shape;
pub mod source;
pub mod uses;

mod globals;

use crate::diag::FileId;
use directives::Directives;
use globals::Collector;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use shape::{TyShape, TypeDef};
use std::ops::Range;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Ident, Token};

/// Options of the syntax pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Also look into `#[cfg(test)]` code, `#[test]` functions and `macro_rules!` bodies.
    pub include_tests: bool,
}

/// A mutable global found in a file, before its type is resolved.
#[derive(Clone, Debug)]
pub struct GlobalItem {
    /// The item's name.
    pub name: String,
    /// What kind of global it is.
    pub kind: GlobalKind,
    /// The file it is in.
    pub file: FileId,
    /// Byte range of the token the diagnostic points at.
    pub primary: Range<usize>,
    /// One-based line where the item starts (allow comments sit directly above it).
    pub start_line: usize,
    /// One-based line of the token the diagnostic points at: an allow comment directly above it
    /// counts too (between an item's doc comments and its name, or in `thread_local!`).
    pub primary_line: usize,
}

impl GlobalItem {
    /// Whether an allow comment of `directives`, above the item or above the line its finding
    /// points at, allows `rule`.
    pub fn allowed(&self, directives: &directives::Directives, rule: &crate::rule::Rule) -> bool {
        directives.allows(self.start_line, rule)
            || (self.primary_line != self.start_line && directives.allows(self.primary_line, rule))
    }
}

/// The kinds of global the rules tell apart.
#[derive(Clone, Debug)]
pub enum GlobalKind {
    /// `static mut NAME: T`.
    StaticMut,
    /// `static NAME: T`, reported when `ty` has interior mutability.
    Static {
        /// The declared type.
        ty: TyShape,
    },
    /// `static ref NAME: T` inside `lazy_static!`.
    LazyStatic {
        /// The invoked macro's name, e.g. `lazy_static`.
        via: String,
    },
    /// `static NAME: T` inside `thread_local!`.
    ThreadLocal {
        /// The invoked macro's name, e.g. `thread_local` or `tokio_thread_local`.
        via: String,
    },
    /// `static NAME: T;` in an `extern` block, written by Rust code of the same file.
    Foreign {
        /// One-based line of the first write.
        written_at: usize,
    },
}

/// A static declared in an `extern` block.
#[derive(Clone, Debug)]
pub struct ForeignStatic {
    /// Its name.
    pub name: String,
    /// Inline `mod` blocks around it.
    pub modules: Vec<String>,
    /// Byte range of the name.
    pub primary: Range<usize>,
    /// One-based line where the item starts.
    pub start_line: usize,
}

/// A `#[vnet]` static: already per instance, listed by `cargo vnet-lint list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VnetStatic {
    /// The static's name.
    pub name: String,
    /// Inline `mod` blocks around it, outermost first.
    pub inline_modules: Vec<String>,
    /// One-based line of the name.
    pub line: usize,
    /// One-based column of the name.
    pub column: usize,
}

/// A name brought into scope by `use`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// The name as the file uses it (the `as` name for renames).
    pub local: String,
    /// The imported item's own name.
    pub original: String,
    /// The first segment of the path (`std`, `crate`, `super`, a crate or a module name).
    pub first: String,
    /// The segment just before the name (`offset` in `use crate::fmt::offset::Parser;`), if any.
    pub parent: Option<String>,
}

/// Everything the syntax pass learned about one file.
#[derive(Debug, Default)]
pub struct GlobalsFacts {
    /// Mutable globals (allow comments are applied by the rules pass).
    pub globals: Vec<GlobalItem>,
    /// `#[vnet]` statics.
    pub vnet_statics: Vec<VnetStatic>,
    /// Type aliases and struct, enum and union definitions: name, innermost inline `mod` around the
    /// definition (none at the file's top level), definition.
    pub typedefs: Vec<(String, Option<String>, TypeDef)>,
    /// Names brought in by `use`.
    pub imports: Vec<Import>,
    /// Names of the modules declared in the file (`mod name;` and `mod name { … }`).
    pub modules: Vec<String>,
    /// Why the file could not be read as Rust, if it could not.
    pub parse_failure: Option<ParseFailure>,
    /// `#[global]` markers that give no reason (byte ranges of the attributes).
    pub markers_without_reason: Vec<Range<usize>>,
    /// The file's allow comments.
    pub directives: Directives,
    /// Statics declared in `extern` blocks (unmarked ones), for the foreign-global rule.
    pub foreign_statics: Vec<ForeignStatic>,
    /// Paths assigned, borrowed `&mut` or changed by an atomic method in the file: the path as written,
    /// the inline `mod` blocks around the write, its line.
    pub writes: Vec<(Vec<String>, Vec<String>, usize)>,
}

/// A file the parser could not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseFailure {
    /// Where: the first token rejected, or the point where nesting got too deep.
    pub span: Range<usize>,
    /// What the parser said there (`None` when the file nests too deeply to parse).
    pub label: Option<String>,
}

/// Parses `text` (file `file`) and collects its facts. Never panics on any input; a file that does not
/// parse yields a `parse-error` finding. Call on a thread with a large stack (see `engine`).
pub fn analyze(file: FileId, text: &str, options: Options) -> GlobalsFacts {
    let mut facts = GlobalsFacts::default();
    let syntax = match parse_source(text) {
        Ok(syntax) => syntax,
        Err(None) => {
            let at = prefilter::too_deep(text.as_bytes()).unwrap_or_default();
            facts.parse_failure = Some(ParseFailure {
                span: at..at + 1,
                label: None,
            });
            return facts;
        }
        Err(Some(error)) => {
            let span = byte_range(error.span());
            // An empty span (end of input) still needs one character to point at, never half of one.
            let span = if span.is_empty() {
                let width = text
                    .get(span.start..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(0, char::len_utf8);
                span.start..span.start + width
            } else {
                span
            };
            facts.parse_failure = Some(ParseFailure {
                span,
                label: Some(parse_error_label(&error)),
            });
            return facts;
        }
    };
    facts.directives = Directives::scan(text);
    let mut collector = Collector {
        file,
        options,
        modules: Vec::new(),
        facts,
    };
    collector.visit_file(&syntax);
    collector.foreign_globals();
    collector.facts
}

/// The one parse entry point of every pass (the globals, the resolver and the order model, `--fix`):
/// forgets the spans of earlier files on this thread, refuses input nested too deeply to parse on the
/// worker's stack (`Err(None)`), and parses with the bare-`Fn` repair. Call on a thread with a large
/// stack.
///
/// ```
/// assert!(vnet_lint::parse::parse_source("fn f(g: Box<Fn(u8)>) {}").is_ok());
/// assert!(vnet_lint::parse::parse_source("fn f(").is_err());
/// ```
pub fn parse_source(text: &str) -> Result<syn::File, Option<syn::Error>> {
    forget_earlier_spans();
    parse_source_keeping_spans(text)
}

/// [`parse_source`] without forgetting earlier spans: the trees of files parsed before on this thread
/// stay usable (their spans still give byte ranges), for a pass that keeps several files' trees. The
/// caller forgets them in one go ([`forget_earlier_spans`]) when it is done.
pub(crate) fn parse_source_keeping_spans(text: &str) -> Result<syn::File, Option<syn::Error>> {
    if prefilter::too_deep(text.as_bytes()).is_some() {
        return Err(None);
    }
    parse_file(text).map_err(Some)
}

/// Parses a whole file. Edition 2015 code may write a trait object without `dyn` (`Box<Fn(u8) + Send>`),
/// which syn reads only for paths without parentheses: when parsing stops at the `(` of such a bare
/// `Fn(…)`, `FnMut(…)` or `FnOnce(…)`, `dyn` is put in front of it and the tokens are parsed again, so
/// that valid 2015 code is read; any other error is the file's.
pub(crate) fn parse_file(text: &str) -> syn::Result<syn::File> {
    let text = &*source::blank_prelude(text);
    let first = match syn::parse_file(text) {
        Ok(file) => return Ok(file),
        Err(error) => error,
    };
    let Ok(mut tokens) = text.parse::<TokenStream>() else {
        return Err(first);
    };
    let mut at = byte_range(first.span()).start;
    for _ in 0..MAX_BARE_FN_REPAIRS {
        let Some(repaired) = insert_dyn_before_bare_fn(tokens, at) else {
            return Err(first);
        };
        tokens = repaired;
        match syn::parse2::<syn::File>(tokens.clone()) {
            Ok(file) => return Ok(file),
            Err(error) => at = byte_range(error.span()).start,
        }
    }
    Err(first)
}

/// How many bare `Fn(…)` trait objects one file may have repaired before its parse error stands.
const MAX_BARE_FN_REPAIRS: usize = 64;

/// `tokens` with `dyn` inserted before the bare `Fn`-like trait whose parenthesized arguments start at
/// byte `at`, or `None` when no such trait is there.
fn insert_dyn_before_bare_fn(tokens: TokenStream, at: usize) -> Option<TokenStream> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        let TokenTree::Group(group) = tree else {
            continue;
        };
        let range = byte_range(group.span());
        if !range.contains(&at) {
            continue;
        }
        let is_bare_fn = group.delimiter() == Delimiter::Parenthesis
            && range.start == at
            && matches!(trees.get(i.wrapping_sub(1)), Some(TokenTree::Ident(f)) if f == "Fn" || f == "FnMut" || f == "FnOnce")
            && !matches!(trees.get(i.wrapping_sub(2)), Some(TokenTree::Ident(k)) if k == "dyn" || k == "impl");
        let mut out = trees.clone();
        if is_bare_fn {
            let span = trees[i - 1].span();
            out.insert(i - 1, TokenTree::Ident(Ident::new("dyn", span)));
        } else {
            let inner = insert_dyn_before_bare_fn(group.stream(), at)?;
            let mut repaired = proc_macro2::Group::new(group.delimiter(), inner);
            repaired.set_span(group.span());
            out[i] = TokenTree::Group(repaired);
        }
        return Some(out.into_iter().collect());
    }
    None
}

/// The label of a parse error; the lexer's own message does not say what is wrong.
fn parse_error_label(error: &syn::Error) -> String {
    let message = error.to_string();
    if message == "cannot parse string into token stream" {
        "unbalanced delimiter, or a token Rust does not have, here".to_owned()
    } else {
        message
    }
}

/// Parses `text` for its type definitions, imports and modules only, for resolving names used by statics
/// in other files.
pub fn typedefs(text: &str) -> GlobalsFacts {
    let Ok(syntax) = parse_source(text) else {
        return GlobalsFacts::default();
    };
    let facts = GlobalsFacts::default();
    let options = Options {
        include_tests: true,
    };
    let mut collector = Collector {
        file: 0,
        options,
        modules: Vec::new(),
        facts,
    };
    collector.visit_file(&syntax);
    let GlobalsFacts {
        typedefs,
        imports,
        modules,
        ..
    } = collector.facts;
    GlobalsFacts {
        typedefs,
        imports,
        modules,
        ..GlobalsFacts::default()
    }
}

/// Empties this thread's span table, which otherwise keeps a copy of every file parsed on the thread
/// and overflows its 32-bit positions after 4 GiB. No span of an earlier file outlives its analysis:
/// facts hold byte ranges, never spans.
pub(crate) fn forget_earlier_spans() {
    proc_macro2::extra::invalidate_current_thread_spans();
    SPAN_EPOCH.with(|epoch| epoch.set(epoch.get() + 1));
}

thread_local! {
    /// How many times this thread's span table was emptied: a tree parsed at another epoch has
    /// spans that no longer give byte ranges.
    // vnet-lint: allow(thread-local-global): it counts the resets of proc-macro2's span table, which is per thread
    static SPAN_EPOCH: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// This thread's span epoch (see [`forget_earlier_spans`]): a kept syntax tree is usable while the
/// epoch is the one it was parsed at.
pub(crate) fn span_epoch() -> u64 {
    SPAN_EPOCH.with(std::cell::Cell::get)
}

/// The byte range of a span in its file.
pub(crate) fn byte_range(span: Span) -> Range<usize> {
    span.byte_range()
}

/// Whether `op` assigns to its left side (`+=`, `<<=`, …): a write of what it names.
pub(crate) fn is_compound_assign(op: &syn::BinOp) -> bool {
    use syn::BinOp::*;
    matches!(
        op,
        AddAssign(_)
            | SubAssign(_)
            | MulAssign(_)
            | DivAssign(_)
            | RemAssign(_)
            | BitXorAssign(_)
            | BitAndAssign(_)
            | BitOrAssign(_)
            | ShlAssign(_)
            | ShrAssign(_)
    )
}
