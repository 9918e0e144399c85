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
    let mut working = apply_coefficients(&a, &b, guide_w);
    working.data.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
    let full = upsample_map(photo.width, photo.height, [&a, &b], |i, [a, b]| {
        (a * guide_value(photo.r[i], photo.g[i], photo.b[i]) + b).clamp(0.0, 1.0)
    });
    (working, full)
}
