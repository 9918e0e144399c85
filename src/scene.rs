//! The scene the renderer consumes: linear-light colour, disparity and an optional subject matte.
//!
//! Everything here is plain data with cheap helpers; analysis (decoding, models) builds a
//! [`Scene`], and [`crate::render::render`] turns it into an image without failing.

use thiserror::Error;

/// A single-channel `f32` image, row-major, `data.len() == width * height`.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
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

    /// Wraps `data`; panics if the length does not match (a programming error).
    pub fn from_vec(width: usize, height: usize, data: Vec<f32>) -> Plane {
        assert_eq!(data.len(), width * height, "plane data length");
        Plane {
            width,
            height,
            data,
        }
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
        let fx = (x - 0.5).clamp(0.0, (self.width - 1) as f32);
        let fy = (y - 0.5).clamp(0.0, (self.height - 1) as f32);
        let x0 = fx.floor() as usize;
        let y0 = fy.floor() as usize;
        let x1 = (x0 + 1).min(self.width - 1);
        let y1 = (y0 + 1).min(self.height - 1);
        let tx = fx - x0 as f32;
        let ty = fy - y0 as f32;
        let top = self.at(x0, y0) * (1.0 - tx) + self.at(x1, y0) * tx;
        let bottom = self.at(x0, y1) * (1.0 - tx) + self.at(x1, y1) * tx;
        top * (1.0 - ty) + bottom * ty
    }

    /// Resamples to `width × height` bilinearly (area-averaging when shrinking by more than 2×
    /// is done by repeated halving first, so no detail aliases).
    pub fn resized(&self, width: usize, height: usize) -> Plane {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let mut src = std::borrow::Cow::Borrowed(self);
        while src.width >= 2 * width.max(1) && src.height >= 2 * height.max(1) {
            src = std::borrow::Cow::Owned(src.halved());
        }
        let sx = src.width as f32 / width as f32;
        let sy = src.height as f32 / height as f32;
        let mut data = Vec::with_capacity(width * height);
        for y in 0..height {
            let v = (y as f32 + 0.5) * sy;
            for x in 0..width {
                data.push(src.sample_bilinear((x as f32 + 0.5) * sx, v));
            }
        }
        Plane::from_vec(width, height, data)
    }

    /// 2×2 box downsample (odd edges averaged with what exists).
    pub fn halved(&self) -> Plane {
        let w = self.width.div_ceil(2);
        let h = self.height.div_ceil(2);
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0.0;
                let mut n = 0.0;
                for yy in 2 * y..(2 * y + 2).min(self.height) {
                    for xx in 2 * x..(2 * x + 2).min(self.width) {
                        sum += self.at(xx, yy);
                        n += 1.0;
                    }
                }
                data.push(sum / n);
            }
        }
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
pub fn neighbours4(i: usize, width: usize, height: usize) -> [Option<usize>; 4] {
    let (x, y) = (i % width, i / width);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < width).then(|| i + 1),
        (y > 0).then(|| i - width),
        (y + 1 < height).then(|| i + width),
    ]
}

/// Linear-light RGB stored as three planes (planar layout keeps kernels cache friendly).
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRgb {
    pub width: usize,
    pub height: usize,
    pub r: Vec<f32>,
    pub g: Vec<f32>,
    pub b: Vec<f32>,
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
    pub fn channels(&self) -> [&Vec<f32>; 3] {
        [&self.r, &self.g, &self.b]
    }

    /// The three planes, mutably.
    pub fn channels_mut(&mut self) -> [&mut Vec<f32>; 3] {
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
        let [r, g, b] = self.channels().map(|c| {
            Plane::from_vec(self.width, self.height, c.clone())
                .resized(width, height)
                .data
        });
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
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub color: LinearRgb,
    pub disparity_per_m: Plane,
    pub matte: Option<Plane>,
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
        let e = Scene::new(c, Plane::filled(3, 3, 0.0), None).unwrap_err();
        assert_eq!(e.to_string(), "depth map is 3×3 but the photo is 4×3");
    }
}
