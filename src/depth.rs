//! The depth model: turning what a depth file or model gives into disparity in 1/m.
//!
//! fstop holds depth as **disparity** `1/Z` (1/m, 0 at infinity) because the circle of
//! confusion is linear in it.
//!
//! * **Metric depth** (metres, e.g. from a phone's depth map or a metric model): `1/Z`.
//!   Non-finite or non-positive samples are invalid and are filled from their surroundings;
//!   `+inf` means infinitely far (disparity 0).
//! * **Relative disparity** (brighter = nearer, unknown scale and offset, as from DPT, MiDaS,
//!   Depth Anything or a phone's portrait-mode map) is mapped affinely with two anchors:
//!   the subject's disparity (the robust median under the matte, or the centre-weighted nearest
//!   region without one) lands on the focus distance `S1`, and the far background — the
//!   [`DisparityAnchors::background_percentile`] low percentile of the map — lands on the
//!   background distance `B` (default infinity):
//!
//!   ```text
//!   1/Z = 1/B + (d − d_far) · (1/S1 − 1/B) / (d_subject − d_far)
//!   ```
//!
//!   So with `B = ∞` the far background gets exactly the CoC `f²/(N(S1−f))` of a lens focused at
//!   `S1` looking at infinity: f-number, focal length and focus distance mean what they say.
//!   Results are clamped to `[0, 1/0.05 m]`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::fill::push_pull_fill;
use crate::scene::Plane;

/// How to read the values of a depth file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepthKind {
    /// Distance in metres.
    Metres,
    /// Relative disparity, larger = nearer, arbitrary scale and offset.
    Disparity,
}

/// The nearest distance any depth value is allowed to mean, in metres.
pub(crate) const NEAREST_DISTANCE_M: f32 = 0.05;

/// The two anchors that place a relative disparity map in metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisparityAnchors {
    /// Where the subject is, in metres (the focus distance).
    pub subject_distance_m: f64,
    /// Where the far background is, in metres (`f64::INFINITY` by default).
    pub background_distance_m: f64,
    /// Which low percentile of the disparity counts as "the far background" (default 2).
    pub background_percentile: f64,
}

impl Default for DisparityAnchors {
    fn default() -> Self {
        DisparityAnchors {
            subject_distance_m: crate::optics::DEFAULT_FOCUS_DISTANCE_M,
            background_distance_m: f64::INFINITY,
            background_percentile: 2.0,
        }
    }
}

/// Converts metric depth (metres) to disparity (1/m), filling invalid samples.
pub(crate) fn metres_to_disparity(depth_m: &Plane) -> Plane {
    let mut valid = vec![1.0f32; depth_m.data().len()];
    let mut disparity: Vec<f32> = depth_m
        .data()
        .iter()
        .zip(valid.iter_mut())
        .map(|(&z, ok)| {
            if z == f32::INFINITY {
                0.0
            } else if z.is_finite() && z > 0.0 {
                1.0 / z.max(NEAREST_DISTANCE_M)
            } else {
                *ok = 0.0;
                0.0
            }
        })
        .collect();
    if valid.contains(&0.0) {
        push_pull_fill(
            &mut [&mut disparity],
            &valid,
            depth_m.width(),
            depth_m.height(),
        );
    }
    Plane::from_vec(depth_m.width(), depth_m.height(), disparity)
}

