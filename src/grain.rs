//! Grain: the photo's own noise, measured ([`measure_grain`]) and put back where the render
//! smoothed it away ([`add_grain`]).
//!
//! Blurring removes the sensor's noise, so a blurred background looks plastic next to a grainy
//! subject. [`add_grain`] adds deterministic noise of the measured level to the rendered
//! image, in the sRGB-encoded domain (where the measurement is made, and where sensor noise
//! after the camera's tone curve is roughly even across tones), scaled per pixel by how much
//! the render smoothed it ([`smoothing_weight`]: 0 for a circle of confusion up to 1 px, rising
//! smoothly to 1 at 4 px). The noise is a hash of the pixel's position, channel and a seed
//! ([`noise`]), so it is bit-identical for any thread count. Only the level is matched: the
//! added grain is per pixel and independent per channel, or the same in every channel for a
//! grayscale photo (the photo's grain size and colour correlation are not measured). A clean photo (grain under [`GRAIN_FLOOR`], e.g. a
//! synthetic one) gets nothing: its render is left bit-identical.
//!
//! The studio backdrop ([`crate::backdrop`]) uses the same measurement and noise.

use rayon::prelude::*;

use crate::io::colour::{EncodeTables, Transfer, linear_to_srgb};
use crate::optics::Lens;
use crate::scene::{LinearRgb, Plane, Scene};

/// Largest grain level accepted (`--grain LEVEL`), in 8-bit steps of standard deviation.
pub const MAX_GRAIN_LEVEL: f32 = 20.0;

/// How much grain goes back into the smoothed areas (`--grain`, preset field `grain`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum GrainSetting {
    /// The photo's own, measured ([`measure_grain`]); none for a clean photo.
    #[default]
    Auto,
    /// None: the blurred areas stay smooth.
    Off,
    /// This standard deviation, in 8-bit steps (0–[`MAX_GRAIN_LEVEL`]), sRGB-encoded.
    Level(f32),
}

/// A grain setting that does not parse or is out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("grain '{0}' is not auto, none or a level 0–20 (standard deviation in 8-bit steps)")]
pub struct GrainError(pub String);

impl std::str::FromStr for GrainSetting {
    type Err = GrainError;
    fn from_str(text: &str) -> Result<GrainSetting, GrainError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(GrainSetting::Auto),
            "none" | "off" => Ok(GrainSetting::Off),
            t => t
                .parse::<f32>()
                .ok()
                .map(GrainSetting::Level)
                .filter(GrainSetting::in_range)
                .ok_or_else(|| GrainError(text.chars().take(40).collect())),
        }
    }
}

impl std::fmt::Display for GrainSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrainSetting::Auto => f.write_str("auto"),
            GrainSetting::Off => f.write_str("none"),
            GrainSetting::Level(v) => write!(f, "{v}"),
        }
    }
}

impl GrainSetting {
    /// A level within 0–[`MAX_GRAIN_LEVEL`] (other settings always are).
    pub(crate) fn in_range(&self) -> bool {
        match *self {
            GrainSetting::Level(v) => v.is_finite() && (0.0..=MAX_GRAIN_LEVEL).contains(&v),
            _ => true,
        }
    }
}

/// Puts grain back into `image`, the render of `scene` through `lens` (see the module
/// documentation): `setting`'s level (for `auto`, the photo's measured under its matte),
/// weighted per pixel by [`smoothing_weight`] of the pixel's circle of confusion.
pub(crate) fn regrain(image: &mut LinearRgb, scene: &Scene, lens: &Lens, setting: GrainSetting) {
    let sigma = match setting {
        GrainSetting::Off => 0.0,
        GrainSetting::Level(v) => v / 255.0,
        GrainSetting::Auto => measure_grain(&scene.color, scene.matte.as_ref()),
    };
    if !(sigma.is_finite() && sigma > 0.0) {
        return;
    }
    let (w, h) = (image.width(), image.height());
    let d = &scene.disparity_per_m;
    if (d.width(), d.height()) != (w, h) {
        return;
    }
    let long_side = w.max(h);
    let weight = Plane::from_vec(
        w,
        h,
        d.data()
            .par_iter()
            .map(|&v| smoothing_weight(lens.signed_coc_px(f64::from(v), long_side) as f32))
            .collect(),
    );
    // A grayscale photo (every channel equal) gets grey grain.
    let c = &scene.color;
    let mono = c.r() == c.g() && c.g() == c.b();
    add_grain(image, sigma, &weight, 0x6EA1_9A17, mono);
}

