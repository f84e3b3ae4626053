//! The command line: `check` (the default), `list` and `explain`. Parses arguments, builds the run's
//! options, prints through `emit`, and returns the exit status, decided once from the report.

use crate::diag::Report;
use crate::discover::workspace::{self, Selection, SourceRoot};
use crate::emit::{self, Format};
use crate::engine::{self, Options};
use crate::report::config::{self, Scoped};
use crate::rules::{self, Level, RULES};
use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Checks code ported to vnet: mutable globals that are not per instance (`#[vnet]`), lifecycle hooks
/// and modules that run in the wrong order, and code that loses the current instance.
#[derive(Debug, Parser)]
#[command(
    name = "cargo-vnet-lint",
    bin_name = "cargo vnet-lint",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; `check` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Arguments of `check`, when no subcommand is named.
    #[command(flatten)]
    pub check: CheckArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report unvirtualized globals, init-order mistakes and lost instances (the default).
    Check(CheckArgs),
    /// List every `#[vnet]` static: name, module path, file:line.
    List(ListArgs),
    /// Print a rule's documentation; without a rule, list all rules.
    Explain(ExplainArgs),
    /// Print the order in which lifecycle hooks and module events run: boot, create, destroy,
    /// load:MODULE, unload:MODULE, shutdown.
    Order(OrderArgs),
    /// Generate the rule pages (`docs/rules`) from the rule catalog, or check that they are current.
    #[command(hide = true)]
    Docs(DocsArgs),
}

/// `docs` arguments: for maintainers of the lint, hidden from `--help`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Directory of the pages.
    #[arg(default_value = "docs/rules", value_name = "DIR")]
    pub dir: PathBuf,
    /// Write the pages that are out of date; without it, only name them and exit 1.
    #[arg(long)]
    pub write: bool,
}

/// `order` arguments.
#[derive(Debug, Args)]
pub struct OrderArgs {
    /// Which sources to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OrderFormat::Table, value_name = "FMT")]
    pub format: OrderFormat,
}

/// `order --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OrderFormat {
    /// An aligned table per sequence.
    Table,
    /// One JSON object per line and step.
    Json,
    /// A Graphviz graph (`dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

/// Which sources to read.
#[derive(Debug, Args, Default)]
pub struct SourceArgs {
    /// Files or directories to lint; without any, the package or workspace around the current directory.
    pub paths: Vec<PathBuf>,
    /// Path to Cargo.toml (when no paths are given).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Package to lint (repeatable; when no paths are given).
    #[arg(short, long = "package", value_name = "SPEC")]
    pub package: Vec<String>,
    /// Lint every workspace member (when no paths are given).
    #[arg(long)]
    pub workspace: bool,
    /// Also check `#[cfg(test)]` code, `#[test]` functions, `tests/`, `benches/`, `examples/`, build scripts and `macro_rules!` bodies.
    #[arg(long)]
    pub include_tests: bool,
    /// Read configuration from this file instead of discovering `vnet-lint.toml` or Cargo metadata.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Files larger than this many bytes are reported instead of parsed.
    #[arg(long, value_name = "BYTES", default_value_t = engine::DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,
    /// Number of worker threads (default: one per core).
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
}

/// `check` arguments.
#[derive(Debug, Args, Default)]
pub struct CheckArgs {
    /// Which sources to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, value_name = "FMT")]
    pub message_format: Format,
    /// Report RULE (code or name) as an error (repeatable).
    #[arg(short = 'D', long, value_name = "RULE")]
    pub deny: Vec<String>,
    /// Report RULE as a warning (repeatable).
    #[arg(short = 'W', long, value_name = "RULE")]
    pub warn: Vec<String>,
    /// Do not report RULE (repeatable). When a rule is named twice, deny beats warn beats allow.
    #[arg(short = 'A', long, value_name = "RULE")]
    pub allow: Vec<String>,
    /// When to colour human output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// After the diagnostics, print the init order of the same sources as `order` does (human format).
    #[arg(long)]
    pub show_order: bool,
    /// Fix options (`--fix`, `--diff`, …).
    #[command(flatten)]
    pub fix: FixArgs,
}

