//! Step 2: choose the focus for a lens and turn the depth into disparity in 1/m.

use std::borrow::Cow;

use serde::Serialize;

use super::{Analysis, DepthData, PipelineError, Warning};
use crate::config::FocusSetting;
use crate::depth::{self, DisparityAnchors};
use crate::focus_point::{self, FocusPoint, FocusPointError};
use crate::head;
use crate::io::Photo;
use crate::optics::{DEFAULT_FOCUS_DISTANCE_M, Lens, ValidLens};
use crate::scene::Plane;

/// Nearest automatic focus, as a multiple of the focal length (the thin-lens model needs
/// focus > f; a real lens's close-focus limit is around 10 f for portrait lenses).
const MIN_AUTO_FOCUS_FOCAL_LENGTHS: f64 = 10.0;
/// Farthest automatic focus, in metres ("infinity" for practical purposes).
const MAX_AUTO_FOCUS_M: f64 = 10_000.0;

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
    pub lens: ValidLens,
    pub disparity_per_m: Plane,
    pub focus_source: FocusSource,
    /// Lens parameters outside the documented range, and focus clamping.
    pub warnings: Vec<Warning>,
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
    let k = p.width().max(p.height()).div_ceil(STATS_LONG_SIDE).max(1);
    if k == 1 {
        return Cow::Borrowed(p);
    }
    let (w, h) = (p.width().div_ceil(k), p.height().div_ceil(k));
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        data.extend(p.row(y * k).iter().step_by(k));
    }
    Cow::Owned(Plane::from_vec(w, h, data))
}

/// The subject's value in `disparity` (see [`depth::subject_disparity`]), from a sample.
fn sampled_subject_disparity(disparity: &Plane, matte: Option<&Plane>) -> Option<f32> {
    let matte =
        matte.filter(|m| (m.width(), m.height()) == (disparity.width(), disparity.height()));
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
        .filter(|m| (m.width(), m.height()) == (out.width(), out.height()))
        .zip(subject.filter(|s| s.is_finite()));
    const CHUNK: usize = 1 << 16;
    out.data_mut()
        .par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, o)| match matte {
            Some((m, subject)) => {
                let m = &m.data()[c * CHUNK..c * CHUNK + o.len()];
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
fn clamp_focus(focus_m: f64, lens: &Lens, warnings: &mut Vec<Warning>) -> f64 {
    let nearest = lens.focal_length_mm / 1000.0 * MIN_AUTO_FOCUS_FOCAL_LENGTHS;
    let clamped = focus_m.clamp(nearest, MAX_AUTO_FOCUS_M);
    if clamped != focus_m {
        warnings.push(Warning::FocusClamped {
            wanted_m: focus_m,
            focus_m: clamped,
        });
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
    let (w, h) = (photo.color.width(), photo.color.height());
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
    let long_side_px = photo.color.width().max(photo.color.height());
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
                    .and_then(|m| head::estimate_subject_distance_m(m, &lens))
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
                    depth::weighted_percentile(sample.data(), None, percentile).unwrap_or(subject);
                (subject, far)
            };
            let ((distance, source), (subject, far)) = rayon::join(distance, statistics);
            lens.focus_distance_m = distance;
            if settings.background_distance_m <= distance {
                warnings.push(Warning::BackgroundNotBehindFocus {
                    background_distance_m: settings.background_distance_m,
                    focus_distance_m: distance,
                });
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
    let lens = lens.validate()?;
    warnings.extend(lens.warnings().into_iter().map(Warning::Lens));
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
    use crate::pipeline::{AnalysisTimings, DepthOrigin};
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
                d.data_mut()[y * 20 + x] = subject;
                m.data_mut()[y * 20 + x] = 1.0;
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
        for (i, v) in relief.data_mut().iter_mut().enumerate() {
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
                assert_eq!((photo.color.width(), kept), (20, matte));
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
                .any(|w| matches!(w, Warning::FocusClamped { .. }))
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
        let expected = match head::estimate_subject_distance_m(&m, &lens) {
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
                d.data_mut()[y * N + x] = subject + relief * t;
                let edge = x == lo || x == hi - 1 || y == lo || y == hi - 1;
                m.data_mut()[y * N + x] = if edge { 0.5 } else { 1.0 };
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
            let (d, a) = (f.disparity_per_m.data()[i], m.data()[i]);
            if a == 1.0 {
                // Within the limit (f32 rounding aside), so under a pixel: rendered sharp.
                assert!(
                    coc(d).abs() <= SUBJECT_MAX_COC_PX * (1.0 + 1e-5) && coc(d).abs() < 1.0,
                    "{i}: {}",
                    coc(d)
                );
                widest_plain = widest_plain.max(coc(plain.data()[i]).abs());
            }
        }
        assert!(widest_plain > 3.0 * SUBJECT_MAX_COC_PX, "{widest_plain}");
        // The relief keeps its order: the subject's right side stays nearer than its left.
        assert!(f.disparity_per_m.at(140, 100) > f.disparity_per_m.at(60, 100));
        // Outside the matte nothing changes; on the edge the two blend half and half.
        for i in 0..N * N {
            let (d, p, a) = (f.disparity_per_m.data()[i], plain.data()[i], m.data()[i]);
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
            if m.data()[i] == 1.0 {
                let spread = (f.disparity_per_m.data()[i] - subject) as f64 * k;
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
                d.data_mut()[i] = (x as f32 / w as f32) * 10.0 + (y as f32 / h as f32);
                if (1000..2000).contains(&x) && y >= 500 {
                    m.data_mut()[i] = 1.0;
                    d.data_mut()[i] += 50.0;
                }
            }
        }
        let sample = stats_sample(&d);
        assert!(sample.width() <= STATS_LONG_SIDE && sample.height() <= STATS_LONG_SIDE);
        let full = depth::subject_disparity(&d, Some(&m)).unwrap();
        let sampled = sampled_subject_disparity(&d, Some(&m)).unwrap();
        assert!((full - sampled).abs() < 0.05, "{full} {sampled}");
        let far_full = depth::weighted_percentile(d.data(), None, 2.0).unwrap();
        let far_sampled = depth::weighted_percentile(sample.data(), None, 2.0).unwrap();
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
        assert!(
            matches!(
                f.warnings[..],
                [Warning::FocusClamped { wanted_m, focus_m }] if wanted_m == 0.01 && (focus_m - 0.85).abs() < 1e-9
            ),
            "{:?}",
            f.warnings
        );
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
        assert!(
            f.warnings
                .iter()
                .any(|w| matches!(w, Warning::Lens(o) if o.0.contains("f-number 8")))
        );
    }
}
