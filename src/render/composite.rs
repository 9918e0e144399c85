//! Compositing: slices into sides, sides into the picture.
//!
//! * A scattered slice holds sums `(C, A)`; where discs overlap (`A > 1`) it is normalised to
//!   coverage 1, otherwise it is a premultiplied colour with coverage `A`.
//! * **Far side**, back to front: coarser levels are farther, so each finer level goes over the
//!   accumulated coarser ones, `acc = S + (1 − α_S)·up(acc)`. At full resolution the result is
//!   divided by its coverage (`C/α`): holes left by the subject and by near objects do not
//!   darken the background around them; where nothing covers a pixel at all, the push-pull
//!   fill of the unblurred far side shows.
//! * **Subject** and **near side**, front-most: coarser levels are nearer (for the subject this
//!   assumes any blur it has is in front), so the accumulated coarser levels go over each finer
//!   one, `acc = up(acc) + (1 − α_acc)·S`. Not normalised: a blurred near edge is partly
//!   transparent (partial occlusion).
//! * Each side's colour goes back through the highlight curve's inverse, then
//!   `out = near over (subject over far)`, clamped to 0..1.
//!
//! Upsampling between levels is bilinear (pixel centres at `(i + ½)·2`), so the cost of all
//! coarse levels together is a fraction of one full-resolution pass.

use rayon::prelude::*;

use super::aperture::SpanTables;
use super::coc::{FAR, SIDES};
use super::defocus::scatter;
use super::highlights::Highlights;
use super::layers::{Source, level_dims};

/// Coverage below which the far side is taken entirely from its hole fill, and above which
/// entirely from its own normalised colour (linear between).
const FAR_COVERAGE: (f32, f32) = (1e-6, 1e-5);

/// A raw slice sum made a premultiplied colour with coverage ≤ 1.
#[inline]
pub(crate) fn normalise(s: [f32; 4]) -> [f32; 4] {
    let a = s[3];
    if !(a > 0.0) {
        [0.0; 4]
    } else if a > 1.0 {
        let k = 1.0 / a;
        [s[0] * k, s[1] * k, s[2] * k, 1.0]
    } else {
        s
    }
}

/// Combines a level's normalised slice `s` with the accumulated coarser levels `acc`.
#[inline]
pub(crate) fn combine(side: usize, s: [f32; 4], acc: [f32; 4]) -> [f32; 4] {
    let (front, back) = if side == FAR { (s, acc) } else { (acc, s) };
    let k = (1.0 - front[3]).max(0.0);
    std::array::from_fn(|c| front[c] + k * back[c])
}

/// Horizontal taps `(x0, x1, t)` for upsampling a row of `coarse` pixels to `fine` pixels by
/// a factor `scale` (a power of two).
pub(crate) fn taps(fine: usize, coarse: usize, scale: usize) -> Vec<(u32, u32, f32)> {
    (0..fine).map(|x| tap(x, coarse, scale)).collect()
}

/// One upsampling tap.
#[inline]
pub(crate) fn tap(x: usize, coarse: usize, scale: usize) -> (u32, u32, f32) {
    let c = ((x as f32 + 0.5) / scale as f32 - 0.5).clamp(0.0, (coarse - 1) as f32);
    let x0 = c as usize;
    let x1 = (x0 + 1).min(coarse - 1);
    (x0 as u32, x1 as u32, c - x0 as f32)
}

/// Bilinear sample of a `[f32; N]` image with precomputed taps.
#[inline]
pub(crate) fn bilinear<const N: usize>(
    img: &[[f32; N]],
    width: usize,
    tx: (u32, u32, f32),
    ty: (u32, u32, f32),
) -> [f32; N] {
    let r0 = ty.0 as usize * width;
    let r1 = ty.1 as usize * width;
    let (a, b) = (img[r0 + tx.0 as usize], img[r0 + tx.1 as usize]);
    let (c, d) = (img[r1 + tx.0 as usize], img[r1 + tx.1 as usize]);
    std::array::from_fn(|k| {
        let top = a[k] + (b[k] - a[k]) * tx.2;
        let bottom = c[k] + (d[k] - c[k]) * tx.2;
        top + (bottom - top) * ty.2
    })
}

/// A premultiplied RGBA image at some level.
pub(crate) struct Rgba {
    pub width: usize,
    pub height: usize,
    pub px: Vec<[f32; 4]>,
}