/// A deterministic, zero-mean, unit-variance noise value for pixel (x, y), channel `c`: the
/// sum of four hashed uniforms (Irwin–Hall, close to Gaussian), scaled.
#[inline]
pub fn noise(x: usize, y: usize, c: u32, seed: u32) -> f32 {
    let mut sum = 0.0;
    for k in 0..4u32 {
        let mut h = (x as u32).wrapping_mul(0x9E37_79B1)
            ^ (y as u32).wrapping_mul(0x85EB_CA77)
            ^ (c * 4 + k).wrapping_mul(0xC2B2_AE3D)
            ^ seed;
        h ^= h >> 16;
        h = h.wrapping_mul(0x7FEB_352D);
        h ^= h >> 15;
        h = h.wrapping_mul(0x846C_A68B);
        h ^= h >> 16;
        sum += (h >> 8) as f32 / (1u32 << 24) as f32;
    }
    // Four uniforms: mean 2, variance 4/12.
    (sum - 2.0) * 3.0f32.sqrt()
}

/// Side of the square blocks in which [`measure_grain`] looks for flat areas.
const GRAIN_BLOCK: usize = 8;
/// At most this many blocks are examined (spread evenly over the photo).
const GRAIN_MAX_BLOCKS: usize = 6000;
/// Grain below this (sRGB units; a fifth of an 8-bit step) counts as none.
pub const GRAIN_FLOOR: f32 = 0.2 / 255.0;
/// The flattest blocks' residual spread is taken at this quantile.
const GRAIN_QUANTILE: f32 = 0.1;
/// Multiplies the quantile to give the noise's standard deviation: corrects both the low
/// quantile (calibrated on pure Gaussian noise, see the tests) and the high-pass filter (the
/// residual `v − mean₃ₓ₃` of white noise has `8/9` of its variance).
const GRAIN_CORRECTION: f32 = 1.23;

/// The photo's grain: the standard deviation (sRGB-encoded units, per channel, averaged over
/// the channels) of its noise, measured in its flattest areas. The photo is cut into 8×8
/// blocks; in each, every inner pixel's difference from its 3×3 mean (which removes flat
/// colour and linear shading) is taken, and the block's spread of these is its roughness.
/// Blocks with clipped pixels (encoded ≤ 0.02 or ≥ 0.98) or a partial matte are left out; the
/// subject's blocks (matte ≥ 0.95, in focus) are used when there are at least 32 of them. The
/// grain is the 10th percentile of the roughness, corrected (`GRAIN_CORRECTION`): texture
/// only adds to a block's roughness, so the flattest blocks hold noise alone. Under
/// [`GRAIN_FLOOR`] it is 0.
pub fn measure_grain(color: &LinearRgb, matte: Option<&Plane>) -> f32 {
    let (w, h) = (color.width(), color.height());
    let matte = matte.filter(|m| (m.width(), m.height()) == (w, h));
    let (bw, bh) = (w / GRAIN_BLOCK, h / GRAIN_BLOCK);
    if bw == 0 || bh == 0 {
        return 0.0;
    }
    let step = ((bw * bh) as f64 / GRAIN_MAX_BLOCKS as f64)
        .sqrt()
        .ceil()
        .max(1.0) as usize;
    let blocks: Vec<(usize, usize)> = (0..bh)
        .step_by(step)
        .flat_map(|by| (0..bw).step_by(step).map(move |bx| (bx, by)))
        .collect();
    // Per block: (roughness, is subject), or None when left out.
    let rough: Vec<Option<(f32, bool)>> = blocks
        .par_iter()
        .map(|&(bx, by)| block_roughness(color, matte, bx * GRAIN_BLOCK, by * GRAIN_BLOCK))
        .collect();
    let subject: Vec<f32> = rough
        .iter()
        .flatten()
        .filter(|r| r.1)
        .map(|r| r.0)
        .collect();
    let mut pool: Vec<f32> = if subject.len() >= 32 {
        subject
    } else {
        rough.iter().flatten().map(|r| r.0).collect()
    };
    if pool.is_empty() {
        return 0.0;
    }
    let k = ((pool.len() - 1) as f32 * GRAIN_QUANTILE).round() as usize;
    let (_, q, _) = pool.select_nth_unstable_by(k, f32::total_cmp);
    let sigma = *q * GRAIN_CORRECTION;
    if sigma < GRAIN_FLOOR { 0.0 } else { sigma }
}

