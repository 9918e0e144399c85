//! Subject matte: the matting model's output made a full-resolution alpha.
//!
//! The model's alpha (e.g. MODNet at a long side of 512) is upsampled to the working resolution
//! and refined with a guided filter against the photo's lightness, and the filter's linear
//! coefficients are applied to the full-resolution photo (the fast guided filter), so edge
//! detail — hair — follows the photo at full resolution instead of a blurry bilinear ramp.
//! Inside the subject and far from it the filter leaves the alpha as it is.

use super::catalog::{ModelDescriptor, Normalize};
use super::preprocess::guide_value;
use super::refine::{apply_coefficients, guided_coefficients, upsample_map};
use crate::scene::{LinearRgb, Plane};

/// Parameters of the matte refinement (at the working resolution).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatteParams {
    /// Guided-filter radius in working-resolution pixels (0 = plain bilinear upsampling).
    pub radius: usize,
    /// Guided-filter regularisation (larger = smoother, closer to the model's alpha).
    pub eps: f32,
}

impl Default for MatteParams {
    fn default() -> Self {
        MatteParams {
            radius: 3,
            eps: 2e-3,
        }
    }
}

/// The model's raw output as alpha in 0..1 (min-max normalised when the descriptor says so).
pub fn alpha_from_output(raw: &Plane, d: &ModelDescriptor) -> Plane {
    let mut out = raw.clone();
    if d.output.normalize == Normalize::MinMax
        && let Some((lo, hi)) = raw.finite_range()
    {
        let span = if hi > lo { hi - lo } else { 1.0 };
        out.data.iter_mut().for_each(|v| *v = (*v - lo) / span);
    }
    out.data.iter_mut().for_each(|v| {
        *v = if v.is_finite() {
            v.clamp(0.0, 1.0)
        } else {
            0.0
        }
    });
    out
}

/// Refines `alpha` (model resolution) against the working-resolution guide and returns the
/// matte at the working resolution and at the photo's full resolution.
pub fn refine_matte(
    alpha: &Plane,
    guide_w: &Plane,
    photo: &LinearRgb,
    params: &MatteParams,
) -> (Plane, Plane) {
    let p = alpha.resized(guide_w.width, guide_w.height);
    if params.radius == 0 {
        let full = upsample_map(photo.width, photo.height, [&p], |_, [v]| v.clamp(0.0, 1.0));
        return (p, full);
    }
    let (a, b) = guided_coefficients(guide_w, &p, params.radius, params.eps);
    // The filter may only move alpha within the range the model's alpha spans nearby: it
    // sharpens and adds detail inside the edge band but never spreads a glow into the
    // background or holes into the subject.
    let lo = local_extreme(&p, params.radius, f32::min);
    let hi = local_extreme(&p, params.radius, f32::max);
    let mut working = apply_coefficients(&a, &b, guide_w);
    for (i, v) in working.data.iter_mut().enumerate() {
        *v = blend(p.data[i], *v, lo.data[i], hi.data[i]);
    }
    let full = upsample_map(
        photo.width,
        photo.height,
        [&p, &a, &b, &lo, &hi],
        |i, [p, a, b, lo, hi]| {
            let g = guide_value(photo.r[i], photo.g[i], photo.b[i]);
            blend(p, a * g + b, lo, hi)
        },
    );
    (working, full)
}

/// The refined alpha `q` where the model's alpha `p` is uncertain, `p` itself where the model is
/// sure (p ≤ 0.02 or ≥ 0.98), blended between; always within the model's local range.
#[inline]
fn blend(p: f32, q: f32, lo: f32, hi: f32) -> f32 {
    let t = ((p.min(1.0 - p) - 0.02) / 0.15).clamp(0.0, 1.0);
    (p + (q.clamp(lo, hi) - p) * t).clamp(0.0, 1.0)
}

/// Minimum or maximum over a `(2r+1)²` window (separable; O(n·r), for small `r`).
pub fn local_extreme(p: &Plane, r: usize, f: fn(f32, f32) -> f32) -> Plane {
    let (w, h) = (p.width, p.height);
    let mut tmp = vec![0.0f32; w * h];
    for y in 0..h {
        let row = p.row(y);
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            tmp[y * w + x] = row[x0..x1].iter().copied().reduce(f).unwrap_or(row[x]);
        }
    }
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        for x in 0..w {
            out[y * w + x] = (y0..y1).map(|yy| tmp[yy * w + x]).reduce(f).unwrap_or(0.0);
        }
    }
    Plane::from_vec(w, h, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_extremes() {
        let p = Plane::from_vec(5, 1, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(
            local_extreme(&p, 1, f32::max).data,
            vec![0.0, 1.0, 1.0, 1.0, 0.0]
        );
        assert_eq!(local_extreme(&p, 1, f32::min).data, vec![0.0; 5]);
    }

    #[test]
    fn refinement_adds_no_glow_and_follows_the_photo() {
        // Photo: left half dark, right half bright; model alpha: a blurry ramp at the middle.
        let (w, h) = (64, 8);
        let mut photo = LinearRgb::filled(w, h, [0.02; 3]);
        for y in 0..h {
            for x in 32..w {
                photo.set(x, y, [0.8; 3]);
            }
        }
        let alpha = Plane::from_vec(
            16,
            2,
            (0..32)
                .map(|i| ((i % 16) as f32 / 15.0 * 3.0 - 1.0).clamp(0.0, 1.0))
                .collect(),
        );
        let guide = super::super::preprocess::guide_plane(&photo);
        let (_, full) = refine_matte(&alpha, &guide, &photo, &MatteParams::default());
        let plain = alpha.resized(w, h);
        for x in 0..w {
            let (q, p) = (full.at(x, 4), plain.at(x, 4));
            if p == 0.0 {
                assert!(q < 0.05, "glow at {x}: {q}");
            }
        }
        // Sharper at the photo's edge than the bilinear ramp.
        assert!(full.at(33, 4) - full.at(30, 4) > plain.at(33, 4) - plain.at(30, 4));
    }
}
