//! Ground truth for fstop's physics tests: a thin-lens ray tracer for scenes of fronto-parallel
//! textured planes at known depths.
//!
//! # Geometry
//!
//! A thin lens of focal length `f` and f-number `N` sits at the origin, focused at `S1`; the
//! sensor is at the image distance `v = f·S1/(S1 − f)` behind it, `sensor_width_mm` wide and
//! `W × H` pixels (pitch `p = sensor_width / W`). A real sensor sees the world upside down; we
//! work on the *upright* virtual sensor (the inversion folded out), so pixel `(x, y)` (x right,
//! y down, pixel centres at `i + 0.5`) sits at `u = ((x − W/2)·p, (y − H/2)·p)` and its conjugate
//! point on the focus plane is `P_f = u·S1/v`.
//!
//! A ray from that pixel through aperture point `A` (in the lens plane, `|A| ≤ f/(2N)`, shaped by
//! [`fstop::optics::ApertureShape`]) passes through `P_f` (that is what "focused at `S1`" means),
//! so at depth `Z` it is at `P(Z) = A + (P_f − A)·Z/S1`. The chief ray (`A = 0`) gives the
//! pinhole image, which is the f/∞ image.
//!
//! Every [`Layer`] is a fronto-parallel plane at `depth_m`. Its shape, texture and lights are
//! described in **layer pixels**: the pinhole-image pixel coordinates of its points. So a layer
//! point `q` is the world point `X = (q − c)·p·Z/v` (c = image centre), and a shape drawn at
//! pixels 100..200 of a layer appears at pixels 100..200 of the pinhole image regardless of depth.
//!
//! # Sampling
//!
//! Each pixel integrates over its own area (box filter) and over the aperture with the same
//! deterministic 4-D Halton point set (bases 2, 3, 5, 7), Cranley–Patterson rotated per pixel by
//! a hash so neighbouring pixels do not share a pattern. The aperture is sampled uniformly by a
//! polar map whose angle follows the inverse CDF of `R(θ)²` (any star-shaped aperture, circle or
//! polygon with curved blades) and radius `√s·R(θ)`. Rays intersect layers nearest first,
//! honouring their shape masks, so partial occlusion and see-through of blurred foreground edges
//! come out of the geometry. Rows are traced in parallel with rayon; the result does not depend
//! on the thread count.
//!
//! # Lens character
//!
//! The lens's [`fstop::optics::Character`] is traced from its own physical description, not
//! from fstop's discs:
//! * anamorphic squeeze `s`: the aperture is an ellipse (the shape narrowed by `1/s` in x);
//! * longitudinal chromatic aberration `δ` µm: per-channel focus — green is traced with the
//!   lens focused so its image lies `δ/2` nearer the lens, red and blue `δ/2` farther (each a
//!   full trace of its own);
//! * spherical aberration `S`: a radial intensity profile over the aperture — a ray through
//!   the outer half of the aperture's area carries `1 + S` behind the focus plane and `1 − S`
//!   in front, the inner half the rest (`1 ∓ S`);
//! * cat-eye `F` (and the swirl's `0.6·S`, if larger): a second round stop, the lens barrel,
//!   of the aperture's radius `R`, a distance `b` in front of the lens. A ray is stopped when it
//!   crosses the plane `z = b` farther than `R` from the axis. `b` is solved (from the
//!   closed-form overlap of two circles, [`barrel_distance_m`]) so that for a distant point in
//!   the frame's corner the barrel's shadow cuts exactly `F` of the aperture away;
//! * swirl `S` (field curvature): the sharp surface curves towards the lens by
//!   `δ(ρ) = S·f/100·ρ²` on the image side (ρ: the pixel's distance from the image centre over
//!   the corner's), so a pixel's rays pass through the conjugate point of the focus distance
//!   `1/S1(ρ) = 1/S1 + δ/v²` instead of `S1`.
#![allow(dead_code)]

pub mod metrics;
pub mod scenes;

use std::sync::Arc;

use fstop::optics::{ApertureShape, Lens};
use fstop::scene::{LinearRgb, Plane};
use rayon::prelude::*;

/// Linear-light RGB.
pub type Rgb = [f32; 3];

/// Where a layer exists, in layer pixels.
#[derive(Clone)]
pub enum Shape {
    /// An infinite plane.
    Everywhere,
    /// Axis-aligned rectangle `[x0, x1) × [y0, y1)`.
    Rect { x0: f64, y0: f64, x1: f64, y1: f64 },
    /// Disc.
    Disc { cx: f64, cy: f64, r: f64 },
    /// Any mask function.
    Mask(Arc<dyn Fn(f64, f64) -> bool + Send + Sync>),
}

impl Shape {
    pub fn contains(&self, x: f64, y: f64) -> bool {
        match self {
            Shape::Everywhere => true,
            Shape::Rect { x0, y0, x1, y1 } => x >= *x0 && x < *x1 && y >= *y0 && y < *y1,
            Shape::Disc { cx, cy, r } => (x - cx).powi(2) + (y - cy).powi(2) <= r * r,
            Shape::Mask(f) => f(x, y),
        }
    }
}

