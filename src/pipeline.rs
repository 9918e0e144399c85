//! Analysis: decode a photo, get its depth (from a file or the models) and subject matte, choose
//! the focus, and produce what the renderer needs.
//!
//! Two steps, so a contact sheet can analyse once and focus many lenses:
//!
//! 1. [`analyze`] decodes the photo and gets depth and matte. Depth from a file is either metric
//!    (metres, converted to disparity 1/m right away) or relative disparity (kept relative); depth
//!    from the models is always relative. Without a depth file, a JPEG's own depth map
//!    (GDepth, Dynamic Depth, Apple portrait; [`io::embedded_depth`]) is used instead of the
//!    model when [`AnalysisOptions::depth_source`] allows (`auto`, the default: a map that cannot
//!    be read or does not fit the photo leaves the depth to the model with a warning;
//!    `embedded`: it must be there and usable; `model`: never). It is metric or relative as
//!    the file says, resampled to the photo's size without a warning, and no model runs (so
//!    there is no matte unless a matte file is given, as with a depth file).
//! 2. [`Analysis::focus`] picks the focus distance for a lens and turns the depth into disparity
//!    in 1/m:
//!    * `--focus DISTANCE`: the lens focuses there; relative disparity is anchored so the subject
//!      (see [`depth::subject_disparity`]) lies at that distance.
//!    * `--focus auto` with **metric** depth: the robust median of the subject's depth under the
//!      matte, or without a matte the centre-weighted nearest region.
//!    * `--focus auto` with **relative** depth: the subject's distance is estimated from its size
//!      in the frame and the focal length ([`infer::estimate_subject_distance_m`]), falling back
//!      to [`DEFAULT_FOCUS_DISTANCE_M`] (2 m) when there is no matte or no estimate; the subject
//!      is anchored at that distance and the far background at `--background-distance`.
//!
//! With a matte, the subject's own relief is then compressed towards its disparity so no part of
//! it gets a circle of confusion over [`SUBJECT_MAX_COC_PX`] (under 1 px): monocular depth keeps a
//! face's relief (and often gets it wrong), and at portrait distances even a small spread is
//! many pixels of blur, while the product promises a tack-sharp subject. The compression is
//! blended by the matte, so hair and edges stay continuous with the background. Statistics
//! (the subject's value, the far percentile) come from a sample of at most
//! [`STATS_LONG_SIDE`] px on the long side; the full-resolution map is touched once.
//!
//! Depth and matte files whose size differs from the photo's are resampled (with a warning) when
//! their aspect ratio matches within 2 %, and refused otherwise. Invalid depth values (NaN, and
//! for metric depth −∞, zero and negative distances) are filled in from their neighbours with a
//! warning; a matte file that is empty or covers the whole photo is ignored with a warning.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use thiserror::Error;

use crate::config::FocusSetting;
use crate::depth::{self, DepthKind, DisparityAnchors};
use crate::focus_point::{self, FocusPoint, FocusPointError};
use crate::infer::{self, InferError, ModelConfig, ModelSet, WorkingImage};
use crate::io::embedded_depth::{EmbeddedDepth, EmbeddedFormat, read_embedded_depth};
use crate::io::{self, DecodeOptions, IoError, Photo};
use crate::optics::{DEFAULT_FOCUS_DISTANCE_M, Lens, OpticsError, OpticsWarning};
use crate::scene::{Plane, SceneSizeError};

/// Nearest automatic focus, as a multiple of the focal length (the thin-lens model needs
/// focus > f; a real lens's close-focus limit is around 10 f for portrait lenses).
const MIN_AUTO_FOCUS_FOCAL_LENGTHS: f64 = 10.0;
/// Farthest automatic focus, in metres ("infinity" for practical purposes).
const MAX_AUTO_FOCUS_M: f64 = 10_000.0;
/// Largest aspect-ratio difference for which a depth or matte file is resampled.
const ASPECT_TOLERANCE: f64 = 0.02;

/// A failure while analysing one photo. Messages name the file involved.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Io(#[from] IoError),
    /// The models could not be loaded (missing runtime or model file): a configuration problem
    /// that affects every photo, see [`PipelineError::is_fatal`].
    #[error("{0}")]
    ModelLoad(String),
    #[error("{0}")]
    Inference(InferError),
    #[error(transparent)]
    Lens(#[from] OpticsError),
    #[error(
        "{path}: {what} is {got_w}×{got_h} but the photo is {want_w}×{want_h}; the shapes differ, so it cannot be resampled"
    )]
    ShapeMismatch {
        path: PathBuf,
        what: &'static str,
        got_w: usize,
        got_h: usize,
        want_w: usize,
        want_h: usize,
    },
    #[error(transparent)]
    Scene(#[from] SceneSizeError),
    #[error(transparent)]
    FocusPoint(#[from] FocusPointError),
    /// `--depth-source embedded` and the photo carries no usable depth map.
    #[error("{path}: {message}")]
    EmbeddedDepth { path: PathBuf, message: String },
}

impl PipelineError {
    /// True when the error is not about one photo but about the set-up (every later photo would
    /// fail the same way), so a batch should stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, PipelineError::ModelLoad(_))
    }
}

/// A depth file and how to read it (`None`: from the file type).
#[derive(Debug, Clone, PartialEq)]
pub struct DepthFile {
    pub path: PathBuf,
    pub kind: Option<DepthKind>,
}

/// Where the depth comes from when no depth file is given (`--depth-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DepthSource {
    /// The photo's own depth map when it carries a usable one, else the depth model (a map
    /// that cannot be read is reported as a warning).
    #[default]
    Auto,
    /// Always the depth model.
    Model,
    /// Only the photo's own depth map: a photo without a usable one fails.
    Embedded,
}

/// Where a photo's depth came from (the report's `depth_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthOrigin {
    File,
    Model,
    Embedded(EmbeddedFormat),
}

impl DepthOrigin {
    /// `file`, `model`, `embedded-gdepth`, `embedded-dynamic-depth` or `embedded-apple`.
    pub fn name(self) -> &'static str {
        match self {
            DepthOrigin::File => "file",
            DepthOrigin::Model => "model",
            DepthOrigin::Embedded(f) => f.source_name(),
        }
    }
}

/// What to analyse with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisOptions {
    /// Depth from a file; `None`: as [`Self::depth_source`] says. A depth file wins over the
    /// photo's own depth map.
    pub depth: Option<DepthFile>,
    /// Without a depth file: the photo's own depth map or the depth model.
    pub depth_source: DepthSource,
    /// Matte from a file; `None`: from the matting model when the models run, else no matte.
    pub matte: Option<PathBuf>,
    pub decode: DecodeOptions,
}

/// Depth as analysed.
#[derive(Debug, Clone, PartialEq)]
pub enum DepthData {
    /// Metric: disparity in 1/m already.
    Metric(Plane),
    /// Relative disparity (larger = nearer), to be anchored at the focus distance.
    Relative(Plane),
}