/// Scatters and composites one side's coarse slices (levels `max..=1`) into its level-1
/// accumulator; `None` when the side has nothing at those levels.
pub(crate) fn cascade(
    side: usize,
    slices: &mut [Option<Source>],
    width: usize,
    height: usize,
    tables: &SpanTables,
) -> Option<Rgba> {
    let mut acc: Option<Rgba> = None;
    for li in (0..slices.len()).rev() {
        let level = li as u32 + 1;
        let (lw, lh) = level_dims(width, height, level);
        let scattered = slices[li].take().map(|src| scatter(&src, lw, lh, tables));
        if scattered.is_none() && acc.is_none() {
            continue;
        }
        let mut px = scattered.unwrap_or_else(|| vec![[0.0; 4]; lw * lh]);
        let up = acc.take();
        let tx = up.as_ref().map(|u| taps(lw, u.width, 2));
        px.par_chunks_mut(lw).enumerate().for_each(|(y, row)| {
            let ty = up.as_ref().map(|u| tap(y, u.height, 2));
            for (x, p) in row.iter_mut().enumerate() {
                let below = match (&up, &tx, ty) {
                    (Some(u), Some(tx), Some(ty)) => bilinear(&u.px, u.width, tx[x], ty),
                    _ => [0.0; 4],
                };
                *p = combine(side, normalise(*p), below);
            }
        });
        acc = Some(Rgba {
            width: lw,
            height: lh,
            px,
        });
    }
    acc
}

/// The final colour of a pixel from the three sides (premultiplied, boosted), and the far
/// side's hole fill (boosted colour).
#[inline]
pub(crate) fn finish(
    sides: [[f32; 4]; SIDES],
    fill: [f32; 3],
    highlights: &Highlights,
) -> [f32; 3] {
    let [far, subject, near] = sides;
    let a = far[3];
    let own = if a > FAR_COVERAGE.0 {
        let k = 1.0 / a;
        [far[0] * k, far[1] * k, far[2] * k]
    } else {
        fill
    };
    let far_colour = if a >= FAR_COVERAGE.1 || a <= FAR_COVERAGE.0 {
        own
    } else {
        let t = (a - FAR_COVERAGE.0) / (FAR_COVERAGE.1 - FAR_COVERAGE.0);
        std::array::from_fn(|c| fill[c] + (own[c] - fill[c]) * t)
    };
    let mut out = highlights.unboost(far_colour);
    for layer in [subject, near] {
        let a = layer[3].min(1.0);
        if a > 1e-7 {
            let k = 1.0 / layer[3];
            let colour = highlights.unboost([layer[0] * k, layer[1] * k, layer[2] * k]);
            for c in 0..3 {
                out[c] = a * colour[c] + (1.0 - a) * out[c];
            }
        }
    }
    out.map(|v| if v > 0.0 { v.min(1.0) } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::HighlightOptions;

    #[test]
    fn in_focus_layers_give_back_the_photo() {
        let hl = Highlights::new(&HighlightOptions::default());
        let f = [0.95, 0.4, 0.2];
        let b = [0.1, 0.99, 0.3];
        let m = 0.3;
        let (bf, bb) = (hl.boost(f), hl.boost(b));
        let far = [
            bb[0] * (1.0 - m),
            bb[1] * (1.0 - m),
            bb[2] * (1.0 - m),
            1.0 - m,
        ];
        let subject = [bf[0] * m, bf[1] * m, bf[2] * m, m];
        let out = finish([far, subject, [0.0; 4]], [0.0; 3], &hl);
        for c in 0..3 {
            let want = m * f[c] + (1.0 - m) * b[c];
            assert!((out[c] - want).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn far_holes_show_the_fill_and_output_is_clamped() {
        let hl = Highlights::new(&HighlightOptions::default());
        let out = finish([[0.0; 4]; 3], [0.2, 0.3, 0.4], &hl);
        assert_eq!(out, [0.2, 0.3, 0.4]);
        let out = finish([[9.0, 9.0, 0.0, 1.0], [0.0; 4], [0.0; 4]], [0.0; 3], &hl);
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn taps_follow_pixel_centres() {
        let t = taps(4, 2, 2);
        assert_eq!((t[0].0, t[0].1), (0, 1));
        assert_eq!(t[0].2, 0.0);
        assert!((t[1].2 - 0.25).abs() < 1e-6);
        assert!((t[2].2 - 0.75).abs() < 1e-6);
        assert_eq!(t[3], (1, 1, 0.0));
    }
}
