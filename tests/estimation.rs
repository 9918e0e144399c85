//! End-to-end estimation scenes (issue 14): the whole pipeline — the models' depth and matte,
//! refinement, focus, render — on composites whose ray-traced truth is known.
//!
//! # The scenes
//!
//! A real person, `examples/astronaut.png` (NASA, public domain), cut out with the matte
//! `tests/fixtures/estimation/astronaut_matte.png` (how it was made: see
//! [`make_astronaut_matte_fixture`]), stands as a fronto-parallel layer at a known distance
//! in front of generated backgrounds at known distances; `tests/support`'s thin-lens ray
//! tracer renders the truth through an 85 mm f/1.8 lens and the pinhole photo that fstop is
//! given. Partial matte coverage (hair, soft edges) is traced exactly: the subject layer covers
//! a point of its plane when its bilinear alpha exceeds a hashed threshold, so a pixel's
//! coverage is its alpha. The subject's distance is the one its head's size implies
//! ([`estimate_subject_distance_m`] on the true matte), so `--focus auto` has a true answer.
//!
//! * `figure_on_wall`: a plastered wall at 5 m on the right half with a dark person-like
//!   figure painted on it beside the subject (a matte that takes the figure for a person keeps
//!   it sharp; the depth must veto it); a far backdrop of trees and sky with lights at 1000 m.
//! * `street`: a low wall of dark and light blocks at 6 m on the left with lit windows, the
//!   far backdrop with lights at 1000 m elsewhere.
//! * `hair_wisps`: the astronaut with 26 flyaway strands (0.5–1.1 px wide, 13–31 px long, a
//!   little darker than her hair) rising from the top of her head over the far backdrop.
//!   The matting model does not resolve them; also scored around the strands (pixels within
//!   2 px of one, outside her own matte).
//! * `angled_wall`: a flat brick wall at an angle on the left, receding from 2.6 m at the
//!   frame's edge to 9 m (traced as 2 px fronto-parallel strips), the far backdrop elsewhere.

//! # What is measured
//!
//! PSNR (sRGB, away from the border as far as half the largest blur reaches) against the
//! ray-traced truth of: the **input** photo unchanged; fstop given the **true maps** (true
//! disparity and matte); the **whole pipeline** (`fstop PHOTO --focus <true distance>`, models
//! doing depth and matte); and the pipeline with **`--focus auto`**. Also the PSNR over the
//! painted figure (kept sharp, it scores like the input there).
//!
//! # Measured, and the thresholds (384×256, 85 mm f/1.8, subject at 1.99 m; dB)
//!
//! | scene | input | true maps | pipeline, true focus | pipeline, auto focus | painted figure: input / pipeline | required |
//! |---|---|---|---|---|---|---|
//! | figure_on_wall, before issue 14 | 29.50 | 37.66 | 30.24 | 29.51 (focus 5.46 m) | 23.54 / 23.55 | |
//! | figure_on_wall, before the hair band and second model | 29.50 | 37.66 | 31.97 | 31.97 | 23.54 / 26.60 | |
//! | figure_on_wall | 29.50 | 37.66 | 32.59 | 32.59 (focus 1.99 m) | 23.54 / 28.16 | 32.3 / 32.3, figure +4 over input |
//! | street, before issue 14 | 29.18 | 40.27 | 31.42 | 31.42 | | |
//! | street, before the hair band | 29.18 | 40.27 | 37.07 | 37.07 | | |
//! | street | 29.18 | 40.27 | 37.24 | 37.22 | | 36.5 / 36.5 |
//!
//! | scene | input | true maps | pipeline, true focus | pipeline, auto focus | around the strands: input / true maps / pipeline | required |
//! |---|---|---|---|---|---|---|
//! | hair_wisps, before the hair band | 31.61 | 37.73 | 33.32 | 33.44 (focus 2.06 m) | 58.86 / 36.36 / 26.22 | |
//! | hair_wisps | 31.61 | 37.73 | 33.56 | 33.56 (focus 1.99 m) | 58.86 / 36.36 / 37.38 | 33 / 33, strands 34 |
//! | angled_wall, before | 26.38 | 41.92 | 36.47 | 36.47 | | |
//! | angled_wall | 26.38 | 41.92 | 36.69 | 36.69 | | 36 / 36 |
//!
//! Around the strands the input scores highest (the strands are in focus and the sky behind
//! them is smooth, so the unchanged photo is almost the truth there); the true maps lose a
//! little to the renderer's edge handling. Before the colour-line band the model's matte
//! missed or smeared the strands: they were blurred into the sky with a dark rim (26.2 dB).
//! The painted figure: MODNet takes it in, `keep_subject` removes its head, and U²-Netp's
//! second opinion (asked because a figure was found) holds the rest of it to U²-Netp's own
//! alpha there (about 0.5), so it is half blurred instead of sharp.
//!
//! **Not improved: the angled wall.** The depth model sees the receding wall as nearly flat,
//! and the fusion keeps the background at least half the subject-to-far span behind the
//! subject, so the wall's near end (2.6 m) is blurred like its far end. A smaller margin
//! trades this against the street scene: margin 0.3 gives angled_wall 40.6 dB but street
//! 33.4 dB (0.4: 38.1 / 35.0 dB; 0.5, the default: 36.7 / 37.2 dB).