/// Roughness of the 8×8 block at (x0, y0) (see [`measure_grain`]): the RMS over its inner
/// 6×6 pixels and three channels of `v − mean₃ₓ₃(v)`, encoded; with whether it is subject.
fn block_roughness(
    color: &LinearRgb,
    matte: Option<&Plane>,
    x0: usize,
    y0: usize,
) -> Option<(f32, bool)> {
    let w = color.width();
    let n = GRAIN_BLOCK;
    let mut subject = matte.is_some();
    if let Some(m) = matte {
        for y in y0..y0 + n {
            for &v in &m.row(y)[x0..x0 + n] {
                if v >= 0.95 {
                    continue;
                }
                subject = false;
                if v > 0.05 {
                    return None;
                }
            }
        }
    }
    let mut enc = [[0.0f32; GRAIN_BLOCK * GRAIN_BLOCK]; 3];
    for (c, plane) in color.channels().into_iter().enumerate() {
        for y in 0..n {
            for x in 0..n {
                let v = plane[(y0 + y) * w + x0 + x];
                let e = linear_to_srgb(if v.is_finite() {
                    v.clamp(0.0, 1.0)
                } else {
                    0.0
                });
                if !(0.02..=0.98).contains(&e) {
                    return None;
                }
                enc[c][y * n + x] = e;
            }
        }
    }
    let mut sum2 = 0.0f32;
    let mut count = 0.0f32;
    for e in &enc {
        for y in 1..n - 1 {
            for x in 1..n - 1 {
                let mut mean = 0.0;
                for yy in y - 1..=y + 1 {
                    for xx in x - 1..=x + 1 {
                        mean += e[yy * n + xx];
                    }
                }
                let d = e[y * n + x] - mean / 9.0;
                sum2 += d * d;
                count += 1.0;
            }
        }
    }
    Some(((sum2 / count).sqrt(), subject))
}

