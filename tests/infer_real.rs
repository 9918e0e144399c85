//! The real models (installed by `bash scripts/setup.sh`, which CI runs before `cargo test`).
//! Missing runtime or weights make these tests fail with the set-up hint; they never pass
//! silently.

mod common;

use common::{load_linear, repo};
use fstop::head::estimate_subject_distance_m;
use fstop::infer::preprocess::working_image;
use fstop::infer::{ModelConfig, ModelSet, WorkingImage};
use fstop::scene::Plane;

fn models(depth: &str, matte: &str) -> ModelSet {
    ModelSet::load(&ModelConfig {
        depth_model: depth.into(),
        matte_model: matte.into(),
        ..ModelConfig::default()
    })
    .unwrap_or_else(|e| panic!("real models unavailable: {e}"))
}

fn mean_box(p: &Plane, x0: usize, y0: usize, x1: usize, y1: usize) -> f32 {
    let mut s = 0.0;
    for y in y0..y1 {
        for x in x0..x1 {
            s += p.at(x, y);
        }
    }
    s / ((x1 - x0) * (y1 - y0)) as f32
}

#[test]
fn modnet_mattes_the_astronaut() {
    let mut set = models("fastdepth", "modnet");
    let photo = load_linear(&repo().join("examples/astronaut.png"));
    let alpha = set.run_matte(&photo).unwrap();
    assert_eq!((alpha.width(), alpha.height()), (512, 512));
    let est = set.estimate(&photo).unwrap();
    let m = &est.matte;
    assert_eq!((m.width(), m.height()), (512, 512));
    // Face and suit centre are subject, the top corners (flag, wall) are not.
    let face = mean_box(m, 200, 90, 250, 140);
    let suit = mean_box(m, 150, 350, 250, 450);
    let top_left = mean_box(m, 0, 0, 40, 40);
    let top_right = mean_box(m, 472, 0, 512, 40);
    assert!(face > 0.95 && suit > 0.95, "face {face} suit {suit}");
    assert!(
        top_left < 0.05 && top_right < 0.05,
        "{top_left} {top_right}"
    );
    // Auto focus: a head-and-shoulders framing at 85 mm is a metre or two away.
    let d = estimate_subject_distance_m(m, &fstop::Lens::default()).unwrap();
    assert!((0.8..3.0).contains(&d), "{d}");
}

#[test]
fn u2netp_mattes_the_astronaut_roughly() {
    let mut set = models("fastdepth", "u2netp");
    let photo = load_linear(&repo().join("examples/astronaut.png"));
    let m = set.estimate(&photo).unwrap().matte;
    assert!(mean_box(&m, 200, 90, 250, 140) > 0.8);
    assert!(mean_box(&m, 472, 0, 512, 40) < 0.2);
}

#[test]
fn fastdepth_gives_a_finite_map() {
    let mut set = models("fastdepth", "modnet");
    let photo = load_linear(&repo().join("examples/astronaut.png"));
    let d = set.run_depth(&working_image(&photo, 1024)).unwrap();
    assert_eq!((d.width(), d.height()), (224, 224));
    assert!(d.data().iter().all(|v| v.is_finite() && *v > 0.0));
    let (lo, hi) = d.finite_range().unwrap();
    assert!(hi > lo * 1.05, "a flat map: {lo}..{hi}");
}

#[test]
fn full_estimate_puts_the_subject_in_front() {
    let mut set = models("fastdepth", "modnet");
    let photo = load_linear(&repo().join("examples/astronaut.png"));
    let est = set.estimate(&photo).unwrap();
    assert_eq!(est.depth_model, "fastdepth");
    assert_eq!(est.matte_model, "modnet");
    let d = &est.relative_disparity;
    assert_eq!((d.width(), d.height()), (512, 512));
    assert!(d.data().iter().all(|v| v.is_finite()));
    let subject = fstop::depth::subject_disparity(d, Some(&est.matte)).unwrap();
    let weights: Vec<f32> = est
        .matte
        .data()
        .iter()
        .map(|&m| if m < 0.05 { 1.0 } else { 0.0 })
        .collect();
    let background = fstop::depth::weighted_percentile(d.data(), Some(&weights), 50.0).unwrap();
    assert!(
        subject > background,
        "subject {subject} background {background}"
    );
    // The wall behind the head is behind the face.
    assert!(mean_box(d, 200, 90, 250, 140) > mean_box(d, 440, 0, 512, 60));
}

#[test]
fn a_working_image_made_beforehand_gives_the_same_estimate() {
    let mut set = models("fastdepth", "modnet");
    let photo = load_linear(&repo().join("examples/astronaut.png"));
    let plain = set.estimate(&photo).unwrap();
    // Made for this set's working resolution: used as is.
    let prepared = WorkingImage::new(&photo, set.working_long_side);
    let est = set.estimate_prepared(&photo, Some(prepared)).unwrap();
    assert_eq!(est.matte, plain.matte);
    assert_eq!(est.relative_disparity, plain.relative_disparity);
    // Made for another resolution: ignored (remade at the set's own).
    let other = WorkingImage::new(&photo, 128);
    let est = set.estimate_prepared(&photo, Some(other)).unwrap();
    assert_eq!(est.matte, plain.matte);
    assert_eq!(est.relative_disparity, plain.relative_disparity);
}
