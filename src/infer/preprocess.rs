//! Turning a linear-light photo into a model input tensor.
//!
//! Models were trained on 8-bit sRGB images, so the photo is downsampled in linear light
//! (area averaging: physically right and alias-free), encoded to sRGB, rounded to the 8-bit grid
//! (`k/255`), scaled per [`Range`], normalised with the descriptor's mean/std and laid out as
//! an NCHW (or NHWC) [`ndarray`] array, which ONNX Runtime takes as it is.

use ndarray::{Array4, Axis, s};
use rayon::prelude::*;

use super::catalog::{InputSpec, Layout, Range};
use crate::scene::{LinearRgb, Plane};

/// A tensor ready for [`super::session::ModelSession::run`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    /// `[1, 3, H, W]` or `[1, H, W, 3]`, in standard (row-major, contiguous) layout.
    pub tensor: Array4<f32>,
    pub width: usize,
    pub height: usize,
}

/// The sRGB transfer function (IEC 61966-2-1) on a linear value, clamped to 0..1.
#[inline]
pub fn srgb_encode(linear: f32) -> f32 {
    let v = if linear.is_finite() {
        linear.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if v <= 0.003_130_8 {
        12.92 * v
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// sRGB encoding rounded to the 8-bit grid, as the models saw their training images.
#[inline]
pub(crate) fn srgb_8bit(linear: f32) -> f32 {
    (srgb_encode(linear) * 255.0).round() / 255.0
}

/// Area-average downsample by an integer factor `k` (edge blocks average what exists).
pub(crate) fn downsample_area(photo: &LinearRgb, k: usize) -> LinearRgb {
    if k <= 1 {
        return photo.clone();
    }
    let (w, h) = (photo.width(), photo.height());
    let ow = w.div_ceil(k);
    let oh = h.div_ceil(k);
    let chans: Vec<Vec<f32>> = photo
        .channels()
        .into_par_iter()
        .map(|src| {
            let mut out = vec![0.0f32; ow * oh];
            out.par_chunks_mut(ow).enumerate().for_each(|(oy, row)| {
                let y0 = oy * k;
                let y1 = (y0 + k).min(h);
                // Column sums over the block's rows (whole rows at a time: vectorised), then
                // the sums of each block's columns.
                let mut columns = src[y0 * w..(y0 + 1) * w].to_vec();
                for y in y0 + 1..y1 {
                    for (c, &v) in columns.iter_mut().zip(&src[y * w..(y + 1) * w]) {
                        *c += v;
                    }
                }
                for (o, block) in row.iter_mut().zip(columns.chunks(k)) {
                    *o = block.iter().sum::<f32>() / (block.len() * (y1 - y0)) as f32;
                }
            });
            out
        })
        .collect();
    let mut it = chans.into_iter();
    let (r, g, b) = (
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
        it.next().unwrap_or_default(),
    );
    LinearRgb::from_channels(ow, oh, [r, g, b])
}

/// The photo at a working resolution: long side at most `long_side` (never upscaled). Large
/// factors are area-averaged first, then resampled bilinearly to the exact size.
pub fn working_image(photo: &LinearRgb, long_side: usize) -> LinearRgb {
    let long = photo.width().max(photo.height());
    if long <= long_side || photo.is_empty() {
        return photo.clone();
    }
    let scale = long_side as f64 / long as f64;
    let tw = ((photo.width() as f64 * scale).round() as usize).max(1);
    let th = ((photo.height() as f64 * scale).round() as usize).max(1);
    let k = (photo.width() / tw).min(photo.height() / th).max(1);
    let coarse = downsample_area(photo, k);
    coarse.resized(tw, th)
}

/// Builds the input tensor for a model from `image` (linear light, any size).
pub(crate) fn prepare(image: &LinearRgb, spec: &InputSpec) -> ModelInput {
    let (mw, mh) = spec.size.model_size(image.width(), image.height());
    let sized = if (image.width(), image.height()) == (mw, mh) {
        image.clone()
    } else {
        image.resized(mw, mh)
    };
    // NCHW: one plane per channel, on the 8-bit sRGB grid.
    let mut tensor = Array4::<f32>::zeros((1, 3, mh, mw));
    for (c, src) in sized.channels().iter().enumerate() {
        let mut plane = tensor.slice_mut(s![0, c, .., ..]);
        for (t, &v) in plane.iter_mut().zip(src.iter()) {
            *t = srgb_8bit(v);
        }
    }
    let scale = match spec.range {
        Range::Unit => 1.0,
        Range::ImageMax => {
            let max = tensor.fold(0.0f32, |m, &v| m.max(v));
            if max > 1e-6 { 1.0 / max } else { 1.0 }
        }
    };
    for (c, mut plane) in tensor.axis_iter_mut(Axis(1)).enumerate() {
        let (mean, std) = (spec.mean[c], spec.std[c]);
        plane.mapv_inplace(|v| (v * scale - mean) / std);
    }
    let tensor = match spec.layout {
        Layout::Nchw => tensor,
        Layout::Nhwc => tensor
            .permuted_axes([0, 2, 3, 1])
            .as_standard_layout()
            .into_owned(),
    };
    ModelInput {
        tensor,
        width: mw,
        height: mh,
    }
}

/// The guide for edge-aware filtering: `sqrt` of linear luminance, a cheap perceptual
/// (gamma ≈ 2) lightness in 0..1.
pub(crate) fn guide_plane(image: &LinearRgb) -> Plane {
    let data = (0..image.len())
        .into_par_iter()
        .map(|i| guide_value(image.r()[i], image.g()[i], image.b()[i]))
        .collect();
    Plane::from_vec(image.width(), image.height(), data)
}

/// One guide value (see [`guide_plane`]).
#[inline]
pub(crate) fn guide_value(r: f32, g: f32, b: f32) -> f32 {
    (0.2126 * r + 0.7152 * g + 0.0722 * b)
        .clamp(0.0, 1.0)
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::catalog::SizePolicy;

    #[test]
    fn srgb_curve() {
        assert_eq!(srgb_encode(0.0), 0.0);
        assert!((srgb_encode(1.0) - 1.0).abs() < 1e-6);
        assert!((srgb_encode(0.214_041) - 0.5).abs() < 1e-3);
        assert_eq!(srgb_encode(f32::NAN), 0.0);
        assert!((srgb_encode(7.0) - 1.0).abs() < 1e-6);
        assert_eq!(srgb_8bit(0.215_860_5), 128.0 / 255.0);
    }

    #[test]
    fn area_downsample_keeps_mean_and_sizes() {
        let mut img = LinearRgb::filled(10, 7, [0.2, 0.4, 0.6]);
        img.r_mut()[0] = 1.0;
        let d = downsample_area(&img, 3);
        assert_eq!((d.width(), d.height()), (4, 3));
        assert!((d.r()[0] - (1.0 + 8.0 * 0.2) / 9.0).abs() < 1e-6);
        assert!((d.g()[11] - 0.4).abs() < 1e-6);
        let w = working_image(&LinearRgb::filled(4000, 3000, [0.5; 3]), 1024);
        assert_eq!((w.width(), w.height()), (1024, 768));
        assert!(w.r().iter().all(|v| (v - 0.5).abs() < 1e-5));
    }

    #[test]
    fn tensors_are_normalised_and_laid_out() {
        let mut img = LinearRgb::filled(8, 4, [0.0, 0.215_860_5, 1.0]);
        img.r_mut()[0] = 1.0;
        let mut spec = InputSpec {
            name: None,
            layout: Layout::Nchw,
            size: SizePolicy::Fixed {
                width: 8,
                height: 4,
            },
            range: Range::Unit,
            mean: [0.5; 3],
            std: [0.5; 3],
        };
        let t = prepare(&img, &spec);
        assert_eq!(t.tensor.shape(), [1, 3, 4, 8]);
        let data = t.tensor.as_slice().expect("standard layout");
        assert_eq!(data[0], 1.0); // r of pixel 0: (1 - 0.5) / 0.5
        assert_eq!(data[1], -1.0);
        assert!((data[32] - (128.0 / 255.0 - 0.5) / 0.5).abs() < 1e-6);
        assert_eq!(data[64], 1.0);
        let nchw = t.tensor;
        spec.layout = Layout::Nhwc;
        let t = prepare(&img, &spec);
        assert_eq!(t.tensor.shape(), [1, 4, 8, 3]);
        let data = t.tensor.as_slice().expect("standard layout");
        assert_eq!(&data[..3], &[1.0, (128.0 / 255.0 - 0.5) / 0.5, 1.0]);
        // The same values, bit for bit, in the other order.
        assert_eq!(t.tensor, nchw.permuted_axes([0, 2, 3, 1]));
        // image-max: the brightest value becomes 1.
        let dim = LinearRgb::filled(2, 2, [0.215_860_5; 3]);
        spec.range = Range::ImageMax;
        spec.mean = [0.0; 3];
        spec.std = [1.0; 3];
        spec.size = SizePolicy::MultipleOf {
            multiple: 2,
            long_side: 4,
        };
        let t = prepare(&dim, &spec);
        assert_eq!(t.tensor.shape(), [1, 4, 4, 3]);
        assert!(t.tensor.iter().all(|&v| (v - 1.0).abs() < 1e-6));
    }
}
