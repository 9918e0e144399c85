//! Foreground and background colour estimation under the matte.
//!
//! A pixel of matte `m` is a mix `I = m·F + (1−m)·B` of the subject's colour `F` and the
//! background behind it `B`. Blurring `I` as-is would smear subject colour into the bokeh
//! (a halo); fstop splits it first:
//!
//! * `B̂` — a push-pull fill ([`crate::fill::push_pull_fill`]) of the image from confident
//!   background (weights `(1 − 3m)²` for `m < ⅓`), and `F̃` likewise from confident subject
//!   (weights `(3m − 2)²` for `m > ⅔`). Both are pushed and pulled on a grid up to 16× coarser
//!   than the photo (at least 256 px along its long side, see [`matte_fill_level`]), and the final
//!   pull step is done per photo pixel (`x̂ = w·I + (1 − w)·up(fill)`, what push-pull's last
//!   level does), which keeps the cost a small fraction of a full-resolution fill.
//! * where the matte is high, `F = (I − (1−m)·B̂)/m` with `B = B̂`; where it is low,
//!   `B = (I − m·F̃)/(1−m)` with `F = F̃`; between (`m` 0.25…0.75) the two are blended with the
//!   same weight. Each pair satisfies `m·F + (1−m)·B = I`, so the blend does too; where an
//!   estimate would leave the valid range it is moved along that line (`F − B` shrunk), so
//!   with nothing blurred the photo always comes back exactly.

use rayon::prelude::*;

use super::coc::smoothstep;
use crate::fill::push_pull_fill;
use crate::scene::{LinearRgb, Plane};

/// Weight of a pixel as confident background.
#[inline]
fn background_weight(m: f32) -> f32 {
    let t = (1.0 - 3.0 * m).max(0.0);
    t * t
}

/// Weight of a pixel as confident subject.
#[inline]
fn subject_weight(m: f32) -> f32 {
    let t = (3.0 * m - 2.0).max(0.0);
    t * t
}

/// Resolution level of the fills for a `width × height` photo: the coarsest (at most 4, 1/16
/// each way) whose grid still has at least 256 pixels along the long side (a 12 MP photo:
/// 1/8). The fills are smooth estimates of the colour behind hair, sampled only where the matte
/// is partial; push-pull cost is what this keeps small.
pub(crate) fn matte_fill_level(width: usize, height: usize) -> u32 {
    let long = width.max(height).max(1);
    (long / 256).max(1).ilog2().min(4)
}

/// Per fill pixel, sums over its box of photo pixels (see [`accumulate`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FillSums {
    /// Confident background: `[r·w, g·w, b·w, w]`.
    pub background: [f32; 4],
    /// Confident subject: `[r·w, g·w, b·w, w]`.
    pub subject: [f32; 4],
    /// Unweighted `[r, g, b, count]`, for when no pixel is confident at all.
    pub plain: [f32; 4],
    /// The subject's signed CoC times its weight.
    pub subject_coc: f32,
    /// `m·u` and `u`, `u` the pixel's weight off the near side: the matte behind occluders.
    pub matte_off_near: f32,
    pub off_near: f32,
}

impl std::ops::AddAssign for FillSums {
    #[inline]
    fn add_assign(&mut self, o: FillSums) {
        for c in 0..4 {
            self.background[c] += o.background[c];
            self.subject[c] += o.subject[c];
            self.plain[c] += o.plain[c];
        }
        self.subject_coc += o.subject_coc;
        self.matte_off_near += o.matte_off_near;
        self.off_near += o.off_near;
    }
}

impl FillSums {
    /// The `[r·w, g·w, b·w, w]` sums of the background (`0`) or subject (`1`) estimate.
    fn side(&self, side: usize) -> &[f32; 4] {
        if side == 0 {
            &self.background
        } else {
            &self.subject
        }
    }
}

/// Adds photo pixel colour `rgb` (sane) of matte `m` (sane), signed CoC `c` and near-side
/// membership `near` to a fill pixel's sums.
#[inline]
pub(crate) fn accumulate(s: &mut FillSums, rgb: [f32; 3], m: f32, c: f32, near: f32) {
    let v = [rgb[0], rgb[1], rgb[2], 1.0];
    let add = |sums: &mut [f32; 4], weight: f32| {
        for (dst, x) in sums.iter_mut().zip(v) {
            *dst += x * weight;
        }
    };
    // Most pixels are pure background or pure subject (weights 1 and 0).
    if m <= 0.0 {
        add(&mut s.background, 1.0);
    } else if m >= 1.0 {
        add(&mut s.subject, 1.0);
        s.subject_coc += c;
    } else {
        let (wb, wf) = (background_weight(m), subject_weight(m));
        add(&mut s.background, wb);
        add(&mut s.subject, wf);
        s.subject_coc += c * wf;
    }
    add(&mut s.plain, 1.0);
    // The matte of what is not near-side occluder: filled in behind the occluders.
    let u = 1.0 - near;
    s.matte_off_near += m * u;
    s.off_near += u;
}

