//! Measurements for the physics tests: sRGB PSNR (overall, in masks), the subject-edge band,
//! the depth-Gaussian baseline, highlight-disc geometry, and PNG output.

use std::path::Path;

use fstop::optics::Lens;
use fstop::scene::{LinearRgb, Plane};
use rayon::prelude::*;

/// sRGB transfer function (linear 0..1 → display 0..1), input clamped to 0..1.
pub fn srgb_encode(linear: f32) -> f32 {
    let l = linear.clamp(0.0, 1.0);
    if l <= 0.003_130_8 {
        12.92 * l
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    }
}

/// PSNR in dB between two images on display-encoded (sRGB) values clamped to 0..1, over the
/// pixels where `mask` is true (all pixels when `None`), all three channels.
pub fn psnr_srgb(a: &LinearRgb, b: &LinearRgb, mask: Option<&[bool]>) -> f64 {
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let mut sum = 0.0f64;
    let mut n = 0usize;
    for (ca, cb) in a.channels().into_iter().zip(b.channels()) {
        for i in 0..a.len() {
            if mask.is_some_and(|m| !m[i]) {
                continue;
            }
            let d = (srgb_encode(ca[i]) - srgb_encode(cb[i])) as f64;
            sum += d * d;
            n += 1;
        }
    }
    assert!(n > 0, "empty PSNR mask");
    let mse = sum / n as f64;
    10.0 * (1.0 / mse.max(1e-12)).log10()
}

/// Pixels at least `margin` pixels from every image border.
pub fn interior(width: usize, height: usize, margin: usize) -> Vec<bool> {
    let mut m = vec![false; width * height];
    for y in margin..height.saturating_sub(margin) {
        for x in margin..width.saturating_sub(margin) {
            m[y * width + x] = true;
        }
    }
    m
}

/// Pixels within `radius` pixels of the matte's 0.5 contour: those with a pixel on the other
/// side of 0.5 within that distance.
pub fn edge_band(matte: &Plane, radius: f64) -> Vec<bool> {
    let (w, h) = (matte.width(), matte.height());
    let inside: Vec<bool> = matte.data().iter().map(|&v| v >= 0.5).collect();
    let r = radius.ceil() as isize;
    let mut band = vec![false; w * h];
    band.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, out) in row.iter_mut().enumerate() {
            let me = inside[y * w + x];
            'search: for dy in -r..=r {
                for dx in -r..=r {
                    if ((dx * dx + dy * dy) as f64) > radius * radius {
                        continue;
                    }
                    let (xx, yy) = (x as isize + dx, y as isize + dy);
                    if xx < 0 || yy < 0 || xx >= w as isize || yy >= h as isize {
                        continue;
                    }
                    if inside[yy as usize * w + xx as usize] != me {
                        *out = true;
                        break 'search;
                    }
                }
            }
        }
    });
    band
}

/// Elementwise AND of two masks.
pub fn and(a: &[bool], b: &[bool]) -> Vec<bool> {
    a.iter().zip(b).map(|(x, y)| *x && *y).collect()
}

/// A typical "filter" depth of field: every pixel is replaced by a normalised Gaussian gather of
/// the input around it, with `sigma = |CoC| / coc_per_sigma` taken from that pixel's own
/// disparity. No occlusion handling, no background fill, no matte. Implemented exactly (up to a
/// 1/8 px quantisation of sigma) by blurring the whole image once per distinct sigma with a
/// separable Gaussian (weights normalised over the taps inside the image) and picking each
/// pixel's level.
pub fn depth_gaussian(
    color: &LinearRgb,
    disparity: &Plane,
    lens: &Lens,
    coc_per_sigma: f64,
) -> LinearRgb {
    let w = color.width();
    let level_of = |d: f32| -> i64 {
        let sigma = lens.signed_coc_px(d as f64, w).abs() / coc_per_sigma;
        (sigma * 8.0).round() as i64
    };
    let levels: Vec<i64> = disparity.data().iter().map(|&d| level_of(d)).collect();
    let mut distinct = levels.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let mut out = color.clone();
    for level in distinct {
        if level == 0 {
            continue;
        }
        let blurred = gaussian_blur(color, level as f64 / 8.0);
        for (i, &l) in levels.iter().enumerate() {
            if l == level {
                out.r_mut()[i] = blurred.r()[i];
                out.g_mut()[i] = blurred.g()[i];
                out.b_mut()[i] = blurred.b()[i];
            }
        }
    }
    out
}