/// Surface colour, in layer pixels, linear light.
#[derive(Clone)]
pub enum Texture {
    Flat(Rgb),
    /// Checkerboard with square cells.
    Checker {
        cell_px: f64,
        a: Rgb,
        b: Rgb,
    },
    /// Smooth (raised-cosine) stripes.
    Stripes {
        period_px: f64,
        angle_deg: f64,
        a: Rgb,
        b: Rgb,
    },
    /// Two-octave value noise blending `a` (0) to `b` (1).
    Noise {
        cell_px: f64,
        a: Rgb,
        b: Rgb,
        seed: u32,
    },
    /// Anything else.
    Custom(Arc<dyn Fn(f64, f64) -> Rgb + Send + Sync>),
}

fn mix(a: Rgb, b: Rgb, t: f64) -> Rgb {
    let t = t as f32;
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn hash2(ix: i64, iy: i64, seed: u32) -> u32 {
    let mut h = (ix as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((iy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add((seed as u64).wrapping_mul(0x1656_67B1_9E37_79F9));
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^= h >> 33;
    h as u32
}

fn unit(h: u32) -> f64 {
    h as f64 / 4_294_967_296.0
}

/// `floor` without a libm call.
#[inline]
fn fast_floor(x: f64) -> i64 {
    let i = x as i64;
    if (i as f64) > x { i - 1 } else { i }
}

/// Value noise in 0..1: a lattice of hashed values, smoothstep-interpolated.
pub fn value_noise(x: f64, y: f64, seed: u32) -> f64 {
    let (ix, iy) = (fast_floor(x), fast_floor(y));
    let (fx, fy) = (ix as f64, iy as f64);
    let s = |t: f64| t * t * (3.0 - 2.0 * t);
    let (tx, ty) = (s(x - fx), s(y - fy));
    let v = |dx, dy| unit(hash2(ix + dx, iy + dy, seed));
    let top = v(0, 0) + (v(1, 0) - v(0, 0)) * tx;
    let bottom = v(0, 1) + (v(1, 1) - v(0, 1)) * tx;
    top + (bottom - top) * ty
}

/// Two octaves of value noise, 0..1.
pub fn fractal_noise(x: f64, y: f64, seed: u32) -> f64 {
    (2.0 * value_noise(x, y, seed) + value_noise(2.0 * x + 17.3, 2.0 * y - 5.1, seed ^ 0xABCD))
        / 3.0
}

impl Texture {
    pub fn at(&self, x: f64, y: f64) -> Rgb {
        match self {
            Texture::Flat(c) => *c,
            Texture::Checker { cell_px, a, b } => {
                let k = fast_floor(x / cell_px) + fast_floor(y / cell_px);
                if k.rem_euclid(2) == 0 { *a } else { *b }
            }
            Texture::Stripes {
                period_px,
                angle_deg,
                a,
                b,
            } => {
                let (s, c) = angle_deg.to_radians().sin_cos();
                let t = (x * c + y * s) / period_px;
                mix(*a, *b, 0.5 - 0.5 * (std::f64::consts::TAU * t).cos())
            }
            Texture::Noise {
                cell_px,
                a,
                b,
                seed,
            } => mix(*a, *b, fractal_noise(x / cell_px, y / cell_px, *seed)),
            Texture::Custom(f) => f(x, y),
        }
    }
}

/// An emissive square (a "point light"), centred at `(x, y)` layer pixels, `size_px` wide,
/// adding radiance `rgb` (may exceed 1: 20 means twenty times diffuse white) to its layer's
/// surface. It only shines where its layer exists.
#[derive(Clone, Copy, Debug)]
pub struct Light {
    pub x: f64,
    pub y: f64,
    pub size_px: f64,
    pub rgb: Rgb,
}

/// A fronto-parallel plane.
#[derive(Clone)]
pub struct Layer {
    pub depth_m: f64,
    pub shape: Shape,
    pub texture: Texture,
    pub lights: Vec<Light>,
    /// Whether this layer is the subject (the matte is its visible coverage).
    pub subject: bool,
}

impl Layer {
    pub fn new(depth_m: f64, shape: Shape, texture: Texture) -> Layer {
        Layer {
            depth_m,
            shape,
            texture,
            lights: Vec::new(),
            subject: false,
        }
    }

    pub fn with_lights(mut self, lights: Vec<Light>) -> Layer {
        self.lights = lights;
        self
    }

    pub fn subject(mut self) -> Layer {
        self.subject = true;
        self
    }

    /// Surface colour at layer pixel `(x, y)`, plus the lights' emission if `emission`.
    #[inline]
    fn colour(&self, x: f64, y: f64, emission: bool) -> Rgb {
        let mut c = self.texture.at(x, y);
        if emission {
            for l in &self.lights {
                let h = 0.5 * l.size_px;
                if (x - l.x).abs() < h && (y - l.y).abs() < h {
                    c = [c[0] + l.rgb[0], c[1] + l.rgb[1], c[2] + l.rgb[2]];
                }
            }
        }
        c
    }
}

/// A scene: layers (kept sorted nearest first) and the colour of rays that hit nothing.
#[derive(Clone)]
pub struct World {
    layers: Vec<Layer>,
    pub sky: Rgb,
}

impl World {
    pub fn new(mut layers: Vec<Layer>) -> World {
        layers.sort_by(|a, b| a.depth_m.total_cmp(&b.depth_m));
        World {
            layers,
            sky: [0.0; 3],
        }
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
}

/// The camera: a fstop [`Lens`] (focal length, f-number, focus distance, sensor width, aperture
/// shape) and an image size. `samples` rays per pixel.
#[derive(Clone, Copy, Debug)]
pub struct Camera {
    pub lens: Lens,
    pub width: usize,
    pub height: usize,
    pub samples: usize,
}

/// Thin-lens geometry in metres, derived from first principles (not from fstop's CoC helpers,
/// which the tests check against it).
#[derive(Clone, Copy, Debug)]
struct Geometry {
    /// Focus distance S1.
    s1: f64,
    /// Image distance v.
    v: f64,
    /// Pixel pitch on the sensor.
    pitch: f64,
    /// Aperture radius f/(2N).
    aperture_radius: f64,
    cx: f64,
    cy: f64,
    /// Swirl: rise of the focus disparity (1/m) in the frame's corner (0 without).
    curvature_per_m: f64,
    /// Squared corner radius, pixels².
    corner2_px: f64,
    /// Cat-eye: the barrel's distance in front of the lens, metres (`None` without).
    barrel_m: Option<f64>,
}

/// What the pinhole (chief-ray) camera sees.
pub struct Pinhole {
    /// The all-in-focus image, pixel-area integrated.
    pub color: LinearRgb,
    /// 1/Z of the nearest surface on each pixel centre's chief ray (0 where nothing is hit).
    pub disparity: Plane,
    /// Visible coverage of subject layers (0..1), pixel-area integrated.
    pub matte: Plane,
}

impl Geometry {
    /// Where the ray from upright-sensor pixel position `p` through aperture point `a` (metres
    /// in the lens plane) crosses the plane at depth `z`, in that layer's pixels.
    #[inline]
    fn layer_point(&self, p: (f64, f64), a: (f64, f64), z: f64) -> (f64, f64) {
        let s1 = self.s1_at(p);
        // Conjugate point on the (curved) focus surface (metres); the ray passes through it.
        let fx = (p.0 - self.cx) * self.pitch * s1 / self.v;
        let fy = (p.1 - self.cy) * self.pitch * s1 / self.v;
        let t = z / s1;
        let wx = a.0 + (fx - a.0) * t;
        let wy = a.1 + (fy - a.1) * t;
        // World metres on the plane -> layer pixels.
        let k = self.v / (z * self.pitch);
        (wx * k + self.cx, wy * k + self.cy)
    }

    /// Layer pixels moved per metre of aperture offset on a plane at depth `z` (signed; the
    /// inverse of `layer_point` in `a` for fixed `p`).
    #[inline]
    fn px_per_aperture_m(&self, z: f64) -> f64 {
        self.v / self.pitch * (1.0 / z - 1.0 / self.s1)
    }

    /// The same at the sensor position `p` (with field curvature the focus moves).
    #[inline]
    fn px_per_aperture_m_at(&self, z: f64, p: (f64, f64)) -> f64 {
        self.v / self.pitch * (1.0 / z - 1.0 / self.s1_at(p))
    }

    /// The focus distance seen from sensor position `p` (field curvature).
    #[inline]
    fn s1_at(&self, p: (f64, f64)) -> f64 {
        if self.curvature_per_m == 0.0 {
            return self.s1;
        }
        let rho2 = ((p.0 - self.cx).powi(2) + (p.1 - self.cy).powi(2)) / self.corner2_px;
        1.0 / (1.0 / self.s1 + self.curvature_per_m * rho2)
    }

    /// True when the ray from sensor position `p` through aperture point `a` clears the barrel.
    #[inline]
    fn clears_barrel(&self, p: (f64, f64), a: (f64, f64)) -> bool {
        let Some(b) = self.barrel_m else {
            return true;
        };
        let s1 = self.s1_at(p);
        let fx = (p.0 - self.cx) * self.pitch * s1 / self.v;
        let fy = (p.1 - self.cy) * self.pitch * s1 / self.v;
        let t = b / s1;
        let (x, y) = (a.0 + (fx - a.0) * t, a.1 + (fy - a.1) * t);
        x * x + y * y <= self.aperture_radius * self.aperture_radius
    }
}

/// The share of a unit circle's area another unit circle `t` apart covers (closed form).
pub fn overlap_of_unit_circles(t: f64) -> f64 {
    if t >= 2.0 {
        return 0.0;
    }
    let h = t / 2.0;
    (2.0 * h.acos() - 2.0 * h * (1.0 - h * h).sqrt()) / std::f64::consts::PI
}

/// The barrel distance (metres in front of the lens) whose shadow cuts `cut` of the aperture
/// of radius `aperture_m` away for a distant point in the corner, seen at `corner_slope` (the
/// chief ray's slope there): the shadow of a stop `b` away moves by `b·slope`.
pub fn barrel_distance_m(cut: f64, aperture_m: f64, corner_slope: f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 2.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if 1.0 - overlap_of_unit_circles(mid) < cut {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi) * aperture_m / corner_slope
}

/// A light handled by light sampling: its layer, the light, and the blur radius in pixels of a
/// unit aperture offset at its depth.
struct SampledLight {
    layer: usize,
    light: Light,
    /// Signed: layer pixels per unit (normalised) aperture offset.
    k_px: f64,
}

impl Camera {
    pub fn new(lens: Lens, width: usize, height: usize) -> Camera {
        Camera {
            lens,
            width,
            height,
            samples: 512,
        }
    }

    fn geometry(&self) -> Geometry {
        let f = self.lens.focal_length_mm / 1000.0;
        let s1 = self.lens.focus_distance_m;
        let v = f * s1 / (s1 - f);
        let pitch = self.lens.sensor.width_mm() / 1000.0 / self.width as f64;
        let aperture_radius = f / (2.0 * self.lens.f_number);
        let (w, h) = (self.width as f64, self.height as f64);
        let corner2_px = 0.25 * (w * w + h * h);
        let c = &self.lens.character;
        // The swirl's sag in the corner, and its cat-eye.
        let sag_m = c.swirl * 0.01 * f;
        let cut = c.cat_eye.max(0.6 * c.swirl);
        let corner_slope = corner2_px.sqrt() * pitch / v;
        Geometry {
            s1,
            v,
            pitch,
            aperture_radius,
            cx: w / 2.0,
            cy: h / 2.0,
            curvature_per_m: sag_m / (v * v),
            corner2_px,
            barrel_m: (cut > 0.0).then(|| barrel_distance_m(cut, aperture_radius, corner_slope)),
        }
    }

    /// Size in metres of one pinhole-image pixel on a plane at `depth_m`.
    pub fn metres_per_px(&self, depth_m: f64) -> f64 {
        let g = self.geometry();
        g.pitch * depth_m / g.v
    }

    /// Per-pixel sample pattern: `samples` 4-D Halton points (pixel x, pixel y, then aperture or
    /// light-square u, v).
    fn pattern(&self) -> Vec<[f64; 4]> {
        (1..=self.samples)
            .map(|i| {
                [
                    radical_inverse(i, 2),
                    radical_inverse(i, 3),
                    radical_inverse(i, 5),
                    radical_inverse(i, 7),
                ]
            })
            .collect()
    }

    /// Ray-traced image through the lens (linear light, unclamped).
    ///
    /// Surfaces are integrated by sampling pixel area × aperture. Lights whose blur is at least
    /// a pixel are integrated over pixel area × *light area* instead (each light point is seen
    /// through exactly one aperture point, which must lie inside the aperture and have a clear
    /// path past nearer layers), because a tiny light covers too few aperture samples to give
    /// a noise-free disc. Both estimate the same integral.
    pub fn render_lens(&self, world: &World) -> LinearRgb {
        let um = self.lens.character.chromatic_aberration_um;
        if um > 0.0 {
            return self.render_per_channel_focus(world, um);
        }
        let g = self.geometry();
        let pattern = self.pattern();
        let aperture = ApertureSampler::new(&self.lens.aperture);
        let squeeze = self.lens.character.anamorphic_squeeze;
        let sa = self.lens.character.spherical_aberration;
        // Aperture points in metres, from Halton dimensions 3 and 4 (an anamorphic lens's
        // aperture narrowed in x), with whether each is in the outer half of the area.
        let apoints: Vec<(f64, f64)> = pattern
            .iter()
            .map(|s| {
                let (ax, ay) = aperture.map(s[2], s[3]);
                (ax * g.aperture_radius / squeeze, ay * g.aperture_radius)
            })
            .collect();
        let outer: Vec<bool> = pattern.iter().map(|s| s[3] > 0.5).collect();
        let (w, h) = (self.width, self.height);
        let mut sampled = Vec::new();
        let mut inline_emission = vec![false; world.layers.len()];
        for (i, layer) in world.layers.iter().enumerate() {
            let k_px = g.px_per_aperture_m(layer.depth_m) * g.aperture_radius;
            if k_px.abs() < 1.0 {
                inline_emission[i] = true;
            } else {
                for l in &layer.lights {
                    sampled.push(SampledLight {
                        layer: i,
                        light: *l,
                        k_px,
                    });
                }
            }
        }
        let rows: Vec<Vec<Rgb>> = (0..h)
            .into_par_iter()
            .map(|y| {
                (0..w)
                    .map(|x| {
                        let shift = pixel_shift(x, y);
                        let mut acc = [0.0f64; 3];
                        // Pixel sample k pairs with aperture point (k + offset) mod n: both
                        // sets are well stratified, and the offset decorrelates neighbours.
                        let offset = (hash2(x as i64, y as i64, 0xA9E) as usize) % pattern.len();
                        for (k, s) in pattern.iter().enumerate() {
                            let p = (
                                x as f64 + frac(s[0] + shift[0]),
                                y as f64 + frac(s[1] + shift[1]),
                            );
                            let j = (k + offset) % apoints.len();
                            let (c, hit) = trace(world, &g, p, apoints[j], &inline_emission);
                            let behind = hit.is_some_and(|i| world.layers[i].depth_m > g.s1);
                            let wt = profile_weight(sa, outer[j], behind);
                            acc[0] += c[0] as f64 * wt;
                            acc[1] += c[1] as f64 * wt;
                            acc[2] += c[2] as f64 * wt;
                        }
                        let n = pattern.len() as f64;
                        let mut c = [acc[0] / n, acc[1] / n, acc[2] / n];
                        for sl in &sampled {
                            let e = light_contribution(
                                world,
                                &g,
                                &aperture,
                                sl,
                                (x, y),
                                &pattern,
                                (squeeze, sa),
                            );
                            for (v, l) in c.iter_mut().zip(sl.light.rgb) {
                                *v += e * l as f64;
                            }
                        }
                        [c[0] as f32, c[1] as f32, c[2] as f32]
                    })
                    .collect()
            })
            .collect();
        to_image(w, h, rows)
    }

    /// Longitudinal chromatic aberration: green traced with the image `δ/2` nearer the lens
    /// (its focus plane nearer), red and blue `δ/2` farther, everything else as drawn.
    fn render_per_channel_focus(&self, world: &World, um: f64) -> LinearRgb {
        let g = self.geometry();
        // Moving the image by `dv` moves the focus plane's disparity by `dv / v²`.
        let d_disparity = 0.5 * um * 1e-6 / (g.v * g.v);
        let traced = |sign: f64| {
            let mut lens = self.lens;
            lens.character.chromatic_aberration_um = 0.0;
            lens.focus_distance_m = 1.0 / (1.0 / g.s1 + sign * d_disparity);
            Camera { lens, ..*self }.render_lens(world)
        };
        let green = traced(1.0);
        let magenta = traced(-1.0);
        let mut out = magenta;
        out.g_mut().copy_from_slice(green.g());
        out
    }

    /// The pinhole image, true disparity and true subject matte. The pinhole ray is computed
    /// directly (`X = u·Z/v`), independently of the thin-lens path.
    pub fn render_pinhole(&self, world: &World) -> Pinhole {
        let g = self.geometry();
        let pattern = self.pattern();
        let (w, h) = (self.width, self.height);
        let rows: Vec<Vec<(Rgb, f32, f32)>> = (0..h)
            .into_par_iter()
            .map(|y| {
                (0..w)
                    .map(|x| {
                        let shift = pixel_shift(x, y);
                        let mut acc = [0.0f64; 3];
                        let mut cover = 0usize;
                        for s in &pattern {
                            let px = x as f64 + frac(s[0] + shift[0]);
                            let py = y as f64 + frac(s[1] + shift[1]);
                            let (c, layer) = pinhole_ray(world, &g, px, py);
                            acc[0] += c[0] as f64;
                            acc[1] += c[1] as f64;
                            acc[2] += c[2] as f64;
                            if layer.is_some_and(|l| world.layers[l].subject) {
                                cover += 1;
                            }
                        }
                        let n = pattern.len() as f64;
                        let (_, centre) = pinhole_ray(world, &g, x as f64 + 0.5, y as f64 + 0.5);
                        let disparity = centre.map_or(0.0, |l| 1.0 / world.layers[l].depth_m);
                        (
                            [
                                (acc[0] / n) as f32,
                                (acc[1] / n) as f32,
                                (acc[2] / n) as f32,
                            ],
                            disparity as f32,
                            (cover as f64 / n) as f32,
                        )
                    })
                    .collect()
            })
            .collect();
        let flat: Vec<(Rgb, f32, f32)> = rows.into_iter().flatten().collect();
        let color =
            LinearRgb::from_interleaved(w, h, &flat.iter().flat_map(|p| p.0).collect::<Vec<f32>>());
        Pinhole {
            color,
            disparity: Plane::from_vec(w, h, flat.iter().map(|p| p.1).collect()),
            matte: Plane::from_vec(w, h, flat.iter().map(|p| p.2).collect()),
        }
    }
}

/// Thin-lens ray from upright-sensor pixel position `p` through aperture point `a` (metres in
/// the lens plane); returns the colour and the index of the layer hit. Lights are included for
/// the layers flagged in `emission`.
#[inline]
fn trace(
    world: &World,
    g: &Geometry,
    p: (f64, f64),
    a: (f64, f64),
    emission: &[bool],
) -> (Rgb, Option<usize>) {
    if !g.clears_barrel(p, a) {
        return ([0.0; 3], None);
    }
    for (i, layer) in world.layers.iter().enumerate() {
        let (qx, qy) = g.layer_point(p, a, layer.depth_m);
        if layer.shape.contains(qx, qy) {
            return (layer.colour(qx, qy, emission[i]), Some(i));
        }
    }
    (world.sky, None)
}

/// Average over pixel `(x, y)` of the fraction of a light's emission reaching the sensor,
/// as a multiple of its radiance, by sampling pixel area × light area.
fn light_contribution(
    world: &World,
    g: &Geometry,
    aperture: &ApertureSampler,
    sl: &SampledLight,
    (x, y): (usize, usize),
    pattern: &[[f64; 4]],
    (squeeze, sa): (f64, f64),
) -> f64 {
    let shift = pixel_shift(x, y);
    let l = &sl.light;
    // With field curvature the blur factor is the pixel's own.
    let centre = (x as f64 + 0.5, y as f64 + 0.5);
    let k_px = g.px_per_aperture_m_at(world.layers[sl.layer].depth_m, centre) * g.aperture_radius;
    let reach = sl.k_px.abs().max(k_px.abs()) + l.size_px + 2.0;
    if (x as f64 + 0.5 - l.x).abs() > reach || (y as f64 + 0.5 - l.y).abs() > reach {
        return 0.0;
    }
    let layer = &world.layers[sl.layer];
    let mut hits = 0.0f64;
    for s in pattern {
        let p = (
            x as f64 + frac(s[0] + shift[0]),
            y as f64 + frac(s[1] + shift[1]),
        );
        let q = (
            l.x + (frac(s[2] + shift[2]) - 0.5) * l.size_px,
            l.y + (frac(s[3] + shift[3]) - 0.5) * l.size_px,
        );
        // The aperture point whose ray from p meets the light's plane at q.
        let (ux, uy) = ((q.0 - p.0) / k_px, (q.1 - p.1) / k_px);
        // The aperture as drawn, before an anamorphic squeeze.
        let sx = ux * squeeze;
        let r2 = sx * sx + uy * uy;
        let edge = aperture_radius(&aperture.shape, uy.atan2(sx));
        if r2 > 1.0 || r2.sqrt() > edge {
            continue;
        }
        let outer = r2 > 0.5 * edge * edge;
        if !layer.shape.contains(q.0, q.1) {
            continue;
        }
        let a = (ux * g.aperture_radius, uy * g.aperture_radius);
        if !g.clears_barrel(p, a) {
            continue;
        }
        let blocked = world.layers[..sl.layer].iter().any(|near| {
            let (nx, ny) = g.layer_point(p, a, near.depth_m);
            near.shape.contains(nx, ny)
        });
        if !blocked {
            // Behind the focus plane the blur factor is negative.
            hits += profile_weight(sa, outer, k_px < 0.0);
        }
    }
    // ∫ over the unit aperture / its area = ∫ over the light / (k² · area).
    let area_fraction = hits / pattern.len() as f64;
    area_fraction * l.size_px * l.size_px * squeeze / (k_px * k_px * aperture.area)
}

/// Spherical aberration's weight of a ray through the outer (or inner) half of the aperture's
/// area, behind (or in front of) the focus plane: `1 ± S` (see the module documentation).
fn profile_weight(sa: f64, outer: bool, behind: bool) -> f64 {
    let s = if behind { sa } else { -sa };
    if outer { 1.0 + s } else { 1.0 - s }
}

/// Chief ray through the centre of the lens, lights included.
#[inline]
fn pinhole_ray(world: &World, g: &Geometry, px: f64, py: f64) -> (Rgb, Option<usize>) {
    let ux = (px - g.cx) * g.pitch;
    let uy = (py - g.cy) * g.pitch;
    for (i, layer) in world.layers.iter().enumerate() {
        let z = layer.depth_m;
        let (wx, wy) = (ux * z / g.v, uy * z / g.v);
        let k = g.v / (z * g.pitch);
        let (qx, qy) = (wx * k + g.cx, wy * k + g.cy);
        if layer.shape.contains(qx, qy) {
            return (layer.colour(qx, qy, true), Some(i));
        }
    }
    (world.sky, None)
}

fn to_image(w: usize, h: usize, rows: Vec<Vec<Rgb>>) -> LinearRgb {
    let flat: Vec<f32> = rows.into_iter().flatten().flatten().collect();
    LinearRgb::from_interleaved(w, h, &flat)
}

fn radical_inverse(mut i: usize, base: usize) -> f64 {
    let inv = 1.0 / base as f64;
    let mut r = 0.0;
    let mut f = inv;
    while i > 0 {
        r += (i % base) as f64 * f;
        i /= base;
        f *= inv;
    }
    r
}

#[inline]
fn frac(x: f64) -> f64 {
    x - fast_floor(x) as f64
}

fn pixel_shift(x: usize, y: usize) -> [f64; 4] {
    let h = hash2(x as i64, y as i64, 0x5EED);
    let h2 = hash2(y as i64, x as i64, 0xF00D);
    [
        unit(h),
        unit(h.rotate_left(16) ^ 0x9E37_79B9),
        unit(h2),
        unit(h2.rotate_left(16) ^ 0x85EB_CA6B),
    ]
}

/// Radius of the unit aperture in direction `theta` (radians; x right, y down in the upright
/// image frame, so a background highlight shows the aperture as drawn here).
///
/// Same convention as fstop's renderer: an n-blade polygon has its vertices on the unit circle
/// (the CoC diameter is vertex to vertex); rotation 0 puts a vertex straight up and positive
/// rotation turns the shape counter-clockwise on screen; blade curvature `κ` bends each side
/// into a circular arc of radius `1/κ` through its two vertices (0 straight, 1 the circle).
/// The radius is the nearest crossing of the ray with any side.
pub fn aperture_radius(shape: &ApertureShape, theta: f64) -> f64 {
    let kappa = shape.blade_curvature.clamp(0.0, 1.0);
    if shape.blades < 3 || kappa >= 1.0 {
        return 1.0;
    }
    let n = shape.blades as usize;
    let half = std::f64::consts::PI / n as f64;
    let apothem = half.cos();
    let (dx, dy) = (theta.cos(), theta.sin());
    let mut r = f64::INFINITY;
    for i in 0..n {
        // Outward normal of side i (between vertices i and i+1), screen angle measured
        // counter-clockwise with y up, hence the minus on y in the image frame.
        let a = std::f64::consts::FRAC_PI_2
            + shape.blade_rotation_deg.to_radians()
            + 2.0 * half * i as f64
            + half;
        let (nx, ny) = (a.cos(), -a.sin());
        let dn = dx * nx + dy * ny;
        if kappa < 1e-4 {
            if dn > 1e-12 {
                r = r.min(apothem / dn);
            }
        } else {
            // Disc of radius 1/κ whose boundary passes through both vertices of the side.
            let radius = 1.0 / kappa;
            let offset = apothem - (radius * radius - half.sin().powi(2)).sqrt();
            let (cx, cy) = (nx * offset, ny * offset);
            let dc = dx * cx + dy * cy;
            let t = dc + (dc * dc - (cx * cx + cy * cy) + radius * radius).sqrt();
            r = r.min(t);
        }
    }
    r
}

/// Maps the unit square uniformly onto the unit aperture shape.
pub struct ApertureSampler {
    /// `cdf[i]` = fraction of the area in angles `[0, 2π·i/BINS)`.
    cdf: Vec<f64>,
    shape: ApertureShape,
    /// Area of the unit aperture (π for a circle).
    pub area: f64,
}

const APERTURE_BINS: usize = 4096;

impl ApertureSampler {
    pub fn new(shape: &ApertureShape) -> ApertureSampler {
        let mut cdf = Vec::with_capacity(APERTURE_BINS + 1);
        cdf.push(0.0);
        let mut sum = 0.0;
        for i in 0..APERTURE_BINS {
            let theta = (i as f64 + 0.5) / APERTURE_BINS as f64 * std::f64::consts::TAU;
            sum += aperture_radius(shape, theta).powi(2);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        let area = 0.5 * sum * std::f64::consts::TAU / APERTURE_BINS as f64;
        ApertureSampler {
            cdf,
            shape: *shape,
            area,
        }
    }

    /// `(u, v)` in the unit square to a point of the unit aperture, area-uniformly.
    pub fn map(&self, u: f64, v: f64) -> (f64, f64) {
        let i = self
            .cdf
            .partition_point(|&c| c <= u)
            .clamp(1, APERTURE_BINS)
            - 1;
        let (c0, c1) = (self.cdf[i], self.cdf[i + 1]);
        let t = if c1 > c0 { (u - c0) / (c1 - c0) } else { 0.5 };
        let theta = (i as f64 + t) / APERTURE_BINS as f64 * std::f64::consts::TAU;
        let r = v.sqrt() * aperture_radius(&self.shape, theta);
        (r * theta.cos(), r * theta.sin())
    }
}

/// A head-and-shoulders silhouette with thin hair strands, in layer pixels, scaled to an image
/// `width × height`.
pub struct Silhouette {
    pub cx: f64,
    pub head_cy: f64,
    pub head_rx: f64,
    pub head_ry: f64,
    pub neck_half_w: f64,
    pub neck_top: f64,
    pub shoulder_cy: f64,
    pub shoulder_rx: f64,
    pub shoulder_ry: f64,
    /// Hair strands as line segments `(x0, y0, x1, y1, half_width)`.
    pub strands: Vec<[f64; 5]>,
    /// Bounding box of each strand (`STRAND_SEGMENTS` consecutive segments).
    boxes: Vec<[f64; 4]>,
}

const STRAND_SEGMENTS: usize = 10;

impl Silhouette {
    pub fn new(width: usize, height: usize) -> Silhouette {
        let h = height as f64;
        let cx = width as f64 * 0.47;
        let head_cy = 0.40 * h;
        let (head_rx, head_ry) = (0.15 * h, 0.19 * h);
        let mut strands = Vec::new();
        // Flyaway hairs: strands emerge from just inside the upper head outline, leave it at a
        // slant and curl, 0.4–1.1 px wide (at 213 px image height).
        let count = 30;
        for k in 0..count as i64 {
            let a = (-172.0 + 164.0 * k as f64 / (count - 1) as f64).to_radians();
            let (mut x, mut y) = (
                cx + head_rx * a.cos() * 0.9,
                head_cy + head_ry * a.sin() * 0.9,
            );
            let len = h * (0.06 + 0.10 * unit(hash2(k, 7, 3)));
            let half_width = (0.2 + 0.35 * unit(hash2(k, 9, 3))) * h / 213.0;
            let side = if k % 2 == 0 { 1.0 } else { -1.0 };
            let curl = side * (0.04 + 0.10 * unit(hash2(k, 11, 3)));
            let mut dir = a + side * (0.3 + 0.5 * unit(hash2(k, 13, 3)));
            for _ in 0..STRAND_SEGMENTS {
                let step = len / STRAND_SEGMENTS as f64;
                dir += curl;
                let (nx, ny) = (x + step * dir.cos(), y + step * dir.sin());
                strands.push([x, y, nx, ny, half_width]);
                (x, y) = (nx, ny);
            }
        }
        let boxes = strands
            .chunks(STRAND_SEGMENTS)
            .map(|segs| {
                let mut b = [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ];
                for s in segs {
                    b[0] = b[0].min(s[0].min(s[2]) - s[4]);
                    b[1] = b[1].min(s[1].min(s[3]) - s[4]);
                    b[2] = b[2].max(s[0].max(s[2]) + s[4]);
                    b[3] = b[3].max(s[1].max(s[3]) + s[4]);
                }
                b
            })
            .collect();
        Silhouette {
            cx,
            head_cy,
            head_rx,
            head_ry,
            neck_half_w: 0.07 * h,
            neck_top: head_cy,
            shoulder_cy: 1.08 * h,
            shoulder_rx: 0.62 * h,
            shoulder_ry: 0.40 * h,
            strands,
            boxes,
        }
    }

    pub fn in_head(&self, x: f64, y: f64) -> bool {
        ((x - self.cx) / self.head_rx).powi(2) + ((y - self.head_cy) / self.head_ry).powi(2) <= 1.0
    }

    pub fn in_body(&self, x: f64, y: f64) -> bool {
        ((x - self.cx) / self.shoulder_rx).powi(2)
            + ((y - self.shoulder_cy) / self.shoulder_ry).powi(2)
            <= 1.0
    }

    pub fn in_strand(&self, x: f64, y: f64) -> bool {
        self.boxes.iter().enumerate().any(|(k, b)| {
            if x < b[0] || x > b[2] || y < b[1] || y > b[3] {
                return false;
            }
            self.strands[k * STRAND_SEGMENTS..(k + 1) * STRAND_SEGMENTS]
                .iter()
                .any(|s| {
                    let (dx, dy) = (s[2] - s[0], s[3] - s[1]);
                    let t =
                        (((x - s[0]) * dx + (y - s[1]) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                    let (ex, ey) = (x - s[0] - t * dx, y - s[1] - t * dy);
                    ex * ex + ey * ey <= s[4] * s[4]
                })
        })
    }

    pub fn contains(&self, x: f64, y: f64) -> bool {
        self.in_head(x, y)
            || ((x - self.cx).abs() <= self.neck_half_w && y >= self.neck_top)
            || self.in_body(x, y)
            || self.in_strand(x, y)
    }

    /// Skin on the head and neck, striped cloth on the body, blond hair strands.
    pub fn colour(&self, x: f64, y: f64) -> Rgb {
        if self.in_body(x, y) && !(self.in_head(x, y)) && y > self.head_cy + self.head_ry * 0.9 {
            let t = 0.5 - 0.5 * (std::f64::consts::TAU * (x + 0.6 * y) / 9.0).cos();
            return mix([0.03, 0.05, 0.16], [0.10, 0.16, 0.40], t);
        }
        if self.in_head(x, y) || (x - self.cx).abs() <= self.neck_half_w {
            let n = fractal_noise(x / 6.0, y / 6.0, 21);
            return mix([0.42, 0.24, 0.16], [0.62, 0.40, 0.28], n);
        }
        [0.75, 0.55, 0.28]
    }
}

/// Parameters of the standard portrait scene.
#[derive(Clone, Copy, Debug)]
pub struct PortraitScene {
    pub subject_m: f64,
    pub wall_m: f64,
    pub far_m: f64,
    /// A foreground disc partly covering the subject's shoulder, at this distance.
    pub foreground_m: Option<f64>,
    /// Radiance of the point lights (multiples of diffuse white).
    pub light_level: f32,
}

impl Default for PortraitScene {
    fn default() -> Self {
        PortraitScene {
            subject_m: 2.0,
            wall_m: 8.0,
            far_m: 1000.0,
            foreground_m: None,
            light_level: 20.0,
        }
    }
}

impl PortraitScene {
    /// Builds the world for an image `width × height`: a head-and-shoulders subject with hair
    /// strands, a textured wall with lit windows covering the left and lower background, a far
    /// textured backdrop with point lights, and optionally a striped foreground disc.
    pub fn build(&self, width: usize, height: usize) -> World {
        let (w, h) = (width as f64, height as f64);
        let sil = Arc::new(Silhouette::new(width, height));
        let (sm, sc) = (sil.clone(), sil.clone());
        let subject = Layer::new(
            self.subject_m,
            Shape::Mask(Arc::new(move |x, y| sm.contains(x, y))),
            Texture::Custom(Arc::new(move |x, y| sc.colour(x, y))),
        )
        .subject();

        let s = h / 213.0;
        let level = self.light_level;
        let light = |x: f64, y: f64, rgb: Rgb| Light {
            x: (x * w).round() + 0.5,
            y: (y * h).round() + 0.5,
            size_px: (3.0 * s).round().max(1.0),
            rgb: [rgb[0] * level, rgb[1] * level, rgb[2] * level],
        };
        let wall = Layer::new(
            self.wall_m,
            Shape::Rect {
                x0: -1e9,
                y0: 0.42 * h,
                x1: 0.38 * w,
                y1: 1e9,
            },
            Texture::Custom(Arc::new(move |x, y| {
                let cell = 14.0 * s;
                let k = fast_floor(x / cell) + fast_floor(y / cell);
                let n = fractal_noise(x / (5.0 * s), y / (5.0 * s), 5);
                let base: Rgb = if k.rem_euclid(2) == 0 {
                    [0.30, 0.22, 0.12]
                } else {
                    [0.08, 0.07, 0.06]
                };
                mix(base, [base[0] * 1.6, base[1] * 1.6, base[2] * 1.6], n)
            })),
        )
        .with_lights(vec![
            light(0.06, 0.55, [1.0, 0.75, 0.4]),
            light(0.22, 0.62, [1.0, 0.75, 0.4]),
            light(0.12, 0.80, [1.0, 0.9, 0.7]),
            light(0.30, 0.90, [1.0, 0.6, 0.3]),
        ]);
        let far = Layer::new(
            self.far_m,
            Shape::Everywhere,
            Texture::Custom(Arc::new(move |x, y| {
                let n = fractal_noise(x / (9.0 * s), y / (9.0 * s), 77);
                let sky = mix([0.05, 0.10, 0.22], [0.20, 0.32, 0.55], 1.0 - y / h);
                let foliage = mix([0.02, 0.06, 0.02], [0.12, 0.28, 0.08], n);
                let t = ((n - 0.45) * 6.0).clamp(0.0, 1.0);
                mix(sky, foliage, t)
            })),
        )
        .with_lights(vec![
            light(0.50, 0.12, [1.0, 1.0, 1.0]),
            light(0.78, 0.20, [0.5, 0.7, 1.0]),
            light(0.90, 0.45, [1.0, 0.5, 0.3]),
            light(0.70, 0.60, [1.0, 0.9, 0.6]),
            light(0.20, 0.18, [1.0, 1.0, 1.0]),
            light(0.62, 0.08, [0.6, 1.0, 0.6]),
        ]);
        let mut layers = vec![subject, wall, far];
        if let Some(z) = self.foreground_m {
            layers.push(Layer::new(
                z,
                Shape::Disc {
                    cx: 0.80 * w,
                    cy: 0.95 * h,
                    r: 0.33 * h,
                },
                Texture::Stripes {
                    period_px: 10.0 * s,
                    angle_deg: 30.0,
                    a: [0.05, 0.20, 0.04],
                    b: [0.35, 0.55, 0.15],
                },
            ));
        }
        World::new(layers)
    }
}