//! Before issue 14 the matting model took the painted figure for a person (it touches the
//! helmet the astronaut holds, so no island removal could drop it), the figure stayed sharp
//! and auto focus measured its small head (5.46 m); and the background kept the depth model's
//! compression towards the subject (at least 15 % of the subject-to-far span behind it, now
//! 50 %), so the street's wall and trees at 6 and 1000 m were barely blurred.
//!
//! The models are installed by `bash scripts/setup.sh`; without them these tests print
//! `SKIPPED:` and pass. `FSTOP_ESTIMATION_DUMP=/tmp/est cargo test --test estimation` writes
//! truth, renders and maps as PNGs for looking at.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use common::{load_linear, repo};
use fstop::config::FocusSetting;
use fstop::head::estimate_subject_distance_m;
use fstop::infer::{ModelConfig, ModelSet};
use fstop::optics::Lens;
use fstop::pipeline::{self, AnalysisOptions, LazyModels, LensSettings};
use fstop::render::{RenderOptions, render};
use fstop::scene::{LinearRgb, Plane, Scene};
use support::metrics;
use support::{Camera, Layer, Light, Rgb, Shape, Texture, World, fractal_noise};

/// Image size of the scenes (3:2, small enough for CI).
const WIDTH: usize = 384;
const HEIGHT: usize = 256;
/// The painted figure must score this much above the input there (it is blurred): 3.1 dB
/// with MODNet alone, 4.6 dB with U²-Netp's second opinion.
const FIGURE_OVER_INPUT_DB: f64 = 4.0;
/// Rays per pixel of the truth (the subject is in focus; the backgrounds are smooth).
const SAMPLES: usize = 192;

fn matte_fixture_path() -> PathBuf {
    repo().join("tests/fixtures/estimation/astronaut_matte.png")
}

fn lens(focus_distance_m: f64) -> Lens {
    Lens {
        focal_length_mm: 85.0,
        f_number: 1.8,
        focus_distance_m,
        ..Lens::default()
    }
}

/// The person: the astronaut's colour and alpha, scaled by `scale` with its top-left corner at
/// `(ox, oy)` (frame pixels), sampled bilinearly.
#[derive(Clone)]
struct Person {
    color: Arc<LinearRgb>,
    alpha: Arc<Plane>,
    scale: f64,
    ox: f64,
    oy: f64,
    /// Flyaway hair strands added to the person (the `hair_wisps` scene).
    strands: Option<Arc<Strands>>,
}

impl Person {
    fn new() -> Person {
        let color = load_linear(&repo().join("examples/astronaut.png"));
        let m = image::open(matte_fixture_path())
            .unwrap_or_else(|e| panic!("{}: {e}", matte_fixture_path().display()))
            .to_luma16();
        let alpha = Plane::from_vec(
            m.width() as usize,
            m.height() as usize,
            m.as_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
        );
        assert_eq!(
            (alpha.width(), alpha.height()),
            (color.width(), color.height())
        );
        // The 512 px square astronaut fills the frame's height, its feet cut by the bottom.
        let scale = HEIGHT as f64 / color.height() as f64;
        Person {
            ox: WIDTH as f64 * 0.42 - color.width() as f64 * scale / 2.0,
            oy: 0.0,
            scale,
            color: Arc::new(color),
            alpha: Arc::new(alpha),
            strands: None,
        }
    }

    /// The person with flyaway strands leaving the top of her head (see [`Strands`]).
    fn with_strands(mut self) -> Person {
        self.strands = Some(Arc::new(Strands::new(&self.matte())));
        self
    }

    fn in_strand(&self, x: f64, y: f64) -> bool {
        self.strands.as_ref().is_some_and(|s| s.contains(x, y))
    }

    /// Bilinear taps at frame point `(x, y)`: `None` outside the source.
    fn taps(&self, x: f64, y: f64) -> Option<[(usize, f32); 4]> {
        let (w, h) = (self.alpha.width(), self.alpha.height());
        let sx = (x - self.ox) / self.scale - 0.5;
        let sy = (y - self.oy) / self.scale - 0.5;
        if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f64 || sy >= (h - 1) as f64 {
            return None;
        }
        let (x0, y0) = (sx as usize, sy as usize);
        let (tx, ty) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
        let i = y0 * w + x0;
        Some([
            (i, (1.0 - tx) * (1.0 - ty)),
            (i + 1, tx * (1.0 - ty)),
            (i + w, (1.0 - tx) * ty),
            (i + w + 1, tx * ty),
        ])
    }

    fn alpha_at(&self, x: f64, y: f64) -> f32 {
        self.taps(x, y).map_or(0.0, |t| {
            t.iter().map(|&(i, k)| self.alpha.data()[i] * k).sum()
        })
    }

