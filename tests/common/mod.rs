//! Helpers shared by the inference tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use fstop::scene::{LinearRgb, Plane};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture models directory.
pub fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/models")
}

/// A fixture model's path as a string (for `ModelConfig`).
pub fn fixture(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Decodes an 8-bit image to linear light (test-only; fstop's own decoder lives in `io`).
pub fn load_linear(path: &Path) -> LinearRgb {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    let data: Vec<f32> = img
        .as_raw()
        .iter()
        .map(|&v| srgb_to_linear(v as f32 / 255.0))
        .collect();
    LinearRgb::from_interleaved(w as usize, h as usize, &data)
}

/// A synthetic portrait: a bright elliptic "person" (head + shoulders) on a dark background
/// that gets lighter towards the right, `w × h`.
pub fn synthetic_portrait(w: usize, h: usize) -> (LinearRgb, Plane) {
    let mut img = LinearRgb::filled(w, h, [0.0; 3]);
    let mut truth = Plane::filled(w, h, 0.0);
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let head = ((fx - 0.5) / 0.12).powi(2) + ((fy - 0.35) / 0.18).powi(2) <= 1.0;
            let body = fy > 0.6 && (fx - 0.5).abs() < 0.3;
            let bg = 0.01 + 0.04 * fx;
            if head || body {
                img.set(x, y, [0.8, 0.75, 0.7]);
                truth.data_mut()[y * w + x] = 1.0;
            } else {
                img.set(x, y, [bg, bg, bg * 1.2]);
            }
        }
    }
    (img, truth)
}

/// Mean of `p` where `mask` is above/below 0.5.
pub fn mean_where(p: &Plane, mask: &Plane, inside: bool) -> f32 {
    let mut s = 0.0f64;
    let mut n = 0usize;
    for (v, m) in p.data().iter().zip(mask.data()) {
        if (*m >= 0.5) == inside {
            s += *v as f64;
            n += 1;
        }
    }
    (s / n.max(1) as f64) as f32
}
