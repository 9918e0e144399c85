//! Step 1: decode the photo and get its depth and matte (from files, the photo's own depth map,
//! or the models).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{LazyModels, MatteProblem, PipelineError, Warning};
use crate::depth::{self, DepthKind};
use crate::infer::{self, WorkingImage};
use crate::io::embedded_depth::{EmbeddedDepth, EmbeddedFormat, read_embedded_depth};
use crate::io::{self, DecodeOptions, IoError, Photo};
use crate::scene::Plane;

/// Largest aspect-ratio difference for which a depth or matte file is resampled.
const ASPECT_TOLERANCE: f64 = 0.02;

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
    pub warnings: Vec<Warning>,
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
    warnings: &mut Vec<Warning>,
) -> Result<Plane, PipelineError> {
    if plane.width() == width && plane.height() == height {
        return Ok(plane);
    }
    let mismatch = || PipelineError::ShapeMismatch {
        path: path.to_path_buf(),
        what,
        got_w: plane.width(),
        got_h: plane.height(),
        want_w: width,
        want_h: height,
    };
    if plane.width() == 0 || plane.height() == 0 || width == 0 || height == 0 {
        return Err(mismatch());
    }
    let aspect = |w: usize, h: usize| w as f64 / h as f64;
    let ratio = aspect(plane.width(), plane.height()) / aspect(width, height);
    if (ratio - 1.0).abs() > ASPECT_TOLERANCE {
        return Err(mismatch());
    }
    warnings.push(Warning::Resampled {
        path: path.to_path_buf(),
        what,
        from: (plane.width(), plane.height()),
        to: (width, height),
    });
    Ok(plane.resized(width, height))
}

/// A matte file that cannot tell subject from background: every value ≤ 0.05 ("is empty")
/// or every value ≥ 0.95 ("covers the whole photo"). Such a matte is ignored with a warning,
/// exactly as if none had been given: an empty matte would leave the focus to the depth map
/// anyway, and a full one would make the whole frame the "subject" and put the focus on the
/// median depth of everything (usually the background), blurring the real subject.
fn degenerate_matte(matte: &Plane) -> Option<MatteProblem> {
    if matte.data().iter().all(|&v| v <= 0.05) {
        Some(MatteProblem::Empty)
    } else if matte.data().iter().all(|&v| v >= 0.95) {
        Some(MatteProblem::Full)
    } else {
        None
    }
}

