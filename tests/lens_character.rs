//! Lens character (issue 16): each optical trait measured in fstop's output against the
//! thin-lens ray tracer (`tests/support`, which traces each trait from its own physical
//! description: an elliptical aperture, per-channel focus, a radial intensity profile over the
//! aperture), and the fast kernel held to the reference kernel with every trait on.
//!
//! Scenes: 85 mm f/1.8 focused at 2 m on a 6 mm wide sensor, so a 160 px wide image has discs
//! of about 56 px for a light at infinity and for one at 1 m. Measured (truth / fast /
//! reference) when these tests were written:
//!
//! | trait | measure | behind focus (1000 m) | in front (1 m) |
//! |---|---|---|---|
//! | anamorphic 1.33× | height / width (second moments) | 1.330 / 1.323 / 1.330 | 1.330 / 1.316 / 1.330 |
//! | anamorphic 1.8× | height / width | 1.798 / 1.758 / 1.800 | 1.798 / 1.717 / 1.800 |
//! | chromatic 400 µm | rim green / magenta | 2.92 / 2.09 / 2.76 (green) | 0.39 / 0.58 / 0.37 (magenta) |
//! | spherical +0.5 | rim / centre (model 3, 1/3) | 3.00 / 2.79 / 3.00 | 0.333 / 0.394 / 0.333 |
//! | spherical −0.5 | rim / centre (model 1/3, 3) | 0.333 / 0.363 / 0.333 | 3.00 / 2.35 / 3.00 |
//!
//! The disc height is the plain CoC within 2% in all three. At the focus plane chromatic
//! aberration adds no colour (green − magenta 0 in both kernels). Fast vs reference with every
//! trait on (anamorphic 1.5×, 150 µm, S = 0.6, cat-eye 0.5, swirl 0.7; slanted ground plane,
//! lights, a subject): mean absolute error 0.00182, PSNR 49.2 dB.
//!
//! Cat-eye and swirl (the tracer's second stop and curved field; 30 px discs of lights at
//! 1000 m in a 240 × 160 frame, at field radius ρ; truth / fast / reference):
//!
//! | trait | measure | ρ = 0.42 | ρ = 0.63 | ρ = 0.71 |
//! |---|---|---|---|---|
//! | cat-eye 0.6 | long / short axis | 1.201 / 1.163 / 1.192 | 1.327 / 1.299 / 1.327 | 1.382 / 1.373 / 1.382 |
//! | swirl 1 | size over the flat field's | 1.036 / 1.042 / 1.041 | 1.078 / 1.085 / 1.084 | 1.098 / 1.118 / 1.110 |
//!
//! The long axis is tangential (|cos| to the radius ≤ 0.02); the corner of a uniform distant
//! plane keeps 0.731 / 0.732 / 0.732 of the centre's light at cut 0.3 and 0.424 / 0.422 / 0.422
//! at 0.6 (model 0.731 and 0.420), an in-focus plane the same in fstop. The fast kernel's fringes and rims are weaker than
//! the truth's on large discs (see the tolerances): it renders them at coarse levels.
//! (Figures are printed by each test; run with `--nocapture`.)

mod support;

use fstop::optics::{Character, Lens, Sensor};
use fstop::render::{HighlightOptions, KernelKind, RenderOptions, render};
use fstop::scene::{LinearRgb, Plane, Scene};
use support::{Camera, Layer, Light, Shape, Texture, World};

const W: usize = 160;
const H: usize = 160;

/// 85 mm f/1.8 at 2 m on a 6 mm sensor: ~56 px discs at infinity and at 1 m.
fn lens(character: Character) -> Lens {
    Lens {
        sensor: Sensor::Custom { width_mm: 6.0 },
        character,
        ..Lens::default()
    }
}

/// Highlight recovery off: fstop gets the true linear radiance.
fn options(kernel: KernelKind) -> RenderOptions {
    RenderOptions {
        highlights: HighlightOptions {
            threshold: 0.9,
            gain: 0.0,
        },
        kernel,
        ..RenderOptions::default()
    }
}