    fn colour_at(&self, x: f64, y: f64) -> Rgb {
        let Some(t) = self.taps(x, y) else {
            return [0.0; 3];
        };
        let c = &self.color;
        let get = |p: &[f32]| t.iter().map(|&(i, k)| p[i] * k).sum();
        [get(c.r()), get(c.g()), get(c.b())]
    }

    /// Whether the person covers frame point `(x, y)`: alpha above a hashed threshold, so
    /// a pixel's coverage (averaged over its samples) is its alpha.
    fn covers(&self, x: f64, y: f64) -> bool {
        if self.in_strand(x, y) {
            return true;
        }
        let a = self.alpha_at(x, y);
        if a <= 0.0 {
            return false;
        }
        let hx = (x * 4096.0) as i64 as u64;
        let hy = (y * 4096.0) as i64 as u64;
        let mut h = hx.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hy.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        h ^= h >> 31;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 29;
        a > (h >> 40) as f32 / (1u64 << 24) as f32
    }

    /// The true matte at frame resolution, sampled at pixel centres (for the focus distance).
    fn matte(&self) -> Plane {
        let mut p = Plane::filled(WIDTH, HEIGHT, 0.0);
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                p.data_mut()[y * WIDTH + x] = self.alpha_at(x as f64 + 0.5, y as f64 + 0.5);
            }
        }
        p
    }

    fn layer(&self, depth_m: f64) -> Layer {
        let (a, b) = (self.clone(), self.clone());
        Layer::new(
            depth_m,
            Shape::Mask(Arc::new(move |x, y| a.covers(x, y))),
            Texture::Custom(Arc::new(move |x, y| {
                if b.in_strand(x, y) && b.alpha_at(x, y) < 0.5 {
                    HAIR
                } else {
                    b.colour_at(x, y)
                }
            })),
        )
        .subject()
    }
}

/// Colour of the flyaway strands: her hair's (about 0.26–0.35, 0.19–0.27, 0.09–0.14 near
/// the crown), a little darker, as thin strands in their own shade.
const HAIR: Rgb = [0.20, 0.14, 0.07];

/// Flyaway strands: thin curling segments that leave the upper outline of a matte's head
/// outwards, 0.5–1.1 px wide, 12–30 px long (frame pixels).
struct Strands {
    /// Segments `(x0, y0, x1, y1, half_width)`.
    segments: Vec<[f64; 5]>,
    /// Bounding box of each strand.
    boxes: Vec<[f64; 4]>,
}

/// Segments per strand.
const STRAND_SEGMENTS: usize = 8;

