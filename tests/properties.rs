//! Property tests (proptest): the renderer never panics and returns finite values in 0..1 of
//! the photo's size for any lens fstop accepts and any small scene, however degenerate (1×1,
//! zero / huge / NaN / ±∞ disparity, mattes out of range or of the wrong size, colours outside
//! 0..1); `Lens::validate` never panics on any `f64` and accepts exactly the documented ranges.
//!
//! Case counts are kept small so the file runs in a few seconds in the test profile; raise them
//! with `PROPTEST_CASES=N` for a longer search.

use fstop::optics::{
    ACCEPTED_BLADES, ACCEPTED_F_NUMBER, ACCEPTED_FOCAL_LENGTH_MM, ACCEPTED_SENSOR_WIDTH_MM,
    ApertureShape, DOCUMENTED_F_NUMBER, DOCUMENTED_FOCAL_LENGTH_MM, Lens, MAX_FOCUS_DISTANCE_M,
    Sensor,
};
use fstop::render::{HighlightOptions, KernelKind, RenderOptions, render};
use fstop::scene::{LinearRgb, Plane, Scene};
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        // Failures are reported with their minimal case; no files written into the repository.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn sensor() -> impl Strategy<Value = Sensor> {
    prop_oneof![
        Just(Sensor::FullFrame),
        Just(Sensor::ApsC),
        Just(Sensor::ApsCCanon),
        Just(Sensor::MicroFourThirds),
        Just(Sensor::OneInch),
        (1.0f64..=100.0).prop_map(|width_mm| Sensor::Custom { width_mm }),
    ]
}

fn aperture() -> impl Strategy<Value = ApertureShape> {
    (
        prop_oneof![Just(0u32), 3u32..=16],
        -720.0f64..720.0,
        prop_oneof![Just(0.0f64), Just(1.0), 0.0f64..=1.0],
    )
        .prop_map(
            |(blades, blade_rotation_deg, blade_curvature)| ApertureShape {
                blades,
                blade_rotation_deg,
                blade_curvature,
            },
        )
}

/// Any lens `Lens::validate` accepts: focal length 10–800 mm, f/0.95–22, focus from just
/// beyond the focal length out to 1000 km (log-uniform), any sensor, 0 or 3–16 blades.
fn valid_lens() -> impl Strategy<Value = Lens> {
    (
        prop_oneof![Just(10.0f64), Just(800.0), 10.0f64..=800.0],
        prop_oneof![Just(0.95f64), Just(22.0), 0.95f64..=22.0],
        -3.0f64..9.0,
        sensor(),
        aperture(),
    )
        .prop_map(
            |(focal_length_mm, f_number, log_excess, sensor, aperture)| {
                // Focus = f · (1 + 10^x): from a hair beyond the focal length to very far.
                let f_m = focal_length_mm / 1000.0;
                let focus_distance_m =
                    (f_m * (1.0 + 10f64.powf(log_excess))).min(MAX_FOCUS_DISTANCE_M);
                Lens {
                    focal_length_mm,
                    f_number,
                    focus_distance_m,
                    sensor,
                    aperture,
                    character: Default::default(),
                }
            },
        )
}

/// A disparity value (1/m): 0 (infinity), ordinary, at the focus plane's scale, tiny, huge,
/// negative (behind infinity) and non-finite.
fn disparity_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.0f32..5.0,
        1 => Just(0.0f32),
        1 => Just(1e-30f32),
        1 => 5.0f32..1e4,
        1 => Just(1e30f32),
        1 => Just(f32::MAX),
        1 => Just(-1.0f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
    ]
}

/// A colour value in linear light: mostly 0..1, sometimes bright, negative or non-finite.
fn colour_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => 0.0f32..=1.0,
        1 => Just(1.0f32),
        1 => 1.0f32..100.0,
        1 => Just(-0.5f32),
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
    ]
}

fn matte_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        3 => Just(0.0f32),
        3 => Just(1.0f32),
        3 => 0.0f32..=1.0,
        1 => Just(-1.0f32),
        1 => Just(2.0f32),
        1 => Just(f32::NAN),
    ]
}

/// The size of a plane relative to the photo: the same (usually), or some other size.
fn plane_size(w: usize, h: usize) -> impl Strategy<Value = (usize, usize)> {
    prop_oneof![
        6 => Just((w, h)),
        1 => (0usize..=8, 0usize..=8),
        1 => Just((w * 2, h * 2)),
    ]
}

fn plane(w: usize, h: usize, value: BoxedStrategy<f32>) -> impl Strategy<Value = Plane> {
    prop_oneof![
        // Per-pixel random.
        3 => proptest::collection::vec(value.clone(), w * h)
            .prop_map(move |data| Plane::from_vec(w, h, data)),
        // Constant.
        1 => value.prop_map(move |v| Plane::filled(w, h, v)),
    ]
}