impl DepthData {
    pub fn kind(&self) -> DepthKind {
        match self {
            DepthData::Metric(_) => DepthKind::Metres,
            DepthData::Relative(_) => DepthKind::Disparity,
        }
    }
}

/// Which models produced the depth and matte.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelNames {
    pub depth: String,
    pub matte: String,
}

/// Milliseconds spent per analysis stage.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct AnalysisTimings {
    /// Decoding, and downsampling to the models' working resolution when they run.
    pub decode_ms: f64,
    /// Loading the models (first photo of a worker only; runs alongside decoding).
    pub load_ms: f64,
    pub depth_ms: f64,
    pub matte_ms: f64,
}

/// A decoded photo with its depth and matte.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub photo: Photo,
    pub depth: DepthData,
    pub matte: Option<Plane>,
    /// Set when the models ran.
    pub models: Option<ModelNames>,
    /// Where the depth came from.
    pub depth_origin: DepthOrigin,
    pub timings: AnalysisTimings,
    /// Non-fatal problems (from decoding, resampled depth or matte…).
    pub warnings: Vec<String>,
}

/// How the focus distance was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FocusSource {
    /// Given on the command line.
    Manual,
    /// Robust median of the subject's metric depth under the matte.
    SubjectDepth,
    /// Centre-weighted nearest region of the metric depth (no matte).
    NearestCentre,
    /// Estimated from the subject's size in the frame and the focal length.
    SubjectSize,
    /// No estimate possible: the default distance (2 m).
    DefaultDistance,
    /// The depth under a point given with `--focus-at` (tap-to-focus).
    Point,
}

impl FocusSource {
    pub fn describe(self) -> &'static str {
        match self {
            FocusSource::Manual => "manual",
            FocusSource::SubjectDepth => "subject's depth",
            FocusSource::NearestCentre => "nearest central region",
            FocusSource::SubjectSize => "estimated from the subject's size",
            FocusSource::DefaultDistance => "default distance",
            FocusSource::Point => "depth at the chosen point",
        }
    }
}

/// The lens to focus, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LensSettings {
    /// Everything but the focus distance (which [`Analysis::focus`] sets).
    pub lens: Lens,
    pub focus: FocusSetting,
    /// Where relative disparity puts the far background, in metres (`f64::INFINITY` default).
    pub background_distance_m: f64,
}

impl Default for LensSettings {
    fn default() -> Self {
        LensSettings {
            lens: Lens::default(),
            focus: FocusSetting::Auto,
            background_distance_m: f64::INFINITY,
        }
    }
}

/// A focused lens and the scene's disparity in 1/m.
#[derive(Debug, Clone)]
pub struct Focused {
    pub lens: Lens,
    pub disparity_per_m: Plane,
    pub focus_source: FocusSource,
    /// Lens parameters outside the documented range, and focus clamping.
    pub warnings: Vec<String>,
}

/// The inference models, loaded on first use and kept for the next photo.
pub struct LazyModels {
    config: ModelConfig,
    set: Option<ModelSet>,
    load_error: Option<String>,
}

impl LazyModels {
    pub fn new(config: ModelConfig) -> LazyModels {
        LazyModels {
            config,
            set: None,
            load_error: None,
        }
    }

    /// The loaded models; a failed load is remembered and reported again without retrying.
    pub fn get(&mut self) -> Result<&mut ModelSet, PipelineError> {
        if let Some(e) = &self.load_error {
            return Err(PipelineError::ModelLoad(e.clone()));
        }
        if self.set.is_none() {
            match ModelSet::load(&self.config) {
                Ok(set) => self.set = Some(set),
                Err(e) => {
                    self.load_error = Some(e.to_string());
                    return Err(PipelineError::ModelLoad(e.to_string()));
                }
            }
        }
        Ok(self.set.as_mut().expect("loaded above"))
    }

    /// Drops the loaded sessions (after a panic left them in an unknown state); the next
    /// [`LazyModels::get`] loads them again.
    pub fn discard(&mut self) {
        self.set = None;
    }

