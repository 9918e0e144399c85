//! Depth: the depth model's output as relative disparity, refined edge-aware and fused with
//! the matte at full resolution (see [`super::refine`]).

use super::catalog::{ModelDescriptor, Normalize, OutputMeaning};
use super::refine::{
    FusionParams, apply_coefficients, fuse_depth, guided_coefficients, normalize_robust,
    upsample_map,
};
use crate::depth::weighted_percentile;
use crate::scene::Plane;

/// Parameters of the depth refinement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DepthParams {
    /// Guided-filter radius at the working resolution, as a multiple of the upsampling factor
    /// from the model's output.
    pub radius_per_scale: f32,
    /// Guided-filter regularisation (disparity normalised to 0..1).
    pub eps: f32,
    pub fusion: FusionParams,
}

impl Default for DepthParams {
    fn default() -> Self {
        DepthParams {
            radius_per_scale: 2.0,
            eps: 1e-2,
            fusion: FusionParams::default(),
        }
    }
}

/// The model's raw output as relative disparity (larger = nearer). Depth (larger = farther,
/// metric or not) becomes `1/depth`, with depths at or below zero lifted to a small positive
/// floor first.
pub(crate) fn disparity_from_output(raw: &Plane, d: &ModelDescriptor) -> Plane {
    let mut v = raw.clone();
    if d.output.normalize == Normalize::MinMax
        && let Some((lo, hi)) = raw.finite_range()
    {
        let span = if hi > lo { hi - lo } else { 1.0 };
        v.data_mut().iter_mut().for_each(|x| *x = (*x - lo) / span);
    }
    match d.output.meaning {
        OutputMeaning::RelativeDisparity | OutputMeaning::Alpha => {}
        OutputMeaning::Depth | OutputMeaning::MetricDepth => {
            let hi = weighted_percentile(v.data(), None, 99.0).unwrap_or(1.0);
            let lo = weighted_percentile(v.data(), None, 0.0).unwrap_or(0.0);
            // Shift non-positive depths up; never divide by less than 1 % of the far depth.
            let shift = if lo <= 0.0 { -lo } else { 0.0 };
            let floor = (0.01 * (hi + shift)).max(1e-6);
            v.data_mut().iter_mut().for_each(|z| {
                *z = if z.is_finite() {
                    1.0 / (*z + shift).max(floor)
                } else {
                    f32::NAN
                }
            });
        }
    }
    crate::depth::sanitize_relative(v)
}

/// Refines the model-resolution relative disparity `disp` to the photo's full resolution
/// (`width × height`): guided upsampling against the working guide, then fusion with the matte
/// (`matte_w` at the working resolution, `matte_full` at full resolution). Without a subject in
/// the matte the guided map is returned as it is. Values are normalised (about 0..1).
pub(crate) fn refine_depth(
    disp: &Plane,
    guide_w: &Plane,
    matte_w: &Plane,
    matte_full: &Plane,
    params: &DepthParams,
) -> Plane {
    let (ww, wh) = (guide_w.width(), guide_w.height());
    let d = normalize_robust(disp);
    let up = d.resized(ww, wh);
    let scale = ww.max(wh) as f32 / disp.width().max(disp.height()).max(1) as f32;
    let radius = ((params.radius_per_scale * scale).round() as usize).max(1);
    let (a, b) = guided_coefficients(guide_w, &up, radius, params.eps);
    let guided = apply_coefficients(&a, &b, guide_w);
    let (w, h) = (matte_full.width(), matte_full.height());
    match fuse_depth(&guided, matte_w, &params.fusion) {
        Some(f) => upsample_map(w, h, [&f.subject, &f.background], |i, px| {
            // Most pixels are all subject or all background.
            match matte_full.data()[i] {
                m if m <= 0.0 => px.get(1),
                m if m >= 1.0 => px.get(0),
                m => m * px.get(0) + (1.0 - m) * px.get(1),
            }
        }),
        None => upsample_map(w, h, [&guided], |_, px| px.get(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::catalog::Catalog;

    #[test]
    fn depth_becomes_inverse_and_disparity_stays() {
        let c = Catalog::builtin().unwrap();
        let raw = Plane::from_vec(4, 1, vec![1.0, 2.0, 4.0, 0.0]);
        let d = disparity_from_output(&raw, &c.model["fastdepth"]);
        assert_eq!(d.data()[0], 1.0);
        assert_eq!(d.data()[1], 0.5);
        assert_eq!(d.data()[2], 0.25);
        assert!(d.data()[3] > 1.0); // zero depth = nearest, not infinite
        assert!(d.data().iter().all(|v| v.is_finite()));
        let r = disparity_from_output(&raw, &c.model["depth-anything-v2-small"]);
        assert_eq!(r.data(), raw.data());
    }
}
