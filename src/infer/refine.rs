//! Edge-aware upsampling (the fast guided filter) and the depth/matte fusion that makes depth
//! hold up on portraits.
//!
//! * **Guided filter** (He, Sun & Tang 2013): a local linear model `q = a·I + b` of the input
//!   `p` in terms of the guide `I` over `(2r+1)²` windows; edges of `q` follow edges of `I`.
//!   The *fast* variant computes `a, b` at a reduced working resolution and applies them to the
//!   full-resolution guide, so full-resolution detail (single hairs) comes from the photo while
//!   the cost stays at the working resolution.
//! * **Fusion** ([`fuse_depth`]): monocular depth is blurry across the subject's outline and
//!   often wrong in detail. fstop trusts it for the *layout* of the scene and the matte for the
//!   *outline*: the subject becomes a coherent surface around its median disparity (small
//!   relief kept), the background is clamped behind the subject by a margin, the background
//!   behind the subject is filled by push-pull from confidently-background pixels, and the
//!   final map is `m·subject + (1−m)·background` with the full-resolution matte `m`, so depth
//!   edges sit exactly on the matte edge. Objects clearly nearer than the subject outside the
//!   matte (a foreground branch, a glass) are kept as they are — when they reach the bottom
//!   edge of the frame: what stands between the camera and a subject stands on the ground
//!   nearer the camera, so it extends to (or is cut by) the frame's bottom edge. "Nearer"
//!   regions floating higher up are, with a monocular model, far more often its mistakes (a
//!   dark tree, a patch of sky) than overhanging branches, and treating them as foreground
//!   would smear them over the subject.

use rayon::prelude::*;

use crate::depth::weighted_percentile;
use crate::fill::push_pull_fill;

/// [`weighted_percentile`] on at most about `MAX_SAMPLES` evenly strided samples: percentiles
/// of smooth maps need no more, and sorting a megapixel per call would dominate the cost.
pub fn sampled_percentile(values: &[f32], weights: Option<&[f32]>, p: f64) -> Option<f32> {
    const MAX_SAMPLES: usize = 65_536;
    let stride = values.len().div_ceil(MAX_SAMPLES).max(1);
    if stride == 1 {
        return weighted_percentile(values, weights, p);
    }
    let v: Vec<f32> = values.iter().step_by(stride).copied().collect();
    let w: Option<Vec<f32>> = weights.map(|w| w.iter().step_by(stride).copied().collect());
    weighted_percentile(&v, w.as_deref(), p).or_else(|| weighted_percentile(values, weights, p))
}
use crate::scene::{Plane, neighbours4};

/// Rows per parallel strip of [`box_mean`]'s vertical pass.
const BOX_STRIP_ROWS: usize = 32;

/// Box mean over a `(2r+1)²` window, clamped at the borders (each output averages the pixels
/// that exist). O(n) whatever `r`: sliding window sums (in f64, so nothing drifts), the rows
/// in parallel, then the columns in parallel strips of rows.
pub fn box_mean(p: &Plane, r: usize) -> Plane {
    let (w, h) = (p.width(), p.height());
    if w == 0 || h == 0 {
        return p.clone();
    }
    let window = |i: usize, n: usize| (i.saturating_sub(r), (i + r + 1).min(n));
    let mut horiz = vec![0.0f32; w * h];
    horiz
        .par_chunks_mut(w)
        .zip(p.data().par_chunks(w))
        .for_each(|(out, row)| {
            let (mut sum, mut lo, mut hi) = (0.0f64, 0, 0);
            for (x, o) in out.iter_mut().enumerate() {
                let (x0, x1) = window(x, w);
                while hi < x1 {
                    sum += row[hi] as f64;
                    hi += 1;
                }
                while lo < x0 {
                    sum -= row[lo] as f64;
                    lo += 1;
                }
                *o = (sum / (x1 - x0) as f64) as f32;
            }
        });
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(BOX_STRIP_ROWS * w)
        .enumerate()
        .for_each(|(strip, out)| {
            let first = strip * BOX_STRIP_ROWS;
            let mut sum = vec![0.0f64; w];
            let (mut lo, mut hi) = (first.saturating_sub(r), first.saturating_sub(r));
            for (k, o) in out.chunks_mut(w).enumerate() {
                let (y0, y1) = window(first + k, h);
                while hi < y1 {
                    for (s, &v) in sum.iter_mut().zip(&horiz[hi * w..(hi + 1) * w]) {
                        *s += v as f64;
                    }
                    hi += 1;
                }
                while lo < y0 {
                    for (s, &v) in sum.iter_mut().zip(&horiz[lo * w..(lo + 1) * w]) {
                        *s -= v as f64;
                    }
                    lo += 1;
                }
                let inv = 1.0 / (y1 - y0) as f64;
                for (o, &s) in o.iter_mut().zip(&sum) {
                    *o = (s * inv) as f32;
                }
            }
        });
    Plane::from_vec(w, h, out)
}

