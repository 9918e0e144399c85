//! Per-photo records, the `--json` lines and the `--report` file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use fstop::headshot::HeadshotCheck;
use fstop::optics::Lens;
use fstop::pipeline::{FocusSource, ModelNames};
use fstop::render::HighlightOptions;

/// What happened to one photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Rendered,
    /// The output is up to date (made by fstop from the same input and settings).
    Skipped,
    Failed,
    /// Abandoned part-way because of SIGINT/SIGTERM; nothing was written.
    Interrupted,
    /// Never started (interrupted, `--fail-fast` or a fatal error stopped the batch first).
    NotStarted,
}

/// Why a photo was rendered, skipped or refused, given what was at its output path before
/// (the table is in `rerun.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// No output existed.
    New,
    /// fstop's output, made from the same input bytes and settings: skipped.
    UpToDate,
    /// fstop's output, made from other input bytes: rendered again.
    InputChanged,
    /// fstop's output, made with other settings: rendered again.
    SettingsChanged,
    /// Up to date, but a `--save-depth`/`--save-matte` file asked for is missing.
    SavedMapMissing,
    /// One photo: fstop's own output at the path is replaced.
    Replaced,
    /// `--overwrite` replaced an existing file.
    Overwrite,
    /// A file fstop did not make is at the output path: refused, left untouched.
    NotMadeByFstop,
}

impl Reason {
    /// In words, for log lines.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::UpToDate => "up to date",
            Reason::InputChanged => "input changed",
            Reason::SettingsChanged => "settings changed",
            Reason::SavedMapMissing => "saved depth or matte missing",
            Reason::Replaced => "replaced",
            Reason::Overwrite => "--overwrite",
            Reason::NotMadeByFstop => "not made by fstop",
        }
    }
}

/// The lens actually used for a photo (focus included).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LensReport {
    pub focal_length_mm: f64,
    pub f_number: f64,
    pub focus_distance_m: f64,
    pub focus_source: FocusSource,
    pub sensor: String,
    pub sensor_width_mm: f64,
    pub blades: u32,
    pub blade_rotation_deg: f64,
    pub blade_curvature: f64,
    pub highlight_threshold: f32,
    pub highlight_gain: f32,
}

impl LensReport {
    pub fn new(lens: &Lens, focus_source: FocusSource, hl: &HighlightOptions) -> LensReport {
        LensReport {
            focal_length_mm: lens.focal_length_mm,
            f_number: lens.f_number,
            focus_distance_m: round(lens.focus_distance_m, 1000.0),
            focus_source,
            sensor: lens.sensor.name(),
            sensor_width_mm: lens.sensor.width_mm(),
            blades: lens.aperture.blades,
            blade_rotation_deg: lens.aperture.blade_rotation_deg,
            blade_curvature: lens.aperture.blade_curvature,
            highlight_threshold: hl.threshold,
            highlight_gain: hl.gain,
        }
    }
}

fn round(v: f64, scale: f64) -> f64 {
    (v * scale).round() / scale
}

/// Milliseconds per stage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Timings {
    /// Decoding, and downsampling to the models' working resolution when they run.
    pub decode: f64,
    /// Loading the models (the first photo of each worker; alongside decoding).
    pub load: f64,
    pub depth: f64,
    pub matte: f64,
    /// Choosing the focus and converting depth to disparity.
    pub focus: f64,
    pub render: f64,
    pub encode: f64,
    pub total: f64,
}

impl Timings {
    /// Rounded to 0.1 ms for reading.
    pub fn rounded(self) -> Timings {
        let r = |v: f64| round(v, 10.0);
        Timings {
            decode: r(self.decode),
            load: r(self.load),
            depth: r(self.depth),
            matte: r(self.matte),
            focus: r(self.focus),
            render: r(self.render),
            encode: r(self.encode),
            total: r(self.total),
        }
    }
}

/// One photo's record, as in the report and the JSON lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRecord {
    /// Position in the sorted input list (before sharding), 0-based.
    pub index: usize,
    pub input: String,
    pub output: String,
    pub status: Status,
    /// Why, given the file that was at `output` before (see [`Reason`]); null when the photo
    /// never got that far.
    pub reason: Option<Reason>,
    pub error: Option<String>,
    /// The preset the lens started from.
    pub preset: String,
    pub lens: Option<LensReport>,
    /// `file` (with `depth_file`) or `model` (with `models`).
    pub depth_source: Option<&'static str>,
    pub depth_file: Option<String>,
    pub matte_file: Option<String>,
    pub models: Option<ModelNames>,
    pub timings_ms: Option<Timings>,
    pub warnings: Vec<String>,
    /// The background rendered (`blur`, `studio:TONE`; auto tones say so).
    pub background: Option<String>,
    /// The headshot check of the result (needs a matte).
    pub headshot: Option<HeadshotCheck>,
}

impl FileRecord {
    /// A record with only the paths and status filled in.
    pub fn bare(
        index: usize,
        input: &Path,
        output: &Path,
        status: Status,
        preset: &str,
    ) -> FileRecord {
        FileRecord {
            index,
            input: input.display().to_string(),
            output: output.display().to_string(),
            status,
            reason: None,
            error: None,
            preset: preset.to_string(),
            lens: None,
            depth_source: None,
            depth_file: None,
            matte_file: None,
            models: None,
            timings_ms: None,
            warnings: Vec::new(),
            background: None,
            headshot: None,
        }
    }
}