/// Reduced-resolution push-pull fills of confident background and subject colour.
#[derive(Debug, Clone)]
pub(crate) struct MatteFills {
    width: usize,
    height: usize,
    /// Photo pixels per fill pixel along each axis.
    scale: f32,
    /// Per fill pixel, `[B̂ r, g, b, F̃ r, g, b, F̃ CoC, matte behind near occluders]`
    /// (interleaved: a bilinear sample reads four neighbouring entries, not 32 scattered ones).
    px: Vec<[f32; 8]>,
}

/// The fill planes bilinearly sampled at one photo pixel ([`MatteFills::at`]): a matte-edge
/// pixel's subject CoC, colours and what is behind an occluder all come from one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FillSample([f32; 8]);

/// A colour channel value made safe (non-finite → 0, negative → 0).
#[inline]
pub(crate) fn sane(v: f32) -> f32 {
    // Plain comparisons (NaN fails both): cheaper than `is_finite` + `max`.
    if v > 0.0 && v < f32::INFINITY { v } else { 0.0 }
}

impl MatteFills {
    /// Builds both fills from the box sums of a `width × height` fill grid at `level`
    /// (`⌈photo / 2^level⌉`).
    pub(crate) fn new(sums: &[FillSums], width: usize, height: usize, level: u32) -> Self {
        let n = width * height;
        // [B̂ r, g, b, F̃ r, g, b, F̃ CoC, matte behind occluders, weights: B̂, F̃, behind]
        let mut planes: [Vec<f32>; 11] = std::array::from_fn(|_| vec![0.0f32; n]);
        let mut confident = [false; 2];
        for (i, s) in sums.iter().enumerate() {
            for side in 0..2 {
                let sums = s.side(side);
                let w = sums[3];
                confident[side] |= w > 0.0;
                for c in 0..3 {
                    planes[3 * side + c][i] = if w > 0.0 { sums[c] / w } else { 0.0 };
                }
                // As push-pull's own push: a box's weight saturates at 1.
                planes[8 + side][i] = w.min(1.0);
            }
            if s.subject[3] > 0.0 {
                planes[6][i] = s.subject_coc / s.subject[3];
            }
            if s.off_near > 0.0 {
                planes[7][i] = s.matte_off_near / s.off_near;
            }
            planes[10][i] = s.off_near.min(1.0);
        }
        for side in 0..2 {
            if !confident[side] {
                // No confident pixel at all: keep the plain image (push-pull leaves it).
                for c in 0..3 {
                    for (i, s) in sums.iter().enumerate() {
                        planes[3 * side + c][i] = s.plain[c] / s.plain[3].max(1.0);
                    }
                }
            }
        }
        let [br, bg, bb, fr, fg, fb, fc, mb, wb, wf, wu] = &mut planes;
        rayon::join(
            || push_pull_fill(&mut [br, bg, bb], wb, width, height),
            || {
                push_pull_fill(&mut [fr, fg, fb, fc], wf, width, height);
                push_pull_fill(&mut [mb], wu, width, height);
            },
        );
        let px = (0..n)
            .map(|i| std::array::from_fn(|c| planes[c][i]))
            .collect();
        MatteFills {
            width,
            height,
            scale: (1u32 << level) as f32,
            px,
        }
    }

    /// Bilinear samples of the fill planes at photo pixel (x, y) (fill pixel centres at
    /// `(i + ½)·scale`).
    #[inline]
    pub(crate) fn at(&self, x: usize, y: usize) -> FillSample {
        let inv = 1.0 / self.scale;
        // (Through 32-bit integers: 64-bit ↔ float conversions are slow on x86-64.)
        let cx = ((x as u32 as f32 + 0.5) * inv - 0.5).clamp(0.0, (self.width - 1) as u32 as f32);
        let cy = ((y as u32 as f32 + 0.5) * inv - 0.5).clamp(0.0, (self.height - 1) as u32 as f32);
        let (x0, y0) = (cx as i32, cy as i32);
        let (tx, ty) = (cx - x0 as f32, cy - y0 as f32);
        let (x0, y0) = (x0 as usize, y0 as usize);
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let (p00, p01) = (self.px[y0 * self.width + x0], self.px[y0 * self.width + x1]);
        let (p10, p11) = (self.px[y1 * self.width + x0], self.px[y1 * self.width + x1]);
        FillSample(std::array::from_fn(|c| {
            let top = p00[c] + (p01[c] - p00[c]) * tx;
            let bottom = p10[c] + (p11[c] - p10[c]) * tx;
            top + (bottom - top) * ty
        }))
    }

    /// [`MatteFills::at`] where there are fills.
    #[inline]
    pub(crate) fn sample(fills: Option<&MatteFills>, x: usize, y: usize) -> Option<FillSample> {
        fills.map(|f| f.at(x, y))
    }
}

impl FillSample {
    /// The subject's own signed CoC near the pixel: a push-pull fill of the CoC of confident
    /// subject pixels. A matte-edge pixel's subject share (a hair over a far background, whose
    /// depth at the pixel is the background's) is blurred with it.
    #[inline]
    pub(crate) fn subject_coc(&self) -> f32 {
        self.0[6]
    }

