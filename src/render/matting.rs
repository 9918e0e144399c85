//! Foreground and background colour estimation under the matte.
//!
//! A pixel of matte `m` is a mix `I = m·F + (1−m)·B` of the subject's colour `F` and the
//! background behind it `B`. Blurring `I` as-is would smear subject colour into the bokeh
//! (a halo); fstop splits it first:
//!
//! * `B̂` — a push-pull fill ([`crate::fill::push_pull_fill`]) of the image from confident
//!   background (weights `(1 − 2m)²` for `m < ½`), and `F̃` likewise from confident subject
//!   (weights `(2m − 1)²` for `m > ½`). Both are computed at half resolution and the final
//!   pull step at full resolution (`x̂ = w·I + (1 − w)·up(fill)`, exactly what the last level of
//!   push-pull does), which keeps the cost well below a full-resolution fill.
//! * where the matte is high, `F = (I − (1−m)·B̂)/m` with `B = B̂`; where it is low,
//!   `B = (I − m·F̃)/(1−m)` with `F = F̃`; between (`m` 0.25…0.75) the two are blended with the
//!   same weight. Each pair satisfies `m·F + (1−m)·B = I`, so the blend does too: with nothing
//!   blurred the photo comes back exactly (up to clamping `F`, `B` to the valid range).

use rayon::prelude::*;

use super::coc::{sane_matte, smoothstep};
use super::layers::split_rows;
use crate::fill::push_pull_fill;
use crate::scene::Plane;

/// Weight of a pixel as confident background.
#[inline]
fn background_weight(m: f32) -> f32 {
    let t = (1.0 - 2.0 * m).max(0.0);
    t * t
}

/// Weight of a pixel as confident subject.
#[inline]
fn subject_weight(m: f32) -> f32 {
    let t = (2.0 * m - 1.0).max(0.0);
    t * t
}

/// Half-resolution push-pull fills of confident background and subject colour.
#[derive(Debug, Clone)]
pub(crate) struct MatteFills {
    width: usize,
    height: usize,
    /// `[B̂ r, g, b, F̃ r, g, b]` planes at half resolution.
    planes: [Vec<f32>; 6],
}

/// A colour channel value made safe (non-finite → 0, negative → 0).
#[inline]
pub(crate) fn sane(v: f32) -> f32 {
    if v.is_finite() { v.max(0.0) } else { 0.0 }
}

impl MatteFills {
    /// Builds both fills from full-resolution colour planes and the matte.
    pub(crate) fn new(color: [&[f32]; 3], matte: &[f32], width: usize, height: usize) -> Self {
        let w1 = width.div_ceil(2);
        let h1 = height.div_ceil(2);
        let n1 = w1 * h1;
        // Planes 0..3: background colour, 3..6: subject colour, 6, 7: their weights.
        let mut planes: Vec<Vec<f32>> = (0..8).map(|_| vec![0.0f32; n1]).collect();
        let totals: Vec<[f64; 2]> = split_rows(&mut planes, w1)
            .into_par_iter()
            .enumerate()
            .map(|(y1, mut row)| {
                let mut total = [0.0f64; 2];
                for x1 in 0..w1 {
                    let mut s = [0.0f32; 8];
                    for y in 2 * y1..(2 * y1 + 2).min(height) {
                        for x in 2 * x1..(2 * x1 + 2).min(width) {
                            let i = y * width + x;
                            let m = sane_matte(matte[i]);
                            let (wb, wf) = (background_weight(m), subject_weight(m));
                            for c in 0..3 {
                                let v = sane(color[c][i]);
                                s[c] += v * wb;
                                s[3 + c] += v * wf;
                            }
                            s[6] += wb;
                            s[7] += wf;
                        }
                    }
                    for side in 0..2 {
                        let w = s[6 + side];
                        total[side] += f64::from(w);
                        for c in 0..3 {
                            row[3 * side + c][x1] = if w > 0.0 { s[3 * side + c] / w } else { 0.0 };
                        }
                        row[6 + side][x1] = w.min(1.0);
                    }
                }
                total
            })
            .collect();
        let mut planes: [Vec<f32>; 8] = planes.try_into().expect("eight planes");
        for side in 0..2 {
            if totals.iter().all(|t| t[side] <= 0.0) {
                // No confident pixel at all: use the plain image (push-pull leaves it as is).
                for c in 0..3 {
                    planes[3 * side + c] =
                        Plane::from_vec(width, height, color[c].iter().map(|&v| sane(v)).collect())
                            .resized(w1, h1)
                            .data;
                }
            }
        }
        let [br, bg, bb, fr, fg, fb, wb, wf] = &mut planes;
        rayon::join(
            || push_pull_fill(&mut [br, bg, bb], wb, w1, h1),
            || push_pull_fill(&mut [fr, fg, fb], wf, w1, h1),
        );
        let [br, bg, bb, fr, fg, fb, _, _] = planes;
        MatteFills {
            width: w1,
            height: h1,
            planes: [br, bg, bb, fr, fg, fb],
        }
    }

