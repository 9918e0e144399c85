//! What fstop prints on stderr: errors always; warnings unless -q; a progress bar (terminal) or
//! one plain line per photo (not a terminal) and a summary in batch mode unless -q; details
//! with -v.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::report::{FileRecord, Status};

/// Output verbosity: -1 quiet, 0 normal, 1+ verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Verbosity(pub i8);

/// The stderr side of a run.
pub struct Ui {
    pub verbosity: Verbosity,
    bar: Option<ProgressBar>,
    plain_log: bool,
    done: usize,
    total: usize,
}

impl Ui {
    pub fn new(verbosity: Verbosity) -> Ui {
        Ui {
            verbosity,
            bar: None,
            plain_log: false,
            done: 0,
            total: 0,
        }
    }

    fn print(&self, line: &str) {
        let write = || {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{line}");
        };
        match &self.bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// `error: …`, always printed.
    pub fn error(&self, message: impl Display) {
        self.print(&format!("error: {message}"));
    }

    /// `warning: …`, unless quiet.
    pub fn warn(&self, message: impl Display) {
        if self.verbosity.0 >= 0 {
            self.print(&format!("warning: {message}"));
        }
    }

    /// Details, with -v.
    pub fn info(&self, message: impl Display) {
        if self.verbosity.0 >= 1 {
            self.print(&message.to_string());
        }
    }

    /// A line that belongs to normal (non-quiet) batch output.
    pub fn note(&self, message: impl Display) {
        if self.verbosity.0 >= 0 {
            self.print(&message.to_string());
        }
    }

    /// Starts batch progress for `total` photos to render: a bar when stderr is a terminal,
    /// plain lines otherwise; nothing when quiet.
    pub fn begin_batch(&mut self, total: usize) {
        self.total = total;
        self.done = 0;
        if self.verbosity.0 < 0 || total == 0 {
            return;
        }
        if std::io::stderr().is_terminal() {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {rate} ETA {eta} {msg}",
                )
                .expect("valid template")
                .with_key(
                    "rate",
                    |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.2} photos/s", state.per_sec());
                    },
                )
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            self.bar = Some(bar);
        } else {
            self.plain_log = true;
        }
    }

    /// A photo is about to start (shown as the bar's message).
    pub fn started(&self, input: &std::path::Path) {
        if let Some(bar) = &self.bar {
            let name = input.file_name().unwrap_or(input.as_os_str());
            bar.set_message(name.to_string_lossy().into_owned());
        }
    }

    /// A photo finished (rendered, failed or interrupted).
    pub fn finished(&mut self, record: &FileRecord) {
        self.done += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        match record.status {
            Status::Failed => {
                let cause = record.error.as_deref().unwrap_or("failed");
                self.error(format!("{}: {cause}", record.input));
            }
            Status::Rendered if self.plain_log => {
                let ms = record.timings_ms.map(|t| t.total).unwrap_or(0.0);
                let width = self.total.to_string().len();
                self.print(&format!(
                    "[{:>width$}/{}] rendered {} -> {} ({:.0} ms)",
                    self.done, self.total, record.input, record.output, ms
                ));
            }
            Status::Interrupted if self.plain_log => {
                self.print(&format!("interrupted {}", record.input));
            }
            _ => {}
        }
    }

    /// Removes the bar.
    pub fn end_batch(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.plain_log = false;
    }
}
