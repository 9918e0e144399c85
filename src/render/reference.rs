//! The reference kernel: the same sides, slices and compositing as the fast kernel, but every
//! slice is scattered at full resolution, each source pixel through the exact coverage of its
//! own aperture shape on every destination pixel (supersampled [`coverage`], normalised to 1),
//! O(d²) per pixel, with plain loops. Borders reflect as in the fast kernel, and the far side's
//! hole fill is the same. Slow and obviously correct: tests hold the fast kernel to it.

use std::collections::HashMap;

use super::aperture::{ChannelWeights, DiscModel, Vignetting, coverage_model_at};
use super::coc::{PerSide, Side, membership};
use super::composite::{
    Acc, bilinear, combine, finish_vignetted, hole_fill, in_front, normalise, tap,
};
use super::defocus::reflect;
use super::layers::{
    Colours, FILL_LEVEL, Input, Layers, Light, NEAR_LIGHTS, colours, hidden_subject, level_dims,
    level_share, pixel_colours, subject_coc,
};
use super::matting::MatteFills;
use crate::scene::LinearRgb;

/// Supersampling per axis for partly covered pixels.
const SUPERSAMPLING: usize = 8;

/// Renders with the reference kernel.
pub(crate) fn render(
    input: &Input,
    layers: &Layers,
    models: &PerSide<DiscModel>,
    vignetting: Option<&Vignetting>,
) -> LinearRgb {
    let setup = &layers.setup;
    let fills = layers.fills.as_ref();
    let (w, h) = (input.width, input.height);
    let n = w * h;
    let colours = colours(input, fills, setup);
    let sides: PerSide<Vec<Acc>> = PerSide::from_fn(|side| {
        let mut kernels: HashMap<u32, Vec<(i32, i32, ChannelWeights)>> = HashMap::new();
        let mut acc: Vec<Acc> = vec![[0.0; 5]; n];
        for level in (0..=setup.split.max_level()).rev() {
            let model = &models[side];
            let slice = scatter_slice(input, layers, &colours, model, side, level, &mut kernels);
            for (a, s) in acc.iter_mut().zip(slice) {
                *a = combine(side, normalise(s), *a);
            }
        }
        if side == Side::Near {
            let model = &models[side];
            let lights = scatter_slice(
                input,
                layers,
                &colours,
                model,
                side,
                NEAR_LIGHTS,
                &mut kernels,
            );
            for (a, s) in acc.iter_mut().zip(lights) {
                *a = in_front(normalise(s), *a);
            }
        }
        acc
    });
    // The same hole fill as the fast kernel (it is part of the compositing, not of the blur).
    let (fw, fh) = level_dims(w, h, FILL_LEVEL);
    let fill = hole_fill(&layers.fill_source, fw, fh);
    let scale = 1usize << FILL_LEVEL;
    let mut out = LinearRgb::filled(w, h, [0.0; 3]);
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        let (x, y) = (i % w, i / w);
        let rgb = finish_vignetted(
            || sides[Side::Far][i],
            sides[Side::Subject][i],
            sides[Side::Near][i],
            input.matte(i),
            || bilinear(&fill, fw, tap(x, fw, scale), tap(y, fh, scale)),
            vignetting.map_or(1.0, |v| v.at(x, y)),
        );
        out.r_mut()[i] = rgb[0];
        out.g_mut()[i] = rgb[1];
        out.b_mut()[i] = rgb[2];
    }
    out
}

/// Scatters one (side, level) slice at full resolution: raw sums `[r·w, g·w, b·w, w]`.
fn scatter_slice(
    input: &Input,
    layers: &Layers,
    colours: &Colours,
    model: &DiscModel,
    side: Side,
    level: u32,
    kernels: &mut HashMap<u32, Vec<(i32, i32, ChannelWeights)>>,
) -> Vec<[f32; 4]> {
    let (w, h) = (input.width, input.height);
    let (setup, fills) = (&layers.setup, layers.fills.as_ref());
    let mut sum = vec![[0.0f64; 4]; w * h];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let m = input.matte(i);
            let c = setup.coc.signed(input.disparity[i]);
            let fs = MatteFills::sample(fills, x, y);
            let fs = fs.as_ref();
            if side == Side::Subject
                && level == 0
                && let Some((wt, col)) = hidden_subject(fs, m, c)
            {
                let dst = &mut sum[i];
                for k in 0..3 {
                    dst[k] += f64::from(col[k] * wt);
                }
                dst[3] += f64::from(wt);
            }
            let d = if side == Side::Subject {
                subject_coc(fs, m, c).abs()
            } else {
                c.abs()
            };
            let planes = match (&colours.subject, side == Side::Subject) {
                (Some(f), true) => f,
                _ => &colours.background,
            };
            let mut rgb = [planes[0][i], planes[1][i], planes[2][i]];
            if d < 1.0 {
                // Light blurred by less than a pixel shows on its own pixel as the photo has it.
                let (b, f) =
                    pixel_colours(input, fs, &setup.highlights, Light::AsRecorded, x, y, m);
                rgb = if side == Side::Subject && colours.subject.is_some() {
                    f
                } else {
                    b
                };
            }
            let weight = membership(m, c)[side] * level_share(setup, x, y, rgb, m, c, d, level);
            if weight <= 0.0 {
                continue;
            }
            let v = [
                f64::from(rgb[0] * weight),
                f64::from(rgb[1] * weight),
                f64::from(rgb[2] * weight),
                f64::from(weight),
            ];
            // With cat-eye every pixel has its own shape.
            let own;
            let kernel = if model.cat_eye.is_some() {
                own = coverage_model_at(model, f64::from(d), SUPERSAMPLING, (x, y));
                &own
            } else {
                kernels.entry(d.to_bits()).or_insert_with(|| {
                    coverage_model_at(model, f64::from(d), SUPERSAMPLING, (x, y))
                })
            };
            for &(dx, dy, k) in kernel.iter() {
                let xd = reflect(x as i64 + i64::from(dx), w as i64) as usize;
                let yd = reflect(y as i64 + i64::from(dy), h as i64) as usize;
                let dst = &mut sum[yd * w + xd];
                for c in 0..4 {
                    dst[c] += v[c] * k[c];
                }
            }
        }
    }
    sum.iter()
        .map(|s| [s[0] as f32, s[1] as f32, s[2] as f32, s[3] as f32])
        .collect()
}