/// A black plane at `depth_m` with one light at the image centre, bright enough for a disc
/// plateau of about 0.5.
fn light_world(depth_m: f64, disc_px: f64) -> World {
    let level = (0.5 * std::f64::consts::PI * disc_px * disc_px / 4.0) as f32;
    World::new(vec![
        Layer::new(depth_m, Shape::Everywhere, Texture::Flat([0.0; 3])).with_lights(vec![Light {
            x: (W / 2) as f64 + 0.5,
            y: (H / 2) as f64 + 0.5,
            size_px: 1.0,
            rgb: [level; 3],
        }]),
    ])
}

/// One light as the ray tracer, the fast kernel and the reference kernel draw it.
struct Run {
    truth: LinearRgb,
    fast: LinearRgb,
    reference: LinearRgb,
    /// |CoC| of the plain lens, pixels.
    coc_px: f64,
}

impl Run {
    fn images(&self) -> [(&'static str, &LinearRgb); 3] {
        [
            ("truth", &self.truth),
            ("fast", &self.fast),
            ("reference", &self.reference),
        ]
    }
}

fn run(l: Lens, depth_m: f64) -> Run {
    let coc_px = l.signed_coc_px(1.0 / depth_m, W).abs();
    let world = light_world(depth_m, coc_px);
    let mut cam = Camera::new(l, W, H);
    cam.samples = 256;
    let truth = cam.render_lens(&world);
    let p = cam.render_pinhole(&world);
    let scene = Scene::new(p.color, p.disparity, None).unwrap();
    Run {
        truth,
        fast: render(&scene, &l.validate().unwrap(), &options(KernelKind::Fast)),
        reference: render(
            &scene,
            &l.validate().unwrap(),
            &options(KernelKind::Reference),
        ),
        coc_px,
    }
}

/// Intensity-weighted second moments of a plane about its centroid: `(σx², σy², centre)`.
fn moments(p: &Plane) -> (f64, f64, (f64, f64)) {
    let (mut s, mut sx, mut sy) = (0.0, 0.0, 0.0);
    for y in 0..p.height() {
        for x in 0..p.width() {
            let v = f64::from(p.at(x, y).max(0.0));
            s += v;
            sx += v * (x as f64 + 0.5);
            sy += v * (y as f64 + 0.5);
        }
    }
    let (cx, cy) = (sx / s, sy / s);
    let (mut xx, mut yy) = (0.0, 0.0);
    for y in 0..p.height() {
        for x in 0..p.width() {
            let v = f64::from(p.at(x, y).max(0.0));
            xx += v * (x as f64 + 0.5 - cx).powi(2);
            yy += v * (y as f64 + 0.5 - cy).powi(2);
        }
    }
    (xx / s, yy / s, (cx, cy))
}

/// Mean of `value(x, y)` over the pixels whose centre is at `lo..hi` of radius `r` from the
/// image centre (radii as fractions of `r`; `squeeze` stretches x back to a circle).
fn ring_mean(
    img: &LinearRgb,
    r: f64,
    (lo, hi): (f64, f64),
    value: impl Fn([f32; 3]) -> f64,
) -> f64 {
    let (cx, cy) = ((W / 2) as f64 + 0.5, (H / 2) as f64 + 0.5);
    let (mut s, mut n) = (0.0, 0usize);
    for y in 0..img.height() {
        for x in 0..img.width() {
            let d = ((x as f64 + 0.5 - cx).powi(2) + (y as f64 + 0.5 - cy).powi(2)).sqrt() / r;
            if d >= lo && d < hi {
                s += value(img.at(x, y));
                n += 1;
            }
        }
    }
    s / n as f64
}

#[test]
fn anamorphic_discs_are_ovals_taller_than_wide_by_the_squeeze() {
    let mut failures = Vec::new();
    for squeeze in [1.33, 1.8] {
        let l = lens(Character {
            anamorphic_squeeze: squeeze,
            ..Character::default()
        });
        for depth in [1000.0, 1.0] {
            let r = run(l, depth);
            for (name, img) in r.images() {
                let (xx, yy, _) = moments(&img.luminance());
                let aspect = (yy / xx).sqrt();
                // Height: a uniform disc of diameter d has σ² = d²/16.
                let height = 4.0 * yy.sqrt();
                println!(
                    "squeeze {squeeze}, depth {depth} m, {name}: aspect {aspect:.3}, height \
                     {height:.1} px (CoC {:.1})",
                    r.coc_px
                );
                if (aspect - squeeze).abs() > 0.06 * squeeze {
                    failures.push(format!("{squeeze} {depth} {name}: aspect {aspect:.3}"));
                }
                if (height - r.coc_px).abs() > 0.06 * r.coc_px {
                    failures.push(format!("{squeeze} {depth} {name}: height {height:.1}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Green over magenta (mean of red and blue) in the disc's outer rim.
fn rim_green_over_magenta(img: &LinearRgb, coc_px: f64) -> f64 {
    let r = 0.5 * coc_px;
    let g = ring_mean(img, r, (0.9, 1.12), |c| f64::from(c[1]));
    let m = ring_mean(img, r, (0.9, 1.12), |c| 0.5 * f64::from(c[0] + c[2]));
    g / m
}

#[test]
fn chromatic_aberration_fringes_green_behind_the_focus_and_magenta_in_front() {
    let l = lens(Character {
        chromatic_aberration_um: 400.0,
        ..Character::default()
    });
    let mut failures = Vec::new();
    for (depth, behind) in [(1000.0, true), (1.0, false)] {
        let r = run(l, depth);
        let truth = rim_green_over_magenta(&r.truth, r.coc_px);
        for (name, img) in r.images() {
            let ratio = rim_green_over_magenta(img, r.coc_px);
            println!("depth {depth} m, {name}: rim green/magenta {ratio:.3}");
            let right_sign = if behind { ratio > 1.3 } else { ratio < 0.77 };
            // Strength: the reference kernel within 10% of the truth's (log ratio); the fast
            // kernel renders a 56 px disc at level 2, where the 3 px offset is under a level
            // pixel and the bilinear upsampling softens the fringe (measured 31–43% weaker).
            let tolerance = if name == "fast" { 0.5 } else { 0.1 };
            let close = (ratio.ln() - truth.ln()).abs() < tolerance * truth.ln().abs();
            if !right_sign || !close {
                failures.push(format!("{depth} {name}: {ratio:.3} (truth {truth:.3})"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn chromatic_aberration_leaves_the_focus_plane_clean() {
    let l = lens(Character {
        chromatic_aberration_um: 400.0,
        ..Character::default()
    });
    // A grey plane with a white square at the focus distance.
    let world = World::new(vec![
        Layer::new(
            2.0,
            Shape::Rect {
                x0: 60.0,
                y0: 60.0,
                x1: 100.0,
                y1: 100.0,
            },
            Texture::Flat([0.9; 3]),
        ),
        Layer::new(2.0001, Shape::Everywhere, Texture::Flat([0.1; 3])),
    ]);
    let cam = Camera::new(l, W, H);
    let p = cam.render_pinhole(&world);
    let scene = Scene::new(p.color, p.disparity, None).unwrap();
    for kernel in [KernelKind::Fast, KernelKind::Reference] {
        let out = render(&scene, &l.validate().unwrap(), &options(kernel));
        let worst = (0..W * H)
            .map(|i| (out.g()[i] - 0.5 * (out.r()[i] + out.b()[i])).abs())
            .fold(0.0f32, f32::max);
        println!("{kernel:?}: largest green−magenta at the focus plane {worst:.5}");
        assert!(worst < 1e-4, "{kernel:?}: {worst}");
    }
}

/// Rim (outer band inside the edge) over centre.
fn rim_over_centre(img: &LinearRgb, coc_px: f64) -> f64 {
    let r = 0.5 * coc_px;
    let lum = |c: [f32; 3]| f64::from(c[0] + c[1] + c[2]);
    ring_mean(img, r, (0.76, 0.9), lum) / ring_mean(img, r, (0.0, 0.55), lum)
}

#[test]
fn spherical_aberration_draws_bright_rims_behind_the_focus_and_soft_centres_in_front() {
    let mut failures = Vec::new();
    for sa in [0.5, -0.5] {
        let l = lens(Character {
            spherical_aberration: sa,
            ..Character::default()
        });
        for (depth, behind) in [(1000.0, true), (1.0, false)] {
            let r = run(l, depth);
            // The model's rim : centre, (1 + S) : (1 − S) behind the focus, the reverse in front.
            let s = if behind { sa } else { -sa };
            let want = (1.0 + s) / (1.0 - s);
            for (name, img) in r.images() {
                let ratio = rim_over_centre(img, r.coc_px);
                println!(
                    "S {sa}, depth {depth} m, {name}: rim/centre {ratio:.3} (model {want:.3})"
                );
                // The fast kernel draws the 56 px disc at level 2: the upsampling softens the
                // step between rim and centre (measured up to 22% weaker in log ratio).
                let tolerance = if name == "fast" { 0.35 } else { 0.05 };
                let right_sign = (ratio > 1.0) == (want > 1.0);
                if !right_sign || (ratio.ln() - want.ln()).abs() > tolerance * want.ln().abs() {
                    failures.push(format!("{sa} {depth} {name}: {ratio:.3} vs {want:.3}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A slanted ground plane (both sides of the focus, every blur size) with a few lights, and
/// an in-focus subject with a soft matte.
fn ground_plane(w: usize, h: usize) -> Scene {
    let mut color = LinearRgb::filled(w, h, [0.0; 3]);
    let mut disp = Plane::filled(w, h, 0.0);
    let mut matte = Plane::filled(w, h, 0.0);
    for y in 0..h {
        let t = y as f32 / (h - 1) as f32;
        for x in 0..w {
            let check = ((x / 6 + y / 6) % 2) as f32;
            color.set(
                x,
                y,
                [0.1 + 0.5 * check * t, 0.2 + 0.2 * check, 0.6 - 0.4 * t],
            );
            disp.data_mut()[y * w + x] = 1.0 * t * t;
            let (dx, dy) = (x as f32 - 0.7 * w as f32, y as f32 - 0.4 * h as f32);
            let m = (12.0 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
            if m > 0.0 {
                matte.data_mut()[y * w + x] = m;
                disp.data_mut()[y * w + x] = 0.5;
                color.set(x, y, [0.7, 0.5, 0.4]);
            }
        }
    }
    for (x, y) in [(20, 10), (70, 30), (100, 60), (40, 80), (15, 90)] {
        if x < w && y < h {
            color.set(x, y, [1.0, 0.9, 0.6]);
        }
    }
    Scene::new(color, disp, Some(matte)).unwrap()
}

#[test]
fn fast_kernel_matches_the_reference_with_every_trait_on() {
    let (w, h) = (120, 96);
    // 50 px of CoC per 1/m of disparity at this width.
    let base = Lens::default();
    let l = Lens {
        sensor: Sensor::Custom {
            width_mm: base.coc_mm_per_diopter() * w as f64 / 50.0,
        },
        character: Character {
            anamorphic_squeeze: 1.5,
            chromatic_aberration_um: 150.0,
            spherical_aberration: 0.6,
            cat_eye: 0.5,
            swirl: 0.7,
        },
        ..base
    };
    let scene = ground_plane(w, h);
    let fast = render(&scene, &l.validate().unwrap(), &RenderOptions::default());
    let reference = render(
        &scene,
        &l.validate().unwrap(),
        &RenderOptions {
            kernel: KernelKind::Reference,
            ..RenderOptions::default()
        },
    );
    let (mut sum, mut sq, mut max) = (0.0f64, 0.0f64, 0.0f64);
    for (a, b) in fast.channels().iter().zip(reference.channels()) {
        for (&x, &y) in a.iter().zip(b.iter()) {
            let d = f64::from((x - y).abs());
            sum += d;
            sq += d * d;
            max = max.max(d);
        }
    }
    let n = (w * h * 3) as f64;
    let (mae, psnr) = (sum / n, -10.0 * (sq / n).log10());
    println!("every trait on: mae {mae:.5} psnr {psnr:.2} dB max {max:.4}");
    assert!(mae < 0.002, "mean abs error {mae}");
    assert!(psnr > 45.0, "PSNR {psnr} dB");
}

/// Cat-eye and swirl scenes: a 240 × 160 image, 85 mm f/1.8 at 2 m on a 16.8 mm sensor, so a
/// light at 1000 m draws a disc of about 30 px; lights at the centre and at field radii 0.42–0.73
/// of the corner's.
const FW: usize = 240;
const FH: usize = 160;
const FIELD_LIGHTS: [(f64, f64); 5] = [
    (120.5, 80.5),
    (210.5, 80.5),
    (120.5, 140.5),
    (205.5, 135.5),
    (35.5, 25.5),
];

fn field_lens(character: Character) -> Lens {
    Lens {
        sensor: Sensor::Custom { width_mm: 16.8 },
        character,
        ..Lens::default()
    }
}

/// Truth, fast and reference images of `world` through `l` (the 240 × 160 frame).
fn field_run(l: Lens, world: &World) -> [(&'static str, LinearRgb); 3] {
    let mut cam = Camera::new(l, FW, FH);
    cam.samples = 256;
    let truth = cam.render_lens(world);
    let p = cam.render_pinhole(world);
    let scene = Scene::new(p.color, p.disparity, None).unwrap();
    [
        ("truth", truth),
        (
            "fast",
            render(&scene, &l.validate().unwrap(), &options(KernelKind::Fast)),
        ),
        (
            "reference",
            render(
                &scene,
                &l.validate().unwrap(),
                &options(KernelKind::Reference),
            ),
        ),
    ]
}

/// A black plane at `depth_m` with the [`FIELD_LIGHTS`], each bright enough for a plateau of
/// about 0.5 on a disc of `disc_px`.
fn field_lights_world(disc_px: f64, depth_m: f64) -> World {
    let level = (0.5 * std::f64::consts::PI * disc_px * disc_px / 4.0) as f32;
    let lights = FIELD_LIGHTS
        .iter()
        .map(|&(x, y)| Light {
            x,
            y,
            size_px: 1.0,
            rgb: [level; 3],
        })
        .collect();
    World::new(vec![
        Layer::new(depth_m, Shape::Everywhere, Texture::Flat([0.0; 3])).with_lights(lights),
    ])
}

/// A disc's shape around `(cx, cy)` within `r` px: the standard deviations along its long and
/// short principal axes, the long axis's angle (radians, image axes) and the centroid.
fn disc_axes(img: &LinearRgb, (cx, cy): (f64, f64), r: f64) -> (f64, f64, f64, (f64, f64)) {
    let lum = img.luminance();
    let (mut s, mut sx, mut sy) = (0.0, 0.0, 0.0);
    let mut pts = Vec::new();
    for y in 0..lum.height() {
        for x in 0..lum.width() {
            let (px, py) = (x as f64 + 0.5, y as f64 + 0.5);
            if (px - cx).hypot(py - cy) > r {
                continue;
            }
            let v = f64::from(lum.at(x, y).max(0.0));
            s += v;
            sx += v * px;
            sy += v * py;
            pts.push((px, py, v));
        }
    }
    let (mx, my) = (sx / s, sy / s);
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for (px, py, v) in pts {
        xx += v * (px - mx).powi(2);
        yy += v * (py - my).powi(2);
        xy += v * (px - mx) * (py - my);
    }
    let (xx, yy, xy) = (xx / s, yy / s, xy / s);
    let mean = 0.5 * (xx + yy);
    let dev = (0.25 * (xx - yy).powi(2) + xy * xy).sqrt();
    let angle = 0.5 * (2.0 * xy).atan2(xx - yy);
    (
        (mean + dev).sqrt(),
        (mean - dev).max(0.0).sqrt(),
        angle,
        (mx, my),
    )
}

/// The field radius of a point (0 centre, 1 corner) and its radial direction.
fn field_of((x, y): (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (x - FW as f64 / 2.0, y - FH as f64 / 2.0);
    let corner = 0.5 * ((FW * FW + FH * FH) as f64).sqrt();
    (dx.hypot(dy) / corner, dy.atan2(dx))
}

#[test]
fn cat_eye_discs_are_lemons_long_tangentially_as_the_second_stop_draws_them() {
    let l = field_lens(Character {
        cat_eye: 0.6,
        ..Character::default()
    });
    let mut failures = Vec::new();
    // Behind the focus the barrel cuts the outer side of the disc (its centroid moves in), in
    // front the inner side (discs there are turned half a revolution). fstop draws the barrel
    // as distant objects see it; from an object at Z its shadow is Z/(Z − b) as large and as
    // far off, and this small sensor puts the barrel b = 0.2 m in front of the lens, so at
    // 1 m the truth's cut is notably smaller (measured: centroids 1–1.5 px nearer the light's,
    // aspect up to 8% lower): looser bounds in front.
    for (depth, behind, aspect_tol, shift_tol) in
        [(1000.0, true, 0.05, 0.6), (1.0, false, 0.1, 1.6)]
    {
        let coc = l.signed_coc_px(1.0 / depth, FW).abs();
        let images = field_run(l, &field_lights_world(coc, depth));
        for &at in &FIELD_LIGHTS {
            let (rho, radial) = field_of(at);
            let outward = |c: (f64, f64)| (c.0 - at.0) * radial.cos() + (c.1 - at.1) * radial.sin();
            let truth = disc_axes(&images[0].1, at, 0.6 * coc + 2.0);
            let truth_aspect = truth.0 / truth.1;
            let truth_shift = outward(truth.3);
            for (name, img) in &images {
                let (long, short, angle, centroid) = disc_axes(img, at, 0.6 * coc + 2.0);
                let aspect = long / short;
                let shift = outward(centroid);
                // |cos| of the angle between the long axis and the radial direction: 0
                // tangential.
                let radial_cos = (angle - radial).cos().abs();
                println!(
                    "cat-eye 0.6, {depth} m, field {rho:.2}, {name}: aspect {aspect:.3} (truth \
                     {truth_aspect:.3}), long axis · radial {radial_cos:.3}, centroid moved \
                     {shift:.2} px outwards (truth {truth_shift:.2})"
                );
                if (aspect - truth_aspect).abs() > aspect_tol * truth_aspect {
                    failures.push(format!(
                        "{depth} {rho:.2} {name}: aspect {aspect:.3} vs {truth_aspect:.3}"
                    ));
                }
                if rho > 0.3 && (aspect < 1.15 || radial_cos > 0.2) {
                    failures.push(format!(
                        "{depth} {rho:.2} {name}: not tangential ({aspect:.3}, {radial_cos:.3})"
                    ));
                }
                if rho > 0.3 && ((shift < 0.0) != behind || (shift - truth_shift).abs() > shift_tol)
                {
                    failures.push(format!(
                        "{depth} {rho:.2} {name}: centroid {shift:.2} vs {truth_shift:.2}"
                    ));
                }
                if rho < 0.1 && aspect > 1.05 {
                    failures.push(format!("{depth} centre {name}: aspect {aspect:.3}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn cat_eye_darkens_the_corners_by_the_share_cut_away() {
    let world = World::new(vec![Layer::new(
        1000.0,
        Shape::Everywhere,
        Texture::Flat([0.5; 3]),
    )]);
    let mut failures = Vec::new();
    for cut in [0.3, 0.6] {
        let l = field_lens(Character {
            cat_eye: cut,
            ..Character::default()
        });
        let images = field_run(l, &world);
        // Corner patches (the outermost 3 × 3 pixels) over the centre's.
        let patch = |img: &LinearRgb, x0: usize, y0: usize| -> f64 {
            let mut s = 0.0;
            for y in y0..y0 + 3 {
                for x in x0..x0 + 3 {
                    s += f64::from(img.at(x, y)[1]);
                }
            }
            s / 9.0
        };
        let ratio = |img: &LinearRgb| {
            let corners =
                [(0, 0), (FW - 3, 0), (0, FH - 3), (FW - 3, FH - 3)].map(|(x, y)| patch(img, x, y));
            corners.iter().sum::<f64>() / 4.0 / patch(img, FW / 2 - 1, FH / 2 - 1)
        };
        let truth = ratio(&images[0].1);
        // The corner patches' centres lie at field radius ~0.99; seen from the sensor the
        // barrel's shadow is a little larger than from a distant point (its scale), so the
        // corner keeps a little more than 1 − F.
        let rho = 1.0 - 1.5 * 2.0 / ((FW * FW + FH * FH) as f64).sqrt();
        let shift = fstop::optics::cat_eye_corner_shift(cut);
        let model =
            fstop::optics::cat_eye_transmission(shift, l.cat_eye_barrel_scale((FW, FH)), rho);
        for (name, img) in &images {
            let r = ratio(img);
            println!(
                "cat-eye {cut}: {name} corner/centre {r:.3} (truth {truth:.3}, model {model:.3})"
            );
            if (r - truth).abs() > 0.01 {
                failures.push(format!("{cut} {name}: {r:.3} vs truth {truth:.3}"));
            }
        }
        if (truth - model).abs() > 0.01 {
            failures.push(format!("{cut}: truth {truth:.3} vs model {model:.3}"));
        }
        // In focus too: a plane at the focus distance darkens by the same transmission.
        let focused = World::new(vec![Layer::new(
            2.0,
            Shape::Everywhere,
            Texture::Flat([0.5; 3]),
        )]);
        let cam = Camera::new(l, FW, FH);
        let p = cam.render_pinhole(&focused);
        let scene = Scene::new(p.color, p.disparity, None).unwrap();
        let out = render(&scene, &l.validate().unwrap(), &options(KernelKind::Fast));
        let r = ratio(&out);
        println!("cat-eye {cut}: in focus, fast corner/centre {r:.3}");
        if (r - ratio(&images[1].1)).abs() > 0.01 {
            failures.push(format!("{cut}: in focus {r:.3}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn swirl_discs_grow_towards_the_edges_as_the_curved_field_draws_them() {
    let swirl = field_lens(Character {
        swirl: 1.0,
        ..Character::default()
    });
    // The same cat-eye without the field curvature.
    let flat = field_lens(Character {
        cat_eye: 0.6,
        ..Character::default()
    });
    let coc = swirl.signed_coc_px(1e-3, FW).abs();
    let world = field_lights_world(coc, 1000.0);
    let [swirl_images, flat_images] = [swirl, flat].map(|l| field_run(l, &world));
    let mut failures = Vec::new();
    let long_axis = |img: &LinearRgb, at| disc_axes(img, at, 0.7 * coc + 2.0).0;
    let mut by_radius = Vec::new();
    for &at in &FIELD_LIGHTS {
        let (rho, _) = field_of(at);
        // The disc against the same lens with a flat field (the cat-eye alone), along its
        // long (tangential) axis; the model's growth is the focus disparity's rise there.
        let growth =
            |i: usize| long_axis(&swirl_images[i].1, at) / long_axis(&flat_images[i].1, at);
        let truth = growth(0);
        let want = 1.0 + swirl.field_curvature_disparity_per_m(rho) / (0.5 - 1e-3);
        for (i, (name, img)) in swirl_images.iter().enumerate() {
            let g = growth(i);
            let vs_centre = long_axis(img, at) / long_axis(img, FIELD_LIGHTS[0]);
            println!(
                "swirl 1, field {rho:.2}, {name}: disc × {g:.3} of the flat field's (truth \
                 {truth:.3}, model {want:.3}); long axis × {vs_centre:.3} of the centre's"
            );
            if (g - truth).abs() > 0.025 * truth {
                failures.push(format!(
                    "{rho:.2} {name}: growth {g:.3} vs truth {truth:.3}"
                ));
            }
            if (g - want).abs() > 0.025 * want {
                failures.push(format!("{rho:.2} {name}: growth {g:.3} vs model {want:.3}"));
            }
        }
        by_radius.push((rho, truth));
    }
    // The discs grow with the field radius.
    by_radius.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        by_radius.windows(2).all(|w| w[1].1 > w[0].1),
        "{by_radius:?}"
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Writes the night-lights photo of the README's lens-character contact sheets: the pinhole
/// image (`night-lights.png`), its depth in metres (`night-lights-depth.npy`) and the subject's
/// matte (`night-lights-matte.png`) into `$FSTOP_NIGHT_LIGHTS_OUT`. Run with `--ignored`.
#[test]
#[ignore]
fn write_night_lights_photo() {
    let Some(dir) = std::env::var_os("FSTOP_NIGHT_LIGHTS_OUT").map(std::path::PathBuf::from) else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let (w, h) = (960, 640);
    let mut cam = Camera::new(Lens::default(), w, h);
    cam.samples = 64;
    let p = cam.render_pinhole(&support::scenes::night_lights(w, h));
    support::metrics::write_png(&dir.join("night-lights.png"), &p.color);
    support::metrics::write_plane_png(&dir.join("night-lights-matte.png"), &p.matte, 0.0, 1.0);
    // NumPy v1.0 header: magic, version, header length, a dict padded to 64 bytes.
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({h}, {w}), }}");
    let mut header = dict.into_bytes();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend_from_slice(&(header.len() as u16).to_le_bytes());
    npy.extend_from_slice(&header);
    for &d in p.disparity.data() {
        let metres = if d > 0.0 { 1.0 / d } else { 1e4 };
        npy.extend_from_slice(&metres.to_le_bytes());
    }
    std::fs::write(dir.join("night-lights-depth.npy"), npy).unwrap();
}