/// `check --fix`: the mechanical port.
#[derive(Debug, Args, Default)]
pub struct FixArgs {
    /// Port what can be ported: `#[vnet]` on the static, every use through its `V_` accessor.
    #[arg(long)]
    pub fix: bool,
    /// Also apply unsafe fixes (`static mut` to an atomic or a lock, `lazy_static!` to `LazyLock`).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print, as a unified diff, every change `--fix` would write (all its rounds) and write nothing.
    /// No build is run: the build check and its restores are `--fix`'s.
    #[arg(long)]
    pub diff: bool,
    /// Fix even when the git working tree has uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Do not run `cargo check` after writing (nor restore what broke the build).
    #[arg(long)]
    pub no_verify: bool,
    /// Where an added `vnet-runtime` dependency points (a path dependency instead of a version).
    #[arg(long, value_name = "DIR")]
    pub runtime_path: Option<PathBuf>,
}

/// `list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which sources to read.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output format: `human` or `json`.
    #[arg(long, value_enum, default_value_t = ListFormat::Human, value_name = "FMT")]
    pub message_format: ListFormat,
}

/// `list --message-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// `NAME  MODULE  FILE:LINE` lines.
    Human,
    /// One JSON object per static.
    Json,
}

/// `explain` arguments.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule code (`VN102`) or name (`interior-mutable-static`).
    pub rule: Option<String>,
}

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Colour when standard output is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Runs the parsed command line and returns the exit status (0 clean, 1 findings, 2 input problems).
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        None => check(cli.check),
        Some(Command::Check(args)) => check(args),
        Some(Command::List(args)) => list(args),
        Some(Command::Explain(args)) => explain(args),
        Some(Command::Order(args)) => order(args),
        Some(Command::Docs(args)) => docs(args),
    }
}

/// Resolves the sources to paths, crate roots and configurations.
fn prepare(source: &SourceArgs) -> Result<(Vec<PathBuf>, Vec<SourceRoot>, Vec<Scoped>)> {
    prepare_all(source).map(|(paths, roots, _, configs)| (paths, roots, configs))
}

/// [`prepare`], plus the path dependencies that use the runtime (for the init-order model).
type Prepared = (Vec<PathBuf>, Vec<SourceRoot>, Vec<SourceRoot>, Vec<Scoped>);

fn prepare_all(source: &SourceArgs) -> Result<Prepared> {
    let (paths, roots, context_roots) = if source.paths.is_empty() {
        let selection = Selection {
            manifest_path: source.manifest_path.clone(),
            packages: source.package.clone(),
            workspace: source.workspace,
        };
        let (roots, context) =
            workspace::discover_with_dependencies(&selection, source.include_tests)?;
        (
            roots.iter().map(|root| root.dir.clone()).collect(),
            roots,
            context,
        )
    } else {
        // `cargo vnet-lint --color never check src` parses `check` as a path: say how to write it.
        let misplaced = source.paths.iter().find(|p| {
            matches!(
                p.to_str(),
                Some("check" | "list" | "explain" | "order" | "docs")
            ) && !p.exists()
        });
        if let Some(name) = misplaced {
            bail!(
                "`{0}` is a subcommand and must come first: `cargo vnet-lint {0} [OPTIONS] [PATHS]`",
                name.display()
            );
        }
        if source.manifest_path.is_some() || !source.package.is_empty() || source.workspace {
            bail!("give either paths or --manifest-path/--package/--workspace, not both");
        }
        (source.paths.clone(), Vec::new(), Vec::new())
    };
    let mut configs = Vec::new();
    if let Some(file) = &source.config {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        let root = crate::discover::normalize(file.parent().unwrap_or(std::path::Path::new(".")));
        let mut explicit = config::parse(&text, file, &root)?;
        explicit.everywhere = true;
        configs.push(explicit);
    } else {
        let starts: Vec<PathBuf> = if roots.is_empty() {
            paths
                .iter()
                .map(|p| {
                    if p.is_dir() {
                        p.clone()
                    } else {
                        p.parent().map(PathBuf::from).unwrap_or_default()
                    }
                })
                .collect()
        } else {
            roots.iter().map(|root| root.package_dir.clone()).collect()
        };
        for start in starts {
            if let Some(found) = config::discover(&start)? {
                if !configs.iter().any(|c: &Scoped| c.source == found.source) {
                    configs.push(found);
                }
            }
        }
    }
    Ok((paths, roots, context_roots, configs))
}

