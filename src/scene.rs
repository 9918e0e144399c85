//! The scene the renderer consumes: linear-light colour, disparity and an optional subject matte.
//!
//! Everything here is plain data with cheap helpers; analysis (decoding, models) builds a
//! [`Scene`], and [`crate::render::render`] turns it into an image without failing.

use rayon::prelude::*;
use thiserror::Error;

/// A single-channel `f32` image, row-major, `data().len() == width() * height()`.
///
/// The fields are private so the length always matches the size: a plane is made by
/// [`Plane::filled`] or [`Plane::from_vec`] (which panics on a mismatch, a programming error),
/// and its values are changed through the slice [`Plane::data_mut`], which cannot change the
/// length.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl Plane {
    /// A plane filled with `value`.
    pub fn filled(width: usize, height: usize, value: f32) -> Plane {
        Plane {
            width,
            height,
            data: vec![value; width * height],
        }
    }

    /// Wraps `data`.
    ///
    /// # Panics
    /// If `data.len() != width * height` (a programming error).
    pub fn from_vec(width: usize, height: usize, data: Vec<f32>) -> Plane {
        assert_eq!(data.len(), width * height, "plane data length");
        Plane {
            width,
            height,
            data,
        }
    }

    /// Width in pixels.
    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    #[inline]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The values, row-major (`width() * height()` of them).
    #[inline]
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The values, mutably (a slice: the length cannot change).
    #[inline]
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The values, taken back.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Value at (x, y).
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Row `y` as a slice.
    #[inline]
    pub fn row(&self, y: usize) -> &[f32] {
        &self.data[y * self.width..(y + 1) * self.width]
    }

    /// Bilinear sample at continuous pixel coordinates (pixel centres at integer + 0.5),
    /// clamped at the borders.
    pub fn sample_bilinear(&self, x: f32, y: f32) -> f32 {
        sample_bilinear(&self.data, self.width, self.height, x, y)
    }

    /// Resamples to `width × height` bilinearly (area-averaging when shrinking by more than 2×
    /// is done by repeated halving first, so no detail aliases). Row-parallel.
    pub fn resized(&self, width: usize, height: usize) -> Plane {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let data = resample(&self.data, self.width, self.height, width, height);
        Plane::from_vec(width, height, data)
    }

    /// 2×2 box downsample (odd edges averaged with what exists). Row-parallel.
    pub fn halved(&self) -> Plane {
        let (w, h, data) = halve(&self.data, self.width, self.height);
        Plane::from_vec(w, h, data)
    }

    /// Smallest and largest finite values, or `None` when there are none.
    pub fn finite_range(&self) -> Option<(f32, f32)> {
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for &v in &self.data {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        (lo <= hi).then_some((lo, hi))
    }
}

/// The 4-connected neighbours of pixel index `i` in a `width × height` row-major grid (`None`
/// past an edge), for flood fills.
#[inline]
pub(crate) fn neighbours4(i: usize, width: usize, height: usize) -> [Option<usize>; 4] {
    let (x, y) = (i % width, i / width);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < width).then(|| i + 1),
        (y > 0).then(|| i - width),
        (y + 1 < height).then(|| i + width),
    ]
}

/// `src` (`width × height`, row-major) resampled to `tw × th`: halved while at least 2× too
/// large both ways, then bilinear (pixel centres at integer + ½, clamped at the borders).
fn resample(src: &[f32], width: usize, height: usize, tw: usize, th: usize) -> Vec<f32> {
    let mut cur = std::borrow::Cow::Borrowed(src);
    let (mut w, mut h) = (width, height);
    while w >= 2 * tw.max(1) && h >= 2 * th.max(1) {
        let (hw, hh, halved) = halve(&cur, w, h);
        (w, h, cur) = (hw, hh, std::borrow::Cow::Owned(halved));
    }
    let sx = w as f32 / tw as f32;
    let sy = h as f32 / th as f32;
    let mut out = vec![0.0f32; tw * th];
    out.par_chunks_mut(tw.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            let v = (y as f32 + 0.5) * sy;
            for (x, o) in row.iter_mut().enumerate() {
                *o = sample_bilinear(&cur, w, h, (x as f32 + 0.5) * sx, v);
            }
        });
    out
}

