//! Tests that prove the physics: fstop against a thin-lens ray tracer.
//!
//! The ground truth comes from `tests/support`: a thin-lens ray tracer that renders scenes of
//! fronto-parallel textured planes (a head-and-shoulders subject with 0.4–1.1 px hair strands at
//! 2 m, a lit wall at 8 m, a far backdrop with point lights at 1000 m, optionally a foreground
//! disc at 1.2 m) by integrating every pixel over its area and over the aperture (256–1024
//! rays per pixel, deterministic Halton points; small lights by light-area sampling). It also
//! gives the pinhole (all-in-focus) image, the true disparity and the true subject matte, which
//! are what fstop is handed. In the portrait comparisons highlight recovery is off (`gain 0`):
//! fstop gets the true, unclipped linear radiance, so the test isolates the defocus model. The
//! hard scenes of issue 13 (`tests/support/scenes.rs`: coloured lights 5–50× clipping at night,
//! clipped surfaces next to compact lights, leaves at 0.8 m, dark hair wisps over a far sky)
//! hand fstop the photo clipped at 1 where lights or surfaces blow out ([`Photo::Clipped`], the
//! default options, the filter gets the same photo). Every scene is also scored in its
//! highlights (the brightest 5 % of the truth) and must beat the filter by 2 dB there too.
//!
//! # How things are measured
//!
//! * **PSNR** is computed on display-encoded values: both images are clamped to 0..1, sRGB
//!   encoded, and the mean squared error is taken over R, G and B. Pixels within half the
//!   largest CoC (+1 px) of the border are left out: what they should show depends on the world
//!   outside the frame, which no renderer can know.
//! * The **edge band** is every pixel within 6 px of the true matte's 0.5 contour.
//! * The **baseline** is a typical depth-of-field *filter*: each pixel is a normalised Gaussian
//!   gather around itself with σ = |CoC|/2.5 from its own true disparity (σ of a uniform disc is
//!   d/2.83), with no occlusion handling, no background fill and no matte.
//! * **Disc diameter**: the area A of the pixels above half the disc's plateau (the median
//!   inside a quarter of the expected diameter; edge pixels counted by coverage with a linear
//!   ramp from 1/4 to 3/4 of the plateau), d = 2·√(A/π).
//!
//! # Thresholds, and what was measured when they were set (fstop's fast kernel, first version;
//! the final renderer measures 37.9–43.2 dB overall and 33.8–35.6 dB in the band, the
//! baseline 26.7–28.8 / 23.6–24.9 dB)
//!
//! | scene | size | max CoC | fstop overall / band | baseline overall / band | required |
//! |---|---|---|---|---|---|
//! | 85 mm f/1.8, subject 2 m, wall 8 m, far 1000 m | 320×213 | 18.6 px | 37.6 / 30.6 dB | 26.8 / 24.0 dB | 35 / 28.5 dB |
//! | same + foreground disc 1.2 m | 320×213 | 18.6 px | 33.6 / 30.2 dB | 26.7 / 23.6 dB | 31.5 / 28.5 dB |
//! | 135 mm f/2 + foreground | 256×170 | 34.7 px | 33.2 / 30.1 dB | 28.8 / 24.3 dB | 31 / 28.5 dB |
//! | 135 mm f/2, 6 curved blades, no foreground | 256×170 | 34.7 px | 36.0 / 30.5 dB | 28.8 / 24.9 dB | 33 / 28.5 dB |
//!
//! Every scene also requires fstop to beat the baseline by [`MARGIN_OVER_BASELINE_DB`] (2 dB)
//! overall and in the band; it did by 4.4–10.8 dB overall and 5.6–6.6 dB in the band. The
//! absolute thresholds sit about 2 dB under the measurement, so ordinary changes to the kernel
//! pass and a real regression (a halo, background on the subject, lost bokeh) does not. The
//! tracer's own error is far below all of this: 256 rays per pixel are 53–56 dB from a render
//! with 4× as many (`ground_truth_is_converged`).
//!
//! * Hair: pixels the subject covers only partly (0.02 < matte < 0.98) must reach
//!   [`PARTIAL_MATTE_DB`] (27 dB). First measured 24.1 dB (baseline 25.6 dB) when the subject
//!   layer used the background's CoC at strand pixels; with the final renderer 30.7–33.7 dB.
//! * Discs: diameter within [`DISC_DIAMETER_TOLERANCE_PX`] (1 px) of `Lens::signed_coc_px`
//!   (measured: truth within 0.12 px, fstop within 0.22 px, at 10–43 px); centroid within
//!   0.25 px + 1% of the CoC of the light (truth and reference kernel: 0.00 px; the fast kernel
//!   first moved lights by up to 9 px at 173 px CoC, fixed by tracking light centroids in the
//!   coarse levels); energy within [`DISC_ENERGY_TOLERANCE`] (3%) of the light's (truth within
//!   0.03%; fstop first kept only 76.8% for a foreground light, fixed by adding coverage across
//!   levels instead of layering a pixel over itself). Foreground discs show the aperture turned
//!   half a revolution, as through a real lens.
//! * Hexagons (6 blades, rotation 10°, 43 px): edge-centre / corner radius within
//!   [`HEXAGON_RATIO_TOLERANCE`] (0.055) of cos(π/6) = 0.866 (truth 0.880 — pixels round the
//!   corners a little — reference kernel 0.879, fast kernel 0.915), corners within 4° of where
//!   the rotation puts them, area diameter within 1 px of the truth's.
//! * Golden images: max [`GOLDEN_MAX_LSB`] (3) 8-bit steps per channel, mean
//!   [`GOLDEN_MEAN_LSB`] (0.5) — identical across runs and thread counts when set.
//!
//! `FSTOP_PHYSICS_DUMP=/tmp/physics cargo test --test physics` writes the ground truth, fstop's
//! output, the baseline, error maps and zoomed crops of each scene as PNGs for looking at.

mod support;

use std::path::PathBuf;
use std::sync::OnceLock;

use fstop::optics::{ApertureShape, Lens};
use fstop::render::{HighlightOptions, KernelKind, RenderOptions, render};
use fstop::scene::{LinearRgb, Plane, Scene};
use support::metrics::{self, Disc};
use support::{Camera, Layer, Light, PortraitScene, Shape, Texture, World, scenes};