/// How much grain a pixel whose circle of confusion is `coc_px` (diameter, pixels) gets back,
/// 0..1: none up to 1 px (the render kept it sharp), all of it from 4 px (its own noise is
/// averaged away), smoothly in between.
pub fn smoothing_weight(coc_px: f32) -> f32 {
    if !coc_px.is_finite() {
        return if coc_px > 0.0 { 1.0 } else { 0.0 };
    }
    let t = ((coc_px.abs() - 1.0) / 3.0).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Adds grain of standard deviation `sigma` (sRGB-encoded units, per channel) to `image`,
/// each pixel's scaled by `weight` (0..1, same size; see [`smoothing_weight`]); `mono`: the
/// same noise in every channel (for a grayscale photo). Nothing changes when `sigma` is 0 (or
/// not finite) or the sizes differ. Deterministic.
pub fn add_grain(image: &mut LinearRgb, sigma: f32, weight: &Plane, seed: u32, mono: bool) {
    let w = image.width();
    if !(sigma.is_finite() && sigma > 0.0)
        || (weight.width(), weight.height()) != (image.width(), image.height())
        || w == 0
    {
        return;
    }
    // Two `powf` per channel and pixel cost half a second at 12 MP; the colour module's
    // tables (exact to well under a 16-bit step) do the same in a few nanoseconds.
    let srgb = Transfer::srgb();
    let encode = srgb.encode_tables();
    let [decode, ..] = srgb.decode_tables(true);
    for (c, plane) in image.channels_mut().into_iter().enumerate() {
        let encode = encode.table(c);
        plane
            .par_chunks_mut(w)
            .zip(weight.data().par_chunks(w))
            .enumerate()
            .for_each(|(y, (row, wrow))| {
                for (x, (v, &k)) in row.iter_mut().zip(wrow).enumerate() {
                    let k = if k.is_finite() {
                        k.clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    if k == 0.0 || !v.is_finite() {
                        continue;
                    }
                    let e = EncodeTables::encode_with(encode, *v)
                        + sigma * k * noise(x, y, if mono { 0 } else { c as u32 }, seed);
                    *v = decode_interpolated(&decode, e);
                }
            });
    }
}

/// Linear light of the encoded value `e` (clamped to 0..1) from a 65536-entry decoding table,
/// interpolated between its entries.
#[inline]
fn decode_interpolated(table: &[f32], e: f32) -> f32 {
    let pos = e.clamp(0.0, 1.0) * (table.len() - 1) as f32;
    let i = (pos as usize).min(table.len() - 2);
    let frac = pos - i as f32;
    table[i] + (table[i + 1] - table[i]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::colour::srgb_to_linear;

    #[test]
    fn table_conversions_match_the_exact_curves() {
        let srgb = Transfer::srgb();
        let encode = srgb.encode_tables();
        let [decode, ..] = srgb.decode_tables(true);
        for i in 0..=10_000 {
            let v = i as f32 / 10_000.0;
            let e = EncodeTables::encode_with(encode.table(0), v);
            assert!((e - linear_to_srgb(v)).abs() < 2e-6, "encode {v}");
            let l = decode_interpolated(&decode, v);
            assert!((l - srgb_to_linear(v)).abs() < 1e-6, "decode {v}");
        }
        assert_eq!(decode_interpolated(&decode, 1.5), 1.0);
        assert_eq!(decode_interpolated(&decode, -0.5), 0.0);
    }

    /// A flat grey photo with Gaussian-like grain of `sigma` (encoded units).
    fn noisy(w: usize, h: usize, sigma: f32) -> LinearRgb {
        let mut img = LinearRgb::filled(w, h, [0.0; 3]);
        for (c, plane) in img.channels_mut().into_iter().enumerate() {
            for y in 0..h {
                for x in 0..w {
                    let e = 0.5 + sigma * noise(x, y, c as u32, 0xBEEF);
                    plane[y * w + x] = srgb_to_linear(e);
                }
            }
        }
        img
    }

    /// Box blur (radius 3) of the columns from `x0` on: what a render does to the background.
    fn blur_right(img: &LinearRgb, x0: usize) -> LinearRgb {
        let (w, h) = (img.width(), img.height());
        let mut out = img.clone();
        for (o, src) in out.channels_mut().into_iter().zip(img.channels()) {
            for y in 3..h - 3 {
                for x in x0.max(3)..w - 3 {
                    let mut s = 0.0;
                    for yy in y - 3..=y + 3 {
                        for xx in x - 3..=x + 3 {
                            s += src[yy * w + xx];
                        }
                    }
                    o[y * w + x] = s / 49.0;
                }
            }
        }
        out
    }

    fn crop(img: &LinearRgb, x0: usize, x1: usize) -> LinearRgb {
        let w = x1 - x0;
        let mut out = LinearRgb::filled(w, img.height(), [0.0; 3]);
        for (o, src) in out.channels_mut().into_iter().zip(img.channels()) {
            for y in 0..img.height() {
                o[y * w..(y + 1) * w]
                    .copy_from_slice(&src[y * img.width() + x0..y * img.width() + x1]);
            }
        }
        out
    }

    #[test]
    fn blurred_areas_get_their_grain_back() {
        let (w, h) = (256, 128);
        let sigma = 3.0 / 255.0;
        let photo = noisy(w, h, sigma);
        let measured = measure_grain(&photo, None);
        assert!(
            (measured / sigma - 1.0).abs() < 0.15,
            "{measured} vs {sigma}"
        );
        let mut render = blur_right(&photo, w / 2);
        // Sharp on the left (CoC 0), blurred on the right (CoC 20 px).
        let weight = Plane::from_vec(
            w,
            h,
            (0..w * h)
                .map(|i| smoothing_weight(if i % w < w / 2 { 0.0 } else { 20.0 }))
                .collect(),
        );
        let smooth = measure_grain(&crop(&render, w / 2 + 8, w - 8), None);
        assert!(smooth < sigma * 0.3, "the blur removed the grain: {smooth}");
        add_grain(&mut render, measured, &weight, 0x6EA1, false);
        let sharp = measure_grain(&crop(&render, 8, w / 2 - 8), None);
        let blurred = measure_grain(&crop(&render, w / 2 + 8, w - 8), None);
        assert_eq!(sharp, measure_grain(&crop(&photo, 8, w / 2 - 8), None));
        // The blur leaves a little of the old noise under the new: within 20 %.
        assert!(
            (blurred / sharp - 1.0).abs() < 0.2,
            "in focus {sharp}, blurred {blurred}"
        );
    }

    #[test]
    fn a_clean_photo_gets_nothing() {
        let clean = LinearRgb::filled(64, 64, [0.3, 0.4, 0.5]);
        assert_eq!(measure_grain(&clean, None), 0.0);
        let mut render = clean.clone();
        add_grain(&mut render, 0.0, &Plane::filled(64, 64, 1.0), 1, false);
        assert_eq!(render.r(), clean.r());
        assert_eq!(render.g(), clean.g());
        assert_eq!(render.b(), clean.b());
    }

    #[test]
    fn settings_parse_and_refuse_out_of_range_levels() {
        assert_eq!("auto".parse(), Ok(GrainSetting::Auto));
        assert_eq!("none".parse(), Ok(GrainSetting::Off));
        assert_eq!("2.5".parse(), Ok(GrainSetting::Level(2.5)));
        let e = "25".parse::<GrainSetting>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "grain '25' is not auto, none or a level 0–20 (standard deviation in 8-bit steps)"
        );
        for bad in ["-1", "NaN"] {
            assert_eq!(bad.parse::<GrainSetting>().unwrap_err().0, bad, "{bad}");
        }
    }

    #[test]
    fn regrain_follows_the_lens_and_the_setting() {
        // Background at infinity, a lens focused at 2 m: every pixel is blurred.
        let (w, h) = (128, 64);
        let photo = noisy(w, h, 3.0 / 255.0);
        let scene = Scene::new(photo.clone(), Plane::filled(w, h, 0.0), None).unwrap();
        let lens = Lens::default();
        let smooth = LinearRgb::filled(w, h, [0.2; 3]);
        let mut none = smooth.clone();
        regrain(&mut none, &scene, &lens, GrainSetting::Off);
        assert_eq!(none, smooth);
        let mut auto = smooth.clone();
        regrain(&mut auto, &scene, &lens, GrainSetting::Auto);
        let got = measure_grain(&auto, None);
        assert!((got / (3.0 / 255.0) - 1.0).abs() < 0.2, "{got}");
        // A grayscale photo gets grey grain.
        let mut grey = photo.clone();
        let red = grey.r().to_vec();
        grey.g_mut().copy_from_slice(&red);
        grey.b_mut().copy_from_slice(&red);
        let grey_scene = Scene::new(grey, Plane::filled(w, h, 0.0), None).unwrap();
        let mut out = smooth.clone();
        regrain(&mut out, &grey_scene, &lens, GrainSetting::Auto);
        assert!(out.r() != smooth.r() && out.r() == out.g() && out.g() == out.b());
        // In focus everywhere: nothing to put back.
        let focused = Scene::new(photo, Plane::filled(w, h, 0.5), None).unwrap();
        let mut sharp = smooth.clone();
        regrain(&mut sharp, &focused, &lens, GrainSetting::Level(5.0));
        assert_eq!(sharp, smooth);
    }

    #[test]
    fn weights_follow_the_circle_of_confusion() {
        assert_eq!(smoothing_weight(0.0), 0.0);
        assert_eq!(smoothing_weight(1.0), 0.0);
        assert_eq!(smoothing_weight(4.0), 1.0);
        assert_eq!(smoothing_weight(200.0), 1.0);
        assert_eq!(smoothing_weight(f32::NAN), 0.0);
        assert!((smoothing_weight(2.5) - 0.5).abs() < 1e-6);
    }
}