/// A hash of `k` and `salt` in 0..1.
fn unit_hash(k: u64, salt: u64) -> f64 {
    let mut h = k.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 31;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 29;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

impl Strands {
    fn new(matte: &Plane) -> Strands {
        let head = fstop::head::find_head(matte).expect("the astronaut has a head");
        let h = HEIGHT as f64;
        let (cx, half) = (head.centre_x, head.breadth_px / 2.0);
        let count = 26u64;
        let mut segments = Vec::new();
        let mut boxes = Vec::new();
        for k in 0..count {
            // Start just inside the outline's top, across the head's breadth.
            let t = -0.85 + 1.7 * (k as f64 + 0.5) / count as f64;
            let x0 = cx + t * half;
            let col = (x0 as usize).min(WIDTH - 1);
            let Some(top) = (0..HEIGHT).find(|&y| matte.at(col, y) >= 0.5) else {
                continue;
            };
            let (mut x, mut y) = (x0, top as f64 + 1.5);
            // Outwards: up, fanning out towards the sides.
            let mut dir = (-90.0 + 70.0 * t + 20.0 * (unit_hash(k, 1) - 0.5)).to_radians();
            let side = if k % 2 == 0 { 1.0 } else { -1.0 };
            let curl = side * (0.03 + 0.08 * unit_hash(k, 2));
            let len = h * (0.05 + 0.07 * unit_hash(k, 3));
            let half_width = 0.25 + 0.3 * unit_hash(k, 4);
            let mut b = [
                f64::INFINITY,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NEG_INFINITY,
            ];
            for _ in 0..STRAND_SEGMENTS {
                let step = len / STRAND_SEGMENTS as f64;
                dir += curl;
                let (nx, ny) = (x + step * dir.cos(), y + step * dir.sin());
                segments.push([x, y, nx, ny, half_width]);
                b = [
                    b[0].min(x.min(nx) - half_width),
                    b[1].min(y.min(ny) - half_width),
                    b[2].max(x.max(nx) + half_width),
                    b[3].max(y.max(ny) + half_width),
                ];
                (x, y) = (nx, ny);
            }
            boxes.push(b);
        }
        Strands { segments, boxes }
    }

    /// The distance from frame point `(x, y)` to the nearest strand's axis minus its half
    /// width (negative inside), or infinity when farther than `reach` from every box.
    fn distance(&self, x: f64, y: f64, reach: f64) -> f64 {
        let mut best = f64::INFINITY;
        for (k, b) in self.boxes.iter().enumerate() {
            if x < b[0] - reach || x > b[2] + reach || y < b[1] - reach || y > b[3] + reach {
                continue;
            }
            for s in &self.segments[k * STRAND_SEGMENTS..(k + 1) * STRAND_SEGMENTS] {
                let (dx, dy) = (s[2] - s[0], s[3] - s[1]);
                let t = (((x - s[0]) * dx + (y - s[1]) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let (ex, ey) = (x - s[0] - t * dx, y - s[1] - t * dy);
                best = best.min((ex * ex + ey * ey).sqrt() - s[4]);
            }
        }
        best
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        self.distance(x, y, 0.0) <= 0.0
    }
}

fn mix(a: Rgb, b: Rgb, t: f64) -> Rgb {
    let t = t.clamp(0.0, 1.0) as f32;
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

/// A far backdrop: sky fading to a band of trees, with lights.
fn backdrop(depth_m: f64) -> Layer {
    let (w, h) = (WIDTH as f64, HEIGHT as f64);
    let light = |x: f64, y: f64, rgb: Rgb| Light {
        x: (x * w).round() + 0.5,
        y: (y * h).round() + 0.5,
        size_px: 2.0,
        rgb: [rgb[0] * 15.0, rgb[1] * 15.0, rgb[2] * 15.0],
    };
    Layer::new(
        depth_m,
        Shape::Everywhere,
        Texture::Custom(Arc::new(move |x, y| {
            let n = fractal_noise(x / 10.0, y / 10.0, 77);
            let sky = mix([0.25, 0.38, 0.62], [0.55, 0.66, 0.82], y / h);
            let trees = mix([0.02, 0.05, 0.02], [0.10, 0.22, 0.06], n);
            // Tree line around 40 % of the height, ragged.
            let t = (y / h - 0.40 + 0.12 * (n - 0.5)) * 12.0;
            mix(sky, trees, t)
        })),
    )
    .with_lights(vec![
        light(0.08, 0.62, [1.0, 0.8, 0.5]),
        light(0.20, 0.75, [1.0, 0.9, 0.7]),
        light(0.30, 0.55, [0.6, 0.8, 1.0]),
        light(0.12, 0.88, [1.0, 0.6, 0.3]),
    ])
}

/// The painted figure of `figure_on_wall`: head ellipse and shoulders, frame pixels.
fn in_figure(x: f64, y: f64) -> bool {
    let (w, h) = (WIDTH as f64, HEIGHT as f64);
    let (cx, head_cy) = (0.80 * w, 0.40 * h);
    let head = ((x - cx) / (0.055 * h)).powi(2) + ((y - head_cy) / (0.075 * h)).powi(2) <= 1.0;
    let neck = (x - cx).abs() < 0.025 * h && y > head_cy && y < head_cy + 0.12 * h;
    let body = ((x - cx) / (0.17 * h)).powi(2) + ((y - 0.78 * h) / (0.26 * h)).powi(2) <= 1.0
        && y < 0.92 * h;
    head || neck || body
}

/// Left edge, right edge (fractions of the width) and distances there (m) of `angled_wall`.
const WALL_SPAN: [f64; 4] = [0.0, 0.34, 2.6, 9.0];
/// Width of the fronto-parallel strips the angled wall is traced as (frame pixels).
const WALL_STRIP_PX: f64 = 2.0;

/// A flat brick wall at an angle on the left, receding from 2.6 m at the frame's edge to 9 m
/// (its disparity linear across the frame, as a plane's is), traced as fronto-parallel strips
/// [`WALL_STRIP_PX`] wide; brick courses shrink with the distance.
fn angled_wall() -> Vec<Layer> {
    let w = WIDTH as f64;
    let [f0, f1, z0, z1] = WALL_SPAN;
    let (x0, x1) = (f0 * w, f1 * w);
    let inv = move |x: f64| 1.0 / z0 + (1.0 / z1 - 1.0 / z0) * ((x - x0) / (x1 - x0));
    let texture = Texture::Custom(Arc::new(move |x, y| {
        // Courses 0.075 m high at 1 m = 0.075 m · f/pitch px: about 12 px at 2.6 m.
        let course = 32.0 * inv(x);
        let row = ((y - HEIGHT as f64 * 0.5) / course).floor();
        let shift = if row as i64 % 2 == 0 { 0.0 } else { 0.5 };
        let along = x * inv(x) * 3.0 / course + shift;
        let mortar = (y - HEIGHT as f64 * 0.5).rem_euclid(course) < 0.18 * course
            || along.rem_euclid(1.0) < 0.08;
        let n = fractal_noise(x / 3.0, y / 3.0, 31);
        if mortar {
            mix([0.50, 0.48, 0.44], [0.60, 0.58, 0.54], n)
        } else {
            mix([0.36, 0.12, 0.07], [0.52, 0.20, 0.11], n)
        }
    }));
    let strips = ((x1 - x0) / WALL_STRIP_PX).ceil() as usize;
    (0..strips)
        .map(|k| {
            let (a, b) = (
                x0 + k as f64 * WALL_STRIP_PX,
                (x0 + (k + 1) as f64 * WALL_STRIP_PX).min(x1),
            );
            let left = if k == 0 { -1e9 } else { a };
            Layer::new(
                1.0 / inv(0.5 * (a + b)),
                Shape::Rect {
                    x0: left,
                    y0: -1e9,
                    x1: b,
                    y1: 1e9,
                },
                texture.clone(),
            )
        })
        .collect()
}

/// One of the end-to-end scenes.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SceneKind {
    FigureOnWall,
    Street,
    HairWisps,
    AngledWall,
}

impl SceneKind {
    fn name(self) -> &'static str {
        match self {
            SceneKind::FigureOnWall => "figure_on_wall",
            SceneKind::Street => "street",
            SceneKind::HairWisps => "hair_wisps",
            SceneKind::AngledWall => "angled_wall",
        }
    }

    /// The person of this scene.
    fn person(self) -> Person {
        match self {
            SceneKind::HairWisps => Person::new().with_strands(),
            _ => Person::new(),
        }
    }

    fn world(self, person: &Person, subject_m: f64) -> World {
        let (w, h) = (WIDTH as f64, HEIGHT as f64);
        let wall = match self {
            SceneKind::HairWisps => {
                return World::new(vec![person.layer(subject_m), backdrop(1000.0)]);
            }
            SceneKind::AngledWall => {
                let mut layers = angled_wall();
                layers.push(person.layer(subject_m));
                layers.push(backdrop(1000.0));
                return World::new(layers);
            }
            SceneKind::FigureOnWall => Layer::new(
                5.0,
                Shape::Rect {
                    x0: 0.60 * w,
                    y0: -1e9,
                    x1: 1e9,
                    y1: 1e9,
                },
                Texture::Custom(Arc::new(|x, y| {
                    let n = fractal_noise(x / 4.0, y / 4.0, 5);
                    let plaster = mix([0.45, 0.40, 0.33], [0.62, 0.56, 0.47], n);
                    if in_figure(x, y) {
                        // Dark paint, a lighter face.
                        if y < 0.47 * HEIGHT as f64 {
                            mix([0.30, 0.18, 0.12], [0.42, 0.28, 0.20], n)
                        } else {
                            mix([0.03, 0.04, 0.08], [0.08, 0.10, 0.20], n)
                        }
                    } else {
                        plaster
                    }
                })),
            ),
            SceneKind::Street => Layer::new(
                6.0,
                Shape::Rect {
                    x0: -1e9,
                    y0: 0.45 * h,
                    x1: 0.36 * w,
                    y1: 1e9,
                },
                Texture::Custom(Arc::new(|x, y| {
                    let cell = 16.0;
                    let k = (x / cell).floor() as i64 + (y / cell).floor() as i64;
                    let n = fractal_noise(x / 5.0, y / 5.0, 9);
                    let base: Rgb = if k.rem_euclid(2) == 0 {
                        [0.32, 0.24, 0.14]
                    } else {
                        [0.09, 0.08, 0.07]
                    };
                    mix(base, [base[0] * 1.5, base[1] * 1.5, base[2] * 1.5], n)
                })),
            )
            .with_lights(vec![Light {
                x: 0.10 * w,
                y: 0.60 * h,
                size_px: 3.0,
                rgb: [12.0, 9.0, 5.0],
            }]),
        };
        World::new(vec![person.layer(subject_m), wall, backdrop(1000.0)])
    }
}

/// PSNRs of one scene (dB).
#[derive(Debug, Clone, Copy)]
struct Scores {
    input: f64,
    true_maps: f64,
    pipeline: f64,
    auto: f64,
    /// Over the painted figure (figure_on_wall only): input, truth maps, pipeline.
    figure: Option<[f64; 3]>,
    /// Around the flyaway strands (hair_wisps only; pixels within 2 px of a strand outside
    /// the person's own matte): input, true maps, pipeline.
    strands: Option<[f64; 3]>,
    auto_focus_m: f64,
    subject_m: f64,
}

/// The models, or `None` (after printing `SKIPPED:`) when they are not installed.
fn models_present(what: &str) -> bool {
    static PRESENT: OnceLock<Result<(), String>> = OnceLock::new();
    let present = PRESENT.get_or_init(|| {
        ModelSet::load(&ModelConfig::default())
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match present {
        Ok(()) => true,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {what}: the models are not installed (bash scripts/setup.sh): {e}"
            );
            false
        }
    }
}

fn dump_dir() -> Option<PathBuf> {
    std::env::var_os("FSTOP_ESTIMATION_DUMP").map(PathBuf::from)
}

/// The whole pipeline on the photo at `path`: models, focus, render (the CLI's defaults).
fn pipeline_render(
    path: &Path,
    focus: FocusSetting,
    models: &mut LazyModels,
) -> (LinearRgb, Plane, Plane, f64) {
    let analysis = pipeline::analyze(path, &AnalysisOptions::default(), models)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let settings = LensSettings {
        lens: lens(2.0),
        focus,
        background_distance_m: f64::INFINITY,
    };
    let (focused, photo, matte) = analysis.into_focused(&settings).expect("focus");
    let matte = matte.expect("the models give a matte");
    let scene = Scene::new(
        photo.color,
        focused.disparity_per_m.clone(),
        Some(matte.clone()),
    )
    .unwrap();
    let out = render(&scene, &focused.lens, &RenderOptions::default());
    (
        out,
        focused.disparity_per_m,
        matte,
        focused.lens.focus_distance_m,
    )
}

/// A scene's ray-traced truth and the photo fstop is given.
struct Truth {
    truth: LinearRgb,
    pinhole: support::Pinhole,
    photo: LinearRgb,
    photo_path: PathBuf,
    subject_m: f64,
}

/// Traces `kind` (once per test binary run) and writes its photo, as a camera would save it
/// (clipped, 8-bit sRGB), to a temporary file.
fn truth(kind: SceneKind) -> Arc<Truth> {
    static CACHE: Mutex<Vec<(SceneKind, Arc<Truth>)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, t)) = cache.iter().find(|(k, _)| *k == kind) {
        return t.clone();
    }
    let person = kind.person();
    let subject_m =
        estimate_subject_distance_m(&person.matte(), &lens(2.0)).expect("the astronaut has a head");
    let world = kind.world(&person, subject_m);
    let mut cam = Camera::new(lens(subject_m), WIDTH, HEIGHT);
    cam.samples = SAMPLES;
    let truth = cam.render_lens(&world);
    let pinhole = cam.render_pinhole(&world);
    let photo_path = std::env::temp_dir()
        .join(format!("fstop-estimation-{}", std::process::id()))
        .join(format!("{}.png", kind.name()));
    metrics::write_png(&photo_path, &pinhole.color);
    let photo = load_linear(&photo_path);
    let t = Arc::new(Truth {
        truth,
        pinhole,
        photo,
        photo_path,
        subject_m,
    });
    cache.push((kind, t.clone()));
    t
}

