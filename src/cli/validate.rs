//! Raw arguments + configuration file → validated settings.
//!
//! Precedence for every option, weakest first: built-in default, the config file's `preset`,
//! the config file's own values, `--preset`, then command-line flags. A preset only sets the
//! fields it names.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use fstop::backdrop::Background;
use fstop::config::{Config, FocusSetting};
use fstop::depth::DepthKind;
use fstop::grain::GrainSetting;
use fstop::infer::ModelConfig;
use fstop::io::encode::OutputFormat;
use fstop::io::{DEFAULT_MAX_PIXELS, DecodeOptions, EncodeOptions, StripMetadata};
use fstop::lens_fields::{Layered, LensFields};
use fstop::optics::{DEFAULT_FOCUS_DISTANCE_M, Sensor};
use fstop::pipeline::{DepthSource, LensSettings};
use fstop::preset::{self, DEFAULT_PRESET, Preset};
use fstop::render::{HighlightOptions, KernelKind};

use super::batch_config::BatchConfig;
use super::paths::Role;
use super::shard::Shard;

use super::args::{
    AnalysisArgs, BatchArgs, DepthKindArg, DepthSourceArg, FormatArg, GlobalArgs, KernelArg,
    LensArgs, OutputArgs, StripMetadataArg,
};

/// Input extensions fstop reads (case-insensitive).
pub const INPUT_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "tif", "tiff", "webp"];
/// Output extensions fstop writes (case-insensitive).
pub const OUTPUT_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "tif", "tiff"];
/// Default output name template.
pub const DEFAULT_NAME: &str = "{stem}-bokeh.{ext}";

/// True when `path` has one of `exts` (case-insensitive).
pub fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Loads `--config FILE`, else `./fstop.toml` when present (unless `--no-config`), with its
/// batch keys.
pub fn load_config(global: &GlobalArgs) -> Result<(Config, BatchConfig)> {
    if let Some(path) = &global.config {
        return Ok(Config::load_with(path)?);
    }
    if global.no_config {
        return Ok(Default::default());
    }
    let local = Path::new("fstop.toml");
    if local.is_file() {
        return Ok(Config::load_with(local)?);
    }
    Ok(Default::default())
}

/// The lens as chosen by defaults, config, preset and flags.
#[derive(Debug, Clone, PartialEq)]
pub struct LensChoice {
    pub settings: LensSettings,
    pub highlights: HighlightOptions,
    /// The last preset applied (for `{preset}` and reports).
    pub preset_name: String,
    /// Lens parameters outside the documented range (printed once as warnings).
    pub warnings: Vec<String>,
    /// The configuration and preset files read to make this choice (never to be written).
    pub files_read: Vec<(PathBuf, Role)>,
    /// What goes behind the subject (config, preset, `--background`).
    pub background: Background,
    /// Grain put back where the render smoothed (config, preset, `--grain`).
    pub grain: GrainSetting,
}

/// The lens, highlight and background fields the command line sets, checked field by field
/// like a preset's.
fn flag_fields(flags: &LensArgs) -> Result<LensFields> {
    let sensor = match flags.sensor_width_mm {
        Some(w) => Some(Sensor::parse(&format!("{w}mm")).map_err(|e| anyhow!("{e}"))?),
        None => flags.sensor,
    };
    let fields = LensFields {
        focal_length_mm: flags.focal_length,
        f_number: flags.f_number,
        sensor,
        blades: flags.blades,
        blade_rotation_deg: flags.blade_rotation,
        blade_curvature: flags.blade_curvature,
        anamorphic_squeeze: flags.anamorphic_squeeze,
        chromatic_aberration_um: flags.chromatic_aberration,
        spherical_aberration: flags.spherical_aberration,
        cat_eye: flags.cat_eye,
        swirl: flags.swirl,
        highlight_threshold: flags.highlight_threshold,
        highlight_gain: flags.highlight_gain,
        background: flags.background,
        grain: flags.grain,
    };
    fields.check()?;
    Ok(fields)
}

/// Resolves a preset name or path, user presets included.
pub fn find_preset(name: &str) -> Result<Preset> {
    Ok(preset::resolve(name, preset::user_dir().as_deref())?)
}

