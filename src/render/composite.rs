//! Compositing: slices into sides, sides into the picture.
//!
//! * A scattered slice holds sums `(C, A)`; where discs overlap (`A > 1`) it is normalised to
//!   coverage 1, otherwise it is a premultiplied colour with coverage `A`.
//! * **Far side**, back to front: coarser levels are farther, so each finer level goes over the
//!   accumulated coarser ones, `acc = S + (1 − α_S)·up(acc)`. At full resolution the result is
//!   divided by its coverage (`C/α`): holes left by the subject and by near objects do not
//!   darken the background around them. Where the far side has no coverage at all, what is
//!   "behind" the subject or near side is that layer's own colour (see [`finish`]); only where
//!   nothing covers a pixel does the push-pull fill of the unblurred far side show.
//! * **Subject** and **near side**, front-most: coarser levels are nearer (for the subject this
//!   assumes any blur it has is in front), so the accumulated coarser levels go over each finer
//!   one, `acc = up(acc) + (1 − α_acc)·S`. Not normalised: a blurred near edge is partly
//!   transparent (partial occlusion). The near side's bright sparse sources (lights in front
//!   of the focus, scattered at full resolution) go over all its levels ([`in_front`]), so
//!   they stay additive.
//! * Each side's colour goes back through the highlight curve's inverse, then
//!   `out = near over (subject over far)`, clamped to 0..1.
//!
//! Upsampling between levels is bilinear (pixel centres at `(i + ½)·2`), so the cost of all
//! coarse levels together is a fraction of one full-resolution pass.

use super::aperture::LevelTables;
use super::coc::{Side, clamp01};
use super::defocus::scatter_rows;
use super::layers::{SliceSource, level_dims};
use crate::fill::push_pull_fill;

/// Coverage below which the far side is taken entirely from its hole fill, and above which
/// entirely from its own normalised colour (linear between).
const FAR_COVERAGE: (f32, f32) = (1e-6, 1e-5);

/// A raw slice sum made a premultiplied colour with coverage ≤ 1.
#[inline]
pub(crate) fn normalise(s: [f32; 4]) -> [f32; 4] {
    let a = s[3];
    if a.is_nan() || a <= 0.0 {
        [0.0; 4]
    } else if a > 1.0 {
        let k = 1.0 / a;
        [s[0] * k, s[1] * k, s[2] * k, 1.0]
    } else {
        s
    }
}

/// Premultiplied `front` over `back`.
#[inline(always)]
pub(crate) fn over(front: [f32; 4], back: [f32; 4]) -> [f32; 4] {
    let k = 1.0 - front[3];
    let k = if k > 0.0 { k } else { 0.0 };
    [
        front[0] + k * back[0],
        front[1] + k * back[1],
        front[2] + k * back[2],
        front[3] + k * back[3],
    ]
}

/// A side's accumulated levels: `[r, g, b, α, coverage]` — premultiplied colour composited
/// level over level with opacity `α`, and the levels' coverages summed (capped at 1 when
/// used). A pixel whose blur falls between two levels is split across them; "over" would count
/// its two shares as if they were independent layers (`½ over ½ = ¾`), so the subject and near
/// sides, whose coverage is their transparency, take the summed coverage instead.
pub(crate) type Acc = [f32; 5];

/// Combines a level's normalised slice `s` with the accumulated coarser levels `acc`.
#[inline]
pub(crate) fn combine(side: Side, s: [f32; 4], acc: Acc) -> Acc {
    let back = [acc[0], acc[1], acc[2], acc[3]];
    if side == Side::Far {
        let o = over(s, back);
        [o[0], o[1], o[2], o[3], o[3]]
    } else {
        let o = over(back, s);
        [o[0], o[1], o[2], o[3], acc[4] + s[3]]
    }
}