/// [`Plane::sample_bilinear`] of the `width × height` plane `data`.
#[inline]
fn sample_bilinear(data: &[f32], width: usize, height: usize, x: f32, y: f32) -> f32 {
    let fx = (x - 0.5).clamp(0.0, (width - 1) as f32);
    let fy = (y - 0.5).clamp(0.0, (height - 1) as f32);
    let x0 = fx.floor() as usize;
    let y0 = fy.floor() as usize;
    let x1 = (x0 + 1).min(width - 1);
    let y1 = (y0 + 1).min(height - 1);
    let tx = fx - x0 as f32;
    let ty = fy - y0 as f32;
    let at = |x: usize, y: usize| data[y * width + x];
    let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
    let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// 2×2 box average of `src` (`width × height`): `(⌈w/2⌉, ⌈h/2⌉, data)`.
fn halve(src: &[f32], width: usize, height: usize) -> (usize, usize, Vec<f32>) {
    let w = width.div_ceil(2);
    let h = height.div_ceil(2);
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            for (x, o) in row.iter_mut().enumerate() {
                let mut sum = 0.0;
                let mut n = 0.0;
                for yy in 2 * y..(2 * y + 2).min(height) {
                    for xx in 2 * x..(2 * x + 2).min(width) {
                        sum += src[yy * width + xx];
                        n += 1.0;
                    }
                }
                *o = sum / n;
            }
        });
    (w, h, out)
}

/// Linear-light RGB stored as three planes (planar layout keeps kernels cache friendly).
///
/// Like [`Plane`], the fields are private so every channel has `width() * height()` values:
/// made by [`LinearRgb::filled`], [`LinearRgb::from_interleaved`] or
/// [`LinearRgb::from_channels`] (which panic on a mismatch, a programming error), changed
/// through slices.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRgb {
    width: usize,
    height: usize,
    r: Vec<f32>,
    g: Vec<f32>,
    b: Vec<f32>,
}

impl LinearRgb {
    /// An image filled with one colour.
    pub fn filled(width: usize, height: usize, rgb: [f32; 3]) -> LinearRgb {
        let n = width * height;
        LinearRgb {
            width,
            height,
            r: vec![rgb[0]; n],
            g: vec![rgb[1]; n],
            b: vec![rgb[2]; n],
        }
    }

    /// Wraps three channels.
    ///
    /// # Panics
    /// If a channel's length is not `width * height` (a programming error).
    pub fn from_channels(width: usize, height: usize, [r, g, b]: [Vec<f32>; 3]) -> LinearRgb {
        for c in [&r, &g, &b] {
            assert_eq!(c.len(), width * height, "channel length");
        }
        LinearRgb {
            width,
            height,
            r,
            g,
            b,
        }
    }

    /// Width in pixels.
    #[inline]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    #[inline]
    pub fn height(&self) -> usize {
        self.height
    }

    /// The red channel, row-major.
    #[inline]
    pub fn r(&self) -> &[f32] {
        &self.r
    }

    /// The green channel, row-major.
    #[inline]
    pub fn g(&self) -> &[f32] {
        &self.g
    }

    /// The blue channel, row-major.
    #[inline]
    pub fn b(&self) -> &[f32] {
        &self.b
    }

    /// The red channel, mutably.
    #[inline]
    pub fn r_mut(&mut self) -> &mut [f32] {
        &mut self.r
    }

    /// The green channel, mutably.
    #[inline]
    pub fn g_mut(&mut self) -> &mut [f32] {
        &mut self.g
    }

    /// The blue channel, mutably.
    #[inline]
    pub fn b_mut(&mut self) -> &mut [f32] {
        &mut self.b
    }

    /// The three channels, taken back.
    pub fn into_channels(self) -> [Vec<f32>; 3] {
        [self.r, self.g, self.b]
    }

    /// Builds from interleaved RGB triples.
    pub fn from_interleaved(width: usize, height: usize, rgb: &[f32]) -> LinearRgb {
        assert_eq!(rgb.len(), width * height * 3, "interleaved length");
        let mut img = LinearRgb::filled(width, height, [0.0; 3]);
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            img.r[i] = px[0];
            img.g[i] = px[1];
            img.b[i] = px[2];
        }
        img
    }

    /// Number of pixels.
    pub fn len(&self) -> usize {
        self.width * self.height
    }

    /// True for a 0-pixel image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pixel at (x, y).
    #[inline]
    pub fn at(&self, x: usize, y: usize) -> [f32; 3] {
        let i = y * self.width + x;
        [self.r[i], self.g[i], self.b[i]]
    }

    /// Sets the pixel at (x, y).
    #[inline]
    pub fn set(&mut self, x: usize, y: usize, rgb: [f32; 3]) {
        let i = y * self.width + x;
        self.r[i] = rgb[0];
        self.g[i] = rgb[1];
        self.b[i] = rgb[2];
    }

    /// The three planes, for per-channel loops.
    pub fn channels(&self) -> [&[f32]; 3] {
        [&self.r, &self.g, &self.b]
    }

    /// The three planes, mutably (slices: the lengths cannot change).
    pub fn channels_mut(&mut self) -> [&mut [f32]; 3] {
        [&mut self.r, &mut self.g, &mut self.b]
    }

    /// Rec. 709 luminance plane.
    pub fn luminance(&self) -> Plane {
        let data = (0..self.len())
            .map(|i| 0.2126 * self.r[i] + 0.7152 * self.g[i] + 0.0722 * self.b[i])
            .collect();
        Plane::from_vec(self.width, self.height, data)
    }

    /// Resamples each channel (see [`Plane::resized`]).
    pub fn resized(&self, width: usize, height: usize) -> LinearRgb {
        if (width, height) == (self.width, self.height) {
            return self.clone();
        }
        let [r, g, b] = self
            .channels()
            .map(|c| resample(c, self.width, self.height, width, height));
        LinearRgb {
            width,
            height,
            r,
            g,
            b,
        }
    }
}