fn evaluate(kind: SceneKind) -> Scores {
    evaluate_with(kind, "", &mut LazyModels::new(ModelConfig::default()))
}

/// [`evaluate`] with `models` (their parameters possibly changed); `variant` names the run in
/// the output.
fn evaluate_with(kind: SceneKind, variant: &str, models: &mut LazyModels) -> Scores {
    let t = truth(kind);
    let (truth, p, photo, subject_m) = (&t.truth, &t.pinhole, &t.photo, t.subject_m);
    let l = lens(subject_m);
    let true_scene = Scene::new(photo.clone(), p.disparity.clone(), Some(p.matte.clone())).unwrap();
    let true_render = render(
        &true_scene,
        &l.validate().unwrap(),
        &RenderOptions::default(),
    );
    let (piped, disparity, matte, _) =
        pipeline_render(&t.photo_path, FocusSetting::Distance(subject_m), models);
    let (auto, _, _, auto_focus_m) = pipeline_render(&t.photo_path, FocusSetting::Auto, models);

    let max_coc = p
        .disparity
        .data()
        .iter()
        .map(|&d| l.signed_coc_px(d as f64, WIDTH).abs())
        .fold(0.0, f64::max);
    let inner = metrics::interior(WIDTH, HEIGHT, (max_coc / 2.0).ceil() as usize + 1);
    let score = |img: &LinearRgb, mask: &[bool]| metrics::psnr_srgb(img, truth, Some(mask));
    let figure = (kind == SceneKind::FigureOnWall).then(|| {
        let mask: Vec<bool> = (0..WIDTH * HEIGHT)
            .map(|i| {
                let (x, y) = ((i % WIDTH) as f64 + 0.5, (i / WIDTH) as f64 + 0.5);
                inner[i] && in_figure(x, y)
            })
            .collect();
        [
            score(photo, &mask),
            score(&true_render, &mask),
            score(&piped, &mask),
        ]
    });
    let strands = (kind == SceneKind::HairWisps).then(|| {
        let person = kind.person();
        let strands = person.strands.as_ref().unwrap();
        let mask: Vec<bool> = (0..WIDTH * HEIGHT)
            .map(|i| {
                let (x, y) = ((i % WIDTH) as f64 + 0.5, (i / WIDTH) as f64 + 0.5);
                inner[i] && person.alpha_at(x, y) < 0.5 && strands.distance(x, y, 3.0) <= 2.0
            })
            .collect();
        [
            score(photo, &mask),
            score(&true_render, &mask),
            score(&piped, &mask),
        ]
    });
    let s = Scores {
        input: score(photo, &inner),
        true_maps: score(&true_render, &inner),
        pipeline: score(&piped, &inner),
        auto: score(&auto, &inner),
        figure,
        strands,
        auto_focus_m,
        subject_m,
    };
    eprintln!(
        "{}{variant}: subject {:.2} m (auto focus {:.2} m), max CoC {max_coc:.1} px: input {:.2} dB, \
         true maps {:.2} dB, pipeline {:.2} dB, auto focus {:.2} dB{}",
        kind.name(),
        s.subject_m,
        s.auto_focus_m,
        s.input,
        s.true_maps,
        s.pipeline,
        s.auto,
        s.figure.map_or(String::new(), |f| format!(
            "; painted figure: input {:.2}, true maps {:.2}, pipeline {:.2} dB",
            f[0], f[1], f[2]
        )),
    );
    if let Some(f) = s.strands {
        eprintln!(
            "{}{variant}: around the strands: input {:.2}, true maps {:.2}, pipeline {:.2} dB",
            kind.name(),
            f[0],
            f[1],
            f[2]
        );
    }
    if let Some(dir) = dump_dir() {
        let dir = dir.join(format!("{}{variant}", kind.name()));
        metrics::write_png(&dir.join("truth.png"), truth);
        metrics::write_png(&dir.join("photo.png"), photo);
        metrics::write_png(&dir.join("true_maps.png"), &true_render);
        metrics::write_png(&dir.join("pipeline.png"), &piped);
        metrics::write_png(&dir.join("auto.png"), &auto);
        metrics::write_plane_png(&dir.join("matte_true.png"), &p.matte, 0.0, 1.0);
        metrics::write_plane_png(&dir.join("matte_model.png"), &matte, 0.0, 1.0);
        let hi = p.disparity.data().iter().copied().fold(0.0, f32::max);
        metrics::write_plane_png(&dir.join("disparity_true.png"), &p.disparity, 0.0, hi);
        metrics::write_plane_png(&dir.join("disparity_model.png"), &disparity, 0.0, hi);
        metrics::write_png(
            &dir.join("error_pipeline_x4.png"),
            &metrics::abs_diff_srgb(&piped, truth, 4.0),
        );
    }
    s
}

