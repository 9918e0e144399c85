//! The hard scenes of issue 13: content that tells a lens from a filter. Each is a [`World`]
//! for an image `width × height`; sizes are in pinhole-image pixels scaled by `height / 213`
//! so a scene looks the same at any resolution.
//!
//! * [`night_lights`]: coloured point lights 5–50× the clipping level, at sub-pixel positions
//!   (anti-aliased fringes), on a dark building and a nearer wall, behind a subject.
//! * [`clipped_surfaces`]: daylight; an overcast sky (1.6), a white facade (exactly 1.0), a
//!   mural with clipped white paint patches (1.3), a subject in a clipped white shirt (1.15),
//!   and a few small bright lights and speculars (8–30×) on the same surfaces.
//! * [`leaves`]: a branch with leaves at 0.8 m, partly in front of the subject at 2 m and of a
//!   building at 10 m.
//! * [`hair_wisps`]: dark flyaway hair over a bright, far background.

use std::f64::consts::TAU;
use std::sync::Arc;

use super::{
    Layer, Light, Rgb, Shape, Silhouette, Texture, World, fast_floor, fractal_noise, hash2, mix,
    unit,
};

fn scaled(rgb: Rgb, k: f32) -> Rgb {
    [rgb[0] * k, rgb[1] * k, rgb[2] * k]
}

/// The standard head-and-shoulders subject at `depth_m`, with `colour` overriding its texture.
fn subject(
    width: usize,
    height: usize,
    depth_m: f64,
    colour: impl Fn(&Silhouette, f64, f64) -> Rgb + Send + Sync + 'static,
) -> Layer {
    let sil = Arc::new(Silhouette::new(width, height));
    let (sm, sc) = (sil.clone(), sil);
    Layer::new(
        depth_m,
        Shape::Mask(Arc::new(move |x, y| sm.contains(x, y))),
        Texture::Custom(Arc::new(move |x, y| colour(&sc, x, y))),
    )
    .subject()
}

/// Light colours of a night street: warm white, green, blue, red, sodium orange, cool white.
pub const NIGHT_COLOURS: [Rgb; 6] = [
    [1.0, 0.78, 0.52],
    [0.25, 1.0, 0.35],
    [0.22, 0.45, 1.0],
    [1.0, 0.16, 0.10],
    [1.0, 0.55, 0.15],
    [0.80, 0.90, 1.0],
];

/// `count` lights in the box `[x0, x1) × [y0, y1)` (fractions of the image), brightest channel
/// 5–50× clipping (log-uniform), 2–4.5 px (× height/213) wide, at sub-pixel positions.
fn scattered_lights(
    width: usize,
    height: usize,
    area: [f64; 4],
    count: usize,
    seed: u32,
) -> Vec<Light> {
    let (w, h) = (width as f64, height as f64);
    let s = h / 213.0;
    (0..count)
        .map(|k| {
            let r = |salt: u32| unit(hash2(k as i64, salt as i64, seed));
            // Jittered grid along x so lights do not pile up.
            let fx = area[0] + (area[2] - area[0]) * (k as f64 + 0.15 + 0.7 * r(1)) / count as f64;
            let fy = area[1] + (area[3] - area[1]) * r(2);
            let level = 5.0 * 10f64.powf(r(3)) as f32;
            let colour = NIGHT_COLOURS[(k + seed as usize) % NIGHT_COLOURS.len()];
            Light {
                x: fx * w,
                y: fy * h,
                size_px: (2.0 + 2.5 * r(4)) * s,
                rgb: scaled(colour, level),
            }
        })
        .collect()
}