/// Builds the lens from the layers (see the module documentation) and validates it with the
/// explicit focus (or the default distance for `auto`, which is chosen per photo).
pub fn resolve_lens(
    preset_arg: Option<&str>,
    flags: &LensArgs,
    config: &Config,
) -> Result<LensChoice> {
    let mut layered = Layered::default();
    let base = find_preset(DEFAULT_PRESET)?;
    base.fields.lens.apply(&mut layered);
    let mut preset_name = base.name;
    let mut files_read: Vec<(PathBuf, Role)> = Vec::new();
    if let Some(f) = &config.file {
        files_read.push((f.clone(), Role::ConfigFile));
    }

    // Config layer: its preset, then its own values.
    if let Some(name) = &config.preset {
        let p = find_preset(name).with_context(|| match &config.file {
            Some(f) => format!("preset named in {}", f.display()),
            None => "preset named in the configuration".into(),
        })?;
        p.fields.lens.apply(&mut layered);
        files_read.extend(preset_file(&p));
        preset_name = p.name;
    }
    config.lens.apply(&mut layered);

    // Command-line layer: --preset, then flags.
    if let Some(name) = preset_arg {
        let p = find_preset(name)?;
        p.fields.lens.apply(&mut layered);
        files_read.extend(preset_file(&p));
        preset_name = p.name;
    }
    let flag_layer = flag_fields(flags)?;
    flag_layer.apply(&mut layered);
    let Layered {
        lens,
        highlights: hl,
        background,
        grain,
    } = layered;
    let focus = flags
        .focus_at
        .map(FocusSetting::At)
        .or(flags.focus)
        .or(config.focus)
        .unwrap_or_default();
    let background_distance_m = flags
        .background_distance
        .or(config.background_distance_m)
        .unwrap_or(f64::INFINITY);

    // Validate now, so a bad value is a usage error before any photo is touched.
    let mut check = lens;
    check.focus_distance_m = match focus {
        FocusSetting::Distance(m) => m,
        FocusSetting::Auto | FocusSetting::At(_) => {
            DEFAULT_FOCUS_DISTANCE_M.max(check.focal_length_mm / 1000.0 * 2.0)
        }
    };
    let warnings = check
        .validate()
        .map_err(|e| anyhow!("{e}"))?
        .warnings()
        .into_iter()
        .map(|w| w.0)
        .collect();
    if background_distance_m.is_nan() || background_distance_m <= 0.0 {
        bail!("background distance {background_distance_m} m must be positive (or inf)");
    }
    if let FocusSetting::Distance(focus_m) = focus
        && background_distance_m <= focus_m
    {
        bail!(
            "background distance {background_distance_m} m is not behind the focus distance \
             {focus_m} m; the background must be farther than the subject"
        );
    }
    if !(hl.threshold.is_finite() && (0.0..=1.0).contains(&hl.threshold)) {
        bail!("highlight threshold {} is outside 0–1", hl.threshold);
    }
    if !(hl.gain.is_finite() && (0.0..=100.0).contains(&hl.gain)) {
        bail!("highlight gain {} is outside 0–100", hl.gain);
    }
    Ok(LensChoice {
        settings: LensSettings {
            lens,
            focus,
            background_distance_m,
        },
        highlights: hl,
        preset_name,
        warnings,
        files_read,
        background,
        grain: grain.unwrap_or_default(),
    })
}

/// The file a preset was read from, if it was not built in.
fn preset_file(p: &Preset) -> Option<(PathBuf, Role)> {
    match &p.source {
        preset::PresetSource::BuiltIn => None,
        preset::PresetSource::User(path) | preset::PresetSource::File(path) => {
            Some((path.clone(), Role::PresetFile))
        }
    }
}

/// A path with placeholders, expanded per input photo: `{dir}` (the photo's folder), `{stem}`,
/// `{name}` (file name), `{ext}`. Text without `{` is a literal path.
#[derive(Debug, Clone, PartialEq)]
pub struct PathTemplate {
    text: String,
}

impl PathTemplate {
    pub fn parse(text: &str, option: &str) -> Result<PathTemplate> {
        template_parts(text, &["dir", "stem", "name", "ext"])
            .map_err(|e| anyhow!("{option} '{text}': {e}"))?;
        Ok(PathTemplate {
            text: text.to_string(),
        })
    }

    /// True when it has placeholders (so it can serve many photos).
    pub fn is_template(&self) -> bool {
        self.text.contains('{')
    }