/// Puts the near side's layer of bright sparse sources `s` (normalised) in front of the side's
/// accumulated levels `acc` (see [`super::layers::NEAR_LIGHTS`]). [`finish`] shows a near
/// side as `a·rgb/α + (1 − a)·behind` with `a` its summed coverage and `α` its "over"
/// opacity; the result is scaled so that this comes out as the light added in front of what
/// the levels showed, `s_rgb + (1 − s_α)·a·rgb_acc/α_acc + (1 − a')·behind`, `a' = a + s_α`.
#[inline]
pub(crate) fn in_front(s: [f32; 4], acc: Acc) -> Acc {
    let alpha = s[3] + (1.0 - s[3]) * acc[3];
    let cover = acc[4] + s[3];
    let shown = clamp01(cover);
    if !(alpha > 0.0 && shown > 0.0) {
        return acc;
    }
    let levels = if acc[3] > 0.0 {
        (1.0 - s[3]) * clamp01(acc[4]) / acc[3]
    } else {
        0.0
    };
    let k = alpha / shown;
    [
        k * (s[0] + levels * acc[0]),
        k * (s[1] + levels * acc[1]),
        k * (s[2] + levels * acc[2]),
        alpha,
        cover,
    ]
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

/// A side's accumulated coarse levels, as an image at the finest of them: one [`Acc`] per
/// level pixel.
pub(crate) struct LevelImage {
    pub level: u32,
    pub width: usize,
    pub height: usize,
    pub px: Vec<Acc>,
}

/// Scatters and composites one side's coarse slices (levels `max..=1`, empty ones skipped)
/// into one accumulator at the finest non-empty level; `None` when the side has nothing at
/// those levels. Between non-empty levels the accumulator is upsampled bilinearly in one step.
pub(crate) fn cascade(
    side: Side,
    slices: &mut [Option<SliceSource>],
    width: usize,
    height: usize,
    tables: &LevelTables,
) -> Option<LevelImage> {
    let mut acc: Option<LevelImage> = None;
    for li in (0..slices.len()).rev() {
        let Some(src) = slices[li].take() else {
            continue;
        };
        let level = li as u32 + 1;
        let (lw, lh) = level_dims(width, height, level);
        let up = acc.take();
        let scale = up.as_ref().map_or(1, |u| 1usize << (u.level - level));
        let tx = up.as_ref().map(|u| taps(lw, u.width, scale));
        let mut px: Vec<Acc> = vec![[0.0; 5]; lw * lh];
        scatter_rows(&src, lw, lh, tables.at(level), &mut px, |y, sums, row| {
            let ty = up.as_ref().map(|u| tap(y, u.height, scale));
            for (x, (p, s)) in row.iter_mut().zip(sums).enumerate() {
                let below = match (&up, &tx, ty) {
                    (Some(u), Some(tx), Some(ty)) => bilinear(&u.px, u.width, tx[x], ty),
                    _ => [0.0; 5],
                };
                *p = combine(side, normalise(*s), below);
            }
        });
        drop(src);
        acc = Some(LevelImage {
            level,
            width: lw,
            height: lh,
            px,
        });
    }
    acc
}

/// The far side's hole fill: push-pull of its unblurred source (`[r·w, g·w, b·w, w]` box
/// averages) → colours at the source's resolution, sampled bilinearly where needed.
pub(crate) fn hole_fill(source: &[[f32; 4]], width: usize, height: usize) -> Vec<[f32; 3]> {
    let n = width * height;
    let mut planes: [Vec<f32>; 3] = std::array::from_fn(|_| vec![0.0; n]);
    let weights: Vec<f32> = source.iter().map(|p| p[3].clamp(0.0, 1.0)).collect();
    for (i, p) in source.iter().enumerate() {
        if p[3] > 0.0 {
            for c in 0..3 {
                planes[c][i] = p[c] / p[3];
            }
        }
    }
    let [r, g, b] = &mut planes;
    push_pull_fill(&mut [r, g, b], &weights, width, height);
    (0..n).map(|i| [r[i], g[i], b[i]]).collect()
}

/// The final colour of a pixel from the three sides (accumulated, boosted; the far side asked
/// for only when the subject does not hide it), the pixel's own matte `m`, and the far side's
/// hole fill (boosted colour).
///
/// The subject's opacity is the larger of its scattered coverage and `m`: scattering with a
/// CoC that changes from pixel to pixel (a depth map quantised into steps) leaves small
/// coverage dips that would let the background through the subject; the matte itself says the
/// subject is opaque there. A defocused subject still gets its soft outer rim from the scatter.
#[cfg(test)]
pub(crate) fn finish(
    far: impl FnOnce() -> Acc,
    subject: Acc,
    near: Acc,
    m: f32,
    fill: impl FnOnce() -> [f32; 3],
) -> [f32; 3] {
    finish_vignetted(far, subject, near, m, fill, 1.0)
}

/// [`finish`] with the pixel's optical vignetting `transmission` (cat-eye; 1 without),
/// applied in linear light before the sensor clips.
#[inline]
pub(crate) fn finish_vignetted(
    far: impl FnOnce() -> Acc,
    subject: Acc,
    near: Acc,
    m: f32,
    fill: impl FnOnce() -> [f32; 3],
    transmission: f32,
) -> [f32; 3] {
    let subject_alpha = clamp01(subject[4]);
    let subject_alpha = if m > subject_alpha { m } else { subject_alpha };
    let subject_colour = || {
        let k = 1.0 / subject[3];
        [subject[0] * k, subject[1] * k, subject[2] * k]
    };
    let mut out = if subject_alpha >= 1.0 && subject[3] > 0.0 {
        // An opaque subject hides the far side (as `1·S + 0·far` below would).
        subject_colour()
    } else {
        let far = far();
        // What is behind the subject and the near side. Where the far side has no coverage (a
        // hole it left behind the subject or a near object), the most plausible content is the
        // layer in front itself: a coverage dip inside a subject or near object whose blur
        // varies (scattering does not keep coverage whole where the CoC changes) then shows
        // that object, not a background colour. The push-pull fill only remains where nothing
        // covers a pixel.
        let hole = || {
            if subject[3] > 0.0 {
                let k = 1.0 / subject[3];
                [subject[0] * k, subject[1] * k, subject[2] * k]
            } else if near[3] > 0.0 {
                let k = 1.0 / near[3];
                [near[0] * k, near[1] * k, near[2] * k]
            } else {
                fill()
            }
        };
        let a = far[3];
        let far_colour = if a >= FAR_COVERAGE.1 {
            let k = 1.0 / a;
            [far[0] * k, far[1] * k, far[2] * k]
        } else if a <= FAR_COVERAGE.0 {
            hole()
        } else {
            let k = 1.0 / a;
            let hole = hole();
            let t = (a - FAR_COVERAGE.0) / (FAR_COVERAGE.1 - FAR_COVERAGE.0);
            std::array::from_fn(|c| hole[c] + (far[c] * k - hole[c]) * t)
        };
        let mut out = far_colour;
        if subject_alpha > 1e-7 && subject[3] > 0.0 {
            let colour = subject_colour();
            for c in 0..3 {
                out[c] = subject_alpha * colour[c] + (1.0 - subject_alpha) * out[c];
            }
        }
        out
    };
    let a = clamp01(near[4]);
    if a > 1e-7 && near[3] > 0.0 {
        let k = 1.0 / near[3];
        let colour = [near[0] * k, near[1] * k, near[2] * k];
        for c in 0..3 {
            out[c] = a * colour[c] + (1.0 - a) * out[c];
        }
    }
    out.map(|v| clamp01(v * transmission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_focus_layers_give_back_the_photo() {
        let f = [0.95, 0.4, 0.2];
        let b = [0.1, 0.99, 0.3];
        let m = 0.3;
        let (bf, bb) = (f, b);
        let u = 1.0 - m;
        let far = [bb[0] * u, bb[1] * u, bb[2] * u, u, u];
        let subject = [bf[0] * m, bf[1] * m, bf[2] * m, m, m];
        let out = finish(|| far, subject, [0.0; 5], m, || [0.0; 3]);
        for c in 0..3 {
            let want = m * f[c] + (1.0 - m) * b[c];
            assert!((out[c] - want).abs() < 1e-5, "{out:?}");
        }
    }

    #[test]
    fn far_holes_show_the_fill_and_output_is_clamped() {
        let out = finish(|| [0.0; 5], [0.0; 5], [0.0; 5], 0.0, || [0.2, 0.3, 0.4]);
        assert_eq!(out, [0.2, 0.3, 0.4]);
        let out = finish(
            || [9.0, 9.0, 0.0, 1.0, 1.0],
            [0.0; 5],
            [0.0; 5],
            0.0,
            || [0.0; 3],
        );
        assert!(out.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn near_lights_in_front_add_their_light_to_what_the_near_side_shows() {
        let behind = || [0.2, 0.2, 0.2];
        let light = [0.003, 0.002, 0.001, 0.0005];
        let show = |near: Acc| finish(|| [0.2, 0.2, 0.2, 1.0, 1.0], [0.0; 5], near, 0.0, behind);
        // Nothing else in front: the light adds to the far side, dimming it by its coverage.
        let alone = show(in_front(light, [0.0; 5]));
        for c in 0..3 {
            let want = light[c] + (1.0 - light[3]) * 0.2;
            assert!((alone[c] - want).abs() < 1e-6, "{alone:?}");
        }
        // Over a near object split between two levels ("over" opacity ¾, summed coverage 1),
        // the light is added to the object's colour, not amplified by 1/¾.
        let object = [0.75 * 0.1, 0.75 * 0.1, 0.75 * 0.1, 0.75, 1.0];
        let lit = show(in_front(light, object));
        for c in 0..3 {
            let want = light[c] + (1.0 - light[3]) * 0.1;
            assert!((lit[c] - want).abs() < 1e-6, "{lit:?} vs {want}");
        }
        // No light: unchanged.
        assert_eq!(in_front([0.0; 4], object), object);
    }

    #[test]
    fn an_opaque_subject_hides_the_far_side_without_asking_for_it() {
        let subject = [0.3, 0.2, 0.1, 1.0, 1.0];
        let near = [0.1, 0.1, 0.1, 0.25, 0.25];
        let out = finish(
            || panic!("far side asked for"),
            subject,
            near,
            1.0,
            || panic!("fill asked for"),
        );
        // The same as with the far side given: near over subject.
        for far in [[0.0; 5], [5.0, 0.0, 9.0, 1.0, 1.0]] {
            assert_eq!(out, finish(|| far, subject, near, 1.0, || [0.0; 3]));
        }
        assert!((out[0] - (0.1 + 0.75 * 0.3)).abs() < 1e-6, "{out:?}");
        // A matte of 1 makes the subject opaque whatever its scattered coverage.
        let thin = [0.03, 0.02, 0.01, 0.1, 0.1];
        let out = finish(
            || panic!("far side asked for"),
            thin,
            [0.0; 5],
            1.0,
            || panic!("fill asked for"),
        );
        assert!((out[0] - 0.3).abs() < 1e-6, "{out:?}");
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