/// Separable Gaussian blur, weights normalised over the taps that fall inside the image.
pub fn gaussian_blur(color: &LinearRgb, sigma: f64) -> LinearRgb {
    let (w, h) = (color.width(), color.height());
    let r = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let mut out = color.clone();
    for (src, dst) in color.channels().into_iter().zip(out.channels_mut()) {
        // Horizontal.
        let tmp: Vec<f32> = (0..h)
            .into_par_iter()
            .flat_map_iter(|y| {
                let row = &src[y * w..(y + 1) * w];
                let kernel = &kernel;
                (0..w).map(move |x| {
                    let (mut s, mut ws) = (0.0f64, 0.0f64);
                    for (k, &kw) in kernel.iter().enumerate() {
                        let xx = x as isize + k as isize - r;
                        if xx >= 0 && xx < w as isize {
                            s += kw * row[xx as usize] as f64;
                            ws += kw;
                        }
                    }
                    (s / ws) as f32
                })
            })
            .collect();
        // Vertical.
        let res: Vec<f32> = (0..h)
            .into_par_iter()
            .flat_map_iter(|y| {
                let tmp = &tmp;
                let kernel = &kernel;
                (0..w).map(move |x| {
                    let (mut s, mut ws) = (0.0f64, 0.0f64);
                    for (k, &kw) in kernel.iter().enumerate() {
                        let yy = y as isize + k as isize - r;
                        if yy >= 0 && yy < h as isize {
                            s += kw * tmp[yy as usize * w + x] as f64;
                            ws += kw;
                        }
                    }
                    (s / ws) as f32
                })
            })
            .collect();
        dst.copy_from_slice(&res);
    }
    out
}

/// A highlight disc measured on a single-channel image with a dark surround.
#[derive(Debug, Clone, Copy)]
pub struct Disc {
    pub cx: f64,
    pub cy: f64,
    /// Typical level inside the disc (median of the pixels within a quarter of the expected
    /// diameter of the centroid).
    pub plateau: f64,
    /// `2·√(area/π)` where area counts the pixels above half the plateau (softly: see
    /// [`measure_disc`]).
    pub diameter_px: f64,
}

/// Measures the disc around the brightest region of `plane`; `expected_diameter_px` only sets
/// the radius used to read the plateau.
pub fn measure_disc(plane: &Plane, expected_diameter_px: f64) -> Disc {
    let max = plane.data().iter().cloned().fold(0.0f32, f32::max) as f64;
    let (mut sx, mut sy, mut sw) = (0.0, 0.0, 0.0);
    for y in 0..plane.height() {
        for x in 0..plane.width() {
            let v = plane.at(x, y) as f64;
            if v > 0.1 * max {
                sx += v * (x as f64 + 0.5);
                sy += v * (y as f64 + 0.5);
                sw += v;
            }
        }
    }
    let (cx, cy) = (sx / sw, sy / sw);
    let r = 0.25 * expected_diameter_px;
    let mut inner: Vec<f64> = Vec::new();
    for y in 0..plane.height() {
        for x in 0..plane.width() {
            let (dx, dy) = (x as f64 + 0.5 - cx, y as f64 + 0.5 - cy);
            if dx * dx + dy * dy <= r * r {
                inner.push(plane.at(x, y) as f64);
            }
        }
    }
    inner.sort_by(f64::total_cmp);
    let plateau = inner[inner.len() / 2].max(1e-9);
    // Pixels above half the plateau, counted softly (a linear ramp from 1/4 to 3/4 of the
    // plateau) so that edge pixels count by their coverage instead of all-or-nothing.
    let area: f64 = plane
        .data()
        .iter()
        .map(|&v| ((v as f64 / plateau - 0.25) / 0.5).clamp(0.0, 1.0))
        .sum();
    Disc {
        cx,
        cy,
        plateau,
        diameter_px: 2.0 * (area / std::f64::consts::PI).sqrt(),
    }
}

/// Radius (px) of the half-plateau contour of `disc` along `steps` directions
/// (θ = 2π·i/steps, x right, y down), by marching outwards with bilinear sampling.
pub fn radial_profile(plane: &Plane, disc: &Disc, steps: usize) -> Vec<f64> {
    let half = 0.5 * disc.plateau;
    (0..steps)
        .map(|i| {
            let theta = std::f64::consts::TAU * i as f64 / steps as f64;
            let (dx, dy) = (theta.cos(), theta.sin());
            let sample = |t: f64| {
                plane.sample_bilinear((disc.cx + t * dx) as f32, (disc.cy + t * dy) as f32) as f64
            };
            let step = 0.05;
            let mut t = 0.0;
            let mut prev = sample(0.0);
            loop {
                let next = sample(t + step);
                if next < half || t > (plane.width() + plane.height()) as f64 {
                    let frac = if prev > next {
                        (prev - half) / (prev - next)
                    } else {
                        0.0
                    };
                    return t + frac * step;
                }
                prev = next;
                t += step;
            }
        })
        .collect()
}