    pub fn expand(&self, input: &Path) -> PathBuf {
        let dir = input
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let stem = input.file_stem().unwrap_or_default().to_string_lossy();
        let name = input.file_name().unwrap_or_default().to_string_lossy();
        let ext = input.extension().unwrap_or_default().to_string_lossy();
        let parts =
            template_parts(&self.text, &["dir", "stem", "name", "ext"]).expect("checked in parse");
        let mut out = String::new();
        for part in parts {
            match part {
                TemplatePart::Text(t) => out.push_str(&t),
                TemplatePart::Var("dir") => out.push_str(&dir.to_string_lossy()),
                TemplatePart::Var("stem") => out.push_str(&stem),
                TemplatePart::Var("name") => out.push_str(&name),
                TemplatePart::Var(_) => out.push_str(&ext),
            }
        }
        PathBuf::from(out)
    }
}

#[derive(Debug, PartialEq)]
enum TemplatePart<'a> {
    Text(String),
    Var(&'a str),
}

/// Splits a template into text and placeholders from `allowed`; `{{` and `}}` are literal braces.
fn template_parts<'a>(
    text: &str,
    allowed: &[&'a str],
) -> std::result::Result<Vec<TemplatePart<'a>>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(c) => name.push(c),
                        None => return Err("unclosed '{'".into()),
                    }
                }
                let var = allowed.iter().find(|a| **a == name).ok_or_else(|| {
                    format!(
                        "unknown placeholder {{{name}}} (known: {})",
                        allowed
                            .iter()
                            .map(|a| format!("{{{a}}}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                })?;
                if !literal.is_empty() {
                    parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
                }
                parts.push(TemplatePart::Var(var));
            }
            '}' => return Err("unmatched '}' (write '}}' for a literal brace)".into()),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal));
    }
    Ok(parts)
}

/// The values an output name can use.
#[derive(Debug, Clone, PartialEq)]
pub struct NameVars {
    pub preset: String,
    pub f_number: f64,
    pub focal_length_mm: f64,
}

/// The output file name template (`--name`).
#[derive(Debug, Clone, PartialEq)]
pub struct NameTemplate {
    text: String,
}

const NAME_VARS: &[&str] = &["stem", "ext", "preset", "f_number", "focal_length"];

impl NameTemplate {
    pub fn parse(text: &str) -> Result<NameTemplate> {
        let parts = template_parts(text, NAME_VARS).map_err(|e| anyhow!("--name '{text}': {e}"))?;
        if parts.is_empty() {
            bail!("--name must not be empty");
        }
        let p = Path::new(text);
        if p.is_absolute()
            || p.components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            bail!("--name '{text}' must be a relative name without '..'");
        }
        if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
            bail!("--name '{text}' must name a file");
        }
        Ok(NameTemplate {
            text: text.to_string(),
        })
    }

    /// The output file name for `input`.
    pub fn expand(&self, input: &Path, vars: &NameVars) -> PathBuf {
        let stem = input.file_stem().unwrap_or_default().to_string_lossy();
        let ext = output_extension_for(input);
        let mut out = String::new();
        for part in template_parts(&self.text, NAME_VARS).expect("checked in parse") {
            match part {
                TemplatePart::Text(t) => out.push_str(&t),
                TemplatePart::Var("stem") => out.push_str(&stem),
                TemplatePart::Var("ext") => out.push_str(&ext),
                TemplatePart::Var("preset") => out.push_str(&vars.preset),
                TemplatePart::Var("f_number") => out.push_str(&format!("{}", vars.f_number)),
                TemplatePart::Var(_) => out.push_str(&format!("{}", vars.focal_length_mm)),
            }
        }
        PathBuf::from(out)
    }
}

/// `{ext}`: the input's extension when fstop can write that format, else `jpg`.
pub fn output_extension_for(input: &Path) -> String {
    if has_extension(input, OUTPUT_EXTENSIONS) {
        input
            .extension()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    } else {
        "jpg".into()
    }
}

/// Settings shared by `render` and `compare`.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    pub models: ModelConfig,
    pub decode: DecodeOptions,
    pub depth: Option<(PathTemplate, Option<DepthKind>)>,
    /// Without a depth file: the photo's own depth map or the model.
    pub depth_source: DepthSource,
    pub matte: Option<PathTemplate>,
    pub encode: EncodeOptions,
    pub kernel: KernelKind,
}