/// Counts at the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub rendered: usize,
    pub skipped: usize,
    pub failed: usize,
    pub interrupted: usize,
    pub not_started: usize,
    pub wall_ms: f64,
    pub exit_code: i32,
    /// Why the run stopped early: `SIGINT`, `SIGTERM`, `fail-fast`, `fatal error`, or none.
    pub stopped_by: Option<String>,
    /// `--shard I/N` when given.
    pub shard: Option<String>,
}

impl Summary {
    pub fn count(records: &[FileRecord]) -> Summary {
        let mut s = Summary {
            total: records.len(),
            ..Summary::default()
        };
        for r in records {
            match r.status {
                Status::Rendered => s.rendered += 1,
                Status::Skipped => s.skipped += 1,
                Status::Failed => s.failed += 1,
                Status::Interrupted => s.interrupted += 1,
                Status::NotStarted => s.not_started += 1,
            }
        }
        s
    }

    /// One line for humans.
    pub fn line(&self) -> String {
        let mut parts = vec![
            format!("{} rendered", self.rendered),
            format!("{} skipped", self.skipped),
            format!("{} failed", self.failed),
        ];
        if self.interrupted > 0 {
            parts.push(format!("{} interrupted", self.interrupted));
        }
        if self.not_started > 0 {
            parts.push(format!("{} not started", self.not_started));
        }
        let mut line = format!(
            "{} of {} file{} in {:.1} s",
            parts.join(", "),
            self.total,
            if self.total == 1 { "" } else { "s" },
            self.wall_ms / 1000.0
        );
        if let Some(why) = &self.stopped_by {
            line.push_str(&format!(" (stopped: {why})"));
        }
        line
    }
}

/// The `--report` file.
#[derive(Debug, Clone, Serialize)]
pub struct Report<'a> {
    pub fstop_version: &'static str,
    pub summary: &'a Summary,
    pub files: &'a [FileRecord],
}

/// A `--json` line.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum JsonLine<'a> {
    File(&'a FileRecord),
    Summary(&'a Summary),
}

/// Writes the report atomically (temporary file in the same folder, then rename).
pub fn write_report(path: &Path, summary: &Summary, files: &[FileRecord]) -> Result<()> {
    let report = Report {
        fstop_version: env!("CARGO_PKG_VERSION"),
        summary,
        files,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create folder", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".fstop-report-")
        .tempfile_in(dir)
        .with_context(|| format!("{}: cannot write report", path.display()))?;
    serde_json::to_writer_pretty(&mut tmp, &report)?;
    tmp.write_all(b"\n")?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("{}: cannot write report", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        let mut r = FileRecord::bare(
            3,
            Path::new("in/a.jpg"),
            Path::new("out/a-bokeh.jpg"),
            Status::Rendered,
            "85mm-f1.8",
        );
        r.lens = Some(LensReport::new(
            &Lens::default(),
            FocusSource::SubjectDepth,
            &HighlightOptions::default(),
        ));
        r.timings_ms = Some(
            Timings {
                decode: 1.234,
                total: 10.06,
                ..Timings::default()
            }
            .rounded(),
        );
        let line = serde_json::to_value(JsonLine::File(&r)).unwrap();
        assert_eq!(line["type"], "file");
        assert_eq!(line["input"], "in/a.jpg");
        assert_eq!(line["status"], "rendered");
        assert_eq!(line["lens"]["focal_length_mm"], 85.0);
        assert_eq!(line["lens"]["focus_source"], "subject-depth");
        assert_eq!(line["lens"]["sensor"], "full-frame");
        assert_eq!(line["timings_ms"]["decode"], 1.2);
        assert_eq!(line["timings_ms"]["total"], 10.1);
        assert!(line["error"].is_null());
        let mut s = Summary::count(&[r.clone()]);
        s.exit_code = 0;
        let line = serde_json::to_value(JsonLine::Summary(&s)).unwrap();
        assert_eq!(line["type"], "summary");
        assert_eq!(line["rendered"], 1);
        let not_started =
            FileRecord::bare(0, Path::new("x"), Path::new("y"), Status::NotStarted, "p");
        assert_eq!(
            serde_json::to_value(&not_started).unwrap()["status"],
            "not-started"
        );
    }

    #[test]
    fn summary_counts_and_line() {
        let mk = |s| FileRecord::bare(0, Path::new("a"), Path::new("b"), s, "p");
        let s = Summary::count(&[
            mk(Status::Rendered),
            mk(Status::Skipped),
            mk(Status::Failed),
            mk(Status::Rendered),
        ]);
        assert_eq!((s.total, s.rendered, s.skipped, s.failed), (4, 2, 1, 1));
        assert!(
            s.line()
                .starts_with("2 rendered, 1 skipped, 1 failed of 4 files")
        );
    }

    #[test]
    fn report_is_written_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/report.json");
        let recs = vec![FileRecord::bare(
            0,
            Path::new("a.jpg"),
            Path::new("a-bokeh.jpg"),
            Status::Skipped,
            "85mm-f1.8",
        )];
        write_report(&path, &Summary::count(&recs), &recs).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["summary"]["skipped"], 1);
        assert_eq!(v["files"][0]["output"], "a-bokeh.jpg");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".fstop-report-")
            })
            .collect();
        assert!(leftovers.is_empty());
    }
}