    /// True when models have been loaded.
    pub fn is_loaded(&self) -> bool {
        self.set.is_some()
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// Brings a depth or matte plane to the photo's size: resampled with a warning when the aspect
/// ratio matches, refused otherwise.
fn fit_to_photo(
    plane: Plane,
    width: usize,
    height: usize,
    path: &Path,
    what: &'static str,
    warnings: &mut Vec<String>,
) -> Result<Plane, PipelineError> {
    if plane.width == width && plane.height == height {
        return Ok(plane);
    }
    let mismatch = || PipelineError::ShapeMismatch {
        path: path.to_path_buf(),
        what,
        got_w: plane.width,
        got_h: plane.height,
        want_w: width,
        want_h: height,
    };
    if plane.width == 0 || plane.height == 0 || width == 0 || height == 0 {
        return Err(mismatch());
    }
    let aspect = |w: usize, h: usize| w as f64 / h as f64;
    let ratio = aspect(plane.width, plane.height) / aspect(width, height);
    if (ratio - 1.0).abs() > ASPECT_TOLERANCE {
        return Err(mismatch());
    }
    warnings.push(format!(
        "{}: {what} is {}×{}, resampled to the photo's {width}×{height}",
        path.display(),
        plane.width,
        plane.height
    ));
    Ok(plane.resized(width, height))
}

/// A matte file that cannot tell subject from background: every value ≤ 0.05 ("is empty")
/// or every value ≥ 0.95 ("covers the whole photo"). Such a matte is ignored with a warning,
/// exactly as if none had been given: an empty matte would leave the focus to the depth map
/// anyway, and a full one would make the whole frame the "subject" and put the focus on the
/// median depth of everything (usually the background), blurring the real subject.
fn degenerate_matte(matte: &Plane) -> Option<&'static str> {
    if matte.data.iter().all(|&v| v <= 0.05) {
        Some("is empty (no subject)")
    } else if matte.data.iter().all(|&v| v >= 0.95) {
        Some("covers the whole photo (no background)")
    } else {
        None
    }
}

/// A warning when a depth file holds values that cannot be a depth: NaN, and for metric depth
/// also −∞, zero and negative distances (+∞ is a valid distance, the sky). Such values are
/// filled in from their neighbours ([`depth::metres_to_disparity`],
/// [`depth::sanitize_relative`]); a map with no valid value at all becomes one flat plane.
fn invalid_depth_warning(plane: &Plane, kind: DepthKind, path: &Path) -> Option<String> {
    let valid = |v: f32| match kind {
        DepthKind::Metres => v == f32::INFINITY || (v.is_finite() && v > 0.0),
        DepthKind::Disparity => v.is_finite(),
    };
    let total = plane.data.len();
    let invalid = plane.data.iter().filter(|&&v| !valid(v)).count();
    let what = match kind {
        DepthKind::Metres => "NaN, −∞, zero or negative distances",
        DepthKind::Disparity => "NaN or infinite",
    };
    match invalid {
        0 => None,
        n if n == total => Some(format!(
            "{}: no valid depth value ({what}); the photo is treated as one flat plane",
            path.display()
        )),
        n => Some(format!(
            "{}: {n} of {total} depth values are invalid ({what}); filled in from their neighbours",
            path.display()
        )),
    }
}

/// Decodes the photo and gets its depth and matte (see the module documentation).
pub fn analyze(
    path: &Path,
    options: &AnalysisOptions,
    models: &mut LazyModels,
) -> Result<Analysis, PipelineError> {
    let bytes = io::read_image_file(path, options.decode.max_pixels)?;
    analyze_bytes(path, &bytes, options, models)
}

/// [`analyze`] on a photo's bytes already in memory (a file read by the caller, or standard
/// input); `name` only names it in messages.
pub fn analyze_bytes(
    name: &Path,
    bytes: &[u8],
    options: &AnalysisOptions,
    models: &mut LazyModels,
) -> Result<Analysis, PipelineError> {
    let t = Instant::now();
    let (embedded, warning) = embedded_depth(name, bytes, options)?;
    let embedded_ms = ms_since(t);
    let mut analysis = analyze_decoded(
        name,
        || io::read_photo_bytes(name, bytes, &options.decode),
        options,
        embedded,
        models,
    )?;
    analysis.timings.depth_ms += embedded_ms;
    analysis.warnings.extend(warning);
    Ok(analysis)
}

/// The photo's own depth map, as `options.depth_source` asks (none with a depth file), and a
/// warning when `auto` found one it cannot use.
fn embedded_depth(
    path: &Path,
    bytes: &[u8],
    options: &AnalysisOptions,
) -> Result<(Option<EmbeddedDepth>, Option<String>), PipelineError> {
    let source = options.depth_source;
    if options.depth.is_some() || source == DepthSource::Model {
        return Ok((None, None));
    }
    let fail = |message: String| PipelineError::EmbeddedDepth {
        path: path.to_path_buf(),
        message,
    };
    match read_embedded_depth(bytes, options.decode.max_pixels) {
        Ok(Some(d)) => Ok((Some(d), None)),
        Ok(None) if source == DepthSource::Embedded => Err(fail(
            "carries no depth map (GDepth, Dynamic Depth or Apple portrait) for --depth-source embedded"
                .into(),
        )),
        Ok(None) => Ok((None, None)),
        Err(e) if source == DepthSource::Embedded => Err(fail(e.to_string())),
        Err(e) => Ok((
            None,
            Some(format!(
                "its own depth map cannot be read ({e}); the depth model is used instead"
            )),
        )),
    }
}

/// A depth map from a file or the photo: checked, brought to the photo's size, converted.
fn depth_from_map(
    plane: Plane,
    kind: DepthKind,
    (width, height): (usize, usize),
    path: &Path,
    what: &'static str,
    warnings: &mut Vec<String>,
) -> Result<DepthData, PipelineError> {
    if let Some(w) = invalid_depth_warning(&plane, kind, path) {
        warnings.push(w);
    }
    let plane = fit_to_photo(plane, width, height, path, what, warnings)?;
    Ok(match kind {
        DepthKind::Metres => DepthData::Metric(depth::metres_to_disparity(&plane)),
        DepthKind::Disparity => DepthData::Relative(depth::sanitize_relative(plane)),
    })
}

/// [`analyze`] with the photo from `decode` (run while the models load).
fn analyze_decoded(
    path: &Path,
    decode: impl FnOnce() -> Result<Photo, IoError>,
    options: &AnalysisOptions,
    embedded: Option<EmbeddedDepth>,
    models: &mut LazyModels,
) -> Result<Analysis, PipelineError> {
    let mut timings = AnalysisTimings::default();
    let map_given = options.depth.is_some() || embedded.is_some();
    // The first photo that needs the models loads them while it is being decoded (loading is
    // mostly single-threaded, and so is most of decoding).
    let load_now = !map_given && !models.is_loaded() && models.load_error.is_none();
    let (photo, loaded) = std::thread::scope(|s| {
        let loader = load_now.then(|| {
            s.spawn(|| {
                let t = Instant::now();
                let loaded = models.get().map(|_| ());
                (loaded, ms_since(t))
            })
        });
        let t = Instant::now();
        let photo = decode();
        // The models' working image too, while they may still be loading.
        let working = match &photo {
            Ok(p) if !map_given && !p.color.is_empty() => {
                Some(WorkingImage::new(&p.color, infer::WORKING_LONG_SIDE))
            }
            _ => None,
        };
        timings.decode_ms = ms_since(t);
        let loaded = loader.map(|l| match l.join() {
            Ok(loaded) => loaded,
            Err(panic) => std::panic::resume_unwind(panic),
        });
        (photo.map(|p| (p, working)), loaded)
    });
    let (photo, working) = photo?;
    if let Some((loaded, ms)) = loaded {
        timings.load_ms = ms;
        loaded?;
    }
    let (width, height) = (photo.color.width, photo.color.height);
    let mut warnings = photo.warnings.clone();

    let mut matte = match &options.matte {
        Some(matte_path) => {
            let t = Instant::now();
            let plane = io::read_matte(matte_path)?;
            let mut plane = fit_to_photo(plane, width, height, matte_path, "matte", &mut warnings)?;
            for v in &mut plane.data {
                *v = if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.0
                };
            }
            timings.matte_ms = ms_since(t);
            match degenerate_matte(&plane) {
                None => Some(plane),
                Some(what) => {
                    let instead = if map_given {
                        "the depth map alone decides the focus and the blur"
                    } else {
                        "the matting model's matte is used instead"
                    };
                    warnings.push(format!(
                        "{}: the matte {what}; it is ignored ({instead})",
                        matte_path.display()
                    ));
                    None
                }
            }
        }
        None => None,
    };