/// The scene had planes of different sizes.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{what} is {got_w}×{got_h} but the photo is {want_w}×{want_h}")]
pub struct SceneSizeError {
    pub what: &'static str,
    pub got_w: usize,
    pub got_h: usize,
    pub want_w: usize,
    pub want_h: usize,
}

/// What the renderer needs: colour in linear light, disparity in 1/m (1 / distance in metres,
/// 0 at infinity) and, optionally, a subject matte in 0..1 (1 = subject).
///
/// Every plane has the colour's size: only [`Scene::new`] makes a scene, and it checks (so the
/// renderer need not). The parts are read with [`Scene::color`], [`Scene::disparity_per_m`]
/// and [`Scene::matte`], and taken back with [`Scene::into_parts`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub(crate) color: LinearRgb,
    pub(crate) disparity_per_m: Plane,
    pub(crate) matte: Option<Plane>,
}

impl Scene {
    /// Builds a scene, checking that all planes share the colour's size.
    pub fn new(
        color: LinearRgb,
        disparity_per_m: Plane,
        matte: Option<Plane>,
    ) -> Result<Scene, SceneSizeError> {
        let check = |what, p: &Plane| {
            if p.width != color.width || p.height != color.height {
                Err(SceneSizeError {
                    what,
                    got_w: p.width,
                    got_h: p.height,
                    want_w: color.width,
                    want_h: color.height,
                })
            } else {
                Ok(())
            }
        };
        check("depth map", &disparity_per_m)?;
        if let Some(m) = &matte {
            check("matte", m)?;
        }
        Ok(Scene {
            color,
            disparity_per_m,
            matte,
        })
    }

    pub fn width(&self) -> usize {
        self.color.width
    }

    /// The photo's colour in linear light.
    pub fn color(&self) -> &LinearRgb {
        &self.color
    }

    /// Disparity in 1/m, the colour's size.
    pub fn disparity_per_m(&self) -> &Plane {
        &self.disparity_per_m
    }

    /// The subject matte in 0..1, the colour's size.
    pub fn matte(&self) -> Option<&Plane> {
        self.matte.as_ref()
    }

    /// The colour, the disparity and the matte.
    pub fn into_parts(self) -> (LinearRgb, Plane, Option<Plane>) {
        (self.color, self.disparity_per_m, self.matte)
    }

    pub fn height(&self) -> usize {
        self.color.height
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_preserves_constant_and_mean() {
        let p = Plane::filled(40, 30, 0.25);
        let q = p.resized(7, 5);
        assert!(q.data.iter().all(|v| (v - 0.25).abs() < 1e-6));
        let ramp = Plane::from_vec(8, 1, (0..8).map(|i| i as f32).collect());
        let h = ramp.halved();
        assert_eq!(h.data, vec![0.5, 2.5, 4.5, 6.5]);
    }

    #[test]
    fn scene_checks_sizes() {
        let c = LinearRgb::filled(4, 3, [0.5; 3]);
        assert!(Scene::new(c.clone(), Plane::filled(4, 3, 0.0), None).is_ok());
        let e = Scene::new(c.clone(), Plane::filled(3, 3, 0.0), None).unwrap_err();
        assert_eq!(e.to_string(), "depth map is 3×3 but the photo is 4×3");
        let e = Scene::new(
            c.clone(),
            Plane::filled(4, 3, 0.0),
            Some(Plane::filled(4, 2, 1.0)),
        )
        .unwrap_err();
        assert_eq!((e.what, e.got_h, e.want_h), ("matte", 2, 3));
        // What goes in comes out.
        let d = Plane::from_vec(4, 3, (0..12).map(|i| i as f32).collect());
        let m = Plane::filled(4, 3, 0.5);
        let s = Scene::new(c.clone(), d.clone(), Some(m.clone())).unwrap();
        assert_eq!(
            (s.color(), s.disparity_per_m(), s.matte()),
            (&c, &d, Some(&m))
        );
        assert_eq!(s.into_parts(), (c, d, Some(m)));
    }
}