fn zip_map(a: &Plane, b: &Plane, f: impl Fn(f32, f32) -> f32 + Sync) -> Plane {
    let data = a
        .data()
        .par_iter()
        .zip(b.data().par_iter())
        .map(|(&x, &y)| f(x, y))
        .collect();
    Plane::from_vec(a.width(), a.height(), data)
}

/// The guided filter's smoothed linear coefficients `(mean_a, mean_b)` for guide `guide` and
/// input `p` (same size): the filtered output is `mean_a·I + mean_b`, at this resolution or,
/// after bilinear upsampling of the coefficients, at a higher one.
pub fn guided_coefficients(guide: &Plane, p: &Plane, r: usize, eps: f32) -> (Plane, Plane) {
    assert_eq!((guide.width(), guide.height()), (p.width(), p.height()));
    let mean_i = box_mean(guide, r);
    let mean_p = box_mean(p, r);
    let corr_ii = box_mean(&zip_map(guide, guide, |a, b| a * b), r);
    let corr_ip = box_mean(&zip_map(guide, p, |a, b| a * b), r);
    let n = guide.data().len();
    let mut a = vec![0.0f32; n];
    let mut b = vec![0.0f32; n];
    a.par_iter_mut()
        .zip(b.par_iter_mut())
        .enumerate()
        .for_each(|(i, (a, b))| {
            let var = (corr_ii.data()[i] - mean_i.data()[i] * mean_i.data()[i]).max(0.0);
            let cov = corr_ip.data()[i] - mean_i.data()[i] * mean_p.data()[i];
            *a = cov / (var + eps);
            *b = mean_p.data()[i] - *a * mean_i.data()[i];
        });
    let a = Plane::from_vec(guide.width(), guide.height(), a);
    let b = Plane::from_vec(guide.width(), guide.height(), b);
    (box_mean(&a, r), box_mean(&b, r))
}

/// Applies guided-filter coefficients at their own resolution.
pub fn apply_coefficients(a: &Plane, b: &Plane, guide: &Plane) -> Plane {
    let data = (0..guide.data().len())
        .into_par_iter()
        .map(|i| a.data()[i] * guide.data()[i] + b.data()[i])
        .collect();
    Plane::from_vec(guide.width(), guide.height(), data)
}

/// Bilinear sampling positions from a source axis of `src` pixels to `dst` pixels (pixel
/// centres at +0.5, clamped at the borders, the same convention as [`Plane::sample_bilinear`]).
fn axis_taps(src: usize, dst: usize) -> Vec<(usize, usize, f32)> {
    let scale = src as f32 / dst as f32;
    (0..dst)
        .map(|i| {
            let f = ((i as f32 + 0.5) * scale - 0.5).clamp(0.0, (src - 1) as f32);
            let i0 = f.floor() as usize;
            let i1 = (i0 + 1).min(src - 1);
            (i0, i1, f - i0 as f32)
        })
        .collect()
}

/// One output pixel of [`upsample_map`]: each plane's bilinear value, computed when asked
/// for (a combination that needs only some planes for most pixels skips the others).
pub struct Upsampled<'a, const N: usize> {
    /// The planes' rows, interpolated vertically for the output row.
    rows: &'a [Vec<f32>],
    x0: usize,
    x1: usize,
    tx: f32,
}

impl<const N: usize> Upsampled<'_, N> {
    /// Plane `k`'s value at this pixel.
    #[inline]
    pub fn get(&self, k: usize) -> f32 {
        let row = &self.rows[k];
        row[self.x0] + (row[self.x1] - row[self.x0]) * self.tx
    }

    /// Every plane's value at this pixel.
    #[inline]
    pub fn all(&self) -> [f32; N] {
        std::array::from_fn(|k| self.get(k))
    }
}