/// Night: a dark building at 30 m with 12 coloured lights, a wall at 8 m on the left with 5,
/// and the subject (dimly lit) at 2 m.
pub fn night_lights(width: usize, height: usize) -> World {
    let (w, h) = (width as f64, height as f64);
    let s = h / 213.0;
    let building = Layer::new(
        30.0,
        Shape::Everywhere,
        Texture::Custom(Arc::new(move |x, y| {
            let n = fractal_noise(x / (7.0 * s), y / (7.0 * s), 31);
            let cell = 18.0 * s;
            let window = (x / cell - fast_floor(x / cell) as f64) < 0.45
                && (y / cell - fast_floor(y / cell) as f64) < 0.35;
            let base: Rgb = if window {
                [0.06, 0.05, 0.035]
            } else {
                [0.012, 0.014, 0.022]
            };
            mix(base, scaled(base, 1.8), n)
        })),
    )
    .with_lights(scattered_lights(
        width,
        height,
        [0.02, 0.04, 0.98, 0.5],
        12,
        7,
    ));
    let wall = Layer::new(
        8.0,
        Shape::Rect {
            x0: -1e9,
            y0: 0.45 * h,
            x1: 0.30 * w,
            y1: 1e9,
        },
        Texture::Noise {
            cell_px: 6.0 * s,
            a: [0.015, 0.012, 0.010],
            b: [0.05, 0.04, 0.03],
            seed: 12,
        },
    )
    .with_lights(scattered_lights(
        width,
        height,
        [0.02, 0.5, 0.28, 0.95],
        5,
        3,
    ));
    let person = subject(width, height, 2.0, |sil, x, y| {
        scaled(sil.colour(x, y), 0.35)
    });
    World::new(vec![person, wall, building])
}

/// Daylight with clipped surfaces and a few compact bright sources (see the module docs).
pub fn clipped_surfaces(width: usize, height: usize) -> World {
    let (w, h) = (width as f64, height as f64);
    let s = h / 213.0;
    let far = Layer::new(
        1000.0,
        Shape::Everywhere,
        Texture::Custom(Arc::new(move |x, y| {
            if y < 0.35 * h {
                [1.6, 1.6, 1.65]
            } else {
                let n = fractal_noise(x / (8.0 * s), y / (8.0 * s), 9);
                mix([0.04, 0.09, 0.03], [0.20, 0.34, 0.10], n)
            }
        })),
    );
    // White paint (exactly 1.0) with dark windows; two small sunlit speculars on the glass.
    let facade = Layer::new(
        10.0,
        Shape::Rect {
            x0: 0.62 * w,
            y0: 0.18 * h,
            x1: 1e9,
            y1: 1e9,
        },
        Texture::Custom(Arc::new(move |x, y| {
            let (cw, ch) = (22.0 * s, 26.0 * s);
            let (u, v) = (
                x / cw - fast_floor(x / cw) as f64,
                y / ch - fast_floor(y / ch) as f64,
            );
            if u > 0.3 && u < 0.75 && v > 0.25 && v < 0.8 {
                [0.05, 0.06, 0.08]
            } else {
                [1.0, 1.0, 1.0]
            }
        })),
    )
    .with_lights(vec![
        Light {
            x: 0.80 * w + 0.3,
            y: 0.55 * h + 0.6,
            size_px: 2.5 * s,
            rgb: [12.0, 11.0, 9.0],
        },
        Light {
            x: 0.93 * w + 0.7,
            y: 0.32 * h + 0.2,
            size_px: 2.0 * s,
            rgb: [25.0, 25.0, 30.0],
        },
    ]);
    // A busy mural with blobs of clipped white paint (1.3) 6–16 px across.
    let mural = Layer::new(
        6.0,
        Shape::Rect {
            x0: -1e9,
            y0: 0.30 * h,
            x1: 0.36 * w,
            y1: 1e9,
        },
        Texture::Custom(Arc::new(move |x, y| {
            let paint = fractal_noise(x / (9.0 * s), y / (9.0 * s), 44);
            if paint > 0.68 {
                return [1.3, 1.3, 1.25];
            }
            let hue = fractal_noise(x / (5.0 * s), y / (5.0 * s), 45);
            let t = 0.5 - 0.5 * (TAU * hue * 2.0).cos();
            mix([0.55, 0.08, 0.06], [0.06, 0.12, 0.55], t)
        })),
    )
    .with_lights(vec![
        Light {
            x: 0.10 * w + 0.4,
            y: 0.85 * h + 0.3,
            size_px: 3.0 * s,
            rgb: [20.0, 14.0, 6.0],
        },
        Light {
            x: 0.25 * w + 0.8,
            y: 0.42 * h + 0.5,
            size_px: 2.0 * s,
            rgb: [8.0, 10.0, 14.0],
        },
    ]);
    // The subject in a clipped white shirt.
    let person = subject(width, height, 2.0, |sil, x, y| {
        if sil.in_body(x, y) && !sil.in_head(x, y) && y > sil.head_cy + sil.head_ry * 0.9 {
            [1.15, 1.15, 1.12]
        } else {
            sil.colour(x, y)
        }
    });
    World::new(vec![person, facade, mural, far])
}

