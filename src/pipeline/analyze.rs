//! Step 1: decode the photo and get its depth and matte (from files or the models).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::{LazyModels, PipelineError};
use crate::depth::{self, DepthKind};
use crate::infer::{self, WorkingImage};
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

/// What to analyse with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisOptions {
    /// Depth from a file; `None`: from the depth model.
    pub depth: Option<DepthFile>,
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
    pub timings: AnalysisTimings,
    /// Non-fatal problems (from decoding, resampled depth or matte…).
    pub warnings: Vec<String>,
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
    analyze_decoded(
        path,
        || io::read_photo(path, &options.decode),
        options,
        models,
    )
}

/// [`analyze`] on a photo's bytes already in memory (a file read by the caller, or standard
/// input); `name` only names it in messages.
pub fn analyze_bytes(
    name: &Path,
    bytes: &[u8],
    options: &AnalysisOptions,
    models: &mut LazyModels,
) -> Result<Analysis, PipelineError> {
    analyze_decoded(
        name,
        || io::read_photo_bytes(name, bytes, &options.decode),
        options,
        models,
    )
}

/// [`analyze`] with the photo from `decode` (run while the models load).
fn analyze_decoded(
    path: &Path,
    decode: impl FnOnce() -> Result<Photo, IoError>,
    options: &AnalysisOptions,
    models: &mut LazyModels,
) -> Result<Analysis, PipelineError> {
    let mut timings = AnalysisTimings::default();
    // The first photo that needs the models loads them while it is being decoded (loading is
    // mostly single-threaded, and so is most of decoding).
    let load_now = options.depth.is_none() && !models.is_loaded() && models.load_error.is_none();
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
            Ok(p) if options.depth.is_none() && !p.color.is_empty() => {
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
                    let instead = if options.depth.is_some() {
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
    let depth = match &options.depth {
        Some(file) => {
            let t = Instant::now();
            let (plane, kind) = io::read_depth(&file.path, file.kind)?;
            if let Some(w) = invalid_depth_warning(&plane, kind, &file.path) {
                warnings.push(w);
            }
            let plane = fit_to_photo(plane, width, height, &file.path, "depth map", &mut warnings)?;
            let depth = match kind {
                DepthKind::Metres => DepthData::Metric(depth::metres_to_disparity(&plane)),
                DepthKind::Disparity => DepthData::Relative(depth::sanitize_relative(plane)),
            };
            timings.depth_ms = ms_since(t);
            depth
        }
        None => {
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
}
