//! Subject matte: the matting model's output made a full-resolution alpha.
//!
//! The model's alpha (e.g. MODNet at a long side of 512) is upsampled to the working resolution
//! and refined with a guided filter against the photo's lightness, and the filter's linear
//! coefficients are applied to the full-resolution photo (the fast guided filter), so edge
//! detail — hair — follows the photo at full resolution instead of a blurry bilinear ramp.
//! Inside the subject and far from it the filter leaves the alpha as it is.

use rayon::prelude::*;

use super::catalog::{ModelDescriptor, Normalize};
use super::preprocess::guide_value;
use super::refine::{apply_coefficients, guided_coefficients, upsample_map};
use crate::scene::{LinearRgb, Plane, neighbours4};

/// Parameters of the matte refinement (at the working resolution).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatteParams {
    /// Guided-filter radius in working-resolution pixels (0 = plain bilinear upsampling).
    pub radius: usize,
    /// Guided-filter regularisation (larger = smoother, closer to the model's alpha).
    pub eps: f32,
    /// Islands of the matte (regions not connected to the subject even through faint alpha)
    /// whose solid part is smaller than this fraction of the largest region's are removed:
    /// they are background the model mistook for subject (a bauble, a face far behind), and
    /// would stay sharp in the blurred background. 0 keeps everything.
    pub island_fraction: f32,
}

impl Default for MatteParams {
    fn default() -> Self {
        MatteParams {
            radius: 3,
            eps: 2e-3,
            island_fraction: 0.02,
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
    let p = remove_islands(
        &alpha.resized(guide_w.width, guide_w.height),
        params.island_fraction,
    );
    if params.radius == 0 {
        let full = upsample_map(photo.width, photo.height, [&p], |_, px| {
            px.get(0).clamp(0.0, 1.0)
        });
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
        |i, px| {
            let p = px.get(0);
            if refinement_weight(p) == 0.0 {
                // Where the model is sure its alpha stays: no guide or coefficients needed.
                return p.clamp(0.0, 1.0);
            }
            let g = guide_value(photo.r[i], photo.g[i], photo.b[i]);
            let [_, a, b, lo, hi] = px.all();
            blend(p, a * g + b, lo, hi)
        },
    );
    (working, full)
}

/// The refined alpha `q` where the model's alpha `p` is uncertain, `p` itself where the model is
/// sure (p ≤ 0.02 or ≥ 0.98), blended between; always within the model's local range.
#[inline]
fn blend(p: f32, q: f32, lo: f32, hi: f32) -> f32 {
    let t = refinement_weight(p);
    (p + (q.clamp(lo, hi) - p) * t).clamp(0.0, 1.0)
}

/// How much of the refined alpha [`blend`] takes where the model's alpha is `p`: 0 where the
/// model is sure (p ≤ 0.02 or ≥ 0.98), rising to 1 over the next 0.15.
#[inline]
fn refinement_weight(p: f32) -> f32 {
    ((p.min(1.0 - p) - 0.02) / 0.15).clamp(0.0, 1.0)
}

/// Alpha at or above this connects regions (so wisps of hair joined to the head by faint alpha
/// belong to it).
const ISLAND_CONNECT_ALPHA: f32 = 0.1;

/// Removes small islands from `alpha`: regions 4-connected through alpha ≥ 0.1 whose solid
/// part (alpha ≥ 0.5) is smaller than `fraction` of the largest region's are set to 0.
pub fn remove_islands(alpha: &Plane, fraction: f32) -> Plane {
    let (w, h) = (alpha.width, alpha.height);
    if fraction <= 0.0 || w == 0 || h == 0 {
        return alpha.clone();
    }
    const NONE: u32 = u32::MAX;
    let mut label = vec![NONE; w * h];
    let mut solid: Vec<usize> = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if label[start] != NONE || alpha.data[start] < ISLAND_CONNECT_ALPHA {
            continue;
        }
        let id = solid.len() as u32;
        let mut count = 0;
        label[start] = id;
        stack.push(start);
        while let Some(i) = stack.pop() {
            count += usize::from(alpha.data[i] >= 0.5);
            for j in neighbours4(i, w, h).into_iter().flatten() {
                if label[j] == NONE && alpha.data[j] >= ISLAND_CONNECT_ALPHA {
                    label[j] = id;
                    stack.push(j);
                }
            }
        }
        solid.push(count);
    }
    let largest = solid.iter().copied().max().unwrap_or(0);
    let keep: Vec<bool> = solid
        .iter()
        .map(|&n| n == 0 || n as f32 >= fraction * largest as f32)
        .collect();
    let data = alpha
        .data
        .iter()
        .zip(&label)
        .map(|(&a, &l)| {
            if l != NONE && !keep[l as usize] {
                0.0
            } else {
                a
            }
        })
        .collect();
    Plane::from_vec(w, h, data)
}

/// Minimum or maximum over a `(2r+1)²` window (separable; O(n·r), for small `r`).
pub fn local_extreme(p: &Plane, r: usize, f: fn(f32, f32) -> f32) -> Plane {
    let (w, h) = (p.width, p.height);
    let mut tmp = vec![0.0f32; w * h];
    tmp.par_chunks_mut(w.max(1))
        .zip(p.data.par_chunks(w.max(1)))
        .for_each(|(out, row)| {
            for (x, o) in out.iter_mut().enumerate() {
                let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
                *o = row[x0..x1].iter().copied().reduce(f).unwrap_or(row[x]);
            }
        });
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, o)| {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
        o.copy_from_slice(&tmp[y0 * w..(y0 + 1) * w]);
        for yy in y0 + 1..y1 {
            for (v, &t) in o.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
                *v = f(*v, t);
            }
        }
    });
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
    fn small_islands_are_removed_wisps_and_second_subjects_kept() {
        let (w, h) = (100, 80);
        let mut a = Plane::filled(w, h, 0.0);
        let mut set = |x0: usize, y0: usize, x1: usize, y1: usize, v: f32| {
            for y in y0..y1 {
                for x in x0..x1 {
                    a.data[y * w + x] = v;
                }
            }
        };
        set(10, 10, 50, 80, 1.0); // the subject: 2800 solid pixels
        set(50, 20, 60, 21, 0.2); // a faint wisp of hair leading to
        set(60, 18, 63, 23, 0.8); // a solid strand end (15 px, joined through the wisp)
        set(80, 60, 84, 64, 1.0); // a bauble: 16 px, alone
        set(70, 5, 95, 30, 1.0); // a second person: 625 px (22 %)
        set(0, 0, 3, 3, 0.3); // faint haze, no solid part: left alone
        let out = remove_islands(&a, 0.02);
        assert_eq!(out.at(30, 40), 1.0);
        assert_eq!(out.at(61, 20), 0.8);
        assert_eq!(out.at(55, 20), 0.2);
        assert_eq!(out.at(82, 62), 0.0);
        assert_eq!(out.at(80, 10), 1.0);
        assert_eq!(out.at(1, 1), 0.3);
        assert_eq!(remove_islands(&a, 0.0), a);
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