/// Corner directions of an n-fold polygonal radial profile: returns the angle (radians, in
/// `[0, 2π/n)`) of the first corner, the mean radius at the corners and at the edge centres
/// (±`half_window` directions around each).
pub fn polygon_fit(profile: &[f64], n: usize, half_window: usize) -> (f64, f64, f64) {
    let steps = profile.len();
    let (mut re, mut im) = (0.0, 0.0);
    for (i, r) in profile.iter().enumerate() {
        let theta = std::f64::consts::TAU * i as f64 / steps as f64;
        re += r * (n as f64 * theta).cos();
        im += r * (n as f64 * theta).sin();
    }
    // r(θ) ≈ r0 + a·cos(n(θ − θc))  ⇒  Σ r·e^{inθ} ∝ e^{inθc}.
    let sector = std::f64::consts::TAU / n as f64;
    let corner = (im.atan2(re) / n as f64).rem_euclid(sector);
    let mean_at = |offset: f64| {
        let mut s = 0.0;
        let mut c = 0.0;
        for k in 0..n {
            let centre = corner + offset + k as f64 * sector;
            let ci = (centre / std::f64::consts::TAU * steps as f64).round() as isize;
            for d in -(half_window as isize)..=half_window as isize {
                s += profile[(ci + d).rem_euclid(steps as isize) as usize];
                c += 1.0;
            }
        }
        s / c
    };
    (corner, mean_at(0.0), mean_at(sector / 2.0))
}

/// Quantises to 8-bit sRGB, interleaved.
pub fn to_srgb8(img: &LinearRgb) -> Vec<u8> {
    let mut out = Vec::with_capacity(img.len() * 3);
    for i in 0..img.len() {
        for c in [img.r()[i], img.g()[i], img.b()[i]] {
            out.push((srgb_encode(c) * 255.0).round() as u8);
        }
    }
    out
}

/// Writes an 8-bit sRGB PNG.
pub fn write_png(path: &Path, img: &LinearRgb) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create output folder");
    }
    let buf = image::RgbImage::from_raw(img.width() as u32, img.height() as u32, to_srgb8(img))
        .expect("buffer size");
    buf.save(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Writes a plane as 8-bit grey, mapping `lo..hi` to 0..255.
pub fn write_plane_png(path: &Path, plane: &Plane, lo: f32, hi: f32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("create output folder");
    }
    let data = plane
        .data()
        .iter()
        .map(|&v| (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect();
    let buf = image::GrayImage::from_raw(plane.width() as u32, plane.height() as u32, data)
        .expect("size");
    buf.save(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Places images side by side (same height) with a 4 px gap.
pub fn side_by_side(images: &[&LinearRgb]) -> LinearRgb {
    let h = images[0].height();
    let gap = 4;
    let w: usize = images.iter().map(|i| i.width()).sum::<usize>() + gap * (images.len() - 1);
    let mut out = LinearRgb::filled(w, h, [1.0, 1.0, 1.0]);
    let mut x0 = 0;
    for img in images {
        for y in 0..h {
            for x in 0..img.width() {
                out.set(x0 + x, y, img.at(x, y));
            }
        }
        x0 += img.width() + gap;
    }
    out
}

/// `img` scaled by `k` (for viewing dim bokeh).
pub fn scaled(img: &LinearRgb, k: f32) -> LinearRgb {
    let mut out = img.clone();
    for c in out.channels_mut() {
        for v in c.iter_mut() {
            *v *= k;
        }
    }
    out
}

/// Per-channel `gain·|a − b|` of the sRGB-encoded images, returned as *linear* values whose
/// sRGB encoding is that difference (so writing it as a PNG shows the display difference).
pub fn abs_diff_srgb(a: &LinearRgb, b: &LinearRgb, gain: f32) -> LinearRgb {
    let mut out = a.clone();
    for ((o, ca), cb) in out
        .channels_mut()
        .into_iter()
        .zip(a.channels())
        .zip(b.channels())
    {
        for i in 0..o.len() {
            let d = (srgb_encode(ca[i]) - srgb_encode(cb[i])).abs() * gain;
            o[i] = srgb_decode(d.min(1.0));
        }
    }
    out
}

/// Inverse of [`srgb_encode`].
pub fn srgb_decode(v: f32) -> f32 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// The region `[x0, x0+w) × [y0, y0+h)` of `img`, each pixel repeated `k × k` times (for
/// looking at).
pub fn zoom(img: &LinearRgb, x0: usize, y0: usize, w: usize, h: usize, k: usize) -> LinearRgb {
    let mut out = LinearRgb::filled(w * k, h * k, [0.0; 3]);
    for y in 0..h * k {
        for x in 0..w * k {
            let (sx, sy) = (
                (x0 + x / k).min(img.width() - 1),
                (y0 + y / k).min(img.height() - 1),
            );
            out.set(x, y, img.at(sx, sy));
        }
    }
    out
}

/// The 10–90 % edge width (px) of a disc: the difference of the equivalent radii `√(A/π)` of
/// the pixels above 10 % and above 90 % of its plateau (an average over the whole outline).
pub fn edge_width_10_90(plane: &Plane, disc: &Disc) -> f64 {
    let count = |k: f64| {
        plane
            .data()
            .iter()
            .filter(|&&v| v as f64 > k * disc.plateau)
            .count()
    };
    let radius = |n: usize| (n as f64 / std::f64::consts::PI).sqrt();
    radius(count(0.1)) - radius(count(0.9))
}