fn kernel_of(arg: Option<KernelArg>, config: &Config) -> KernelKind {
    match arg {
        Some(KernelArg::Fast) => KernelKind::Fast,
        Some(KernelArg::Reference) => KernelKind::Reference,
        None => config.kernel.unwrap_or_default(),
    }
}

pub fn common_settings(
    a: &AnalysisArgs,
    jpeg_quality: Option<u8>,
    kernel: Option<KernelArg>,
    config: &Config,
) -> Result<CommonSettings> {
    let defaults = ModelConfig::default();
    let models = ModelConfig {
        depth_model: a
            .depth_model
            .clone()
            .or(config.depth_model.clone())
            .unwrap_or(defaults.depth_model),
        matte_model: a
            .matte_model
            .clone()
            .or(config.matte_model.clone())
            .unwrap_or(defaults.matte_model),
        ort_lib: a.ort_lib.clone().or(config.ort_lib.clone()),
        model_dir: a.model_dir.clone().or(config.model_dir.clone()),
        // All cores, whatever --jobs is: inference results must not depend on it.
        threads: 0,
    };
    let kind = match a.depth_kind {
        Some(DepthKindArg::Metres) => Some(DepthKind::Metres),
        Some(DepthKindArg::Disparity) => Some(DepthKind::Disparity),
        None => config.depth_kind,
    };
    if kind.is_some() && a.depth.is_none() {
        bail!("--depth-kind needs --depth FILE");
    }
    let depth = match &a.depth {
        Some(t) => Some((PathTemplate::parse(t, "--depth")?, kind)),
        None => None,
    };
    let depth_source = match a.depth_source {
        Some(DepthSourceArg::Embedded) if a.depth.is_some() => {
            bail!(
                "--depth FILE and --depth-source embedded contradict each other (a depth file always wins)"
            )
        }
        Some(DepthSourceArg::Auto) => DepthSource::Auto,
        Some(DepthSourceArg::Model) => DepthSource::Model,
        Some(DepthSourceArg::Embedded) => DepthSource::Embedded,
        None => config.depth_source.unwrap_or_default(),
    };
    let matte = match &a.matte {
        Some(t) => Some(PathTemplate::parse(t, "--matte")?),
        None => None,
    };
    Ok(CommonSettings {
        models,
        decode: DecodeOptions {
            max_pixels: a
                .max_pixels
                .or(config.max_pixels)
                .unwrap_or(DEFAULT_MAX_PIXELS),
        },
        depth,
        depth_source,
        matte,
        encode: EncodeOptions {
            jpeg_quality: jpeg_quality.or(config.jpeg_quality).unwrap_or(92),
            ..EncodeOptions::default()
        },
        kernel: kernel_of(kernel, config),
    })
}

/// Everything `fstop render` needs besides the inputs.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    pub lens: LensChoice,
    pub common: CommonSettings,
    pub save_depth: Option<PathTemplate>,
    pub save_matte: Option<PathTemplate>,
    pub timings: bool,
    /// `--format`: what `-o -` writes (default: the input's format).
    pub stdout_format: Option<OutputFormat>,
}

/// Batch options.
#[derive(Debug, Clone)]
pub struct BatchSettings {
    pub recursive: bool,
    pub name: NameTemplate,
    pub overwrite: bool,
    pub jobs: usize,
    pub fail_fast: bool,
    pub report: Option<PathBuf>,
    pub json: bool,
    pub shard: Option<Shard>,
    pub exclude: globset::GlobSet,
}

/// Default `--jobs`: min(cores, 2) — rendering is already parallel inside a photo; a second
/// photo in flight overlaps decoding, inference and encoding with it, more only costs memory.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 2)
}

pub fn render_settings(
    preset_arg: Option<&str>,
    lens: &LensArgs,
    analysis: &AnalysisArgs,
    out: &OutputArgs,
    config: &Config,
) -> Result<RenderSettings> {
    let mut common = common_settings(analysis, out.jpeg_quality, out.kernel, config)?;
    common.encode.strip_metadata = match out.strip_metadata {
        Some(StripMetadataArg::None) => StripMetadata::None,
        Some(StripMetadataArg::Gps) => StripMetadata::Gps,
        Some(StripMetadataArg::All) => StripMetadata::All,
        None => config.strip_metadata.unwrap_or_default(),
    };
    Ok(RenderSettings {
        lens: resolve_lens(preset_arg, lens, config)?,
        common,
        save_depth: out
            .save_depth
            .as_deref()
            .map(|t| PathTemplate::parse(t, "--save-depth"))
            .transpose()?,
        save_matte: out
            .save_matte
            .as_deref()
            .map(|t| PathTemplate::parse(t, "--save-matte"))
            .transpose()?,
        timings: out.timings,
        stdout_format: out.format.map(|f| match f {
            FormatArg::Jpg => OutputFormat::Jpeg,
            FormatArg::Png => OutputFormat::Png,
            FormatArg::Tiff => OutputFormat::Tiff,
        }),
    })
}