fn options(source: &SourceArgs, configs: Vec<Scoped>) -> Options {
    Options {
        include_tests: source.include_tests,
        max_file_size: source.max_file_size,
        jobs: source.jobs,
        levels: Vec::new(),
        configs,
        roots: Vec::new(),
        context_roots: Vec::new(),
        overlay: Default::default(),
    }
}

fn level_overrides(args: &CheckArgs) -> Result<Vec<(&'static rules::Rule, Level)>> {
    let mut levels = Vec::new();
    for (names, level) in [
        (&args.allow, Level::Allow),
        (&args.warn, Level::Warn),
        (&args.deny, Level::Deny),
    ] {
        for name in names {
            match rules::find(name) {
                Some(rule) => levels.push((rule, level)),
                None => bail!("unknown rule `{name}`; `cargo vnet-lint explain` lists the rules"),
            }
        }
    }
    Ok(levels)
}

fn check(args: CheckArgs) -> Result<u8> {
    let levels = level_overrides(&args)?;
    let (paths, roots, context_roots, configs) = prepare_all(&args.source)?;
    let mut options = options(&args.source, configs);
    options.levels = levels;
    options.roots = roots;
    options.context_roots = context_roots;
    if args.show_order && args.message_format != Format::Human {
        bail!("--show-order prints a table: use it with --message-format human");
    }
    let (report, model, model_files) = engine::check_paths_with_model(&paths, &options);
    // `--fix`/`--diff`: the port, then what is left (see `fix::run`).
    if args.fix.fix || args.fix.diff {
        let run = crate::fix::run::FixRun {
            fix: args.fix.fix,
            diff: args.fix.diff,
            unsafe_fixes: args.fix.unsafe_fixes,
            allow_dirty: args.fix.allow_dirty,
            no_verify: args.fix.no_verify,
            runtime_path: args.fix.runtime_path.clone(),
        };
        // Further rounds (a static whose use sat inside another's rewritten use) plan on a fresh
        // report of the files as the rounds before left them: on disk for `--fix`, in the overlay
        // for `--diff`.
        let mut relint = |overlay: &crate::discover::overlay::Overlay| {
            let mut options = options.clone();
            options.overlay = overlay.clone();
            engine::check_paths(&paths, &options)
        };
        let outcome = crate::fix::run::run(
            &report,
            &run,
            &mut relint,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        )?;
        if run.diff {
            // Non-zero while a fix would change something or fixable findings remain (statics left
            // only for want of `--unsafe-fixes`); a static the fix leaves alone for a reason it
            // cannot lift (a borrow that outlives its expression, a signal handler) is the user's
            // to port or to mark `#[vnet_runtime::global]`.
            return Ok(u8::from(outcome.changed || outcome.needs_unsafe));
        }
        let remaining = engine::check_paths(&paths, &options);
        print_report(&remaining, args.message_format, args.color)?;
        return Ok(remaining.exit_code() as u8);
    }
    if args.message_format == Format::Sarif {
        // SARIF carries the proposed fixes, safe and unsafe, each marked with its applicability.
        let options = crate::fix::FixOptions {
            unsafe_fixes: true,
            applicability_only: true,
            ..crate::fix::FixOptions::default()
        };
        let plan = crate::fix::plan(&crate::fix::targets(&report), &options);
        let mut sarif = emit::sarif::to_sarif(&report);
        emit::sarif::add_fixes(&mut sarif, &plan);
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &sarif)?;
        writeln!(out)?;
        return Ok(report.exit_code() as u8);
    }
    if args.message_format == Format::Json {
        // Each finding carries the applicability of its own fix, as `--fix --unsafe-fixes` plans it.
        let options = crate::fix::FixOptions {
            unsafe_fixes: true,
            applicability_only: true,
            ..crate::fix::FixOptions::default()
        };
        let plan = crate::fix::plan(&crate::fix::targets(&report), &options);
        let applicability = crate::fix::applicability_per_diagnostic(&report, &plan);
        emit::json::render_with_fixes(&report, &applicability, &mut std::io::stdout().lock())?;
        return Ok(report.exit_code() as u8);
    }
    print_report(&report, args.message_format, args.color)?;
    if args.show_order {
        // The model the check built: `check` and the table see the same files.
        let sequences = crate::model::sequence::sequences(&model);
        let mut out = std::io::stdout().lock();
        writeln!(out, "\ninit order (cargo vnet-lint order):")?;
        emit::order::render_table(&model, &sequences, &model_files, &mut out)?;
    }
    Ok(report.exit_code() as u8)
}

