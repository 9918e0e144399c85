//! A missing or broken ONNX Runtime is one clear error, never a panic. This test binary never
//! loads a working runtime (ONNX Runtime initialisation is process-global).

mod common;

use common::fixture;
use fstop::infer::{InferError, ModelConfig, ModelSet};

fn config(ort_lib: &std::path::Path) -> ModelConfig {
    ModelConfig {
        depth_model: fixture("fastdepth_7.onnx"),
        matte_model: fixture("modnet.onnx"),
        ort_lib: Some(ort_lib.to_path_buf()),
        ..ModelConfig::default()
    }
}

#[test]
fn missing_runtime_says_how_to_install_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("libonnxruntime.so");
    let e = ModelSet::load(&config(&missing)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, InferError::RuntimeMissing(_)), "{msg}");
    assert!(msg.contains("run `fstop setup`"), "{msg}");
    assert!(msg.contains(&missing.display().to_string()), "{msg}");

    // A file that is not a shared library: a load error naming it, with the hint.
    let bogus = tmp.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&bogus, b"not a library").unwrap();
    let e = ModelSet::load(&config(&bogus)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, InferError::RuntimeLoad(_)), "{msg}");
    assert!(msg.contains(&bogus.display().to_string()), "{msg}");
    assert!(msg.contains("run `fstop setup`"), "{msg}");

    // A directory without the library.
    let e = ModelSet::load(&config(tmp.path().join("nothing-here").as_path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("run `fstop setup`"), "{e}");
}