/// Each scene is evaluated once per test binary run.
fn scores(kind: SceneKind) -> Scores {
    static CACHE: Mutex<Vec<(SceneKind, Scores)>> = Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, s)) = cache.iter().find(|(k, _)| *k == kind) {
        return *s;
    }
    let s = evaluate(kind);
    cache.push((kind, s));
    s
}

/// Requirements of one scene (dB): the pipeline at the true focus, with auto focus.
fn check(kind: SceneKind, pipeline_db: f64, auto_db: f64) -> Option<Scores> {
    if !models_present(kind.name()) {
        return None;
    }
    let s = scores(kind);
    assert!(
        s.true_maps > s.input + 3.0,
        "{}: the renderer with the true maps ({:.2} dB) is not far above the input ({:.2} dB): the scene measures nothing",
        kind.name(),
        s.true_maps,
        s.input
    );
    assert!(
        s.pipeline >= pipeline_db,
        "{}: whole pipeline {:.2} dB < {pipeline_db} dB",
        kind.name(),
        s.pipeline
    );
    assert!(
        s.auto >= auto_db,
        "{}: whole pipeline with auto focus {:.2} dB < {auto_db} dB",
        kind.name(),
        s.auto
    );
    Some(s)
}

#[test]
fn figure_on_wall_end_to_end() {
    // 32.02 dB with MODNet alone, 32.59 dB with U²-Netp's second opinion.
    let Some(s) = check(SceneKind::FigureOnWall, 32.3, 32.3) else {
        return;
    };
    let [input, _, piped] = s.figure.unwrap();
    // The figure painted on the wall is blurred like the wall, not kept sharp (kept sharp it
    // scores as the input does there).
    assert!(
        piped > input + FIGURE_OVER_INPUT_DB,
        "painted figure: pipeline {piped:.2} dB, input {input:.2} dB"
    );
}

