//! The `fstop` command line: parsing, validation, batch runs, presets, contact sheets,
//! completions and the man page. `run` returns the process exit code; an `Err` is a usage or
//! configuration error (exit code 2).

pub mod args;
pub mod batch;
pub mod batch_config;
pub mod check;
pub mod compare;
pub mod exit;
pub mod headshot_tiles;
pub mod paths;
pub mod progress;
pub mod report;
pub mod rerun;
pub mod setup;
pub mod shard;
pub mod signals;
pub mod validate;

use std::ffi::OsString;
use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::{CommandFactory, Parser};

use args::{Cli, Command, PresetsCommand};
use fstop::backdrop::Background;
use fstop::pipeline::PipelineError;
use progress::{Ui, Verbosity};
use signals::Stop;

pub use exit::Exit;

fn init_tracing(verbosity: Verbosity) {
    use tracing_subscriber::EnvFilter;
    let level = match verbosity.0 {
        i8::MIN..=-1 => "error",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_env("FSTOP_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .event_format(PlainEvents)
        .try_init();
}

/// Library log lines in the CLI's own style: `warning: …`, `error: …`, plain otherwise; no
/// timestamps, targets or colour codes.
struct PlainEvents;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for PlainEvents
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        match *event.metadata().level() {
            tracing::Level::ERROR => write!(writer, "error: ")?,
            tracing::Level::WARN => write!(writer, "warning: ")?,
            _ => {}
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Parses `argv` and runs the command.
pub fn run(argv: Vec<OsString>) -> Result<Exit> {
    let argv = args::insert_default_subcommand(argv);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return Ok(Exit::from_clap(e.exit_code()));
        }
    };
    let verbosity = if cli.global.quiet {
        Verbosity(-1)
    } else {
        Verbosity(cli.global.verbose.min(3) as i8)
    };
    init_tracing(verbosity);
    match &cli.command {
        Command::Render(r) => {
            let (config, batch_config) = validate::load_config(&cli.global)?;
            let settings = validate::render_settings(
                r.preset.preset.as_deref(),
                &r.lens,
                &r.analysis,
                &r.output_opts,
                &config,
            )?;
            let batch = validate::batch_settings(&r.batch, &batch_config)?;
            if matches!(settings.lens.background, Background::Studio(_))
                && settings.common.depth.is_some()
                && settings.common.matte.is_none()
            {
                bail!("{}", PipelineError::StudioNeedsMatte);
            }
            let plan = batch::plan(&r.inputs, r.output.as_deref(), &settings, &batch)?;
            let mut ui = Ui::new(verbosity);
            for w in &settings.lens.warnings {
                ui.warn(w);
            }
            let stop = Stop::install().context("installing signal handlers")?;
            batch::install_panic_hook(verbosity.0 >= 2);
            Ok(batch::run(&plan, &settings, &batch, &mut ui, &stop))
        }
        Command::Compare(c) => {
            let (config, _) = validate::load_config(&cli.global)?;
            let ui = Ui::new(verbosity);
            let stop = Stop::install().context("installing signal handlers")?;
            compare::run(c, &config, &ui, &stop)
        }
        Command::Check(c) => {
            let (config, _) = validate::load_config(&cli.global)?;
            let ui = Ui::new(verbosity);
            let stop = Stop::install().context("installing signal handlers")?;
            check::run(c, &config, &ui, &stop)
        }
        Command::Presets(p) => presets(p),
        Command::Setup(s) => setup::run(s, cli.global.quiet),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "fstop", &mut buf);
            write_stdout(&buf)?;
            Ok(Exit::Ok)
        }
        Command::Man { subcommand } => {
            let cmd = Cli::command();
            let page = match subcommand {
                None => cmd,
                Some(name) => {
                    let Some(sub) = cmd.find_subcommand(name) else {
                        bail!(
                            "no subcommand '{name}' (render, compare, check, presets, setup, completions, man)"
                        );
                    };
                    sub.clone()
                        .name(&*Box::leak(format!("fstop-{name}").into_boxed_str()))
                        .version(env!("CARGO_PKG_VERSION"))
                }
            };
            let mut buf = Vec::new();
            clap_mangen::Man::new(page).render(&mut buf)?;
            write_stdout(&buf)?;
            Ok(Exit::Ok)
        }
    }
}

fn write_stdout(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

fn presets(command: &PresetsCommand) -> Result<Exit> {
    let user_dir = fstop::preset::user_dir();
    match command {
        PresetsCommand::List => {
            let all = fstop::preset::all(user_dir.as_deref())?;
            let fmt_opt = |v: Option<f64>, unit: &str, prefix: &str| {
                v.map_or("-".to_string(), |v| format!("{prefix}{v}{unit}"))
            };
            let rows: Vec<[String; 5]> = all
                .iter()
                .map(|p| {
                    let f = &p.fields;
                    let blades = match (f.lens.blades, f.lens.blade_curvature) {
                        (None, _) => "-".to_string(),
                        (Some(0), _) => "round".to_string(),
                        (Some(n), Some(c)) if c >= 1.0 => format!("{n} (round)"),
                        (Some(n), Some(c)) if c <= 0.0 => format!("{n} straight"),
                        (Some(n), _) => n.to_string(),
                    };
                    let mut description = f.description.clone().unwrap_or_default();
                    if p.source != fstop::preset::PresetSource::BuiltIn {
                        description = format!("{description} [{}]", p.source.label());
                    }
                    [
                        p.name.clone(),
                        fmt_opt(f.lens.focal_length_mm, " mm", ""),
                        fmt_opt(f.lens.f_number, "", "f/"),
                        blades,
                        description,
                    ]
                })
                .collect();
            let header = ["NAME", "FOCAL", "F-NUMBER", "BLADES", "DESCRIPTION"];
            let mut widths = header.map(str::len);
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let mut out = String::new();
            let mut line = |cells: [&str; 5]| {
                let mut l = String::new();
                for (i, c) in cells.iter().enumerate() {
                    if i == 4 {
                        l.push_str(c);
                    } else {
                        l.push_str(&format!("{c:<w$}  ", w = widths[i]));
                    }
                }
                out.push_str(l.trim_end());
                out.push('\n');
            };
            line(header);
            for r in &rows {
                line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
            }
            write_stdout(out.as_bytes())?;
            Ok(Exit::Ok)
        }
        PresetsCommand::Show { name } => {
            let p = fstop::preset::resolve(name, user_dir.as_deref())?;
            let mut text = format!("# {} ({})\n", p.name, p.source.label());
            text.push_str(&p.text);
            if !text.ends_with('\n') {
                text.push('\n');
            }
            write_stdout(text.as_bytes())?;
            Ok(Exit::Ok)
        }
        PresetsCommand::Dir => {
            match user_dir {
                Some(d) => write_stdout(format!("{}\n", d.display()).as_bytes())?,
                None => bail!("no user preset folder: neither XDG_CONFIG_HOME nor HOME is set"),
            }
            Ok(Exit::Ok)
        }
    }
}

/// True when the error is a closed stdout (`fstop … | head`): exit quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// An error and its causes on one line, leaving out causes the message already includes.
pub fn error_message(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_do_not_repeat_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::new(fstop::preset::PresetError::Read {
            path: "p.toml".into(),
            source: io,
        });
        assert_eq!(error_message(&e), "p.toml: gone");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_message(&e), "outer: inner");
    }
}
