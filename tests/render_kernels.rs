//! The renderer's kernels: fast ≈ reference, properties, disc geometry, the sharp subject.

use fstop::optics::{ApertureShape, Lens, Sensor};
use fstop::render::{HighlightOptions, KernelKind, RenderOptions, render};
use fstop::scene::{LinearRgb, Plane, Scene};

/// Disparity of the focus plane of [`lens`] (2 m).
const FOCUS: f32 = 0.5;

/// 85 mm f/1.8 focused at 2 m, on a sensor narrow enough that a small test image gets large
/// blur: `px_per_diopter` pixels of CoC per 1/m of disparity at `width`.
fn lens(width: usize, px_per_diopter: f64, aperture: ApertureShape) -> Lens {
    let base = Lens::default();
    let mm_per_diopter = base.coc_mm_per_diopter();
    Lens {
        sensor: Sensor::Custom {
            width_mm: mm_per_diopter * width as f64 / px_per_diopter,
        },
        aperture,
        ..base
    }
}

fn hexagon() -> ApertureShape {
    ApertureShape {
        blades: 6,
        blade_rotation_deg: 0.0,
        blade_curvature: 0.0,
    }
}

/// Cheap deterministic hash noise in 0..1.
fn noise(x: usize, y: usize, seed: u32) -> f32 {
    let mut h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77) ^ seed;
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xFFFF) as f32 / 65535.0
}

/// A portrait-like scene: textured background at infinity with point lights, a subject
/// ellipse in focus with a soft matte edge and a few "hairs", a foreground bar in front.
fn portrait(w: usize, h: usize, with_foreground: bool) -> Scene {
    let mut color = LinearRgb::filled(w, h, [0.0; 3]);
    let mut disp = Plane::filled(w, h, 0.0);
    let mut matte = Plane::filled(w, h, 0.0);
    let (fw, fh) = (w as f32, h as f32);
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f32 + 0.5, y as f32 + 0.5);
            // Background: smooth gradients plus texture.
            let mut rgb = [
                0.15 + 0.25 * (xf / fw) + 0.1 * noise(x, y, 1),
                0.2 + 0.2 * ((yf / fh) * 6.0).sin().abs() + 0.1 * noise(x, y, 2),
                0.35 - 0.2 * (xf / fw) + 0.1 * noise(x, y, 3),
            ];
            let i = y * w + x;
            // Subject ellipse right of centre, soft 2 px edge, with thin hairs on top.
            let (cx, cy, rx, ry) = (0.6 * fw, 0.55 * fh, 0.2 * fw, 0.3 * fh);
            let q = (((xf - cx) / rx).powi(2) + ((yf - cy) / ry).powi(2)).sqrt();
            let edge = ((1.0 - q) * rx / 2.0 + 0.5).clamp(0.0, 1.0);
            let hair = if yf < cy - 0.8 * ry && yf > cy - 1.25 * ry && (x % 5 == 0) {
                0.6
            } else {
                0.0
            };
            let m = edge.max(hair);
            let skin = [0.6 + 0.1 * noise(x, y, 4), 0.4 + 0.05 * noise(x, y, 5), 0.3];
            for c in 0..3 {
                rgb[c] = m * skin[c] + (1.0 - m) * rgb[c];
            }
            matte.data[i] = m;
            disp.data[i] = if m > 0.0 { FOCUS } else { 0.0 };
            // Foreground bar at 1.2 m on the left.
            if with_foreground && xf > 0.12 * fw && xf < 0.3 * fw && yf > 0.3 * fh {
                rgb = [0.05, 0.3 + 0.2 * noise(x, y, 6), 0.08];
                disp.data[i] = 1.0 / 1.2;
                matte.data[i] = 0.0;
            }
            color.set(x, y, rgb);
        }
    }
    // Point lights in the background (clipped white and coloured).
    for (k, &(px, py)) in [
        (0.1, 0.1),
        (0.3, 0.15),
        (0.85, 0.2),
        (0.9, 0.8),
        (0.45, 0.9),
    ]
    .iter()
    .enumerate()
    {
        let (x, y) = ((px * fw) as usize, (py * fh) as usize);
        let i = y * w + x;
        if matte.data[i] == 0.0 && disp.data[i] == 0.0 {
            color.set(
                x,
                y,
                if k % 2 == 0 {
                    [1.0, 1.0, 1.0]
                } else {
                    [1.0, 0.7, 0.3]
                },
            );
        }
    }
    Scene::new(color, disp, Some(matte)).unwrap()
}

struct Errors {
    mae: f64,
    psnr: f64,
    max: f64,
}

fn errors(a: &LinearRgb, b: &LinearRgb) -> Errors {
    let mut sum = 0.0;
    let mut sq = 0.0;
    let mut max: f64 = 0.0;
    for (pa, pb) in a.channels().iter().zip(b.channels()) {
        for (&x, &y) in pa.iter().zip(pb.iter()) {
            let d = f64::from((x - y).abs());
            sum += d;
            sq += d * d;
            max = max.max(d);
        }
    }
    let n = (a.len() * 3) as f64;
    let mse = sq / n;
    Errors {
        mae: sum / n,
        psnr: if mse > 0.0 {
            -10.0 * mse.log10()
        } else {
            f64::INFINITY
        },
        max,
    }
}

fn fast_and_reference(scene: &Scene, lens: &Lens, options: RenderOptions) -> Errors {
    let fast = render(scene, lens, &options);
    let reference = render(
        scene,
        lens,
        &RenderOptions {
            kernel: KernelKind::Reference,
            ..options
        },
    );
    errors(&fast, &reference)
}

#[test]
#[ignore]
fn explore_fast_vs_reference() {
    for (name, aperture) in [("circle", ApertureShape::default()), ("hexagon", hexagon())] {
        for d0 in [4.0, 8.0, 16.0] {
            for (w, h, k) in [(128, 96, 72.0), (128, 96, 30.0), (160, 120, 160.0)] {
                let scene = portrait(w, h, true);
                let l = lens(w, k, aperture);
                let e = fast_and_reference(
                    &scene,
                    &l,
                    RenderOptions {
                        level_diameter_px: d0,
                        ..RenderOptions::default()
                    },
                );
                println!(
                    "{name} D0={d0} {w}x{h} bg CoC {:.1}px: mae {:.5} psnr {:.2} max {:.3}",
                    k * 0.5,
                    e.mae,
                    e.psnr,
                    e.max
                );
            }
        }
    }
}