#[test]
fn street_end_to_end() {
    check(SceneKind::Street, 36.5, 36.5);
}

#[test]
fn angled_wall_end_to_end() {
    // Measured, not yet improved on: the depth model sees the receding wall as flat and the
    // fusion's margin pushes its near end back (see the module documentation).
    check(SceneKind::AngledWall, 36.0, 36.0);
}

/// Around the flyaway strands the pipeline must keep them: 26.2 dB before the colour-line
/// refinement (the strands blurred into the sky with a dark rim), 37.4 dB with it.
const STRANDS_DB: f64 = 34.0;

#[test]
fn hair_wisps_end_to_end() {
    let Some(s) = check(SceneKind::HairWisps, 33.0, 33.0) else {
        return;
    };
    let [_, _, piped] = s.strands.unwrap();
    assert!(
        piped >= STRANDS_DB,
        "around the strands: pipeline {piped:.2} dB < {STRANDS_DB} dB"
    );
}

/// Writes `tests/fixtures/estimation/astronaut_matte.png` (16-bit grey): MODNet's matte of
/// `examples/astronaut.png` refined at full resolution by fstop's matte refinement, with
/// everything outside the person's connected region removed. Run once by hand:
/// `cargo test --test estimation -- --ignored make_astronaut_matte_fixture`.
#[test]
#[ignore = "writes the fixture; run by hand"]
fn make_astronaut_matte_fixture() {
    let mut set = ModelSet::load(&ModelConfig::default()).expect("models");
    let photo = load_linear(&repo().join("examples/astronaut.png"));
    let est = set.estimate(&photo).expect("estimate");
    let m = fstop::infer::matte::remove_islands(&est.matte, 0.5);
    let path = matte_fixture_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let data: Vec<u16> = m
        .data()
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16)
        .collect();
    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(m.width() as u32, m.height() as u32, data)
        .unwrap()
        .save(&path)
        .unwrap();
}