/// Upsamples `N` low-resolution planes (all the same size) bilinearly to `width × height` and
/// combines them per pixel: `f(pixel index, values)`. Row-parallel; no full-resolution
/// intermediate is allocated.
pub fn upsample_map<const N: usize>(
    width: usize,
    height: usize,
    planes: [&Plane; N],
    f: impl Fn(usize, &Upsampled<N>) -> f32 + Sync,
) -> Plane {
    let (sw, sh) = (planes[0].width(), planes[0].height());
    for p in &planes {
        assert_eq!((p.width(), p.height()), (sw, sh), "planes differ in size");
    }
    let xt = axis_taps(sw, width);
    let yt = axis_taps(sh, height);
    let mut out = vec![0.0f32; width * height];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let (y0, y1, ty) = yt[y];
        // Vertically interpolated source rows, one per plane.
        let rows: Vec<Vec<f32>> = planes
            .iter()
            .map(|p| {
                let (r0, r1) = (p.row(y0), p.row(y1));
                r0.iter().zip(r1).map(|(&a, &b)| a + (b - a) * ty).collect()
            })
            .collect();
        for (x, o) in row.iter_mut().enumerate() {
            let (x0, x1, tx) = xt[x];
            let px = Upsampled::<N> {
                rows: &rows,
                x0,
                x1,
                tx,
            };
            *o = f(y * width + x, &px);
        }
    });
    Plane::from_vec(width, height, out)
}

/// Parameters of the depth/matte fusion, in units of the subject-to-far-background disparity
/// span (so they do not depend on the depth model's scale).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionParams {
    /// Relief kept on the subject: deviations from its median are clamped to ± this.
    pub subject_relief: f32,
    /// The background is at least this far behind the subject.
    pub background_margin: f32,
    /// Outside the matte, pixels nearer than the subject by more than this are foreground
    /// objects and keep their own disparity.
    pub foreground_margin: f32,
    /// When more than this fraction of the confident background counts as foreground, the
    /// depth model is taken to contradict the matte and no foreground objects are kept.
    pub max_foreground_fraction: f32,
    /// Keep only foreground regions that reach the bottom edge of the frame (see the module
    /// documentation).
    pub foreground_from_bottom: bool,
    /// When the subject's feet are in the frame, the ground they stand on continues towards
    /// the camera: below the horizon the background is at least as near as a flat ground
    /// through the feet (see [`ground_plane`]).
    pub ground_plane: bool,
    /// This percentile of the background's disparity is brought at least
    /// [`Self::background_margin`] behind the subject by rescaling the background towards the far end.
    pub background_percentile: f64,
    /// Pixels within this fraction of the working image's long side of the subject are not
    /// trusted as background (the depth model blurs the subject into its surroundings).
    pub ring_fraction: f32,
    /// The smallest span used (the depth map normalised to 0..1 between its 1st and 99th
    /// percentiles), so a model that sees no depth still gives the background a margin.
    pub min_span: f32,
}

impl Default for FusionParams {
    fn default() -> Self {
        FusionParams {
            subject_relief: 0.08,
            background_margin: 0.5,
            foreground_margin: 0.5,
            max_foreground_fraction: 0.3,
            foreground_from_bottom: true,
            ground_plane: true,
            background_percentile: 80.0,
            ring_fraction: 0.015,
            min_span: 0.3,
        }
    }
}

/// The two smooth fields the full-resolution depth is composed of (working resolution).
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// Disparity of the subject surface (valid under the matte, extrapolated elsewhere).
    pub subject: Plane,
    /// Disparity of what is not the subject: background behind it, foreground objects kept.
    pub background: Plane,
    /// The subject's median disparity.
    pub subject_median: f32,
}