/// Replaces non-finite samples of a relative disparity map by values filled from around them
/// (a map that is finite everywhere comes back as it is, without a copy).
pub(crate) fn sanitize_relative(mut relative: Plane) -> Plane {
    if relative.data().par_iter().all(|v| v.is_finite()) {
        return relative;
    }
    let valid: Vec<f32> = relative
        .data()
        .iter()
        .map(|v| if v.is_finite() { 1.0 } else { 0.0 })
        .collect();
    for v in relative.data_mut() {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    let (width, height) = (relative.width(), relative.height());
    push_pull_fill(&mut [relative.data_mut()], &valid, width, height);
    relative
}

/// The `p`-th percentile (0..100) of the finite values of `values`, weighted by `weights`
/// when given. `None` when there is no finite value with positive weight.
pub fn weighted_percentile(values: &[f32], weights: Option<&[f32]>, p: f64) -> Option<f32> {
    // Fast path, same result: when every weight counts 0 or 1 (no weights, or a binary mask),
    // the answer is the k-th smallest value, found by selection in O(n) instead of a sort.
    let counts = |w: f32| w.is_finite() && w > 0.0;
    if weights.is_none_or(|ws| ws.iter().all(|&w| !counts(w) || w == 1.0)) {
        let mut kept: Vec<f32> = values
            .iter()
            .enumerate()
            .filter(|&(i, v)| v.is_finite() && weights.is_none_or(|ws| counts(ws[i])))
            .map(|(_, &v)| v)
            .collect();
        if kept.is_empty() {
            return None;
        }
        // The sorted scan below stops at the first k (1-based) with k ≥ n·p/100.
        let target = kept.len() as f64 * (p / 100.0).clamp(0.0, 1.0);
        let k = (target.ceil() as usize).clamp(1, kept.len());
        let (_, v, _) = kept.select_nth_unstable_by(k - 1, |a, b| a.total_cmp(b));
        return Some(*v);
    }
    percentile_by_scan(values, weights, p)
}

/// [`weighted_percentile`] the plain way: sort the `(value, weight)` pairs and walk up to the
/// `p`-th share of the total weight (the general path, and the fast path's reference).
fn percentile_by_scan(values: &[f32], weights: Option<&[f32]>, p: f64) -> Option<f32> {
    let mut pairs: Vec<(f32, f32)> = values
        .iter()
        .enumerate()
        .filter_map(|(i, &v)| {
            let w = weights.map_or(1.0, |w| w[i]);
            (v.is_finite() && w.is_finite() && w > 0.0).then_some((v, w))
        })
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = pairs.iter().map(|p| p.1 as f64).sum();
    let target = total * (p / 100.0).clamp(0.0, 1.0);
    let mut acc = 0.0f64;
    for &(v, w) in &pairs {
        acc += w as f64;
        if acc >= target {
            return Some(v);
        }
    }
    pairs.last().map(|p| p.0)
}

/// The disparity value that represents the subject: the weighted median under the matte
/// (pixels with matte ≥ 0.5 when there are enough), else the centre-weighted nearest region
/// (the 85th percentile of the middle 60 % of the frame, weighted towards the centre).
pub fn subject_disparity(disparity: &Plane, matte: Option<&Plane>) -> Option<f32> {
    if let Some(m) = matte {
        let strong: Vec<f32> = m
            .data()
            .iter()
            .map(|&a| if a >= 0.5 { 1.0 } else { 0.0 })
            .collect();
        let count = strong.iter().filter(|&&w| w > 0.0).count();
        if count >= 16.max(disparity.data().len() / 1000) {
            return weighted_percentile(disparity.data(), Some(&strong), 50.0);
        }
        if m.data().iter().any(|&a| a > 0.05) {
            return weighted_percentile(disparity.data(), Some(m.data()), 50.0);
        }
    }
    let (w, h) = (disparity.width() as f32, disparity.height() as f32);
    let weights: Vec<f32> = (0..disparity.data().len())
        .map(|i| {
            let x = ((i % disparity.width()) as f32 + 0.5) / w - 0.5;
            let y = ((i / disparity.width()) as f32 + 0.5) / h - 0.5;
            if x.abs() > 0.3 || y.abs() > 0.3 {
                0.0
            } else {
                (-(x * x + y * y) / (2.0 * 0.2 * 0.2)).exp()
            }
        })
        .collect();
    weighted_percentile(disparity.data(), Some(&weights), 85.0)
        .or_else(|| weighted_percentile(disparity.data(), None, 50.0))
}

/// Maps a relative disparity map to disparity in 1/m using the two anchors (see module docs).
/// `subject_value` is the map's value at the subject (see [`subject_disparity`]).
pub fn relative_to_disparity(
    relative: &Plane,
    subject_value: f32,
    anchors: &DisparityAnchors,
) -> Plane {
    let relative = sanitize_relative(relative.clone());
    let far_value = weighted_percentile(relative.data(), None, anchors.background_percentile)
        .unwrap_or(subject_value);
    let mapping = DisparityMapping::new(subject_value, far_value, anchors);
    let data = relative.data().iter().map(|&d| mapping.apply(d)).collect();
    Plane::from_vec(relative.width(), relative.height(), data)
}

/// The affine map of [`relative_to_disparity`] for known subject and far-background values of
/// the relative map, applied one value at a time (so a caller can fuse it with other per-pixel
/// work, and take the far value from a sample of the map).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DisparityMapping {
    far_value: f64,
    inv_far: f64,
    /// `None`: a degenerate map (constant, or the subject is the farthest thing): all at focus.
    scale: Option<f64>,
    inv_subject: f64,
}