    let mut model_names = None;
    let mut depth_origin = DepthOrigin::Model;
    // The photo's own map; with `auto`, one that does not fit the photo leaves the depth to the
    // model (with a warning). It is resampled to the photo's size without a warning: phones
    // store it smaller.
    let own_map = match embedded {
        Some(e) if options.depth.is_none() => {
            let t = Instant::now();
            let (format, kind) = (e.format, e.kind());
            let mut map_warnings = Vec::new();
            let size = (width, height);
            let what = "its own depth map";
            match depth_from_map(e.plane, kind, size, path, what, &mut map_warnings) {
                Ok(d) => {
                    timings.depth_ms = ms_since(t);
                    depth_origin = DepthOrigin::Embedded(format);
                    let prefix = format!("{}: ", path.display());
                    warnings.extend(
                        map_warnings
                            .iter()
                            .filter(|w| !w.contains(", resampled to the photo's"))
                            .map(|w| format!("{what}: {}", w.strip_prefix(&prefix).unwrap_or(w))),
                    );
                    Some(d)
                }
                Err(err) if options.depth_source == DepthSource::Auto => {
                    let msg = err.to_string();
                    let prefix = format!("{}: ", path.display());
                    warnings.push(format!(
                        "{what} cannot be used ({}); the depth model is used instead",
                        msg.strip_prefix(&prefix).unwrap_or(&msg)
                    ));
                    None
                }
                Err(err) => return Err(err),
            }
        }
        _ => None,
    };
    let depth = match (&options.depth, own_map) {
        (Some(file), _) => {
            let t = Instant::now();
            let (plane, kind) = io::read_depth(&file.path, file.kind)?;
            let size = (width, height);
            let depth = depth_from_map(plane, kind, size, &file.path, "depth map", &mut warnings)?;
            timings.depth_ms = ms_since(t);
            depth_origin = DepthOrigin::File;
            depth
        }
        (None, Some(depth)) => depth,
        (None, None) => {
            let t = Instant::now();
            let was_loaded = models.is_loaded();
            let set = models.get()?;
            if !was_loaded {
                timings.load_ms += ms_since(t);
            }
            let estimate = set
                .estimate_prepared(&photo.color, working)
                .map_err(PipelineError::Inference)?;
            timings.depth_ms = estimate.depth_ms;
            if matte.is_none() {
                timings.matte_ms = estimate.matte_ms;
                matte = Some(estimate.matte);
            }
            model_names = Some(ModelNames {
                depth: estimate.depth_model,
                matte: estimate.matte_model,
            });
            let rel = fit_to_photo(
                estimate.relative_disparity,
                width,
                height,
                path,
                "model depth",
                &mut warnings,
            )?;
            DepthData::Relative(depth::sanitize_relative(rel))
        }
    };

    Ok(Analysis {
        photo,
        depth,
        matte,
        models: model_names,
        depth_origin,
        timings,
        warnings,
    })
}

/// The subject's depth relief may give no part of it a CoC larger than this (diameter, pixels):
/// the product promises a tack-sharp subject, so under the matte the disparity is kept within
/// the lens's depth of field (see [`keep_subject_in_focus`]). Under one pixel, so the renderer
/// keeps the subject's light on its own pixels (a blur of a pixel or more is scattered), with
/// a margin for rounding.
pub const SUBJECT_MAX_COC_PX: f64 = 0.95;
/// Statistics of the depth (the subject's value, the far background's percentile) are taken
/// from a regular sample of the map at most this many pixels on its long side: medians and
/// percentiles of a smooth map need no more, and the full map may have 33 million pixels.
pub const STATS_LONG_SIDE: usize = 1024;

/// Every `k`-th pixel of every `k`-th row (`k` chosen so the long side is at most
/// [`STATS_LONG_SIDE`]); the plane itself when it is that small already.
fn stats_sample(p: &Plane) -> Cow<'_, Plane> {
    let k = p.width.max(p.height).div_ceil(STATS_LONG_SIDE).max(1);
    if k == 1 {
        return Cow::Borrowed(p);
    }
    let (w, h) = (p.width.div_ceil(k), p.height.div_ceil(k));
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        data.extend(p.row(y * k).iter().step_by(k));
    }
    Cow::Owned(Plane::from_vec(w, h, data))
}

/// The subject's value in `disparity` (see [`depth::subject_disparity`]), from a sample.
fn sampled_subject_disparity(disparity: &Plane, matte: Option<&Plane>) -> Option<f32> {
    let matte = matte.filter(|m| (m.width, m.height) == (disparity.width, disparity.height));
    depth::subject_disparity(&stats_sample(disparity), matte.map(stats_sample).as_deref())
}

/// The largest deviation (1/m) from the subject's disparity whose CoC stays within
/// [`SUBJECT_MAX_COC_PX`] for `lens` on an image whose long side is `width` pixels.
pub fn subject_relief_limit(lens: &Lens, width: usize) -> f32 {
    let k = lens.coc_px_per_diopter(width).abs();
    if k.is_finite() && k > 0.0 {
        (SUBJECT_MAX_COC_PX / k) as f32
    } else {
        f32::INFINITY
    }
}

/// A smooth, monotone saturation with the shape of `tanh` at a fraction of its cost: the
/// Padé approximant `x(27 + x²)/(27 + 9x²)` up to |x| = 3, where it reaches ±1 with zero slope,
/// and ±1 beyond.
#[inline]
pub fn soft_clamp(x: f32) -> f32 {
    if x.abs() >= 3.0 {
        x.signum()
    } else {
        let x2 = x * x;
        x * (27.0 + x2) / (27.0 + 9.0 * x2)
    }
}

/// Keeps the subject in focus: a disparity `d` with matte `m` becomes
/// `m · (s + δ·soft_clamp((d − s)/δ)) + (1 − m) · d` — under the matte the deviations from the
/// subject's disparity `s` are compressed smoothly (order kept, none larger than `δ`), outside
/// it nothing changes, and the blend by the matte keeps edges continuous.
#[inline]
pub fn keep_subject_in_focus(d: f32, m: f32, subject: f32, delta: f32) -> f32 {
    if m.is_nan() || m <= 0.0 || !delta.is_finite() {
        return d;
    }
    let compressed = if delta > 0.0 {
        subject + delta * soft_clamp((d - subject) / delta)
    } else {
        subject
    };
    d + m.min(1.0) * (compressed - d)
}

/// `map` applied to every value of `src`, then [`keep_subject_in_focus`] with the matte (when
/// there is one of the same size). One parallel pass, in place.
fn focused_disparity(
    mut out: Plane,
    matte: Option<&Plane>,
    subject: Option<f32>,
    delta: f32,
    map: impl Fn(f32) -> f32 + Sync,
) -> Plane {
    use rayon::prelude::*;
    let matte = matte
        .filter(|m| (m.width, m.height) == (out.width, out.height))
        .zip(subject.filter(|s| s.is_finite()));
    const CHUNK: usize = 1 << 16;
    out.data
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, o)| match matte {
            Some((m, subject)) => {
                let m = &m.data[c * CHUNK..c * CHUNK + o.len()];
                for (v, &a) in o.iter_mut().zip(m) {
                    *v = keep_subject_in_focus(map(*v), a, subject, delta);
                }
            }
            None => {
                for v in o.iter_mut() {
                    *v = map(*v);
                }
            }
        });
    out
}

impl Analysis {
    /// Chooses the focus for `settings` and returns the focused lens with the scene's disparity
    /// in 1/m (see the module documentation). The lens is validated. With a matte, the
    /// subject's relief is compressed so it stays within the depth of field
    /// ([`keep_subject_in_focus`], [`SUBJECT_MAX_COC_PX`]). Works on a copy of the depth map
    /// ([`Analysis::into_focused`] does not copy).
    pub fn focus(&self, settings: &LensSettings) -> Result<Focused, PipelineError> {
        focus_depth(
            &self.photo,
            self.matte.as_ref(),
            self.depth.clone(),
            settings,
        )
    }