/// Rescales `d` so its 1st..99th percentiles span 0..1 (outliers clamped to −0.5..1.5).
pub fn normalize_robust(d: &Plane) -> Plane {
    let lo = weighted_percentile(d.data(), None, 1.0).unwrap_or(0.0);
    let hi = weighted_percentile(d.data(), None, 99.0).unwrap_or(1.0);
    let span = if hi - lo > 1e-12 { hi - lo } else { 1.0 };
    let data = d
        .data()
        .iter()
        .map(|&v| {
            if v.is_finite() {
                ((v - lo) / span).clamp(-0.5, 1.5)
            } else {
                0.0
            }
        })
        .collect();
    Plane::from_vec(d.width(), d.height(), data)
}

/// Fuses the (edge-aware upsampled, normalised) disparity `d` with the matte `m` at the
/// working resolution. `None` when the matte holds no subject.
pub fn fuse_depth(d: &Plane, m: &Plane, params: &FusionParams) -> Option<Fused> {
    let (w, h) = (d.width(), d.height());
    assert_eq!((m.width(), m.height()), (w, h));
    let strong: Vec<f32> = m
        .data()
        .iter()
        .map(|&a| ((a - 0.5) * 2.0).clamp(0.0, 1.0))
        .collect();
    let count = strong.iter().filter(|&&s| s > 0.0).count();
    if count < 16.max(w * h / 2000) {
        return None;
    }
    let s_med = sampled_percentile(d.data(), Some(&strong), 50.0)?;
    let far = sampled_percentile(d.data(), None, 2.0).unwrap_or(s_med);
    let span = (s_med - far).max(params.min_span);
    let relief = params.subject_relief * span;

    // Subject surface: clamped relief under the matte, extrapolated smoothly elsewhere. It and
    // the background are independent: built side by side.
    let subject_field = || {
        let mut subject: Vec<f32> = d
            .data()
            .iter()
            .map(|&v| s_med + (v - s_med).clamp(-relief, relief))
            .collect();
        push_pull_fill(&mut [&mut subject], &strong, w, h);
        subject
    };
    let (subject, background) = rayon::join(subject_field, || {
        background_field(d, m, params, s_med, far, span)
    });
    Some(Fused {
        subject: Plane::from_vec(w, h, subject),
        background: Plane::from_vec(w, h, background),
        subject_median: s_med,
    })
}