/// Highlight discs: |measured − CoC| diameter, px.
const DISC_DIAMETER_TOLERANCE_PX: f64 = 1.0;
/// Highlight discs: |disc centroid − light position| may be this many px plus
/// [`DISC_CENTRE_TOLERANCE_OF_COC`] of the CoC.
const DISC_CENTRE_TOLERANCE_PX: f64 = 0.25;
const DISC_CENTRE_TOLERANCE_OF_COC: f64 = 0.01;
/// Highlight discs: |energy in the disc / energy of the light − 1| for fstop.
const DISC_ENERGY_TOLERANCE: f64 = 0.03;
/// Hexagonal discs: |edge-centre radius / corner radius − cos(π/6)|.
const HEXAGON_RATIO_TOLERANCE: f64 = 0.055;
/// Scenes: fstop must beat the depth-Gaussian filter by this much, overall and in the band.
const MARGIN_OVER_BASELINE_DB: f64 = 2.0;
/// Highlight recovery: median and worst |log2(estimated / true energy)| of clipped lights.
const HIGHLIGHT_ENERGY_MEDIAN_LOG2: f64 = 1.0;
const HIGHLIGHT_ENERGY_WORST_LOG2: f64 = 1.6;
/// Highlight recovery: median colour error (largest difference of channel / brightest channel).
const HIGHLIGHT_CHROMA_MEDIAN: f64 = 0.25;
/// Bright light discs: fstop's 10–90 % edge width may exceed the truth's by this much (px).
const EDGE_WIDTH_TOLERANCE_PX: f64 = 1.0;
/// Scenes: PSNR on partly covered (hair) pixels.
const PARTIAL_MATTE_DB: f64 = 27.0;

/// Rays per pixel for the portrait scenes (256 is ~56 dB from a 2048-ray render; see
/// `ground_truth_is_converged`).
const SCENE_SAMPLES: usize = 256;

/// Highlight recovery off: the tests hand fstop the true (unclipped) linear radiance.
fn physical_options(kernel: KernelKind) -> RenderOptions {
    RenderOptions {
        highlights: HighlightOptions {
            threshold: 0.9,
            gain: 0.0,
        },
        kernel,
        ..RenderOptions::default()
    }
}

fn lens(focal_length_mm: f64, f_number: f64, focus_distance_m: f64) -> Lens {
    Lens {
        focal_length_mm,
        f_number,
        focus_distance_m,
        ..Lens::default()
    }
}

/// Where to write images for looking at, if `FSTOP_PHYSICS_DUMP` is set (e.g. `/tmp/physics`).
fn dump_dir() -> Option<PathBuf> {
    std::env::var_os("FSTOP_PHYSICS_DUMP").map(PathBuf::from)
}