/// A small scene: 1×1 up to 40×30, depth and matte usually of the photo's size.
fn scene() -> impl Strategy<Value = Scene> {
    (1usize..=40, 1usize..=30)
        .prop_flat_map(|(w, h)| {
            (
                proptest::collection::vec(colour_value(), w * h * 3),
                plane_size(w, h).prop_flat_map(|(dw, dh)| plane(dw, dh, disparity_value().boxed())),
                proptest::option::weighted(
                    0.7,
                    plane_size(w, h).prop_flat_map(|(mw, mh)| plane(mw, mh, matte_value().boxed())),
                ),
                Just((w, h)),
            )
        })
        // Planes of another size make no scene (Scene::new refuses them).
        .prop_filter_map(
            "depth and matte of the photo's size",
            |(rgb, disparity_per_m, matte, (w, h))| {
                Scene::new(
                    LinearRgb::from_interleaved(w, h, &rgb),
                    disparity_per_m,
                    matte,
                )
                .ok()
            },
        )
}

fn options() -> impl Strategy<Value = RenderOptions> {
    (
        prop_oneof![Just(0.9f32), 0.0f32..=1.0, Just(f32::NAN)],
        prop_oneof![Just(4.0f32), 0.0f32..=100.0, Just(f32::INFINITY)],
        prop_oneof![Just(8.0f32), 0.0f32..100.0, Just(f32::NAN)],
    )
        .prop_map(|(threshold, gain, level_diameter_px)| RenderOptions {
            highlights: HighlightOptions { threshold, gain },
            kernel: KernelKind::Fast,
            level_diameter_px,
        })
}

fn check_output(scene: &Scene, out: &LinearRgb) -> Result<(), TestCaseError> {
    let (w, h) = (scene.color().width(), scene.color().height());
    prop_assert_eq!((out.width(), out.height()), (w, h));
    for (name, ch) in [("r", out.r()), ("g", out.g()), ("b", out.b())] {
        prop_assert_eq!(ch.len(), w * h, "channel {} length", name);
        for (i, v) in ch.iter().enumerate() {
            prop_assert!(
                v.is_finite() && (0.0..=1.0).contains(v),
                "channel {} pixel {} is {}",
                name,
                i,
                v
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(48))]

    /// The fast kernel on any valid lens and any small scene.
    #[test]
    fn render_is_total_finite_and_in_range(
        lens in valid_lens(),
        scene in scene(),
        options in options(),
    ) {
        prop_assert!(lens.validate().is_ok(), "generator made an invalid lens: {:?}", lens);
        let out = render(&scene, &lens.validate().unwrap(), &options);
        check_output(&scene, &out)?;
    }
}

proptest! {
    #![proptest_config(config(12))]

    /// The reference kernel (slow: O(d²) per pixel) on the same kinds of input.
    #[test]
    fn reference_kernel_is_total_finite_and_in_range(
        lens in valid_lens(),
        scene in scene(),
    ) {
        let options = RenderOptions {
            kernel: KernelKind::Reference,
            ..RenderOptions::default()
        };
        let out = render(&scene, &lens.validate().unwrap(), &options);
        check_output(&scene, &out)?;
    }
}

/// Any `f64` at all, biased towards the edges that matter.
fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0f64),
        1 => Just(-0.0f64),
        1 => Just(-1.0f64),
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(f64::MAX),
        4 => -10.0f64..1000.0,
        // The range boundaries themselves.
        2 => prop_oneof![
            Just(ACCEPTED_FOCAL_LENGTH_MM.0), Just(ACCEPTED_FOCAL_LENGTH_MM.1),
            Just(ACCEPTED_F_NUMBER.0), Just(ACCEPTED_F_NUMBER.1),
            Just(ACCEPTED_SENSOR_WIDTH_MM.0), Just(ACCEPTED_SENSOR_WIDTH_MM.1),
            Just(MAX_FOCUS_DISTANCE_M), Just(1.0f64),
        ],
    ]
}

/// The documented acceptance rule, written out independently of `Lens::validate`.
fn documented_ok(lens: &Lens) -> bool {
    let within = |v: f64, (lo, hi): (f64, f64)| v >= lo && v <= hi;
    let a = &lens.aperture;
    within(lens.focal_length_mm, ACCEPTED_FOCAL_LENGTH_MM)
        && within(lens.f_number, ACCEPTED_F_NUMBER)
        && within(lens.sensor.width_mm(), ACCEPTED_SENSOR_WIDTH_MM)
        && lens.focus_distance_m * 1000.0 > lens.focal_length_mm
        && lens.focus_distance_m <= MAX_FOCUS_DISTANCE_M
        && (a.blades == 0 || (ACCEPTED_BLADES.0..=ACCEPTED_BLADES.1).contains(&a.blades))
        && within(a.blade_curvature, (0.0, 1.0))
        && a.blade_rotation_deg.is_finite()
}