impl DisparityMapping {
    /// The map placing `subject_value` at the subject distance and `far_value` (the
    /// [`DisparityAnchors::background_percentile`] low percentile) at the background distance.
    pub fn new(subject_value: f32, far_value: f32, anchors: &DisparityAnchors) -> Self {
        let inv_subject = 1.0 / anchors.subject_distance_m;
        let inv_far =
            if anchors.background_distance_m.is_finite() && anchors.background_distance_m > 0.0 {
                (1.0 / anchors.background_distance_m).min(inv_subject)
            } else {
                0.0
            };
        let span = subject_value as f64 - far_value as f64;
        let degenerate = span.is_nan() || span <= 1e-6 * (subject_value.abs() as f64).max(1e-6);
        DisparityMapping {
            far_value: far_value as f64,
            inv_far,
            scale: (!degenerate).then(|| (inv_subject - inv_far) / span),
            inv_subject,
        }
    }

    /// Disparity (1/m) of relative value `d`, clamped to `[0, 1/NEAREST_DISTANCE_M]`;
    /// non-finite values count as the far background.
    #[inline]
    pub fn apply(&self, d: f32) -> f32 {
        match self.scale {
            None => self.inv_subject as f32,
            Some(scale) => {
                let d = if d.is_finite() {
                    d as f64
                } else {
                    self.far_value
                };
                ((self.inv_far + (d - self.far_value) * scale) as f32)
                    .clamp(0.0, 1.0 / NEAREST_DISTANCE_M)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metres_map_to_inverse_and_fill_invalid() {
        let p = Plane::from_vec(4, 1, vec![2.0, f32::NAN, 2.0, f32::INFINITY]);
        let d = metres_to_disparity(&p);
        assert_eq!(d.data()[0], 0.5);
        assert!((d.data()[1] - 0.5).abs() < 0.3);
        assert_eq!(d.data()[3], 0.0);
    }

    #[test]
    fn anchors_put_subject_at_focus_and_far_at_infinity() {
        // Left half far (value 10), right half subject (value 200).
        let data: Vec<f32> = (0..100)
            .map(|i| if i % 10 < 5 { 10.0 } else { 200.0 })
            .collect();
        let rel = Plane::from_vec(10, 10, data);
        let anchors = DisparityAnchors {
            subject_distance_m: 2.0,
            ..Default::default()
        };
        let d = relative_to_disparity(&rel, 200.0, &anchors);
        assert_eq!(d.data()[0], 0.0);
        assert!((d.data()[9] - 0.5).abs() < 1e-6);
        let anchors = DisparityAnchors {
            subject_distance_m: 2.0,
            background_distance_m: 10.0,
            ..Default::default()
        };
        let d = relative_to_disparity(&rel, 200.0, &anchors);
        assert!((d.data()[0] - 0.1).abs() < 1e-6);
    }

    #[test]
    fn constant_map_puts_everything_at_focus() {
        let rel = Plane::filled(5, 5, 3.0);
        let d = relative_to_disparity(&rel, 3.0, &DisparityAnchors::default());
        assert!(d.data().iter().all(|&v| (v - 0.5).abs() < 1e-6));
    }

    #[test]
    fn percentile_fast_path_matches_the_sorted_scan() {
        // The reference: the sorted weighted scan of the general path.
        let scan = percentile_by_scan;
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as f32 / (1u64 << 31) as f32
        };
        for n in [1usize, 2, 3, 7, 100, 1001] {
            let mut values: Vec<f32> = (0..n).map(|_| (next() * 20.0).floor()).collect();
            if n > 3 {
                values[1] = f32::NAN;
            }
            let mask: Vec<f32> = (0..n).map(|i| if i % 3 == 0 { 0.0 } else { 1.0 }).collect();
            for p in [0.0, 2.0, 33.3, 50.0, 85.0, 99.9, 100.0] {
                assert_eq!(
                    weighted_percentile(&values, None, p),
                    scan(&values, None, p),
                    "n {n} p {p}"
                );
                assert_eq!(
                    weighted_percentile(&values, Some(&mask), p),
                    scan(&values, Some(&mask), p),
                    "n {n} p {p} masked"
                );
            }
        }
        assert_eq!(weighted_percentile(&[], None, 50.0), None);
        assert_eq!(weighted_percentile(&[1.0], Some(&[0.0]), 50.0), None);
    }

    #[test]
    fn subject_is_median_under_matte_or_nearest_centre() {
        let mut data = vec![1.0f32; 100];
        let mut matte = vec![0.0f32; 100];
        for y in 3..7 {
            for x in 3..7 {
                data[y * 10 + x] = 5.0;
                matte[y * 10 + x] = 1.0;
            }
        }
        let d = Plane::from_vec(10, 10, data);
        let m = Plane::from_vec(10, 10, matte);
        assert_eq!(subject_disparity(&d, Some(&m)), Some(5.0));
        assert_eq!(subject_disparity(&d, None), Some(5.0));
    }
}