    /// Bilinear samples of the six fill planes at full-resolution pixel (x, y), using the
    /// push-pull convention (coarse centres at `(i + 0.5)·2`).
    #[inline]
    fn sample(&self, x: usize, y: usize) -> [f32; 6] {
        let cx = ((x as f32 + 0.5) * 0.5 - 0.5).clamp(0.0, (self.width - 1) as f32);
        let cy = ((y as f32 + 0.5) * 0.5 - 0.5).clamp(0.0, (self.height - 1) as f32);
        let x0 = cx as usize;
        let y0 = cy as usize;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let tx = cx - x0 as f32;
        let ty = cy - y0 as f32;
        let (i00, i01) = (y0 * self.width + x0, y0 * self.width + x1);
        let (i10, i11) = (y1 * self.width + x0, y1 * self.width + x1);
        std::array::from_fn(|c| {
            let p = &self.planes[c];
            let top = p[i00] + (p[i01] - p[i00]) * tx;
            let bottom = p[i10] + (p[i11] - p[i10]) * tx;
            top + (bottom - top) * ty
        })
    }

    /// Splits pixel (x, y) of colour `rgb` (sane) and matte `m` (sane) into subject colour `F`
    /// and background colour `B`, each clamped to `0..=hi`.
    #[inline]
    pub(crate) fn unmix(
        &self,
        x: usize,
        y: usize,
        rgb: [f32; 3],
        m: f32,
        hi: f32,
    ) -> ([f32; 3], [f32; 3]) {
        if m <= 0.0 {
            return (rgb, rgb);
        }
        let s = self.sample(x, y);
        let (wb, wf) = (background_weight(m), subject_weight(m));
        let a = smoothstep(0.25, 0.75, m);
        let mut f = [0.0; 3];
        let mut b = [0.0; 3];
        for c in 0..3 {
            let bg_hat = wb * rgb[c] + (1.0 - wb) * s[c];
            let fg_hat = wf * rgb[c] + (1.0 - wf) * s[3 + c];
            let (f1, b1) = if a > 0.0 {
                ((rgb[c] - (1.0 - m) * bg_hat) / m, bg_hat)
            } else {
                (0.0, 0.0)
            };
            let (f2, b2) = if a < 1.0 {
                (fg_hat, (rgb[c] - m * fg_hat) / (1.0 - m))
            } else {
                (0.0, 0.0)
            };
            f[c] = (a * f1 + (1.0 - a) * f2).clamp(0.0, hi);
            b[c] = (a * b1 + (1.0 - a) * b2).clamp(0.0, hi);
        }
        (f, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmixing_recomposes_the_photo_and_removes_the_subject_from_the_background() {
        // Left half red subject, right half blue background, a soft edge in between.
        let (w, h) = (32, 8);
        let mut matte = vec![0.0f32; w * h];
        let mut r = vec![0.0f32; w * h];
        let mut b = vec![0.0f32; w * h];
        let g = vec![0.1f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let m = ((20.0 - x as f32) / 8.0).clamp(0.0, 1.0);
                let i = y * w + x;
                matte[i] = m;
                r[i] = m * 0.9 + (1.0 - m) * 0.1;
                b[i] = m * 0.1 + (1.0 - m) * 0.8;
            }
        }
        let fills = MatteFills::new([&r, &g, &b], &matte, w, h);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let m = matte[i];
                let rgb = [r[i], g[i], b[i]];
                let (f, bb) = fills.unmix(x, y, rgb, m, 1.0);
                for c in 0..3 {
                    let back = m * f[c] + (1.0 - m) * bb[c];
                    assert!(
                        (back - rgb[c]).abs() < 1e-5,
                        "({x},{y}) c{c}: {back} vs {}",
                        rgb[c]
                    );
                }
                if m > 0.05 && m < 0.95 {
                    // The estimates are close to the true colours.
                    assert!(
                        (f[0] - 0.9).abs() < 0.1 && (bb[2] - 0.8).abs() < 0.1,
                        "{f:?} {bb:?}"
                    );
                }
            }
        }
    }
}