/// What is not the subject, for [`fuse_depth`]: the background behind the subject (median
/// `s_med`), foreground objects kept; `far` is the far end, `span` the subject-to-far span.
fn background_field(
    d: &Plane,
    m: &Plane,
    params: &FusionParams,
    s_med: f32,
    far: f32,
    span: f32,
) -> Vec<f32> {
    let (w, h) = (d.width(), d.height());
    let behind = s_med - params.background_margin * span;
    let front = s_med + params.foreground_margin * span;
    // Background: confident pixels are clearly outside the matte and away from the subject.
    let ring = ((params.ring_fraction * w.max(h) as f32).round() as usize).max(1);
    let near_subject = box_mean(m, ring);
    let confident: Vec<bool> = (0..w * h)
        .map(|i| m.data()[i] < 0.02 && near_subject.data()[i] < 0.02)
        .collect();
    // Foreground objects: outside the matte and clearly nearer than the subject. When a large
    // part of the background looks "clearly nearer", the depth model contradicts the matte
    // (monocular models often do on portraits) and nothing is kept as foreground.
    let candidate = |i: usize| m.data()[i] < 0.5 && d.data()[i] > front;
    let n_conf = confident.iter().filter(|&&c| c).count().max(1);
    let n_fg = (0..w * h).filter(|&i| confident[i] && candidate(i)).count();
    let trust_foreground = (n_fg as f32) <= params.max_foreground_fraction * n_conf as f32;
    let mut foreground: Vec<bool> = (0..w * h)
        .map(|i| trust_foreground && candidate(i))
        .collect();
    if params.foreground_from_bottom {
        foreground = reaching_bottom(&foreground, w, h);
    }
    // The background keeps the model's ordering but is rescaled towards the far end when much
    // of it sits closer than `behind` (so it is consistently behind the subject, not clamped
    // flat against it), then clamped behind the subject.
    let bg_values: Vec<f32> = (0..w * h)
        .filter(|&i| confident[i] && !foreground[i])
        .map(|i| d.data()[i])
        .collect();
    let b_hi = sampled_percentile(&bg_values, None, params.background_percentile).unwrap_or(far);
    let k = if b_hi > behind && b_hi - far > 1e-6 {
        ((behind - far) / (b_hi - far)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let to_background = |v: f32| (far + (v - far) * k).min(behind);
    let mut weights = vec![0.0f32; w * h];
    let mut background = vec![0.0f32; w * h];
    for i in 0..w * h {
        if confident[i] && !foreground[i] {
            weights[i] = 1.0;
            background[i] = to_background(d.data()[i]);
        }
    }
    if weights.iter().all(|&w| w == 0.0) {
        // Nothing is confidently background (the subject fills the frame): put it all behind.
        background.iter_mut().for_each(|b| *b = behind);
    } else {
        push_pull_fill(&mut [&mut background], &weights, w, h);
    }
    let ground = if params.ground_plane {
        ground_plane(m)
    } else {
        None
    };
    for i in 0..w * h {
        background[i] = if foreground[i] {
            d.data()[i]
        } else {
            let b = background[i].min(behind);
            match ground {
                // Disparity of a flat ground grows linearly with the row below the horizon and
                // is the subject's at its feet.
                Some(g) if (i / w) as f32 + 0.5 > g.horizon => {
                    let t = ((i / w) as f32 + 0.5 - g.horizon) / (g.feet - g.horizon);
                    b.max(far + (s_med - far) * t.min(3.0))
                }
                _ => b,
            }
        };
    }
    background
}

/// Where a standing subject meets the ground (rows of the working image).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ground {
    /// The horizon, taken at the figure's eye level (half a head below the crown: a camera
    /// held at eye height).
    pub horizon: f32,
    /// The subject's lowest row (its feet), as a pixel centre.
    pub feet: f32,
}

/// The ground under the subject of matte `m`, when its feet are in the frame: the subject ends
/// clearly above the bottom edge, is a whole figure (at least [`GROUND_MIN_HEAD_HEIGHTS`]
/// head heights from crown to its lowest point, the head found by
/// [`crate::head::find_head`]; a half figure whose matte fades out above the frame's edge is
/// not), and ends narrow (legs and feet, not a cut-off torso: its lowest 5 % are on average
/// under half as wide as its widest row).
pub fn ground_plane(m: &Plane) -> Option<Ground> {
    let (w, h) = (m.width(), m.height());
    let min_count = (w / 200).max(1);
    let widths: Vec<usize> = (0..h)
        .map(|y| m.row(y).iter().filter(|&&a| a >= 0.5).count())
        .collect();
    let top = widths.iter().position(|&c| c >= min_count)?;
    let feet = widths.iter().rposition(|&c| c >= min_count)?;
    let tall = feet - top;
    if feet + 1 + (h / 50).max(1) >= h || tall < 20 {
        return None;
    }
    let widest = *widths[top..=feet].iter().max()? as f32;
    let base = &widths[feet - tall / 20..=feet];
    let base_width = base.iter().sum::<usize>() as f32 / base.len() as f32;
    if base_width >= 0.5 * widest {
        return None;
    }
    let head = crate::head::find_head(m)?;
    let head_height =
        (crate::head::HEAD_HEIGHT_M / crate::head::HEAD_BREADTH_M) as f32 * head.breadth_px as f32;
    let feet = feet as f32 + 0.5;
    let crown = head.crown_row as f32;
    if feet - crown < GROUND_MIN_HEAD_HEIGHTS * head_height {
        return None;
    }
    Some(Ground {
        horizon: crown + 0.5 * head_height,
        feet,
    })
}

/// A figure must be at least this many head heights tall for its lowest point to be its feet.
pub const GROUND_MIN_HEAD_HEIGHTS: f32 = 4.0;

/// The parts of `mask` 4-connected to its bottom row.
fn reaching_bottom(mask: &[bool], w: usize, h: usize) -> Vec<bool> {
    let mut out = vec![false; w * h];
    if h == 0 {
        return out;
    }
    let mut stack: Vec<usize> = ((h - 1) * w..h * w).filter(|&i| mask[i]).collect();
    for &i in &stack {
        out[i] = true;
    }
    while let Some(i) = stack.pop() {
        for j in neighbours4(i, w, h).into_iter().flatten() {
            if mask[j] && !out[j] {
                out[j] = true;
                stack.push(j);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_matches_brute_force() {
        // Sizes smaller and larger than the window, and several strips of the vertical pass.
        for (w, h, r) in [
            (7, 5, 2),
            (1, 1, 3),
            (37, 3 * BOX_STRIP_ROWS + 5, 9),
            (20, 70, 40),
        ] {
            let p = Plane::from_vec(w, h, (0..w * h).map(|i| (i * 7 % 11) as f32).collect());
            let b = box_mean(&p, r);
            for y in 0..h {
                for x in 0..w {
                    let mut s = 0.0;
                    let mut n = 0.0;
                    for yy in y.saturating_sub(r)..(y + r + 1).min(h) {
                        for xx in x.saturating_sub(r)..(x + r + 1).min(w) {
                            s += p.at(xx, yy);
                            n += 1.0;
                        }
                    }
                    assert!((b.at(x, y) - s / n).abs() < 1e-5, "{w}×{h} r{r} ({x},{y})");
                }
            }
        }
    }

    #[test]
    fn guided_filter_keeps_guide_edges_and_smooths_noise() {
        // Guide: a step. Input: the same step, blurred and noisy.
        let (w, h) = (64, 16);
        let guide = Plane::from_vec(
            w,
            h,
            (0..w * h)
                .map(|i| if i % w < 32 { 0.2 } else { 0.8 })
                .collect(),
        );
        let p = Plane::from_vec(
            w,
            h,
            (0..w * h)
                .map(|i| {
                    let x = (i % w) as f32;
                    let noise = if i % 3 == 0 { 0.05 } else { -0.025 };
                    (1.0 / (1.0 + (-(x - 31.5) / 4.0).exp())) + noise
                })
                .collect(),
        );
        let (a, b) = guided_coefficients(&guide, &p, 4, 1e-4);
        let q = apply_coefficients(&a, &b, &guide);
        // Sharper than the input across the edge.
        let jump_q = q.at(32, 8) - q.at(31, 8);
        let jump_p = p.at(32, 8) - p.at(31, 8);
        assert!(jump_q > 2.0 * jump_p, "{jump_q} vs {jump_p}");
        // Fast variant: coefficients at half resolution, applied to the full guide.
        let (a2, b2) = guided_coefficients(&guide.resized(32, 8), &p.resized(32, 8), 2, 1e-4);
        let q2 = upsample_map(w, h, [&a2, &b2], |i, px| {
            px.get(0) * guide.data()[i] + px.get(1)
        });
        assert!(q2.at(32, 8) - q2.at(31, 8) > 2.0 * jump_p);
    }

    #[test]
    fn the_ground_under_a_standing_figure_comes_towards_the_camera() {
        // A standing figure (an elliptic head 12 px wide, a body, two legs; 7 head heights)
        // in front of a flat far background.
        let (w, h) = (100, 160);
        let mut m = Plane::filled(w, h, 0.0);
        let head_h = 12.0 * 23.0 / 15.5;
        for y in 0..h {
            for x in 0..w {
                let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
                let head = ((fx - 50.0) / 6.0).powi(2)
                    + ((fy - 10.0 - head_h / 2.0) / (head_h / 2.0)).powi(2)
                    <= 1.0;
                let neck = fy >= 10.0 + 0.8 * head_h && fy < 30.0 && (fx - 50.0).abs() < 3.0;
                let body = (30.0..80.0).contains(&fy) && (fx - 50.0).abs() < 16.0;
                let legs = (80.0..135.0).contains(&fy)
                    && ((fx - 44.0).abs() < 2.5 || (fx - 56.0).abs() < 2.5);
                if head || neck || body || legs {
                    m.data_mut()[y * w + x] = 1.0;
                }
            }
        }
        let mut d = Plane::filled(w, h, 0.2);
        for (v, &a) in d.data_mut().iter_mut().zip(m.data()) {
            if a > 0.5 {
                *v = 0.9;
            }
        }
        let g = ground_plane(&m).unwrap();
        assert_eq!(g.feet, 134.5);
        assert!((g.horizon - (10.0 + head_h / 2.0)).abs() < 1.5, "{g:?}");
        let f = fuse_depth(&d, &m, &FusionParams::default()).unwrap();
        let (s, far) = (f.subject_median, 0.2);
        // Beside the feet the ground is at the subject's distance; nearer below, farther above.
        let at_feet = f.background.at(10, 134);
        assert!((at_feet - s).abs() < 0.02, "{at_feet} {s}");
        assert!(f.background.at(10, 155) > s);
        assert!(f.background.at(10, 100) < at_feet);
        // Above the horizon the background stays behind the subject.
        assert!(f.background.at(10, 5) < s - 0.1 * (s - far));
        // A figure cut by the bottom edge, a half figure whose matte fades out above the
        // edge, or one ending wide: no ground.
        let mut cut = m.clone();
        for y in 135..h {
            for x in 42..58 {
                cut.data_mut()[y * w + x] = 1.0;
            }
        }
        assert_eq!(ground_plane(&cut), None);
        let mut half = m.clone();
        for v in &mut half.data_mut()[60 * w..] {
            *v = 0.0;
        }
        for y in 55..60 {
            for x in 30..70 {
                half.data_mut()[y * w + x] = if x % 10 < 3 { 1.0 } else { 0.0 };
            }
        }
        assert_eq!(ground_plane(&half), None);
        let mut wide = m.clone();
        for y in 120..135 {
            for x in 30..70 {
                wide.data_mut()[y * w + x] = 1.0;
            }
        }
        assert_eq!(ground_plane(&wide), None);
        let off = FusionParams {
            ground_plane: false,
            ..FusionParams::default()
        };
        assert!(fuse_depth(&d, &m, &off).unwrap().background.at(10, 155) < s);
    }

    #[test]
    fn upsample_map_is_bilinear() {
        let p = Plane::from_vec(3, 2, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        let up = upsample_map(9, 4, [&p], |_, px| px.get(0));
        let reference = p.resized(9, 4);
        for (a, b) in up.data().iter().zip(reference.data()) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn fusion_flattens_subject_pushes_background_back_keeps_foreground() {
        let (w, h) = (60, 40);
        let mut d = Plane::filled(w, h, 0.5);
        let mut m = Plane::filled(w, h, 0.0);
        for y in 10..40 {
            for x in 20..40 {
                let i = y * w + x;
                m.data_mut()[i] = 1.0;
                d.data_mut()[i] = 0.7 + 0.2 * (x as f32 / w as f32); // a tilted subject
            }
        }
        // Background slopes from far (0) on the left to close to the subject on the right.
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if m.data()[i] == 0.0 {
                    d.data_mut()[i] = x as f32 / w as f32 * 0.8;
                }
            }
        }
        // A foreground object in the bottom-left corner.
        for y in 32..40 {
            for x in 0..6 {
                d.data_mut()[y * w + x] = 1.5;
            }
        }
        let f = fuse_depth(&d, &m, &FusionParams::default()).unwrap();
        let s = f.subject_median;
        for y in 10..40 {
            for x in 20..40 {
                let v = f.subject.at(x, y);
                assert!((v - s).abs() <= 0.08 * 0.9 + 1e-4, "{v} {s}");
            }
        }
        let span = s - weighted_percentile(d.data(), None, 2.0).unwrap();
        for y in 0..32 {
            for x in 0..w {
                assert!(f.background.at(x, y) <= s - 0.15 * span + 1e-4);
            }
        }
        assert_eq!(f.background.at(2, 36), 1.5);
        // A "nearer" patch high in the frame (a monocular model's mistake) is background.
        let mut d2 = d.clone();
        for y in 2..8 {
            for x in 50..58 {
                d2.data_mut()[y * w + x] = 1.5;
            }
        }
        let f2 = fuse_depth(&d2, &m, &FusionParams::default()).unwrap();
        assert!(f2.background.at(54, 4) <= s - 0.15 * span + 1e-4);
        assert_eq!(f2.background.at(2, 36), 1.5);
        let keep_all = FusionParams {
            foreground_from_bottom: false,
            ..FusionParams::default()
        };
        assert_eq!(
            fuse_depth(&d2, &m, &keep_all).unwrap().background.at(54, 4),
            1.5
        );
        // Behind the subject, the background is filled from around, not from the subject.
        assert!(f.background.at(30, 30) < s - 0.15 * span + 1e-4);
        // No subject: nothing to fuse.
        assert!(fuse_depth(&d, &Plane::filled(w, h, 0.0), &FusionParams::default()).is_none());
    }
}