    /// [`Analysis::focus`] for the analysis's last use: the focused disparity takes over the
    /// depth map's memory. Returns the photo and the matte with it.
    pub fn into_focused(
        self,
        settings: &LensSettings,
    ) -> Result<(Focused, Photo, Option<Plane>), PipelineError> {
        let Analysis {
            photo,
            depth,
            matte,
            ..
        } = self;
        let focused = focus_depth(&photo, matte.as_ref(), depth, settings)?;
        Ok((focused, photo, matte))
    }
}

/// `focus_m` within the focusing range (the nearest a lens of this focal length focuses in
/// practice, to [`MAX_AUTO_FOCUS_M`]), with a warning when it had to move.
fn clamp_focus(focus_m: f64, lens: &Lens, warnings: &mut Vec<String>) -> f64 {
    let nearest = lens.focal_length_mm / 1000.0 * MIN_AUTO_FOCUS_FOCAL_LENGTHS;
    let clamped = focus_m.clamp(nearest, MAX_AUTO_FOCUS_M);
    if clamped != focus_m {
        warnings.push(format!(
            "the depth to focus at ({focus_m:.3} m) is out of focusing range; focusing at {clamped:.3} m"
        ));
    }
    clamped
}

/// The map's value under a tapped point (see [`focus_point::value_at`]).
fn disparity_at(
    map: &Plane,
    matte: Option<&Plane>,
    point: FocusPoint,
    photo: &Photo,
) -> Result<f32, PipelineError> {
    let (w, h) = (photo.color.width, photo.color.height);
    let at = point.in_photo(w, h)?;
    focus_point::value_at(map, matte, at, (w, h))
        .ok_or_else(|| FocusPointError::NoDepth(point.to_string()).into())
}

