//! Every catalogue descriptor exercised through ONNX Runtime with a tiny fixture model of the
//! same signature (tests/fixtures/models, made by make_fixtures.py). Needs the runtime that
//! `bash scripts/setup.sh` installs; without it these tests fail with the set-up hint.

mod common;

use std::path::Path;

use common::{fixture, fixtures, mean_where, synthetic_portrait};
use fstop::infer::catalog::Catalog;
use fstop::infer::{InferError, ModelConfig, ModelSet};

fn load(depth: &str, matte: &str) -> Result<ModelSet, InferError> {
    ModelSet::load(&ModelConfig {
        depth_model: depth.into(),
        matte_model: matte.into(),
        threads: 1,
        ..ModelConfig::default()
    })
}

#[test]
fn every_catalogue_model_has_a_fixture() {
    let catalog = Catalog::builtin().unwrap();
    for (name, d) in &catalog.model {
        let file = d.file.as_deref().unwrap();
        assert!(
            fixtures().join(file).is_file(),
            "no fixture {file} for catalogue model {name}"
        );
    }
}

/// Runs a full estimate with the given fixtures on a synthetic portrait and checks shapes,
/// ranges and meaning (bright = subject = near in every fixture).
fn check_pair(depth_file: &str, matte_file: &str) {
    let mut set = load(&fixture(depth_file), &fixture(matte_file))
        .unwrap_or_else(|e| panic!("{depth_file} + {matte_file}: {e}"));
    let (w, h) = (300, 200);
    let (photo, truth) = synthetic_portrait(w, h);
    let est = set.estimate(&photo).unwrap();
    assert_eq!((est.matte.width(), est.matte.height()), (w, h));
    assert_eq!(
        (
            est.relative_disparity.width(),
            est.relative_disparity.height()
        ),
        (w, h)
    );
    assert!(est.matte.data().iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(est.relative_disparity.data().iter().all(|v| v.is_finite()));
    let inside = mean_where(&est.matte, &truth, true);
    let outside = mean_where(&est.matte, &truth, false);
    assert!(
        inside > 0.9 && outside < 0.1,
        "{matte_file}: {inside} {outside}"
    );
    let near = mean_where(&est.relative_disparity, &truth, true);
    let far = mean_where(&est.relative_disparity, &truth, false);
    assert!(near > far, "{depth_file}: subject {near} background {far}");
    assert!(est.depth_ms >= 0.0 && est.matte_ms >= 0.0);
    // The model-resolution outputs have the descriptor's sizes.
    let raw = set.run_depth(&photo).unwrap();
    let d = &set.depth_session().descriptor;
    let (mw, mh) = d.input.size.model_size(w, h);
    assert_eq!((raw.width(), raw.height()), (mw, mh), "{depth_file}");
}

#[test]
fn modnet_with_fastdepth() {
    check_pair("fastdepth_7.onnx", "modnet.onnx");
}

#[test]
fn u2netp_with_depth_anything() {
    check_pair("depth_anything_v2_small.onnx", "u2netp.onnx");
}

#[test]
fn midas_with_modnet() {
    check_pair("midas_v21_small_256.onnx", "modnet.onnx");
}

#[test]
fn user_model_with_its_own_descriptor() {
    // NHWC input, metric depth output, no names pinned: custom_depth.toml next to it.
    check_pair("custom_depth.onnx", "modnet.onnx");
    let set = load(&fixture("custom_depth.onnx"), &fixture("modnet.onnx")).unwrap();
    assert_eq!(set.depth_session().name, "custom_depth");
}

fn copy_with_descriptor(dir: &Path, model: &str, as_name: &str, descriptor_of: &str) -> String {
    std::fs::copy(fixtures().join(model), dir.join(format!("{as_name}.onnx"))).unwrap();
    let d = &Catalog::builtin().unwrap().model[descriptor_of];
    std::fs::write(
        dir.join(format!("{as_name}.toml")),
        toml::to_string(d).unwrap(),
    )
    .unwrap();
    dir.join(format!("{as_name}.onnx")).display().to_string()
}

#[test]
fn wrong_shaped_model_names_the_file_and_the_expected_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    // A 4-D output where depth-anything's descriptor says [1,H,W].
    let path = copy_with_descriptor(
        tmp.path(),
        "wrong_rank.onnx",
        "da2",
        "depth-anything-v2-small",
    );
    let e = load(&path, &fixture("modnet.onnx")).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, InferError::ModelShape(_)), "{msg}");
    assert!(msg.contains(&path), "{msg}");
    assert!(msg.contains("output rank differs"), "{msg}");
    assert!(
        msg.contains("'predicted_depth' f32 [1,H,W]") && msg.contains("[1,3,H,W]"),
        "{msg}"
    );
    // A fixed 320×320 model where fastdepth's descriptor wants input '0' of 224×224.
    let path = copy_with_descriptor(tmp.path(), "u2netp.onnx", "fd", "fastdepth");
    let msg = load(&path, &fixture("modnet.onnx"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&path) && msg.contains("input '0' f32 [1,3,224,224]"),
        "{msg}"
    );
    assert!(msg.contains("'input.1' f32 [1,3,320,320]"), "{msg}");
}

#[test]
fn non_onnx_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = copy_with_descriptor(tmp.path(), "modnet.onnx", "broken", "modnet");
    std::fs::write(&path, b"this is not an ONNX model").unwrap();
    let e = load(&fixture("fastdepth_7.onnx"), &path).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, InferError::ModelLoad(_)), "{msg}");
    assert!(msg.contains(&path) && msg.contains("matte model"), "{msg}");
}

#[test]
fn missing_files_and_descriptors_are_clear_errors() {
    let e = load("/nonexistent/model.onnx", &fixture("modnet.onnx"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/nonexistent/model.onnx") && e.contains("does not exist"),
        "{e}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let lonely = tmp.path().join("lonely.onnx");
    std::fs::copy(fixtures().join("modnet.onnx"), &lonely).unwrap();
    let e = load(&fixture("fastdepth_7.onnx"), lonely.to_str().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lonely.toml") && e.contains("no descriptor"),
        "{e}"
    );
    // A matte model given as the depth model.
    let e = load(&fixture("modnet.onnx"), &fixture("modnet.onnx"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a depth model"), "{e}");
}