/// Prints `report` in `format` to standard output.
pub fn print_report(report: &Report, format: Format, color: Color) -> Result<()> {
    let stdout = std::io::stdout();
    match format {
        Format::Human => {
            let choice = match color {
                Color::Always => ColorChoice::Always,
                Color::Never => ColorChoice::Never,
                Color::Auto if stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none() => {
                    ColorChoice::Auto
                }
                Color::Auto => ColorChoice::Never,
            };
            let stream = StandardStream::stdout(choice);
            let mut lock = stream.lock();
            emit::human::render(report, &mut lock)?;
        }
        Format::Json => emit::json::render(report, &mut stdout.lock())?,
        Format::Sarif => emit::sarif::render(report, &mut stdout.lock())?,
        Format::Cargo => emit::cargo::render(report, &mut stdout.lock())?,
        Format::Github => emit::github::render(report, &mut stdout.lock())?,
        Format::Gitlab => emit::gitlab::render(report, &mut stdout.lock())?,
        Format::Junit => emit::junit::render(report, &mut stdout.lock())?,
    }
    Ok(())
}

fn list(args: ListArgs) -> Result<u8> {
    let (paths, roots, configs) = prepare(&args.source)?;
    let options = options(&args.source, configs);
    let (listed, report) = engine::list_paths(&paths, &roots, &options);
    let mut out = std::io::stdout().lock();
    match args.message_format {
        ListFormat::Human => {
            for item in &listed {
                writeln!(
                    out,
                    "{}\t{}\t{}:{}",
                    item.name, item.module, item.file, item.line
                )?;
            }
            drop(out);
            if !report.diagnostics.is_empty() {
                print_report(&report, Format::Human, Color::Auto)?;
            }
        }
        ListFormat::Json => {
            for item in &listed {
                writeln!(out, "{}", serde_json::to_string(item)?)?;
            }
            emit::json::render(&report, &mut out)?;
        }
    }
    Ok(report.exit_code() as u8)
}

fn order(args: OrderArgs) -> Result<u8> {
    let (paths, roots, context_roots, configs) = prepare_all(&args.source)?;
    let mut options = options(&args.source, configs);
    options.roots = roots;
    options.context_roots = context_roots;
    let (model, files, report) = engine::model_paths(&paths, &options);
    let sequences = crate::model::sequence::sequences(&model);
    let mut out = std::io::stdout().lock();
    match args.format {
        OrderFormat::Table => emit::order::render_table(&model, &sequences, &files, &mut out)?,
        OrderFormat::Json => emit::order::render_json(&sequences, &files, &mut out)?,
        OrderFormat::Dot => emit::order::render_dot(&model, &sequences, &mut out)?,
        OrderFormat::Mermaid => emit::order::render_mermaid(&model, &sequences, &mut out)?,
    }
    drop(out);
    // Problems of the model (unresolved keys, dependencies) go to stderr, so the output stays parseable.
    if !report.diagnostics.is_empty() {
        let stream = StandardStream::stderr(ColorChoice::Never);
        let mut lock = stream.lock();
        emit::human::render(&report, &mut lock)?;
    }
    Ok(report.exit_code() as u8)
}

fn docs(args: DocsArgs) -> Result<u8> {
    let stale = crate::docs::sync(&args.dir, args.write)?;
    let mut out = std::io::stdout().lock();
    for name in &stale {
        let verb = if args.write { "wrote" } else { "stale" };
        writeln!(out, "{verb} {}", args.dir.join(name).display())?;
    }
    if !args.write && !stale.is_empty() {
        writeln!(
            out,
            "regenerate with: cargo run -p vnet-lint -- docs --write {}",
            args.dir.display()
        )?;
        return Ok(1);
    }
    Ok(0)
}

fn explain(args: ExplainArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match args.rule {
        None => {
            for rule in RULES {
                writeln!(
                    out,
                    "{}  {:<30} {:<6} {}",
                    rule.code,
                    rule.name,
                    rule.default_level.to_string(),
                    rule.summary
                )?;
            }
        }
        Some(name) => match rules::find(&name) {
            // The rule's page, as `docs/rules/VNxxx.md` has it.
            Some(rule) => write!(out, "{}", crate::docs::page(rule))?,
            None => bail!("unknown rule `{name}`; `cargo vnet-lint explain` lists the rules"),
        },
    }
    Ok(0)
}