/// For looking (not a check): `FSTOP_LOOK="a.jpg b.jpg" FSTOP_ESTIMATION_DUMP=/tmp/look cargo
/// test --test estimation -- --ignored look_at_photos` writes each photo's model matte,
/// disparity and render (auto focus, defaults) under the dump folder.
#[test]
#[ignore = "writes images for looking at; run by hand"]
fn look_at_photos() {
    let dir = dump_dir().expect("FSTOP_ESTIMATION_DUMP");
    let list = std::env::var("FSTOP_LOOK").expect("FSTOP_LOOK");
    let mut models = LazyModels::new(ModelConfig::default());
    apply_settings(
        models.get().expect("models"),
        &std::env::var("FSTOP_SETTINGS").unwrap_or_default(),
    );
    for path in list.split_whitespace().map(PathBuf::from) {
        let t = std::time::Instant::now();
        let (out, disparity, matte, focus_m) =
            pipeline_render(&path, FocusSetting::Auto, &mut models);
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        // The cost of choosing the subject at the working resolution.
        let long = matte.width().max(matte.height());
        let (ww, wh) = (matte.width() * 1024 / long, matte.height() * 1024 / long);
        let (m, d) = (matte.resized(ww, wh), disparity.resized(ww, wh));
        let t = std::time::Instant::now();
        let _ = fstop::infer::matte::keep_subject(&m, &d, &Default::default());
        let keep_ms = t.elapsed().as_secs_f64() * 1e3;
        eprintln!("{name}: focus {focus_m:.2} m, {ms:.0} ms (keep_subject {keep_ms:.1} ms)");
        metrics::write_png(&dir.join(format!("{name}_render.png")), &out);
        metrics::write_plane_png(&dir.join(format!("{name}_matte.png")), &matte, 0.0, 1.0);
        let hi = disparity.data().iter().copied().fold(0.0, f32::max);
        metrics::write_plane_png(
            &dir.join(format!("{name}_disparity.png")),
            &disparity,
            0.0,
            hi,
        );
    }
}

/// For tuning (not a check): `FSTOP_SWEEP="a:margin=0.3,behind=0.2 b:margin=0.5" cargo test
/// --test estimation -- --ignored sweep --nocapture` scores every scene with each variant of
/// the models' parameters (`FSTOP_MATTE_MODEL=u2netp`: with another matting model).
#[test]
#[ignore = "parameter sweep; run by hand"]
fn sweep() {
    let spec = std::env::var("FSTOP_SWEEP").unwrap_or_default();
    for variant in std::iter::once("default:").chain(spec.split_whitespace()) {
        let (name, settings) = variant.split_once(':').unwrap_or((variant, ""));
        let config = ModelConfig {
            matte_model: std::env::var("FSTOP_MATTE_MODEL").unwrap_or_else(|_| "modnet".into()),
            ..ModelConfig::default()
        };
        let mut models = LazyModels::new(config);
        apply_settings(models.get().expect("models"), settings);
        for kind in [
            SceneKind::FigureOnWall,
            SceneKind::Street,
            SceneKind::HairWisps,
            SceneKind::AngledWall,
        ] {
            evaluate_with(kind, &format!("/{name}"), &mut models);
        }
    }
}

/// Applies `key=value,…` settings (see [`sweep`]) to the models' parameters.
fn apply_settings(set: &mut ModelSet, settings: &str) {
    for kv in settings.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').expect("key=value");
        let v: f32 = v.parse().expect("number");
        let f = &mut set.depth_params.fusion;
        let m = &mut set.matte_params;
        match k {
            "margin" => f.background_margin = v,
            "bgpct" => f.background_percentile = v as f64,
            "relief" => f.subject_relief = v,
            "ring" => f.ring_fraction = v,
            "behind" => m.subject.behind = v,
            "flat" => m.subject.flat_ratio = v,
            "minrelief" => m.subject.min_relief = v,
            "smallhead" => m.subject.smaller_head = v as f64,
            "headexp" => m.subject.head_scale_exponent = v as f64,
            "radius" => m.radius = v as usize,
            "eps" => m.eps = v,
            "hairband" => m.hair_band_fraction = v,
            "hairtol" => m.hair_line_tolerance = v,
            "hairbelow" => m.hair_below = v,
            "second" => m.second_model = v != 0.0,
            "reach" => m.second_model_reach = v,
            "dradius" => set.depth_params.radius_per_scale = v,
            "deps" => set.depth_params.eps = v,
            _ => panic!("unknown parameter {k}"),
        }
    }
}