proptest! {
    #![proptest_config(config(2000))]

    /// `Lens::validate` on arbitrary numbers: never panics, accepts exactly the documented
    /// ranges, warns exactly outside the documented portrait range, and every error message
    /// is one line.
    #[test]
    fn lens_validation_accepts_exactly_the_documented_ranges(
        focal_length_mm in any_f64(),
        f_number in any_f64(),
        focus_distance_m in any_f64(),
        sensor_width in any_f64(),
        named_sensor in any::<bool>(),
        blades in prop_oneof![0u32..40, any::<u32>()],
        blade_rotation_deg in any_f64(),
        blade_curvature in any_f64(),
    ) {
        let lens = Lens {
            focal_length_mm,
            f_number,
            focus_distance_m,
            sensor: if named_sensor { Sensor::FullFrame } else { Sensor::Custom { width_mm: sensor_width } },
            aperture: ApertureShape { blades, blade_rotation_deg, blade_curvature },
            character: Default::default(),
        };
        let result = std::panic::catch_unwind(|| lens.validate());
        prop_assert!(result.is_ok(), "validate panicked on {:?}", lens);
        match result.unwrap() {
            Ok(valid) => {
                let warnings = valid.warnings();
                prop_assert!(documented_ok(&lens), "accepted {:?}", lens);
                let (flo, fhi) = DOCUMENTED_FOCAL_LENGTH_MM;
                let (nlo, nhi) = DOCUMENTED_F_NUMBER;
                let expected = usize::from(focal_length_mm < flo || focal_length_mm > fhi)
                    + usize::from(f_number < nlo || f_number > nhi);
                prop_assert_eq!(warnings.len(), expected, "{:?}", warnings);
                // An accepted lens has a finite, non-negative CoC scale.
                let k = lens.coc_px_per_diopter(4000);
                prop_assert!(k.is_finite() && k >= 0.0, "CoC scale {} for {:?}", k, lens);
            }
            Err(e) => {
                prop_assert!(!documented_ok(&lens), "refused {:?}: {}", lens, e);
                let text = e.to_string();
                prop_assert!(!text.is_empty() && !text.contains('\n'), "{}", text);
            }
        }
    }

    /// `Sensor::parse` on arbitrary text never panics, and a custom width it accepts is in range.
    #[test]
    fn sensor_parsing_never_panics(text in "\\PC{0,12}|[0-9.eE+-]{1,10}(mm)?") {
        if let Ok(Sensor::Custom { width_mm }) = Sensor::parse(&text) {
            prop_assert!((ACCEPTED_SENSOR_WIDTH_MM.0..=ACCEPTED_SENSOR_WIDTH_MM.1).contains(&width_mm));
        }
    }
}

/// Hand-picked corners the generators may miss: the smallest and largest accepted lenses on a
/// 1×1 and a 40×30 scene with a matte, a constant disparity, every kind of infinity.
#[test]
fn extreme_lenses_on_tiny_scenes() {
    let lenses = [
        Lens {
            focal_length_mm: 800.0,
            f_number: 0.95,
            focus_distance_m: 0.8001,
            sensor: Sensor::Custom { width_mm: 1.0 },
            aperture: ApertureShape {
                blades: 3,
                blade_rotation_deg: 1e9,
                blade_curvature: 0.0,
            },
            character: Default::default(),
        },
        Lens {
            focal_length_mm: 10.0,
            f_number: 22.0,
            focus_distance_m: MAX_FOCUS_DISTANCE_M,
            sensor: Sensor::Custom { width_mm: 100.0 },
            aperture: ApertureShape {
                blades: 32,
                blade_rotation_deg: -45.0,
                blade_curvature: 1.0,
            },
            character: Default::default(),
        },
    ];
    for lens in lenses {
        assert!(lens.validate().is_ok(), "{lens:?}");
        for (w, h) in [(1usize, 1usize), (40, 30), (1, 30), (40, 1)] {
            for d in [
                0.0f32,
                1e-30,
                1.0,
                1e30,
                f32::MAX,
                f32::NAN,
                f32::INFINITY,
                -1.0,
            ] {
                for matte in [None, Some(Plane::filled(w, h, 0.5))] {
                    let scene = Scene::new(
                        LinearRgb::filled(w, h, [1.0, 0.5, 0.0]),
                        Plane::filled(w, h, d),
                        matte,
                    )
                    .unwrap();
                    let out = render(&scene, &lens.validate().unwrap(), &RenderOptions::default());
                    assert!(
                        check_output(&scene, &out).is_ok(),
                        "{lens:?} {w}×{h} disparity {d}"
                    );
                }
            }
        }
    }
}