    /// The subject's filled colour `F̃` at the pixel.
    #[inline]
    pub(crate) fn subject_fill(&self) -> [f32; 3] {
        [self.0[3], self.0[4], self.0[5]]
    }

    /// What the subject hides behind a near-side occluder at the pixel: the matte filled in
    /// from the pixels around the occluder, and the subject's filled colour `F̃`.
    #[inline]
    pub(crate) fn behind(&self) -> (f32, [f32; 3]) {
        let m = self.0[7].clamp(0.0, 1.0);
        if m <= 0.0 {
            return (0.0, [0.0; 3]);
        }
        (m, self.subject_fill())
    }

    /// Splits the pixel, of colour `rgb` (sane) and matte `m` (sane), into subject colour `F`
    /// and background colour `B`, each clamped to `0..=max(1, brightest channel of rgb)`.
    #[inline]
    pub(crate) fn unmix(&self, rgb: [f32; 3], m: f32) -> ([f32; 3], [f32; 3]) {
        if m <= 0.0 || m >= 1.0 {
            // Pure background or pure subject: nothing to separate (the other colour has
            // weight 0).
            return (rgb, rgb);
        }
        let hi = rgb[0].max(rgb[1]).max(rgb[2]).max(1.0);
        let s = &self.0;
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
            // Every pair with m·F + (1−m)·B = I is F = I + (1−m)·s, B = I − m·s with
            // s = F − B. Keep the estimate's s, limited so both colours stay in 0..=hi: the
            // photo is recomposed exactly whatever the fills say (s = 0 always fits).
            let i = rgb[c];
            let split = (a * f1 + (1.0 - a) * f2) - (a * b1 + (1.0 - a) * b2);
            let (um, mm) = (1.0 - m, m);
            let lo = (-i / um).max((i - hi) / mm);
            let up = ((hi - i) / um).min(i / mm);
            let split = split.clamp(lo.min(0.0), up.max(0.0));
            f[c] = (i + um * split).clamp(0.0, hi);
            b[c] = (i - mm * split).clamp(0.0, hi);
        }
        (f, b)
    }
}

/// The subject's own colour `F` at every pixel of `color` under `matte` (same size): the
/// solution of `m·F + (1−m)·B = I` the renderer uses (`MatteFills::unmix`), so edge pixels
/// lose the old background's colour. Pixels with `m = 0` keep the subject fill `F̃` (the
/// nearest confident subject colour); callers weight them by `m` anyway. A matte of another
/// size is ignored (the photo comes back).
pub fn subject_colours(color: &LinearRgb, matte: &Plane) -> LinearRgb {
    let (w, h) = (color.width(), color.height());
    if (matte.width(), matte.height()) != (w, h) || w == 0 || h == 0 {
        return color.clone();
    }
    let level = matte_fill_level(w, h);
    let (fw, fh) = (w.div_ceil(1 << level), h.div_ceil(1 << level));
    let mut sums: Vec<FillSums> = vec![FillSums::default(); fw * fh];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let rgb = [sane(color.r()[i]), sane(color.g()[i]), sane(color.b()[i])];
            let m = sane(matte.data()[i]).min(1.0);
            // No lens here: no subject blur, no occluders in front.
            accumulate(
                &mut sums[(y >> level) * fw + (x >> level)],
                rgb,
                m,
                0.0,
                0.0,
            );
        }
    }
    let fills = MatteFills::new(&sums, fw, fh, level);
    let mut out = color.clone();
    let [r, g, b] = out.channels_mut();
    r.par_chunks_mut(w)
        .zip(g.par_chunks_mut(w))
        .zip(b.par_chunks_mut(w))
        .enumerate()
        .for_each(|(y, ((r, g), b))| {
            for x in 0..w {
                let i = y * w + x;
                let rgb = [sane(r[x]), sane(g[x]), sane(b[x])];
                let m = sane(matte.data()[i]).min(1.0);
                let f = if m <= 0.0 {
                    // No subject here: its fill (unmix would return the photo).
                    fills.at(x, y).subject_fill()
                } else {
                    fills.at(x, y).unmix(rgb, m).0
                };
                r[x] = f[0];
                g[x] = f[1];
                b[x] = f[2];
            }
        });
    out
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
        const SCALE: usize = 2;
        let (fw, fh) = (w.div_ceil(SCALE), h.div_ceil(SCALE));
        let mut sums = vec![FillSums::default(); fw * fh];
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                accumulate(
                    &mut sums[(y / SCALE) * fw + x / SCALE],
                    [r[i], g[i], b[i]],
                    matte[i],
                    0.0,
                    0.0,
                );
            }
        }
        let fills = MatteFills::new(&sums, fw, fh, 1);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let m = matte[i];
                let rgb = [r[i], g[i], b[i]];
                let (f, bb) = fills.at(x, y).unmix(rgb, m);
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