/// See [`Analysis::focus`].
fn focus_depth(
    photo: &Photo,
    matte: Option<&Plane>,
    depth: DepthData,
    settings: &LensSettings,
) -> Result<Focused, PipelineError> {
    let mut lens = settings.lens;
    let mut warnings = Vec::new();
    // The sensor's long side maps to the photo's long side (portrait photos too).
    let long_side_px = photo.color.width.max(photo.color.height);
    let (disparity_per_m, focus_source) = match (depth, settings.focus) {
        (DepthData::Metric(d), focus) => {
            let subject = sampled_subject_disparity(&d, matte);
            let source = match focus {
                FocusSetting::Distance(m) => {
                    lens.focus_distance_m = m;
                    FocusSource::Manual
                }
                FocusSetting::At(point) => {
                    let tapped = disparity_at(&d, matte, point, photo)?;
                    let focus = if tapped.is_finite() && tapped > 0.0 {
                        1.0 / tapped as f64
                    } else {
                        MAX_AUTO_FOCUS_M
                    };
                    lens.focus_distance_m = clamp_focus(focus, &lens, &mut warnings);
                    FocusSource::Point
                }
                FocusSetting::Auto => {
                    let source = if matte.is_some() {
                        FocusSource::SubjectDepth
                    } else {
                        FocusSource::NearestCentre
                    };
                    let (focus, source) = match subject {
                        Some(s) if s.is_finite() && s > 0.0 => (1.0 / s as f64, source),
                        Some(_) => (MAX_AUTO_FOCUS_M, source),
                        None => (DEFAULT_FOCUS_DISTANCE_M, FocusSource::DefaultDistance),
                    };
                    lens.focus_distance_m = clamp_focus(focus, &lens, &mut warnings);
                    source
                }
            };
            lens.validate()?;
            // The subject keeps its own depth (a manual focus elsewhere blurs it as a
            // whole); only its relief is compressed.
            let delta = subject_relief_limit(&lens, long_side_px);
            let disparity = match matte {
                Some(_) => focused_disparity(d, matte, subject, delta, |v| v),
                None => d,
            };
            (disparity, source)
        }
        (DepthData::Relative(r), focus) => {
            // The subject's distance anchors the map; a tapped point is focused after.
            let distance = || match focus {
                FocusSetting::Distance(m) => (m, FocusSource::Manual),
                FocusSetting::Auto | FocusSetting::At(_) => match matte
                    .and_then(|m| infer::estimate_subject_distance_m(m, &lens))
                    .filter(|d| d.is_finite() && *d > 0.0)
                {
                    Some(d) => {
                        let nearest = lens.focal_length_mm / 1000.0 * MIN_AUTO_FOCUS_FOCAL_LENGTHS;
                        (d.clamp(nearest, MAX_AUTO_FOCUS_M), FocusSource::SubjectSize)
                    }
                    None => (DEFAULT_FOCUS_DISTANCE_M, FocusSource::DefaultDistance),
                },
            };
            // The map's statistics do not depend on the focus: taken meanwhile.
            let statistics = || {
                let sample = stats_sample(&r);
                let subject = sampled_subject_disparity(&r, matte).unwrap_or(0.0);
                let percentile = DisparityAnchors::default().background_percentile;
                let far =
                    depth::weighted_percentile(&sample.data, None, percentile).unwrap_or(subject);
                (subject, far)
            };
            let ((distance, source), (subject, far)) = rayon::join(distance, statistics);
            lens.focus_distance_m = distance;
            if settings.background_distance_m <= distance {
                warnings.push(format!(
                    "the background distance ({} m) is not behind the focus distance \
                     ({distance:.2} m), so nothing behind the subject is blurred; give a \
                     larger --background-distance or a nearer --focus",
                    settings.background_distance_m
                ));
            }
            // Validate before anchoring: the anchors need a sane focus distance.
            lens.validate()?;
            let anchors = DisparityAnchors {
                subject_distance_m: distance,
                background_distance_m: settings.background_distance_m,
                ..DisparityAnchors::default()
            };
            let mapping = depth::DisparityMapping::new(subject, far, &anchors);
            let subject_disparity = lens.focus_disparity_per_m() as f32;
            let source = match focus {
                FocusSetting::At(point) => {
                    let tapped = mapping.apply(disparity_at(&r, matte, point, photo)?);
                    let focus = if tapped.is_finite() && tapped > 0.0 {
                        1.0 / tapped as f64
                    } else {
                        MAX_AUTO_FOCUS_M
                    };
                    lens.focus_distance_m = clamp_focus(focus, &lens, &mut warnings);
                    lens.validate()?;
                    FocusSource::Point
                }
                _ => source,
            };
            // The subject lands on its own disparity (the focus, unless a point elsewhere was
            // chosen); its relief stays within the depth of field.
            let delta = subject_relief_limit(&lens, long_side_px);
            let disparity = focused_disparity(r, matte, Some(subject_disparity), delta, |v| {
                mapping.apply(v)
            });
            (disparity, source)
        }
    };
    let lens_warnings: Vec<OpticsWarning> = lens.validate()?;
    warnings.extend(lens_warnings.into_iter().map(|w| w.0));
    Ok(Focused {
        lens,
        disparity_per_m,
        focus_source,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Metadata;
    use crate::scene::LinearRgb;

    fn photo(w: usize, h: usize) -> Photo {
        Photo {
            color: LinearRgb::filled(w, h, [0.5; 3]),
            alpha: None,
            metadata: Metadata::default(),
            bits_per_channel: 8,
            warnings: Vec::new(),
        }
    }

    /// 20×20: a subject square (rows/cols 6..14) in front of a far background.
    fn scene_planes(subject: f32, background: f32) -> (Plane, Plane) {
        let mut d = Plane::filled(20, 20, background);
        let mut m = Plane::filled(20, 20, 0.0);
        for y in 6..14 {
            for x in 6..14 {
                d.data[y * 20 + x] = subject;
                m.data[y * 20 + x] = 1.0;
            }
        }
        (d, m)
    }

    fn analysis(depth: DepthData, matte: Option<Plane>) -> Analysis {
        Analysis {
            photo: photo(20, 20),
            depth,
            matte,
            models: None,
            depth_origin: DepthOrigin::File,
            timings: AnalysisTimings::default(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn metric_auto_focus_is_the_subjects_depth() {
        // Subject at 1.6 m (disparity 0.625), background at 10 m.
        let (d, m) = scene_planes(0.625, 0.1);
        let a = analysis(DepthData::Metric(d.clone()), Some(m));
        let f = a.focus(&LensSettings::default()).unwrap();
        assert!((f.lens.focus_distance_m - 1.6).abs() < 1e-5);
        assert_eq!(f.focus_source, FocusSource::SubjectDepth);
        assert_eq!(f.disparity_per_m, d);
        // Without the matte: the nearest central region is the subject square too.
        let a = analysis(DepthData::Metric(d), None);
        let f = a.focus(&LensSettings::default()).unwrap();
        assert!((f.lens.focus_distance_m - 1.6).abs() < 1e-5);
        assert_eq!(f.focus_source, FocusSource::NearestCentre);
    }

    #[test]
    fn focusing_in_place_gives_what_focusing_a_copy_gives() {
        let (d, m) = scene_planes(0.625, 0.1);
        // A relief on the subject, so the compression under the matte has work to do.
        let mut relief = d.clone();
        for (i, v) in relief.data.iter_mut().enumerate() {
            *v += (i % 7) as f32 * 0.01;
        }
        for depth in [
            DepthData::Metric(relief.clone()),
            DepthData::Relative(relief.clone()),
        ] {
            for matte in [Some(m.clone()), None] {
                let settings = LensSettings::default();
                let a = analysis(depth.clone(), matte.clone());
                let copy = a.focus(&settings).unwrap();
                let (owned, photo, kept) = a.into_focused(&settings).unwrap();
                assert_eq!(owned.disparity_per_m, copy.disparity_per_m);
                assert_eq!(owned.lens, copy.lens);
                assert_eq!(owned.focus_source, copy.focus_source);
                assert_eq!((photo.color.width, kept), (20, matte));
            }
        }
    }

    #[test]
    fn manual_focus_wins() {
        let (d, m) = scene_planes(0.625, 0.1);
        let a = analysis(DepthData::Metric(d), Some(m));
        let settings = LensSettings {
            focus: FocusSetting::Distance(3.0),
            ..LensSettings::default()
        };
        let f = a.focus(&settings).unwrap();
        assert_eq!(f.lens.focus_distance_m, 3.0);
        assert_eq!(f.focus_source, FocusSource::Manual);
    }

    fn at(text: &str) -> LensSettings {
        LensSettings {
            focus: FocusSetting::At(FocusPoint::parse(text).unwrap()),
            ..LensSettings::default()
        }
    }

    #[test]
    fn a_tapped_point_focuses_at_the_depth_under_it() {
        // Subject at 1.6 m (disparity 0.625) in the square 6..14, background at 10 m.
        let (d, m) = scene_planes(0.625, 0.1);
        let a = analysis(DepthData::Metric(d.clone()), Some(m.clone()));
        let f = a.focus(&at("10,10")).unwrap();
        assert!((f.lens.focus_distance_m - 1.6).abs() < 1e-5);
        assert_eq!(f.focus_source, FocusSource::Point);
        // The background, in pixels or percent: 10 m; the subject keeps its own disparity.
        for p in ["2,17", "10%,85%"] {
            let f = a.focus(&at(p)).unwrap();
            assert!((f.lens.focus_distance_m - 10.0).abs() < 1e-4, "{p}");
            assert_eq!(f.disparity_per_m.at(10, 10), 0.625);
            assert!(f.warnings.is_empty(), "{:?}", f.warnings);
        }
        // Outside the photo: an error naming the point.
        let e = a.focus(&at("25,3")).unwrap_err().to_string();
        assert!(e.contains("25,3") && e.contains("20×20"), "{e}");
        // Relative depth, background anchored at 20 m: a tap on it focuses there, and the
        // subject stays at its own distance.
        let (r, _) = scene_planes(200.0, 10.0);
        let a = analysis(DepthData::Relative(r), Some(m));
        let settings = LensSettings {
            background_distance_m: 20.0,
            ..at("1,1")
        };
        let f = a.focus(&settings).unwrap();
        assert!(
            (f.lens.focus_distance_m - 20.0).abs() < 1e-3,
            "{}",
            f.lens.focus_distance_m
        );
        assert_eq!(f.focus_source, FocusSource::Point);
        let auto = a
            .focus(&LensSettings {
                background_distance_m: 20.0,
                ..LensSettings::default()
            })
            .unwrap();
        assert_eq!(
            f.disparity_per_m.at(10, 10),
            auto.disparity_per_m.at(10, 10)
        );
        // Infinitely far: the far end of the focusing range (as good as infinity).
        let f = a.focus(&at("1,1")).unwrap();
        assert_eq!(f.lens.focus_distance_m, MAX_AUTO_FOCUS_M);
        // Nearer than a lens focuses: the near end, with a warning.
        let (d, m) = scene_planes(50.0, 0.1);
        let a = analysis(DepthData::Metric(d), Some(m));
        let f = a.focus(&at("10,10")).unwrap();
        assert!(
            f.lens.focus_distance_m > 0.02,
            "{}",
            f.lens.focus_distance_m
        );
        assert!(
            f.warnings
                .iter()
                .any(|w| w.contains("out of focusing range"))
        );
    }

    #[test]
    fn relative_depth_is_anchored_at_the_focus_distance() {
        let (r, m) = scene_planes(200.0, 10.0);
        let a = analysis(DepthData::Relative(r.clone()), Some(m.clone()));
        let settings = LensSettings {
            focus: FocusSetting::Distance(2.5),
            ..LensSettings::default()
        };
        let f = a.focus(&settings).unwrap();
        assert!((f.disparity_per_m.at(10, 10) - 0.4).abs() < 1e-6);
        assert_eq!(f.disparity_per_m.at(0, 0), 0.0);
        // With a background distance, the far region lands there.
        let settings = LensSettings {
            focus: FocusSetting::Distance(2.5),
            background_distance_m: 20.0,
            ..LensSettings::default()
        };
        let f = a.focus(&settings).unwrap();
        assert!((f.disparity_per_m.at(0, 0) - 0.05).abs() < 1e-6);
        // Auto focus: the size estimate (clamped to the focusing range), else 2 m; the subject
        // lands on it.
        let f = a.focus(&LensSettings::default()).unwrap();
        let lens = Lens::default();
        let nearest = lens.focal_length_mm / 1000.0 * MIN_AUTO_FOCUS_FOCAL_LENGTHS;
        let expected = match infer::estimate_subject_distance_m(&m, &lens) {
            Some(d) if d.is_finite() && d > 0.0 => {
                (d.clamp(nearest, MAX_AUTO_FOCUS_M), FocusSource::SubjectSize)
            }
            _ => (DEFAULT_FOCUS_DISTANCE_M, FocusSource::DefaultDistance),
        };
        assert_eq!((f.lens.focus_distance_m, f.focus_source), expected);
        let s = f.lens.focus_distance_m;
        assert!((f.disparity_per_m.at(10, 10) as f64 - 1.0 / s).abs() < 1e-4);
        // No matte: default distance.
        let a = analysis(DepthData::Relative(r), None);
        let f = a.focus(&LensSettings::default()).unwrap();
        assert_eq!(f.lens.focus_distance_m, DEFAULT_FOCUS_DISTANCE_M);
        assert_eq!(f.focus_source, FocusSource::DefaultDistance);
    }

    /// N×N (N = 200): a subject (the middle half) with relief (a slope across it) in front of a
    /// far background; the matte is 1 inside, 0.5 on the subject's outer ring, 0 outside.
    const N: usize = 200;

    fn relief_scene(subject: f32, relief: f32, background: f32) -> (Plane, Plane) {
        let mut d = Plane::filled(N, N, background);
        let mut m = Plane::filled(N, N, 0.0);
        let (lo, hi) = (N / 4, 3 * N / 4);
        for y in lo..hi {
            for x in lo..hi {
                let t = (x - lo) as f32 / (hi - lo - 1) as f32 * 2.0 - 1.0;
                d.data[y * N + x] = subject + relief * t;
                let edge = x == lo || x == hi - 1 || y == lo || y == hi - 1;
                m.data[y * N + x] = if edge { 0.5 } else { 1.0 };
            }
        }
        (d, m)
    }

    fn analysis_n(depth: DepthData, matte: Option<Plane>) -> Analysis {
        Analysis {
            photo: photo(N, N),
            ..analysis(depth, matte)
        }
    }

    #[test]
    fn the_subject_stays_within_the_depth_of_field() {
        // Relative depth with a strong relief on the subject (±25 % of the subject-to-background
        // span): anchored alone it would blur the subject's sides by many pixels.
        let (r, m) = relief_scene(200.0, 50.0, 10.0);
        let settings = LensSettings {
            focus: FocusSetting::Distance(1.0),
            ..LensSettings::default()
        };
        let a = analysis_n(DepthData::Relative(r.clone()), Some(m.clone()));
        let f = a.focus(&settings).unwrap();
        // The same anchoring without the subject's compression.
        let anchors = DisparityAnchors {
            subject_distance_m: 1.0,
            ..DisparityAnchors::default()
        };
        let subject = depth::subject_disparity(&r, Some(&m)).unwrap();
        let plain = depth::relative_to_disparity(&r, subject, &anchors);
        let coc = |d: f32| f.lens.signed_coc_px(d as f64, N);
        let mut widest_plain: f64 = 0.0;
        for i in 0..N * N {
            let (d, a) = (f.disparity_per_m.data[i], m.data[i]);
            if a == 1.0 {
                // Within the limit (f32 rounding aside), so under a pixel: rendered sharp.
                assert!(
                    coc(d).abs() <= SUBJECT_MAX_COC_PX * (1.0 + 1e-5) && coc(d).abs() < 1.0,
                    "{i}: {}",
                    coc(d)
                );
                widest_plain = widest_plain.max(coc(plain.data[i]).abs());
            }
        }
        assert!(widest_plain > 3.0 * SUBJECT_MAX_COC_PX, "{widest_plain}");
        // The relief keeps its order: the subject's right side stays nearer than its left.
        assert!(f.disparity_per_m.at(140, 100) > f.disparity_per_m.at(60, 100));
        // Outside the matte nothing changes; on the edge the two blend half and half.
        for i in 0..N * N {
            let (d, p, a) = (f.disparity_per_m.data[i], plain.data[i], m.data[i]);
            if a == 0.0 {
                assert_eq!(d, p);
            } else if a == 0.5 {
                let s = f.lens.focus_disparity_per_m() as f32;
                let delta = subject_relief_limit(&f.lens, N);
                let full = s + delta * soft_clamp((p - s) / delta);
                assert!((d - 0.5 * (full + p)).abs() < 1e-5, "{i}");
            }
        }
        // Metric depth focused elsewhere by hand: the subject keeps its own depth (blurred as
        // a whole), only its relief is compressed, around the subject's median.
        let (d, m) = relief_scene(0.5, 0.1, 0.05);
        let subject = depth::subject_disparity(&d, Some(&m)).unwrap();
        assert!((subject - 0.5).abs() < 0.01);
        let a = analysis_n(DepthData::Metric(d), Some(m.clone()));
        let settings = LensSettings {
            focus: FocusSetting::Distance(10.0),
            ..LensSettings::default()
        };
        let f = a.focus(&settings).unwrap();
        let k = f.lens.coc_px_per_diopter(N);
        for i in 0..N * N {
            if m.data[i] == 1.0 {
                let spread = (f.disparity_per_m.data[i] - subject) as f64 * k;
                assert!(
                    spread.abs() <= SUBJECT_MAX_COC_PX * (1.0 + 1e-5),
                    "{spread}"
                );
            }
        }
        assert_eq!(f.disparity_per_m.at(0, 0), 0.05);
    }

    #[test]
    fn soft_clamp_is_close_to_tanh_monotone_and_bounded() {
        let mut last = -1.0f32;
        for i in -600..=600 {
            let x = i as f32 / 100.0;
            let v = soft_clamp(x);
            assert!((v - x.tanh()).abs() < 0.025, "{x}: {v} vs {}", x.tanh());
            assert!(v >= last - 1e-6 && v.abs() <= 1.0 + 1e-6, "{x}: {v}");
            last = v;
        }
        assert_eq!(soft_clamp(0.0), 0.0);
        assert_eq!(soft_clamp(50.0), 1.0);
    }

    #[test]
    fn keep_subject_in_focus_is_smooth_and_bounded() {
        let (s, delta) = (0.5, 0.01);
        // Outside the matte, or with an unlimited depth of field: unchanged.
        assert_eq!(keep_subject_in_focus(0.7, 0.0, s, delta), 0.7);
        assert_eq!(keep_subject_in_focus(0.7, 1.0, s, f32::INFINITY), 0.7);
        // Under the matte: bounded by δ, monotone, nearly unchanged for small deviations.
        let mut last = f32::NEG_INFINITY;
        for i in -100..=100 {
            let d = s + i as f32 * 0.002;
            let v = keep_subject_in_focus(d, 1.0, s, delta);
            assert!((v - s).abs() <= delta + 1e-7);
            assert!(v >= last);
            last = v;
        }
        assert!((keep_subject_in_focus(s + 0.001, 1.0, s, delta) - (s + 0.001)).abs() < 1e-5);
        // Zero depth of field: everything under the matte at the subject.
        assert_eq!(keep_subject_in_focus(0.9, 1.0, s, 0.0), s);
    }

    #[test]
    fn statistics_come_from_a_sample_of_large_maps() {
        // A 3000×2000 map: the subject's value and the far percentile from the sample agree
        // with the full map's.
        let (w, h) = (3000, 2000);
        let mut d = Plane::filled(w, h, 0.0);
        let mut m = Plane::filled(w, h, 0.0);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                d.data[i] = (x as f32 / w as f32) * 10.0 + (y as f32 / h as f32);
                if (1000..2000).contains(&x) && y >= 500 {
                    m.data[i] = 1.0;
                    d.data[i] += 50.0;
                }
            }
        }
        let sample = stats_sample(&d);
        assert!(sample.width <= STATS_LONG_SIDE && sample.height <= STATS_LONG_SIDE);
        let full = depth::subject_disparity(&d, Some(&m)).unwrap();
        let sampled = sampled_subject_disparity(&d, Some(&m)).unwrap();
        assert!((full - sampled).abs() < 0.05, "{full} {sampled}");
        let far_full = depth::weighted_percentile(&d.data, None, 2.0).unwrap();
        let far_sampled = depth::weighted_percentile(&sample.data, None, 2.0).unwrap();
        assert!(
            (far_full - far_sampled).abs() < 0.05,
            "{far_full} {far_sampled}"
        );
    }

    #[test]
    fn focus_inside_the_focal_length_is_an_error_naming_the_rule() {
        let (d, _) = scene_planes(0.625, 0.1);
        let a = analysis(DepthData::Relative(d), None);
        let settings = LensSettings {
            focus: FocusSetting::Distance(0.05),
            ..LensSettings::default()
        };
        let e = a.focus(&settings).unwrap_err().to_string();
        assert!(e.contains("closer than the focal length"), "{e}");
    }

    #[test]
    fn metric_auto_focus_is_clamped_to_a_sane_range() {
        // Everything at 1 cm: clamp to 10 focal lengths with a warning.
        let a = analysis(DepthData::Metric(Plane::filled(20, 20, 100.0)), None);
        let f = a.focus(&LensSettings::default()).unwrap();
        assert!((f.lens.focus_distance_m - 0.85).abs() < 1e-9);
        assert_eq!(f.warnings.len(), 1);
        // Everything at infinity.
        let a = analysis(DepthData::Metric(Plane::filled(20, 20, 0.0)), None);
        let f = a.focus(&LensSettings::default()).unwrap();
        assert_eq!(f.lens.focus_distance_m, MAX_AUTO_FOCUS_M);
    }

    #[test]
    fn lens_warnings_are_reported() {
        let (d, m) = scene_planes(0.5, 0.1);
        let a = analysis(DepthData::Metric(d), Some(m));
        let mut settings = LensSettings::default();
        settings.lens.f_number = 8.0;
        let f = a.focus(&settings).unwrap();
        assert!(f.warnings.iter().any(|w| w.contains("f-number 8")));
    }

    #[test]
    fn fit_resamples_same_shape_and_refuses_others() {
        let mut warnings = Vec::new();
        let p = fit_to_photo(
            Plane::filled(10, 5, 1.0),
            20,
            10,
            Path::new("d.png"),
            "depth map",
            &mut warnings,
        )
        .unwrap();
        assert_eq!((p.width, p.height), (20, 10));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("d.png") && warnings[0].contains("resampled"));
        let e = fit_to_photo(
            Plane::filled(10, 10, 1.0),
            20,
            10,
            Path::new("d.png"),
            "depth map",
            &mut warnings,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("d.png: depth map is 10×10 but the photo is 20×10"),
            "{e}"
        );
    }

    #[test]
    fn degenerate_mattes_are_recognised() {
        assert_eq!(
            degenerate_matte(&Plane::filled(4, 4, 0.0)),
            Some("is empty (no subject)")
        );
        assert_eq!(
            degenerate_matte(&Plane::filled(4, 4, 1.0)),
            Some("covers the whole photo (no background)")
        );
        let mut m = Plane::filled(4, 4, 1.0);
        m.data[3] = 0.5;
        assert_eq!(degenerate_matte(&m), None);
        let mut m = Plane::filled(4, 4, 0.0);
        m.data[0] = 0.2;
        assert_eq!(degenerate_matte(&m), None);
    }

    #[test]
    fn invalid_depth_values_are_reported() {
        let p = Path::new("d.npy");
        let plane = Plane::from_vec(4, 1, vec![1.0, f32::INFINITY, 2.0, 3.0]);
        assert_eq!(invalid_depth_warning(&plane, DepthKind::Metres, p), None);
        let plane = Plane::from_vec(4, 1, vec![f32::NAN, 0.0, -1.0, f32::INFINITY]);
        let w = invalid_depth_warning(&plane, DepthKind::Metres, p).unwrap();
        assert!(
            w.starts_with("d.npy: 3 of 4 depth values are invalid"),
            "{w}"
        );
        // Relative disparity may be zero or negative; only non-finite values are invalid.
        let w = invalid_depth_warning(&plane, DepthKind::Disparity, p).unwrap();
        assert!(w.starts_with("d.npy: 2 of 4"), "{w}");
        let plane = Plane::filled(3, 3, f32::NAN);
        let w = invalid_depth_warning(&plane, DepthKind::Metres, p).unwrap();
        assert!(w.contains("no valid depth value"), "{w}");
    }

    #[test]
    fn models_that_fail_to_load_are_fatal_and_not_retried() {
        // A runtime and a model that do not exist: loading must fail, whatever is installed.
        let missing = std::env::temp_dir().join("fstop-no-such-dir");
        let mut models = LazyModels::new(ModelConfig {
            depth_model: missing.join("depth.onnx").display().to_string(),
            ort_lib: Some(missing.join("libonnxruntime.so")),
            ..ModelConfig::default()
        });
        let Err(first) = models.get() else {
            panic!("loading from a missing path must fail");
        };
        assert!(first.is_fatal(), "{first}");
        assert!(models.get().is_err());
        assert!(!models.is_loaded());
    }
}
