//! Render benchmarks (criterion): the fast kernel at 1, 4, 12 and 33 MP at 85 mm f/1.8, at
//! 12 MP across f/1.2, f/1.8 and f/2.8, and the reference kernel against the fast one on a small
//! image for the speed-up ratio.
//!
//! The scene is synthetic: a textured background at infinity with bright point lights, a
//! subject ellipse at 2 m (the focus) with a soft-edged matte, and a foreground object at
//! 1.2 m. With a full-frame 85 mm lens the background CoC is ≈ 233 px at 4000 px wide (f/1.8).
//!
//! Run: `cargo bench --bench render` (all, a few minutes), or filter, e.g.
//! `cargo bench --bench render -- 'size/12MP'`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fstop::optics::Lens;
use fstop::render::{KernelKind, RenderOptions, render};
use fstop::scene::{LinearRgb, Plane, Scene};

/// Deterministic hash noise in 0..1.
fn noise(x: usize, y: usize, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xFFFF) as f32 / 65535.0
}

/// The synthetic portrait at `w × h`.
fn scene(w: usize, h: usize) -> Scene {
    let n = w * h;
    let mut color = LinearRgb::filled(w, h, [0.0; 3]);
    let mut disparity = Plane::filled(w, h, 0.0);
    let mut matte = Plane::filled(w, h, 0.0);
    let (fw, fh) = (w as f32, h as f32);
    // Subject ellipse at 2 m, foreground slab at 1.2 m.
    let (cx, cy, rx, ry) = (0.55 * fw, 0.6 * fh, 0.18 * fw, 0.35 * fh);
    let soft = (fw / 1000.0).max(1.0);
    for y in 0..h {
        let yf = y as f32 + 0.5;
        for x in 0..w {
            let xf = x as f32 + 0.5;
            let i = y * w + x;
            let t = noise(x / 4, y / 4, 7);
            let mut rgb = [
                0.1 + 0.3 * (xf / fw) + 0.15 * t,
                0.15 + 0.2 * ((yf / fh) * 9.0).sin().abs() + 0.1 * noise(x, y, 1),
                0.3 - 0.2 * (xf / fw) + 0.1 * t,
            ];
            let q = (((xf - cx) / rx).powi(2) + ((yf - cy) / ry).powi(2)).sqrt();
            let m = ((1.0 - q) * rx / soft + 0.5).clamp(0.0, 1.0);
            if m > 0.0 {
                let skin = [0.55 + 0.1 * noise(x, y, 3), 0.38, 0.3];
                for c in 0..3 {
                    rgb[c] = m * skin[c] + (1.0 - m) * rgb[c];
                }
                disparity.data[i] = 0.5;
                matte.data[i] = m;
            }
            if xf > 0.05 * fw && xf < 0.2 * fw && yf > 0.55 * fh {
                rgb = [0.05, 0.25 + 0.1 * t, 0.06];
                disparity.data[i] = 1.0 / 1.2;
                matte.data[i] = 0.0;
            }
            color.r[i] = rgb[0];
            color.g[i] = rgb[1];
            color.b[i] = rgb[2];
        }
    }
    // Point lights: clipped blobs about 0.2 % of the width across.
    let r = (w / 500).max(1);
    for k in 0..60 {
        let x0 = r + (noise(k, 0, 11) * (w - 2 * r - 1) as f32) as usize;
        let y0 = r + (noise(k, 1, 11) * 0.5 * fh) as usize;
        let col = [
            1.0,
            0.6 + 0.4 * noise(k, 2, 11),
            0.3 + 0.7 * noise(k, 3, 11),
        ];
        for y in y0 - r..=y0 + r {
            for x in x0 - r..=x0 + r {
                let i = y * w + x;
                if i < n && matte.data[i] == 0.0 && disparity.data[i] == 0.0 {
                    color.set(x, y, col);
                }
            }
        }
    }
    Scene::new(color, disparity, Some(matte)).expect("sizes match")
}

fn lens(f_number: f64) -> Lens {
    Lens {
        f_number,
        ..Lens::default()
    }
}

const SIZES: [(&str, usize, usize); 4] = [
    ("1MP", 1155, 866),
    ("4MP", 2309, 1732),
    ("12MP", 4000, 3000),
    ("33MP", 7680, 4320),
];

fn by_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("size");
    group.sample_size(10);
    for (name, w, h) in SIZES {
        let s = scene(w, h);
        let l = lens(1.8);
        group.bench_function(BenchmarkId::new(name, "f1.8"), |b| {
            b.iter(|| render(black_box(&s), &l, &RenderOptions::default()))
        });
    }
    group.finish();
}

fn by_aperture(c: &mut Criterion) {
    let mut group = c.benchmark_group("aperture");
    group.sample_size(10);
    let s = scene(4000, 3000);
    for f in [1.2, 1.8, 2.8] {
        let l = lens(f);
        group.bench_function(BenchmarkId::new("12MP", format!("f{f}")), |b| {
            b.iter(|| render(black_box(&s), &l, &RenderOptions::default()))
        });
    }
    group.finish();
}

fn by_kernel(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernel");
    group.sample_size(10);
    // 128 px wide with the same framing: background CoC ≈ 7.5 px; use a lens whose sensor
    // makes the blur match a 12 MP photo scaled down (≈ 30 px) so the kernels do real work.
    let s = scene(128, 96);
    let l = Lens {
        sensor: fstop::optics::Sensor::Custom { width_mm: 9.0 },
        ..lens(1.8)
    };
    for (name, kernel) in [
        ("fast", KernelKind::Fast),
        ("reference", KernelKind::Reference),
    ] {
        let options = RenderOptions {
            kernel,
            ..RenderOptions::default()
        };
        group.bench_function(BenchmarkId::new("128x96", name), |b| {
            b.iter(|| render(black_box(&s), &l, &options))
        });
    }
    group.finish();
}

criterion_group!(benches, by_size, by_aperture, by_kernel);
criterion_main!(benches);