pub fn batch_settings(b: &BatchArgs, config: &BatchConfig) -> Result<BatchSettings> {
    let name = NameTemplate::parse(
        b.name
            .as_deref()
            .or(config.name.as_deref())
            .unwrap_or(DEFAULT_NAME),
    )?;
    let exclude = super::batch::exclude_set(config.exclude.iter().chain(&b.exclude))?;
    Ok(BatchSettings {
        recursive: b.recursive || config.recursive.unwrap_or(false),
        name,
        overwrite: b.overwrite || config.overwrite.unwrap_or(false),
        jobs: b
            .jobs
            .map(|j| j as usize)
            .or(config.jobs)
            .unwrap_or_else(default_jobs),
        fail_fast: b.fail_fast || config.fail_fast.unwrap_or(false),
        report: b.report.clone(),
        json: b.json,
        shard: b
            .shard
            .map(|s| s.resolve(|name| std::env::var(name).ok()))
            .transpose()?,
        exclude,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(preset: Option<&str>, flags: LensArgs, config: &Config) -> Result<LensChoice> {
        resolve_lens(preset, &flags, config)
    }

    #[test]
    fn defaults_are_85mm_f18_auto_focus_background_at_infinity() {
        let c = choice(None, LensArgs::default(), &Config::default()).unwrap();
        assert_eq!(c.settings.lens.focal_length_mm, 85.0);
        assert_eq!(c.settings.lens.f_number, 1.8);
        assert_eq!(c.settings.focus, FocusSetting::Auto);
        assert_eq!(c.settings.background_distance_m, f64::INFINITY);
        assert_eq!(c.settings.lens.sensor, Sensor::FullFrame);
        assert_eq!(c.preset_name, "85mm-f1.8");
        assert_eq!(c.highlights, HighlightOptions::default());
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn precedence_config_preset_config_values_cli_preset_flags() {
        let config = Config::parse(
            "fstop.toml",
            "preset = \"135mm-f2\"\nf_number = 2.8\nblades = 7\n",
        )
        .unwrap();
        // Config preset then config values.
        let c = choice(None, LensArgs::default(), &config).unwrap();
        assert_eq!(
            (c.settings.lens.focal_length_mm, c.settings.lens.f_number),
            (135.0, 2.8)
        );
        assert_eq!(c.settings.lens.aperture.blades, 7);
        assert_eq!(c.preset_name, "135mm-f2");
        // A --preset replaces what it names; fields it does not name keep the config's value.
        let c = choice(Some("vintage-6-blade"), LensArgs::default(), &config).unwrap();
        assert_eq!(
            (c.settings.lens.focal_length_mm, c.settings.lens.f_number),
            (58.0, 2.0)
        );
        assert_eq!(c.settings.lens.aperture.blades, 6);
        assert_eq!(c.preset_name, "vintage-6-blade");
        assert_eq!(c.highlights.gain, 6.0);
        // Flags beat everything.
        let flags = LensArgs {
            f_number: Some(1.4),
            highlight_gain: Some(0.0),
            ..LensArgs::default()
        };
        let c = choice(Some("vintage-6-blade"), flags, &config).unwrap();
        assert_eq!(c.settings.lens.f_number, 1.4);
        assert_eq!(c.highlights.gain, 0.0);
        assert_eq!(c.settings.lens.focal_length_mm, 58.0);
    }

    #[test]
    fn bad_values_name_the_range() {
        let bad = |flags: LensArgs| {
            choice(None, flags, &Config::default())
                .unwrap_err()
                .to_string()
        };
        let e = bad(LensArgs {
            f_number: Some(0.0),
            ..Default::default()
        });
        assert_eq!(e, "f-number 0 is outside 0.95–22");
        let e = bad(LensArgs {
            focal_length: Some(5000.0),
            ..Default::default()
        });
        assert!(e.contains("10–800"), "{e}");
        let e = bad(LensArgs {
            focus: Some(FocusSetting::Distance(0.01)),
            ..Default::default()
        });
        assert!(e.contains("closer than the focal length"), "{e}");
        let e = bad(LensArgs {
            blades: Some(2),
            ..Default::default()
        });
        assert!(e.contains("3–32"), "{e}");
        let e = bad(LensArgs {
            blade_curvature: Some(1.5),
            ..Default::default()
        });
        assert!(e.contains("0–1"), "{e}");
        let e = bad(LensArgs {
            background_distance: Some(-1.0),
            ..Default::default()
        });
        assert!(e.contains("positive"), "{e}");
        let e = bad(LensArgs {
            highlight_threshold: Some(2.0),
            ..Default::default()
        });
        assert!(e.contains("0–1"), "{e}");
        let e = bad(LensArgs {
            sensor_width_mm: Some(500.0),
            ..Default::default()
        });
        assert!(e.contains("1–100"), "{e}");
        let e = choice(
            Some("no-such-lens"),
            LensArgs::default(),
            &Config::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown preset 'no-such-lens'"), "{e}");
    }

    #[test]
    fn out_of_documented_range_is_a_warning() {
        let c = choice(
            None,
            LensArgs {
                f_number: Some(5.6),
                focal_length: Some(300.0),
                ..Default::default()
            },
            &Config::default(),
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 2);
    }

    #[test]
    fn name_templates() {
        let vars = NameVars {
            preset: "85mm-f1.8".into(),
            f_number: 1.8,
            focal_length_mm: 85.0,
        };
        let t = NameTemplate::parse(DEFAULT_NAME).unwrap();
        assert_eq!(
            t.expand(Path::new("dir/photo.JPG"), &vars),
            PathBuf::from("photo-bokeh.JPG")
        );
        assert_eq!(
            t.expand(Path::new("a.webp"), &vars),
            PathBuf::from("a-bokeh.jpg")
        );
        let t = NameTemplate::parse("{stem}_{focal_length}mm_f{f_number}_{preset}.png").unwrap();
        assert_eq!(
            t.expand(Path::new("x.tif"), &vars),
            PathBuf::from("x_85mm_f1.8_85mm-f1.8.png")
        );
        let t = NameTemplate::parse("{{{stem}}}.jpg").unwrap();
        assert_eq!(
            t.expand(Path::new("a.png"), &vars),
            PathBuf::from("{a}.jpg")
        );
        for bad in [
            "{nope}.jpg",
            "{stem.jpg",
            "a}.jpg",
            "",
            "../{stem}.jpg",
            "/abs/{stem}.jpg",
        ] {
            let e = NameTemplate::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--name "), "{bad}: {e}");
            assert!(
                bad.is_empty() || e.contains(&format!("'{bad}'")),
                "{bad}: {e}"
            );
        }
        let e = NameTemplate::parse("{colour}.jpg").unwrap_err().to_string();
        assert!(e.contains("{colour}") && e.contains("{stem}"), "{e}");
    }

    #[test]
    fn path_templates() {
        let t = PathTemplate::parse("{dir}/{stem}_depth.png", "--depth").unwrap();
        assert!(t.is_template());
        assert_eq!(
            t.expand(Path::new("shots/a.jpg")),
            PathBuf::from("shots/a_depth.png")
        );
        assert_eq!(t.expand(Path::new("a.jpg")), PathBuf::from("./a_depth.png"));
        let t = PathTemplate::parse("depth.png", "--depth").unwrap();
        assert!(!t.is_template());
        assert_eq!(t.expand(Path::new("x/a.jpg")), PathBuf::from("depth.png"));
        let e = PathTemplate::parse("{preset}.png", "--depth")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--depth '{preset}.png': "), "{e}");
    }

    #[test]
    fn extensions() {
        assert!(has_extension(Path::new("a.JPG"), INPUT_EXTENSIONS));
        assert!(has_extension(Path::new("a.webp"), INPUT_EXTENSIONS));
        assert!(!has_extension(Path::new("a.webp"), OUTPUT_EXTENSIONS));
        assert!(!has_extension(Path::new("a.txt"), INPUT_EXTENSIONS));
        assert!(!has_extension(Path::new("jpg"), INPUT_EXTENSIONS));
    }

    #[test]
    fn jobs_default_is_bounded() {
        let j = default_jobs();
        assert!((1..=2).contains(&j));
    }
}