/// A warning when a depth file holds values that cannot be a depth: NaN, and for metric depth
/// also −∞, zero and negative distances (+∞ is a valid distance, the sky). Such values are
/// filled in from their neighbours ([`depth::metres_to_disparity`],
/// [`depth::sanitize_relative`]); a map with no valid value at all becomes one flat plane.
fn invalid_depth_warning(plane: &Plane, kind: DepthKind, path: &Path) -> Option<Warning> {
    let valid = |v: f32| match kind {
        DepthKind::Metres => v == f32::INFINITY || (v.is_finite() && v > 0.0),
        DepthKind::Disparity => v.is_finite(),
    };
    let total = plane.data().len();
    let invalid = plane.data().iter().filter(|&&v| !valid(v)).count();
    (invalid > 0).then(|| Warning::InvalidDepth {
        path: path.to_path_buf(),
        kind,
        invalid,
        total,
    })
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
) -> Result<(Option<EmbeddedDepth>, Option<Warning>), PipelineError> {
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
            Some(Warning::EmbeddedDepthUnused(e.to_string())),
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
    warnings: &mut Vec<Warning>,
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

/// Decodes the photo with `decode`; the first photo that needs the models (no depth map
/// given, `map_given` false) loads them meanwhile on a second thread (loading is mostly
/// single-threaded, and so is most of decoding), and prepares the models' working image while
/// they may still be loading. Sets the decode and load timings.
fn decode_while_loading(
    decode: impl FnOnce() -> Result<Photo, IoError>,
    map_given: bool,
    models: &mut LazyModels,
    timings: &mut AnalysisTimings,
) -> Result<(Photo, Option<WorkingImage>), PipelineError> {
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
    let photo = photo?;
    if let Some((loaded, ms)) = loaded {
        timings.load_ms = ms;
        loaded?;
    }
    Ok(photo)
}

/// A matte file: brought to the photo's size, clamped to 0..1 (not-a-number to 0); ignored
/// with a warning when it cannot tell subject from background ([`degenerate_matte`];
/// `depth_file` says whether a depth map was given, for the warning's advice).
fn matte_from_file(
    matte_path: &Path,
    (width, height): (usize, usize),
    depth_file: bool,
    warnings: &mut Vec<Warning>,
) -> Result<Option<Plane>, PipelineError> {
    let plane = io::read_matte(matte_path)?;
    let mut plane = fit_to_photo(plane, width, height, matte_path, "matte", warnings)?;
    for v in plane.data_mut() {
        *v = if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
    Ok(match degenerate_matte(&plane) {
        None => Some(plane),
        Some(problem) => {
            warnings.push(Warning::MatteIgnored {
                path: matte_path.to_path_buf(),
                problem,
                depth_file,
            });
            None
        }
    })
}

/// The photo's own depth map, checked and brought to the photo's `size` without a warning
/// (phones store it smaller). One that does not fit the photo is an error of `path` with
/// `--depth-source embedded`, and leaves the depth to the model with a warning with `auto`.
fn own_depth_map(
    e: EmbeddedDepth,
    source: DepthSource,
    path: &Path,
    size: (usize, usize),
    warnings: &mut Vec<Warning>,
) -> Result<Option<(DepthData, EmbeddedFormat)>, PipelineError> {
    let (format, kind) = (e.format, e.kind());
    let mut map_warnings = Vec::new();
    let what = "its own depth map";
    // Its warnings name it, not the photo (which the caller prints before them).
    let label = Path::new(what);
    match depth_from_map(e.plane, kind, size, label, what, &mut map_warnings) {
        Ok(d) => {
            warnings.extend(
                map_warnings
                    .into_iter()
                    .filter(|w| !matches!(w, Warning::Resampled { .. })),
            );
            Ok(Some((d, format)))
        }
        Err(err) => {
            let msg = err.to_string();
            let prefix = format!("{what}: ");
            let why = msg.strip_prefix(&prefix).unwrap_or(&msg).to_string();
            if source != DepthSource::Auto {
                return Err(PipelineError::EmbeddedDepth {
                    path: path.to_path_buf(),
                    message: why,
                });
            }
            warnings.push(Warning::EmbeddedDepthUnused(why));
            Ok(None)
        }
    }
}

/// Depth (relative) and, unless `matte` holds one already, the matte from the models, which
/// are loaded first if they are not yet. Sets the load, depth and matte timings.
fn depth_from_models(
    models: &mut LazyModels,
    photo: &Photo,
    working: Option<WorkingImage>,
    path: &Path,
    matte: &mut Option<Plane>,
    warnings: &mut Vec<Warning>,
    timings: &mut AnalysisTimings,
) -> Result<(DepthData, ModelNames), PipelineError> {
    let (width, height) = (photo.color.width(), photo.color.height());
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
        *matte = Some(estimate.matte);
    }
    let names = ModelNames {
        depth: estimate.depth_model,
        matte: estimate.matte_model,
    };
    let rel = fit_to_photo(
        estimate.relative_disparity,
        width,
        height,
        path,
        "model depth",
        warnings,
    )?;
    Ok((DepthData::Relative(depth::sanitize_relative(rel)), names))
}

/// [`analyze`] with the photo from `decode` (run while the models load): decode, the matte
/// file, the photo's own depth map, the depth file, or else the models.
fn analyze_decoded(
    path: &Path,
    decode: impl FnOnce() -> Result<Photo, IoError>,
    options: &AnalysisOptions,
    embedded: Option<EmbeddedDepth>,
    models: &mut LazyModels,
) -> Result<Analysis, PipelineError> {
    let mut timings = AnalysisTimings::default();
    let map_given = options.depth.is_some() || embedded.is_some();
    let (photo, working) = decode_while_loading(decode, map_given, models, &mut timings)?;
    let size = (photo.color.width(), photo.color.height());
    let mut warnings: Vec<Warning> = photo.warnings.iter().cloned().map(Warning::Photo).collect();

    let mut matte = match &options.matte {
        Some(matte_path) => {
            let t = Instant::now();
            let matte = matte_from_file(matte_path, size, map_given, &mut warnings)?;
            timings.matte_ms = ms_since(t);
            matte
        }
        None => None,
    };

    let mut depth_origin = DepthOrigin::Model;
    let own_map = match embedded {
        Some(e) if options.depth.is_none() => {
            let t = Instant::now();
            let own = own_depth_map(e, options.depth_source, path, size, &mut warnings)?;
            own.map(|(depth, format)| {
                timings.depth_ms = ms_since(t);
                depth_origin = DepthOrigin::Embedded(format);
                depth
            })
        }
        _ => None,
    };
    let mut model_names = None;
    let depth = match (&options.depth, own_map) {
        (Some(file), _) => {
            let t = Instant::now();
            let (plane, kind) = io::read_depth(&file.path, file.kind)?;
            let depth = depth_from_map(plane, kind, size, &file.path, "depth map", &mut warnings)?;
            timings.depth_ms = ms_since(t);
            depth_origin = DepthOrigin::File;
            depth
        }
        (None, Some(depth)) => depth,
        (None, None) => {
            let (depth, names) = depth_from_models(
                models,
                &photo,
                working,
                path,
                &mut matte,
                &mut warnings,
                &mut timings,
            )?;
            model_names = Some(names);
            depth
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!((p.width(), p.height()), (20, 10));
        assert_eq!(
            warnings,
            [Warning::Resampled {
                path: "d.png".into(),
                what: "depth map",
                from: (10, 5),
                to: (20, 10)
            }]
        );
        let e = fit_to_photo(
            Plane::filled(10, 10, 1.0),
            20,
            10,
            Path::new("d.png"),
            "depth map",
            &mut warnings,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                PipelineError::ShapeMismatch {
                    what: "depth map",
                    got_w: 10,
                    got_h: 10,
                    want_w: 20,
                    want_h: 10,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = e.to_string();
        assert!(
            e.starts_with("d.png: depth map is 10×10 but the photo is 20×10"),
            "{e}"
        );
    }

    #[test]
    fn degenerate_mattes_are_recognised() {
        assert_eq!(
            degenerate_matte(&Plane::filled(4, 4, 0.0)),
            Some(MatteProblem::Empty)
        );
        assert_eq!(
            degenerate_matte(&Plane::filled(4, 4, 1.0)),
            Some(MatteProblem::Full)
        );
        let mut m = Plane::filled(4, 4, 1.0);
        m.data_mut()[3] = 0.5;
        assert_eq!(degenerate_matte(&m), None);
        let mut m = Plane::filled(4, 4, 0.0);
        m.data_mut()[0] = 0.2;
        assert_eq!(degenerate_matte(&m), None);
    }

    #[test]
    fn invalid_depth_values_are_reported() {
        let p = Path::new("d.npy");
        let plane = Plane::from_vec(4, 1, vec![1.0, f32::INFINITY, 2.0, 3.0]);
        assert_eq!(invalid_depth_warning(&plane, DepthKind::Metres, p), None);
        let plane = Plane::from_vec(4, 1, vec![f32::NAN, 0.0, -1.0, f32::INFINITY]);
        let invalid = |kind, invalid, total| {
            Some(Warning::InvalidDepth {
                path: p.to_path_buf(),
                kind,
                invalid,
                total,
            })
        };
        assert_eq!(
            invalid_depth_warning(&plane, DepthKind::Metres, p),
            invalid(DepthKind::Metres, 3, 4)
        );
        // Relative disparity may be zero or negative; only non-finite values are invalid.
        assert_eq!(
            invalid_depth_warning(&plane, DepthKind::Disparity, p),
            invalid(DepthKind::Disparity, 2, 4)
        );
        let plane = Plane::filled(3, 3, f32::NAN);
        let w = invalid_depth_warning(&plane, DepthKind::Metres, p);
        assert_eq!(w, invalid(DepthKind::Metres, 9, 9));
        assert!(w.unwrap().to_string().contains("no valid depth value"));
    }

    #[test]
    fn matte_pass_fits_clamps_and_ignores_degenerate_mattes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.png");
        let mut half = Plane::filled(10, 5, 0.0);
        for v in &mut half.data_mut()[..25] {
            *v = 1.0;
        }
        io::write_plane_png16(&p, &half, 0.0, 1.0).unwrap();
        let mut warnings = Vec::new();
        let m = matte_from_file(&p, (20, 10), false, &mut warnings)
            .unwrap()
            .expect("a usable matte");
        assert_eq!((m.width(), m.height()), (20, 10));
        assert!(m.data().iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(matches!(
            warnings[..],
            [Warning::Resampled { what: "matte", .. }]
        ));
        // A matte that covers nothing is ignored, with a warning that knows about the depth.
        io::write_plane_png16(&p, &Plane::filled(20, 10, 0.0), 0.0, 1.0).unwrap();
        let mut warnings = Vec::new();
        assert_eq!(
            matte_from_file(&p, (20, 10), true, &mut warnings).unwrap(),
            None
        );
        assert_eq!(
            warnings,
            [Warning::MatteIgnored {
                path: p.clone(),
                problem: MatteProblem::Empty,
                depth_file: true,
            }]
        );
        // Another shape is refused.
        assert!(matches!(
            matte_from_file(&p, (10, 20), false, &mut Vec::new()),
            Err(PipelineError::ShapeMismatch { what: "matte", .. })
        ));
    }

    #[test]
    fn own_map_pass_resamples_quietly_or_falls_back() {
        let map = |w, h| EmbeddedDepth {
            format: EmbeddedFormat::GDepth,
            encoding: crate::io::embedded_depth::DepthEncoding::RelativeDisparity,
            plane: Plane::from_vec(w, h, (0..w * h).map(|i| i as f32).collect()),
        };
        let photo = Path::new("p.jpg");
        // Smaller, same shape: used, resampled without a warning.
        let mut warnings = Vec::new();
        let (d, format) = own_depth_map(
            map(10, 5),
            DepthSource::Auto,
            photo,
            (20, 10),
            &mut warnings,
        )
        .unwrap()
        .expect("used");
        assert_eq!(format, EmbeddedFormat::GDepth);
        assert!(matches!(d, DepthData::Relative(ref p) if (p.width(), p.height()) == (20, 10)));
        assert!(warnings.is_empty(), "{warnings:?}");
        // Another shape: with auto, a warning and the model; with embedded, the photo's error.
        let mut warnings = Vec::new();
        let none = own_depth_map(
            map(5, 10),
            DepthSource::Auto,
            photo,
            (20, 10),
            &mut warnings,
        );
        assert!(none.unwrap().is_none());
        match &warnings[..] {
            [Warning::EmbeddedDepthUnused(why)] => {
                assert!(why.starts_with("its own depth map is 5×10"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let e = own_depth_map(
            map(5, 10),
            DepthSource::Embedded,
            photo,
            (20, 10),
            &mut Vec::new(),
        )
        .unwrap_err();
        match e {
            PipelineError::EmbeddedDepth { path, message } => {
                assert_eq!(path, photo);
                assert!(
                    message.starts_with("its own depth map is 5×10"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_pass_times_decoding_and_loads_nothing_with_a_map() {
        let mut models = LazyModels::new(crate::infer::ModelConfig::default());
        let mut timings = AnalysisTimings::default();
        let photo = Photo {
            color: crate::scene::LinearRgb::filled(4, 3, [0.5; 3]),
            alpha: None,
            metadata: Default::default(),
            bits_per_channel: 8,
            warnings: Vec::new(),
        };
        let (p, working) =
            decode_while_loading(|| Ok(photo.clone()), true, &mut models, &mut timings).unwrap();
        assert_eq!(p.color, photo.color);
        assert!(working.is_none(), "no working image without the models");
        assert!(!models.is_loaded());
        assert_eq!(timings.load_ms, 0.0);
        assert!(timings.decode_ms >= 0.0);
        let e = decode_while_loading(
            || {
                Err(crate::io::decode::decode_err(
                    Path::new("x"),
                    crate::io::DecodeError::Empty,
                ))
            },
            true,
            &mut models,
            &mut timings,
        )
        .unwrap_err();
        assert!(
            matches!(e, PipelineError::Io(IoError::Decode { .. })),
            "{e:?}"
        );
    }
}