fn max_abs_diff(a: &LinearRgb, b: &LinearRgb) -> f32 {
    a.channels()
        .into_iter()
        .zip(b.channels())
        .flat_map(|(x, y)| x.iter().zip(y.iter()).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

// ---------------------------------------------------------------------------------------------
// The ray tracer itself.

fn textured_world() -> World {
    World::new(vec![
        Layer::new(
            1.5,
            Shape::Disc {
                cx: 30.0,
                cy: 30.0,
                r: 18.0,
            },
            Texture::Stripes {
                period_px: 5.0,
                angle_deg: 20.0,
                a: [0.1, 0.2, 0.05],
                b: [0.6, 0.5, 0.2],
            },
        ),
        Layer::new(
            2.0,
            Shape::Rect {
                x0: 20.0,
                y0: 10.0,
                x1: 70.0,
                y1: 50.0,
            },
            Texture::Checker {
                cell_px: 4.0,
                a: [0.9, 0.8, 0.7],
                b: [0.05, 0.1, 0.2],
            },
        ),
        Layer::new(
            30.0,
            Shape::Everywhere,
            Texture::Noise {
                cell_px: 3.0,
                a: [0.0, 0.1, 0.3],
                b: [0.8, 0.6, 0.2],
                seed: 3,
            },
        )
        .with_lights(vec![Light {
            x: 60.5,
            y: 40.5,
            size_px: 2.0,
            rgb: [20.0; 3],
        }]),
    ])
}

#[test]
fn pinhole_image_is_the_f_infinity_image() {
    let mut cam = Camera::new(lens(85.0, 1.0e9, 2.0), 80, 60);
    cam.samples = 128;
    let world = textured_world();
    let traced = cam.render_lens(&world);
    let pinhole = cam.render_pinhole(&world).color;
    let d = max_abs_diff(&traced, &pinhole);
    assert!(d < 1e-4, "f/∞ trace differs from pinhole by {d}");
    // And an ordinary aperture really does change the image (the test is not vacuous).
    cam.lens.f_number = 1.8;
    let open = cam.render_lens(&world);
    assert!(max_abs_diff(&open, &pinhole) > 0.1);
}

#[test]
fn a_plane_at_the_focus_distance_is_sharp_at_any_aperture() {
    let world = World::new(vec![Layer::new(
        2.0,
        Shape::Everywhere,
        Texture::Checker {
            cell_px: 3.0,
            a: [1.0, 0.5, 0.2],
            b: [0.0, 0.1, 0.3],
        },
    )]);
    let mut cam = Camera::new(lens(85.0, 1.4, 2.0), 64, 48);
    cam.samples = 64;
    let pinhole = cam.render_pinhole(&world).color;
    let open = cam.render_lens(&world);
    assert!(max_abs_diff(&open, &pinhole) < 1e-4);
}

#[test]
fn truth_disparity_and_matte_are_what_the_scene_says() {
    let cam = Camera::new(lens(85.0, 1.8, 2.0), 120, 80);
    let world = PortraitScene {
        foreground_m: Some(1.2),
        ..PortraitScene::default()
    }
    .build(120, 80);
    let p = cam.render_pinhole(&world);
    let values: std::collections::BTreeSet<u32> = p
        .disparity
        .data()
        .iter()
        .map(|d| (d * 1000.0).round() as u32)
        .collect();
    let expected: std::collections::BTreeSet<u32> = [1, 125, 500, 833].into_iter().collect();
    assert_eq!(values, expected, "disparities ×1000 present");
    // The matte is 1 inside the subject, 0 on the background, fractional on strands and edges.
    let fractional = p
        .matte
        .data()
        .iter()
        .filter(|&&m| m > 0.05 && m < 0.95)
        .count();
    let full = p.matte.data().iter().filter(|&&m| m >= 0.999).count();
    assert!(full > 1500 && fractional > 100, "{full} {fractional}");
    // Where the subject is visible at the pixel centre, the disparity is the subject's.
    for i in 0..p.matte.data().len() {
        if p.matte.data()[i] >= 0.999 {
            assert_eq!(p.disparity.data()[i], 0.5);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Highlight discs.

/// A black far plane with one light at the image centre, sized so the disc's plateau is ~0.5.
fn point_light_world(depth_m: f64, width: usize, height: usize, expected_d: f64) -> World {
    let level = (0.5 * std::f64::consts::PI * expected_d * expected_d / 4.0) as f32;
    World::new(vec![
        Layer::new(depth_m, Shape::Everywhere, Texture::Flat([0.0; 3])).with_lights(vec![Light {
            x: (width / 2) as f64 + 0.5,
            y: (height / 2) as f64 + 0.5,
            size_px: 1.0,
            rgb: [level; 3],
        }]),
    ])
}

/// The CoC diameter from first principles (not fstop's helper).
fn coc_px(l: &Lens, depth_m: f64, width: usize) -> f64 {
    let f = l.focal_length_mm;
    let s1 = l.focus_distance_m * 1000.0;
    let z = depth_m * 1000.0;
    f * f * s1 / (l.f_number * (s1 - f)) * (1.0 / z - 1.0 / s1).abs() * width as f64
        / l.sensor.width_mm()
}

struct DiscCase {
    lens: Lens,
    depth_m: f64,
    width: usize,
    height: usize,
}

/// One light, as the ray tracer and as fstop's two kernels render it (luminance).
struct DiscRun {
    lens: Lens,
    depth_m: f64,
    width: usize,
    truth: Plane,
    fast: Plane,
    reference: Plane,
    /// |CoC| from `Lens::signed_coc_px`.
    expected: f64,
    /// Total luminance of the pinhole image (the light's flux).
    flux: f64,
    /// Where the light is in the pinhole image.
    light: (f64, f64),
}

fn disc_run(case: &DiscCase, samples: usize) -> DiscRun {
    let l = case.lens;
    let expected = l.signed_coc_px(1.0 / case.depth_m, case.width).abs();
    let world = point_light_world(case.depth_m, case.width, case.height, expected);
    let mut cam = Camera::new(l, case.width, case.height);
    cam.samples = samples;
    let truth = cam.render_lens(&world).luminance();
    let p = cam.render_pinhole(&world);
    let flux = sum(&p.color.luminance());
    let scene = Scene::new(p.color, p.disparity, None).unwrap();
    DiscRun {
        lens: l,
        depth_m: case.depth_m,
        width: case.width,
        truth,
        fast: render(
            &scene,
            &l.validate().unwrap(),
            &physical_options(KernelKind::Fast),
        )
        .luminance(),
        reference: render(
            &scene,
            &l.validate().unwrap(),
            &physical_options(KernelKind::Reference),
        )
        .luminance(),
        expected,
        flux,
        light: (
            (case.width / 2) as f64 + 0.5,
            (case.height / 2) as f64 + 0.5,
        ),
    }
}

/// Background discs (behind focus, 10–45 px) and a foreground one (12 px), computed once for
/// the disc tests.
fn disc_runs() -> &'static [DiscRun] {
    static RUNS: OnceLock<Vec<DiscRun>> = OnceLock::new();
    RUNS.get_or_init(|| {
        [
            (lens(85.0, 1.8, 2.0), 1000.0, 240, 160),
            (lens(85.0, 1.8, 2.0), 8.0, 240, 160),
            (lens(135.0, 2.0, 2.0), 1000.0, 320, 213),
            (lens(85.0, 1.8, 2.0), 1.2, 320, 213),
        ]
        .into_iter()
        .map(|(lens, depth_m, width, height)| {
            disc_run(
                &DiscCase {
                    lens,
                    depth_m,
                    width,
                    height,
                },
                1024,
            )
        })
        .collect()
    })
}

fn describe(r: &DiscRun) -> String {
    format!(
        "{} mm f/{} Z={} m W={} (CoC {:.2} px)",
        r.lens.focal_length_mm, r.lens.f_number, r.depth_m, r.width, r.expected
    )
}

fn sum(p: &Plane) -> f64 {
    p.data().iter().map(|&v| v as f64).sum()
}

#[test]
fn point_light_renders_as_a_disc_of_the_coc_diameter() {
    let mut failures = Vec::new();
    for r in disc_runs() {
        let independent = coc_px(&r.lens, r.depth_m, r.width);
        assert!(
            (independent - r.expected).abs() < 1e-6,
            "CoC helper {} vs first principles {independent}",
            r.expected
        );
        let mut line = describe(r);
        for (name, img) in [
            ("truth", &r.truth),
            ("fstop", &r.fast),
            ("reference", &r.reference),
        ] {
            let d = metrics::measure_disc(img, r.expected);
            line += &format!(", {name} {:.2} px", d.diameter_px);
            if (d.diameter_px - r.expected).abs() > DISC_DIAMETER_TOLERANCE_PX {
                failures.push(format!("{}: {name} {:.2} px", describe(r), d.diameter_px));
            }
        }
        eprintln!("{line}");
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn point_light_energy_is_conserved() {
    // The disc holds exactly the light the point held (highlight recovery off, nothing clips).
    let mut failures = Vec::new();
    for r in disc_runs() {
        let mut line = describe(r);
        for (name, img, tolerance) in [
            ("truth", &r.truth, 0.01),
            ("fstop", &r.fast, DISC_ENERGY_TOLERANCE),
            ("reference", &r.reference, DISC_ENERGY_TOLERANCE),
        ] {
            let e = sum(img) / r.flux;
            line += &format!(", {name} {e:.4}");
            if (e - 1.0).abs() > tolerance {
                failures.push(format!("{}: {name} holds {e:.4} of the light", describe(r)));
            }
        }
        eprintln!("{line}");
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn point_light_disc_is_centred_on_the_light() {
    let mut failures = Vec::new();
    let mut check = |what: String, img: &Plane, expected: f64, light: (f64, f64)| {
        let d = metrics::measure_disc(img, expected);
        let off = (d.cx - light.0, d.cy - light.1);
        eprintln!("{what}: centre off by ({:+.2}, {:+.2}) px", off.0, off.1);
        if off.0.hypot(off.1) > DISC_CENTRE_TOLERANCE_PX + DISC_CENTRE_TOLERANCE_OF_COC * expected {
            failures.push(format!("{what}: off by ({:+.2}, {:+.2}) px", off.0, off.1));
        }
    };
    for r in disc_runs() {
        check(
            format!("{} truth", describe(r)),
            &r.truth,
            r.expected,
            r.light,
        );
        check(
            format!("{} fstop", describe(r)),
            &r.fast,
            r.expected,
            r.light,
        );
        check(
            format!("{} reference", describe(r)),
            &r.reference,
            r.expected,
            r.light,
        );
    }
    // Bigger blurs, fstop's fast kernel only (the light's position is known exactly).
    for (w, h) in [(640, 427), (1280, 853)] {
        let l = lens(135.0, 2.0, 2.0);
        let expected = l.signed_coc_px(1.0 / 1000.0, w).abs();
        let world = point_light_world(1000.0, w, h, expected);
        let mut cam = Camera::new(l, w, h);
        cam.samples = 1;
        let p = cam.render_pinhole(&world);
        let scene = Scene::new(p.color, p.disparity, None).unwrap();
        let img = render(
            &scene,
            &l.validate().unwrap(),
            &physical_options(KernelKind::Fast),
        )
        .luminance();
        let light = ((w / 2) as f64 + 0.5, (h / 2) as f64 + 0.5);
        check(
            format!("135 mm f/2 Z=1000 m W={w} (CoC {expected:.1} px) fstop"),
            &img,
            expected,
            light,
        );
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn six_blade_aperture_renders_hexagonal_discs() {
    let l = Lens {
        aperture: ApertureShape {
            blades: 6,
            blade_rotation_deg: 10.0,
            blade_curvature: 0.0,
        },
        ..lens(135.0, 2.0, 2.0)
    };
    let r = disc_run(
        &DiscCase {
            lens: l,
            depth_m: 1000.0,
            width: 320,
            height: 213,
        },
        1024,
    );
    let ideal = (std::f64::consts::PI / 6.0).cos();
    let truth_disc = metrics::measure_disc(&r.truth, r.expected);
    let mut failures = Vec::new();
    for (name, img) in [
        ("truth", &r.truth),
        ("fstop", &r.fast),
        ("reference", &r.reference),
    ] {
        let disc: Disc = metrics::measure_disc(img, r.expected);
        let profile = metrics::radial_profile(img, &disc, 360);
        let (corner, r_corner, r_edge) = metrics::polygon_fit(&profile, 6, 2);
        let ratio = r_edge / r_corner;
        eprintln!(
            "{name}: corner at {:.1}°, edge/corner radius {ratio:.3} (ideal {ideal:.3}), \
             corner to corner {:.2} px (CoC {:.2}), area diameter {:.2} px",
            corner.to_degrees(),
            2.0 * r_corner,
            r.expected,
            disc.diameter_px
        );
        if (ratio - ideal).abs() > HEXAGON_RATIO_TOLERANCE {
            failures.push(format!("{name}: edge/corner radius {ratio:.3}"));
        }
        // Rotation 10° turns the vertex that rotation 0 puts straight up (−90° with y down)
        // counter-clockwise on screen: −100° ≡ 20° modulo 60°.
        if (corner.to_degrees() - 20.0).abs() > 4.0 {
            failures.push(format!("{name}: corner at {:.1}°", corner.to_degrees()));
        }
        if (disc.diameter_px - truth_disc.diameter_px).abs() > 1.0 {
            failures.push(format!("{name}: area diameter {:.2} px", disc.diameter_px));
        }
    }
    // The tracer's hexagon spans the CoC corner to corner.
    let profile = metrics::radial_profile(&r.truth, &truth_disc, 360);
    let (_, r_corner, _) = metrics::polygon_fit(&profile, 6, 2);
    assert!((2.0 * r_corner - r.expected).abs() < 1.0, "{r_corner}");
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn foreground_highlights_show_the_aperture_turned_over() {
    // Behind the focus plane a highlight is the aperture as drawn; in front of it the rays
    // have not crossed yet, so on the (upright) image it is the aperture turned by 180°. With
    // 5 blades, rotation 0 (a vertex straight up, −90° ≡ 54° mod 72°), the foreground disc has
    // its corners at 54° + 180° ≡ 18°.
    let l = Lens {
        aperture: ApertureShape {
            blades: 5,
            blade_rotation_deg: 0.0,
            blade_curvature: 0.0,
        },
        ..lens(135.0, 2.0, 2.0)
    };
    let mut failures = Vec::new();
    for (depth, want) in [(1000.0, 54.0), (1.3, 18.0)] {
        let r = disc_run(
            &DiscCase {
                lens: l,
                depth_m: depth,
                width: 200,
                height: 140,
            },
            512,
        );
        for (name, img) in [
            ("truth", &r.truth),
            ("fstop", &r.fast),
            ("reference", &r.reference),
        ] {
            let disc = metrics::measure_disc(img, r.expected);
            let profile = metrics::radial_profile(img, &disc, 360);
            let corner = metrics::polygon_fit(&profile, 5, 2).0.to_degrees();
            eprintln!(
                "Z={depth} m (CoC {:.1} px) {name}: corner at {corner:.1}°",
                r.expected
            );
            if (corner - want).abs() > 4.0 {
                failures.push(format!(
                    "Z={depth} {name}: corner at {corner:.1}°, want {want}°"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

// ---------------------------------------------------------------------------------------------
// Portrait scenes: fstop vs ground truth vs a depth-Gaussian filter.

/// PSNR (dB, sRGB) of one image against the ground truth.
#[derive(Debug, Clone, Copy)]
struct Score {
    /// All pixels away from the border.
    overall: f64,
    /// Within 6 px of the matte's 0.5 contour.
    band: f64,
    /// The part of the band on the subject side (background bleeding onto the subject shows
    /// here) and on the background side (halos and subject smear show here).
    band_subject: f64,
    band_background: f64,
    /// Pixels the subject covers only partly (matte strictly between 0.02 and 0.98): hair
    /// strands and the anti-aliased outline.
    partial: f64,
    /// The brightest [`HIGHLIGHT_FRACTION`] of the truth (bokeh discs, lights, clipped
    /// surfaces): see [`highlight_mask`].
    highlight: f64,
}

/// What fstop is handed as the photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Photo {
    /// The true linear radiance, unclipped, with highlight recovery off: isolates the defocus
    /// model.
    Unclipped,
    /// As a camera records it: clipped at 1 (lights and bright surfaces blow out), rendered
    /// with fstop's default options (highlight recovery on). The depth-Gaussian baseline gets
    /// the same clipped photo.
    Clipped,
}

/// Fraction of the interior, brightest first in the truth, that makes the highlight region.
const HIGHLIGHT_FRACTION: f64 = 0.05;

/// The interior pixels whose brightest channel in the truth (clamped to 0..1) is at or above
/// the `1 − HIGHLIGHT_FRACTION` quantile: discs of lights, lit windows, clipped surfaces.
fn highlight_mask(truth: &LinearRgb, inner: &[bool]) -> Vec<bool> {
    let bright: Vec<f32> = (0..truth.len())
        .map(|i| truth.r()[i].max(truth.g()[i]).max(truth.b()[i]).min(1.0))
        .collect();
    let mut values: Vec<f32> = bright
        .iter()
        .zip(inner)
        .filter(|(_, i)| **i)
        .map(|(v, _)| *v)
        .collect();
    values.sort_by(f32::total_cmp);
    let k = ((values.len() as f64) * (1.0 - HIGHLIGHT_FRACTION)) as usize;
    let cut = values[k.min(values.len() - 1)];
    bright
        .iter()
        .zip(inner)
        .map(|(&v, &i)| i && v >= cut)
        .collect()
}

struct Evaluation {
    fstop: Score,
    baseline: Score,
}

fn evaluate(name: &str, scene: PortraitScene, l: Lens, width: usize, height: usize) -> Evaluation {
    let world = scene.build(width, height);
    evaluate_world(name, &world, l, width, height, Photo::Unclipped)
}

fn evaluate_world(
    name: &str,
    world: &World,
    l: Lens,
    width: usize,
    height: usize,
    photo: Photo,
) -> Evaluation {
    let world = world.clone();
    let mut cam = Camera::new(l, width, height);
    cam.samples = SCENE_SAMPLES;
    let t0 = std::time::Instant::now();
    let truth = cam.render_lens(&world);
    let p = cam.render_pinhole(&world);
    let t_truth = t0.elapsed();
    let mut photo_rgb = p.color.clone();
    if photo == Photo::Clipped {
        for c in photo_rgb.channels_mut() {
            for v in c.iter_mut() {
                *v = v.min(1.0);
            }
        }
    }
    let options = |kernel| match photo {
        Photo::Unclipped => physical_options(kernel),
        Photo::Clipped => RenderOptions {
            kernel,
            ..RenderOptions::default()
        },
    };
    let input = Scene::new(
        photo_rgb.clone(),
        p.disparity.clone(),
        Some(p.matte.clone()),
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let out = render(&input, &l.validate().unwrap(), &options(KernelKind::Fast));
    let t_render = t0.elapsed();
    let baseline = metrics::depth_gaussian(&photo_rgb, &p.disparity, &l, 2.5);

    // The border, as far as the largest blur reaches, depends on what is outside the frame,
    // which no renderer can know: leave it out.
    let max_coc = p
        .disparity
        .data()
        .iter()
        .map(|&d| l.signed_coc_px(d as f64, width).abs())
        .fold(0.0, f64::max);
    let margin = (max_coc / 2.0).ceil() as usize + 1;
    let inner = metrics::interior(width, height, margin);
    let band = metrics::and(&metrics::edge_band(&p.matte, 6.0), &inner);
    let subject: Vec<bool> = p.matte.data().iter().map(|&m| m >= 0.5).collect();
    let background: Vec<bool> = subject.iter().map(|s| !s).collect();
    let band_subject = metrics::and(&band, &subject);
    let band_background = metrics::and(&band, &background);
    let partial: Vec<bool> = p
        .matte
        .data()
        .iter()
        .zip(&inner)
        .map(|(&m, &i)| i && m > 0.02 && m < 0.98)
        .collect();
    let highlight = highlight_mask(&truth, &inner);
    let score = |img: &LinearRgb| Score {
        highlight: metrics::psnr_srgb(img, &truth, Some(&highlight)),
        overall: metrics::psnr_srgb(img, &truth, Some(&inner)),
        band: metrics::psnr_srgb(img, &truth, Some(&band)),
        band_subject: metrics::psnr_srgb(img, &truth, Some(&band_subject)),
        band_background: metrics::psnr_srgb(img, &truth, Some(&band_background)),
        partial: metrics::psnr_srgb(img, &truth, Some(&partial)),
    };
    let e = Evaluation {
        fstop: score(&out),
        baseline: score(&baseline),
    };
    eprintln!(
        "{name}: {} mm f/{} {width}×{height}, max CoC {max_coc:.1} px, margin {margin} px \
         (truth {:.2?}, fstop {:.2?})",
        l.focal_length_mm, l.f_number, t_truth, t_render
    );
    let line = |what: &str, s: &Score| {
        eprintln!(
            "  {what:<26} overall {:6.2} dB  band {:6.2} dB  (subject side {:6.2}, background \
             side {:6.2})  partial-matte {:6.2} dB  highlight {:6.2} dB",
            s.overall, s.band, s.band_subject, s.band_background, s.partial, s.highlight
        )
    };
    line("fstop (fast)", &e.fstop);
    line("depth-Gaussian baseline", &e.baseline);
    // For the record (not asserted): the reference kernel, and the realistic input of a photo
    // whose lights are clipped at 1 with fstop's default highlight recovery.
    let reference = render(
        &input,
        &l.validate().unwrap(),
        &options(KernelKind::Reference),
    );
    line("fstop (reference kernel)", &score(&reference));
    let (mut color, disparity, matte) = input.clone().into_parts();
    for c in color.channels_mut() {
        for v in c.iter_mut() {
            *v = v.min(1.0);
        }
    }
    let clipped = Scene::new(color, disparity, matte).unwrap();
    let recovered = render(&clipped, &l.validate().unwrap(), &RenderOptions::default());
    if photo == Photo::Unclipped {
        line("fstop (clipped, defaults)", &score(&recovered));
    }

    if let Some(dir) = dump_dir() {
        let dir = dir.join(name);
        metrics::write_png(&dir.join("truth.png"), &truth);
        metrics::write_png(&dir.join("fstop.png"), &out);
        metrics::write_png(&dir.join("fstop_reference.png"), &reference);
        metrics::write_png(&dir.join("fstop_clipped_input.png"), &recovered);
        metrics::write_png(&dir.join("baseline.png"), &baseline);
        metrics::write_png(&dir.join("pinhole.png"), &p.color);
        metrics::write_plane_png(&dir.join("matte.png"), &p.matte, 0.0, 1.0);
        metrics::write_plane_png(&dir.join("disparity.png"), &p.disparity, 0.0, 1.0);
        metrics::write_plane_png(
            &dir.join("band.png"),
            &Plane::from_vec(
                width,
                height,
                band.iter().map(|&b| b as u8 as f32).collect(),
            ),
            0.0,
            1.0,
        );
        metrics::write_png(
            &dir.join("error_fstop_x4.png"),
            &metrics::abs_diff_srgb(&out, &truth, 4.0),
        );
        metrics::write_png(
            &dir.join("error_baseline_x4.png"),
            &metrics::abs_diff_srgb(&baseline, &truth, 4.0),
        );
        metrics::write_png(
            &dir.join("truth_fstop_baseline.png"),
            &metrics::side_by_side(&[&truth, &out, &baseline]),
        );
        // The head and hair, 3× (truth, fstop, baseline).
        let (cw, ch) = (width * 2 / 5, height * 2 / 5);
        let (cx, cy) = (width * 47 / 100 - cw / 2, height / 10);
        let crops: Vec<LinearRgb> = [&truth, &out, &baseline]
            .iter()
            .map(|i| metrics::zoom(i, cx, cy, cw, ch, 3))
            .collect();
        metrics::write_png(
            &dir.join("head_x3.png"),
            &metrics::side_by_side(&crops.iter().collect::<Vec<_>>()),
        );
        // Hair strands at the upper right of the head, 8× (pinhole, truth, fstop, matte).
        let matte_rgb =
            LinearRgb::from_channels(width, height, [(); 3].map(|_| p.matte.data().to_vec()));
        let (hx, hy) = (width * 52 / 100, height * 15 / 100);
        let crops: Vec<LinearRgb> = [&p.color, &truth, &out, &matte_rgb]
            .iter()
            .map(|i| metrics::zoom(i, hx, hy, width / 10, height / 8, 8))
            .collect();
        metrics::write_png(
            &dir.join("strands_x8.png"),
            &metrics::side_by_side(&crops.iter().collect::<Vec<_>>()),
        );
    }
    e
}

/// The scenes' measurements, computed once (the hair test reuses the first).
fn portrait_85mm_f1_8_eval() -> &'static Evaluation {
    static E: OnceLock<Evaluation> = OnceLock::new();
    E.get_or_init(|| {
        evaluate(
            "portrait_85mm_f1.8",
            PortraitScene::default(),
            lens(85.0, 1.8, 2.0),
            320,
            213,
        )
    })
}

/// fstop reaches `overall` and `band` dB and beats the depth-Gaussian baseline by
/// [`MARGIN_OVER_BASELINE_DB`] in both.
fn check_scene(e: &Evaluation, overall: f64, band: f64, highlight: f64) {
    let mut failures = Vec::new();
    let f = &e.fstop;
    let b = &e.baseline;
    for (what, got, required, base) in [
        ("overall", f.overall, overall, b.overall),
        ("edge band", f.band, band, b.band),
        ("highlight", f.highlight, highlight, b.highlight),
    ] {
        if got < required {
            failures.push(format!("{what} {got:.2} dB < {required}"));
        }
        if got < base + MARGIN_OVER_BASELINE_DB {
            failures.push(format!(
                "{what} {got:.2} dB does not beat the depth-Gaussian's {base:.2} dB by \
                 {MARGIN_OVER_BASELINE_DB}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn portrait_85mm_f1_8() {
    check_scene(portrait_85mm_f1_8_eval(), 35.0, 28.5, 40.5);
}

#[test]
fn portrait_with_foreground_85mm_f1_8() {
    let e = evaluate(
        "foreground_85mm_f1.8",
        PortraitScene {
            foreground_m: Some(1.2),
            ..PortraitScene::default()
        },
        lens(85.0, 1.8, 2.0),
        320,
        213,
    );
    check_scene(&e, 31.5, 28.5, 37.5);
}

#[test]
fn portrait_with_foreground_135mm_f2() {
    let e = evaluate(
        "foreground_135mm_f2",
        PortraitScene {
            foreground_m: Some(1.2),
            ..PortraitScene::default()
        },
        lens(135.0, 2.0, 2.0),
        256,
        170,
    );
    check_scene(&e, 31.0, 28.5, 46.0);
}

#[test]
fn portrait_135mm_f2_six_blades() {
    let l = Lens {
        aperture: ApertureShape {
            blades: 6,
            blade_rotation_deg: 0.0,
            blade_curvature: 0.3,
        },
        ..lens(135.0, 2.0, 2.0)
    };
    let e = evaluate(
        "portrait_135mm_f2_6blades",
        PortraitScene::default(),
        l,
        256,
        170,
    );
    check_scene(&e, 33.0, 28.5, 46.0);
}

// ---------------------------------------------------------------------------------------------
// The hard scenes (issue 13): point lights of many colours and brightnesses, clipped surfaces
// next to compact lights, foreground leaves, dark hair wisps over a bright far background.

#[test]
fn night_lights_85mm_f1_8() {
    let (w, h) = (320, 213);
    let e = evaluate_world(
        "night_lights_85mm_f1.8",
        &scenes::night_lights(w, h),
        lens(85.0, 1.8, 2.0),
        w,
        h,
        Photo::Clipped,
    );
    check_scene(&e, 25.0, 29.5, 13.0);
}

#[test]
fn night_lights_135mm_f2() {
    let (w, h) = (256, 170);
    let e = evaluate_world(
        "night_lights_135mm_f2",
        &scenes::night_lights(w, h),
        lens(135.0, 2.0, 2.0),
        w,
        h,
        Photo::Clipped,
    );
    check_scene(&e, 22.0, 24.0, 11.0);
}

#[test]
fn clipped_surfaces_and_lights_85mm_f1_8() {
    let (w, h) = (320, 213);
    let e = evaluate_world(
        "clipped_surfaces_85mm_f1.8",
        &scenes::clipped_surfaces(w, h),
        lens(85.0, 1.8, 2.0),
        w,
        h,
        Photo::Clipped,
    );
    check_scene(&e, 27.5, 27.0, 29.5);
}

#[test]
fn leaves_in_front_85mm_f1_8() {
    let (w, h) = (320, 213);
    let e = evaluate_world(
        "leaves_85mm_f1.8",
        &scenes::leaves(w, h),
        lens(85.0, 1.8, 2.0),
        w,
        h,
        Photo::Unclipped,
    );
    check_scene(&e, 38.0, 31.5, 43.5);
}

#[test]
fn hair_wisps_over_far_sky_135mm_f2() {
    let (w, h) = (256, 170);
    let e = evaluate_world(
        "hair_wisps_135mm_f2",
        &scenes::hair_wisps(w, h),
        lens(135.0, 2.0, 2.0),
        w,
        h,
        Photo::Unclipped,
    );
    check_scene(&e, 44.0, 37.5, 47.0);
    assert!(
        e.fstop.partial >= 32.0,
        "partly covered (wisp) pixels: {:.2} dB",
        e.fstop.partial
    );
}

/// Highlight recovery, calibrated on ray-traced lights: every visible light of the night scene
/// (5–50× clipping, six colours, 2–4.5 px, sub-pixel positions) is clipped in the photo, and
/// fstop's blob estimator must read its energy and colour back from the anti-aliased fringe.
#[test]
fn highlight_recovery_reads_energy_and_colour_from_the_fringe() {
    let (w, h) = (320, 213);
    let world = scenes::night_lights(w, h);
    let mut cam = Camera::new(lens(85.0, 1.8, 2.0), w, h);
    cam.samples = SCENE_SAMPLES;
    let p = cam.render_pinhole(&world);
    let mut photo = p.color.clone();
    for c in photo.channels_mut() {
        for v in c.iter_mut() {
            *v = v.min(1.0);
        }
    }
    let scene = Scene::new(photo, p.disparity, Some(p.matte)).unwrap();
    let blobs = fstop::render::clipped_blobs(&scene, &HighlightOptions::default());
    let mut log_errors = Vec::new();
    let mut chroma_errors = Vec::new();
    for light in world.layers().iter().flat_map(|l| l.lights.iter()) {
        let Some(b) = blobs
            .iter()
            .find(|b| (b.cx - light.x).hypot(b.cy - light.y) < 0.5 * light.size_px + 1.0)
        else {
            continue; // hidden by the subject or outside the frame
        };
        let area = light.size_px * light.size_px;
        let want = light.rgb.map(|c| c as f64 * area);
        let peak = want.iter().copied().fold(0.0, f64::max);
        let got = b.energy.map(f64::from);
        let got_peak = got.iter().copied().fold(1e-9, f64::max);
        let ratio = got_peak / peak;
        let chroma = (0..3)
            .map(|c| (got[c] / got_peak - want[c] / peak).abs())
            .fold(0.0, f64::max);
        eprintln!(
            "light {:5.1}× {:.1} px at ({:6.1}, {:6.1}): energy {:7.1} of {:7.1} ({ratio:.2}×), \
             colour error {chroma:.3}, compact {:.2}",
            light.rgb.iter().copied().fold(0.0, f32::max),
            light.size_px,
            light.x,
            light.y,
            got_peak,
            peak,
            b.compact
        );
        log_errors.push(ratio.log2().abs());
        chroma_errors.push(chroma);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let n = log_errors.len();
    let (med_log, max_log) = (median(&mut log_errors), log_errors[n - 1]);
    let (med_chroma, max_chroma) = (median(&mut chroma_errors), chroma_errors[n - 1]);
    eprintln!(
        "{n} lights: energy within {:.2}× (median) / {:.2}× (worst); colour error (largest \
         channel-ratio difference) {med_chroma:.3} median / {max_chroma:.3} worst",
        2f64.powf(med_log),
        2f64.powf(max_log)
    );
    assert!(n >= 10, "only {n} lights found");
    assert!(
        med_log <= HIGHLIGHT_ENERGY_MEDIAN_LOG2,
        "median energy error {med_log:.2} (log2)"
    );
    assert!(
        max_log <= HIGHLIGHT_ENERGY_WORST_LOG2,
        "worst energy error {max_log:.2} (log2)"
    );
    assert!(
        med_chroma <= HIGHLIGHT_CHROMA_MEDIAN,
        "median colour error {med_chroma:.3}"
    );
}

/// Bright sparse sources keep the optical edge: the 10–90 % edge width of a small clipped
/// light's disc, fstop against the ray tracer, at CoCs of ~35, ~69, ~87, ~158 and ~226 px
/// behind the focus and ~69 and ~226 px in front of it (bright sparse sources are scattered at
/// full resolution at any blur; a 12 MP photo's far background at 85 mm f/1.8 is ~230 px).
#[test]
fn bright_light_discs_keep_a_crisp_edge_at_every_size() {
    let mut failures = Vec::new();
    for (f_number, w, h, depth_m) in [
        (2.0, 512, 300, 4.0),
        (2.0, 512, 300, 1000.0),
        (2.0, 640, 300, 1000.0),
        (1.2, 700, 320, 1000.0),
        (1.2, 1000, 320, 1000.0),
        // In front of the focus: a light on a small dark object at 1 m before a far backdrop.
        (2.0, 512, 300, 1.0),
        (1.2, 1000, 320, 1.0),
    ] {
        let l = lens(135.0, f_number, 2.0);
        let expected = l.signed_coc_px(1.0 / depth_m, w).abs();
        let (cx, cy) = ((w / 2) as f64 + 0.3, (h / 2) as f64 + 0.6);
        let light = vec![Light {
            x: cx,
            y: cy,
            size_px: 3.0,
            rgb: [30.0, 24.0, 15.0],
        }];
        let flat = Texture::Flat([0.01; 3]);
        let world = if depth_m < 2.0 {
            let holder = Shape::Disc { cx, cy, r: 6.0 };
            World::new(vec![
                Layer::new(1000.0, Shape::Everywhere, flat.clone()),
                Layer::new(depth_m, holder, flat).with_lights(light),
            ])
        } else {
            World::new(vec![
                Layer::new(depth_m, Shape::Everywhere, flat).with_lights(light),
            ])
        };
        let mut cam = Camera::new(l, w, h);
        cam.samples = 256;
        let truth = cam.render_lens(&world);
        let p = cam.render_pinhole(&world);
        let mut photo = p.color.clone();
        for c in photo.channels_mut() {
            for v in c.iter_mut() {
                *v = v.min(1.0);
            }
        }
        let scene = Scene::new(photo, p.disparity, None).unwrap();
        let out = render(&scene, &l.validate().unwrap(), &RenderOptions::default());
        // The disc alone: the background level taken off, luminance, unclipped.
        let disc_of = |img: &LinearRgb| {
            let mut lum = img.luminance();
            for v in lum.data_mut().iter_mut() {
                *v = (*v - 0.01).max(0.0);
            }
            lum
        };
        let (t, f) = (disc_of(&truth), disc_of(&out));
        let (dt, df) = (
            metrics::measure_disc(&t, expected),
            metrics::measure_disc(&f, expected),
        );
        let (wt, wf) = (
            metrics::edge_width_10_90(&t, &dt),
            metrics::edge_width_10_90(&f, &df),
        );
        eprintln!(
            "CoC {expected:6.1} px: 10–90 % edge width truth {wt:.2} px, fstop {wf:.2} px; \
             diameter truth {:.1}, fstop {:.1}",
            dt.diameter_px, df.diameter_px
        );
        if wf > wt + EDGE_WIDTH_TOLERANCE_PX {
            failures.push(format!(
                "CoC {expected:.1}: edge {wf:.2} px vs truth {wt:.2} px"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn hair_strands_survive_where_the_depth_sees_the_background() {
    // Strands 0.4–1.1 px wide: most of their pixels have the background at the pixel centre,
    // so the true depth there is the background's; only the matte says hair is there. fstop
    // must still composite the hair sharply (the issue: "single hairs survive").
    let e = portrait_85mm_f1_8_eval();
    assert!(
        e.fstop.partial >= PARTIAL_MATTE_DB,
        "partly covered (hair) pixels: {:.2} dB < {PARTIAL_MATTE_DB} (depth-Gaussian {:.2} dB)",
        e.fstop.partial,
        e.baseline.partial
    );
}

#[test]
fn ground_truth_is_converged() {
    // The tracer's own sampling error, measured against a 4× denser render, is far below the
    // differences the scene tests measure.
    let world = PortraitScene {
        foreground_m: Some(1.2),
        ..PortraitScene::default()
    }
    .build(160, 107);
    let mut cam = Camera::new(lens(85.0, 1.8, 2.0), 160, 107);
    cam.samples = SCENE_SAMPLES;
    let normal = cam.render_lens(&world);
    cam.samples = 4 * SCENE_SAMPLES;
    let dense = cam.render_lens(&world);
    let psnr = metrics::psnr_srgb(&normal, &dense, None);
    eprintln!(
        "{SCENE_SAMPLES} vs {} samples per pixel: {psnr:.2} dB",
        4 * SCENE_SAMPLES
    );
    assert!(psnr > 48.0, "{psnr}");
}

// ---------------------------------------------------------------------------------------------
// Golden images: fstop's own output on deterministic synthetic scenes, kept as 8-bit sRGB PNGs
// in tests/golden/. Regenerate with `FSTOP_UPDATE_GOLDEN=1 cargo test --test physics golden`.

/// Largest allowed per-channel difference, in 8-bit steps.
const GOLDEN_MAX_LSB: u8 = 3;
/// Largest allowed mean absolute difference, in 8-bit steps.
const GOLDEN_MEAN_LSB: f64 = 0.5;

/// A "photo" of a portrait scene as a camera would record it: the pinhole image clipped to
/// 0..1 (the lights blow out), with its true disparity and matte.
fn golden_scene(scene: PortraitScene, l: Lens, width: usize, height: usize, clip: bool) -> Scene {
    let world = scene.build(width, height);
    let mut cam = Camera::new(l, width, height);
    cam.samples = 64;
    let mut p = cam.render_pinhole(&world);
    if clip {
        for c in p.color.channels_mut() {
            for v in c.iter_mut() {
                *v = v.min(1.0);
            }
        }
    }
    Scene::new(p.color, p.disparity, Some(p.matte)).unwrap()
}

fn check_golden(name: &str, img: &LinearRgb) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.png"));
    let got = metrics::to_srgb8(img);
    if std::env::var_os("FSTOP_UPDATE_GOLDEN").is_some() {
        metrics::write_png(&path, img);
        eprintln!("wrote {}", path.display());
        return;
    }
    let want = image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (regenerate with FSTOP_UPDATE_GOLDEN=1 cargo test --test physics golden)",
                path.display()
            )
        })
        .to_rgb8();
    assert_eq!(
        (want.width() as usize, want.height() as usize),
        (img.width(), img.height()),
        "{name}: size"
    );
    let diffs: Vec<u8> = want
        .as_raw()
        .iter()
        .zip(&got)
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let max = diffs.iter().copied().max().unwrap_or(0);
    let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
    if let Some(dir) = dump_dir() {
        metrics::write_png(&dir.join("golden").join(format!("{name}.png")), img);
    }
    assert!(
        max <= GOLDEN_MAX_LSB && mean <= GOLDEN_MEAN_LSB,
        "{name}: differs from {} by max {max} LSB, mean {mean:.3} LSB (allowed {GOLDEN_MAX_LSB}, \
         {GOLDEN_MEAN_LSB}); if the change is intended, regenerate with \
         FSTOP_UPDATE_GOLDEN=1 cargo test --test physics golden",
        path.display()
    );
}

#[test]
fn golden_portrait_85mm_f1_8_clipped_photo() {
    let l = lens(85.0, 1.8, 2.0);
    let scene = golden_scene(
        PortraitScene {
            foreground_m: Some(1.2),
            ..PortraitScene::default()
        },
        l,
        160,
        107,
        true,
    );
    check_golden(
        "portrait_85mm_f1.8",
        &render(&scene, &l.validate().unwrap(), &RenderOptions::default()),
    );
}

#[test]
fn golden_portrait_135mm_f2_six_blades() {
    let l = Lens {
        aperture: ApertureShape {
            blades: 6,
            blade_rotation_deg: 10.0,
            blade_curvature: 0.0,
        },
        ..lens(135.0, 2.0, 2.0)
    };
    let scene = golden_scene(PortraitScene::default(), l, 160, 107, false);
    check_golden(
        "portrait_135mm_f2_6blades",
        &render(
            &scene,
            &l.validate().unwrap(),
            &physical_options(KernelKind::Fast),
        ),
    );
}

#[test]
fn golden_portrait_85mm_f1_8_reference_kernel() {
    let l = lens(85.0, 1.8, 2.0);
    let scene = golden_scene(
        PortraitScene {
            foreground_m: Some(1.2),
            ..PortraitScene::default()
        },
        l,
        160,
        107,
        true,
    );
    let options = RenderOptions {
        kernel: KernelKind::Reference,
        ..RenderOptions::default()
    };
    check_golden(
        "portrait_85mm_f1.8_reference",
        &render(&scene, &l.validate().unwrap(), &options),
    );
}

#[test]
fn aperture_sampler_covers_the_shape_uniformly() {
    for (blades, curvature) in [(0, 0.0), (6, 0.0), (5, 0.0), (7, 0.5)] {
        let shape = ApertureShape {
            blades,
            blade_rotation_deg: 13.0,
            blade_curvature: curvature,
        };
        let sampler = support::ApertureSampler::new(&shape);
        let polygon_area = if blades == 0 {
            std::f64::consts::PI
        } else {
            let n = blades as f64;
            0.5 * n * (std::f64::consts::TAU / n).sin()
        };
        if curvature == 0.0 {
            assert!(
                (sampler.area - polygon_area).abs() < 1e-3,
                "{blades}: {}",
                sampler.area
            );
        } else {
            assert!(sampler.area > polygon_area && sampler.area < std::f64::consts::PI);
        }
        // A uniform grid maps inside the shape, centred on the origin, and fills the same
        // fraction of each half as of the whole.
        let (mut mx, mut my, mut n) = (0.0, 0.0, 0.0);
        for i in 0..128 {
            for j in 0..128 {
                let (x, y) = sampler.map((i as f64 + 0.5) / 128.0, (j as f64 + 0.5) / 128.0);
                let r = (x * x + y * y).sqrt();
                assert!(r <= support::aperture_radius(&shape, y.atan2(x)) + 1e-9);
                mx += x;
                my += y;
                n += 1.0;
            }
        }
        assert!(
            (mx / n).abs() < 2e-3 && (my / n).abs() < 2e-3,
            "{} {}",
            mx / n,
            my / n
        );
    }
}