/// A branch at 0.8 m: a slanted stem with 14 elliptic leaves, crossing the subject's shoulder
/// and face side and the building beside it.
pub fn leaves(width: usize, height: usize) -> World {
    let (w, h) = (width as f64, height as f64);
    let s = h / 213.0;
    // Stem from (0.45w, 1.05h) up to (1.05w, 0.25h).
    let (sx0, sy0, sx1, sy1) = (0.45 * w, 1.05 * h, 1.05 * w, 0.25 * h);
    let leaves: Vec<[f64; 5]> = (0..14)
        .map(|k| {
            let t = (k as f64 + 0.5) / 14.0;
            let (bx, by) = (sx0 + (sx1 - sx0) * t, sy0 + (sy1 - sy0) * t);
            let side = if k % 2 == 0 { 1.0 } else { -1.0 };
            let a = -0.9 + side * (0.9 + 0.4 * unit(hash2(k, 1, 5)));
            let len = (9.0 + 6.0 * unit(hash2(k, 2, 5))) * s;
            let (cx, cy) = (bx + 0.5 * len * a.cos(), by + 0.5 * len * a.sin());
            [cx, cy, 0.5 * len, (2.2 + 1.5 * unit(hash2(k, 3, 5))) * s, a]
        })
        .collect();
    let half_stem = 0.9 * s;
    let leaves_mask = leaves.clone();
    let mask = move |x: f64, y: f64| {
        let (dx, dy) = (sx1 - sx0, sy1 - sy0);
        let t = (((x - sx0) * dx + (y - sy0) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
        let (ex, ey) = (x - sx0 - t * dx, y - sy0 - t * dy);
        if ex * ex + ey * ey <= half_stem * half_stem {
            return true;
        }
        leaves_mask.iter().any(|l| {
            let (c, sn) = (l[4].cos(), l[4].sin());
            let (u, v) = (
                (x - l[0]) * c + (y - l[1]) * sn,
                -(x - l[0]) * sn + (y - l[1]) * c,
            );
            (u / l[2]).powi(2) + (v / l[3]).powi(2) <= 1.0
        })
    };
    let branch = Layer::new(
        0.8,
        Shape::Mask(Arc::new(mask)),
        Texture::Noise {
            cell_px: 3.0 * s,
            a: [0.04, 0.12, 0.02],
            b: [0.22, 0.42, 0.08],
            seed: 17,
        },
    );
    let building = Layer::new(
        10.0,
        Shape::Everywhere,
        Texture::Custom(Arc::new(move |x, y| {
            let (cw, ch) = (20.0 * s, 24.0 * s);
            let (u, v) = (
                x / cw - fast_floor(x / cw) as f64,
                y / ch - fast_floor(y / ch) as f64,
            );
            let n = fractal_noise(x / (4.0 * s), y / (4.0 * s), 23);
            if u > 0.25 && u < 0.7 && v > 0.2 && v < 0.75 {
                mix([0.08, 0.10, 0.14], [0.20, 0.26, 0.34], n)
            } else {
                mix([0.55, 0.45, 0.36], [0.75, 0.64, 0.52], n)
            }
        })),
    );
    let person = subject(width, height, 2.0, |sil, x, y| sil.colour(x, y));
    World::new(vec![branch, person, building])
}

/// Dark flyaway hair over a bright sky with soft clouds at 1000 m.
pub fn hair_wisps(width: usize, height: usize) -> World {
    let h = height as f64;
    let s = h / 213.0;
    let person = subject(width, height, 2.0, |sil, x, y| {
        if !sil.in_head(x, y) && y < sil.head_cy && sil.in_strand(x, y) {
            [0.035, 0.022, 0.014]
        } else if sil.in_head(x, y) && y < sil.head_cy - 0.3 * sil.head_ry {
            // Dark hair on the crown.
            [0.05, 0.03, 0.02]
        } else {
            sil.colour(x, y)
        }
    });
    let sky = Layer::new(
        1000.0,
        Shape::Everywhere,
        Texture::Custom(Arc::new(move |x, y| {
            let n = fractal_noise(x / (14.0 * s), y / (14.0 * s), 61);
            let blue = mix([0.35, 0.50, 0.80], [0.55, 0.68, 0.90], 1.0 - y / h);
            mix(blue, [0.85, 0.86, 0.88], ((n - 0.4) * 3.0).clamp(0.0, 1.0))
        })),
    );
    World::new(vec![person, sky])
}
