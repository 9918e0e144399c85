//! ONNX inference: runtime discovery, model catalogue, depth and matte estimation.
//! (Stub: the contract below is fixed; the implementation lands with the inference work.)

use std::path::PathBuf;

use thiserror::Error;

use crate::optics::Lens;
use crate::scene::{LinearRgb, Plane};

/// An inference failure. Messages name the file (runtime library or model) involved.
#[derive(Debug, Error)]
pub enum InferError {
    #[error("{0}")]
    Unavailable(String),
}

/// Where to find the runtime and which models to use.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Depth model: a catalogue name or a path to an `.onnx` file (with a `.toml` descriptor).
    pub depth_model: String,
    /// Matting model: a catalogue name or a path.
    pub matte_model: String,
    /// Explicit ONNX Runtime shared library (`--ort-lib`).
    pub ort_lib: Option<PathBuf>,
    /// Explicit model directory (`--model-dir`).
    pub model_dir: Option<PathBuf>,
    /// Intra-op threads (0 = all available cores).
    pub threads: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            depth_model: "fastdepth".into(),
            matte_model: "modnet".into(),
            ort_lib: None,
            model_dir: None,
            threads: 0,
        }
    }
}

/// What the models say about one photo, at the photo's full resolution.
#[derive(Debug, Clone)]
pub struct Estimate {
    /// Relative disparity (larger = nearer), refined edge-aware and fused with the matte.
    pub relative_disparity: Plane,
    /// Subject matte, 0..1.
    pub matte: Plane,
    pub depth_ms: f64,
    pub matte_ms: f64,
    pub depth_model: String,
    pub matte_model: String,
}

/// Loaded depth and matting sessions; load once, reuse for many photos.
pub struct ModelSet {
    _private: (),
}

impl ModelSet {
    /// Finds the runtime, loads both models (stub: always unavailable).
    pub fn load(_config: &ModelConfig) -> Result<ModelSet, InferError> {
        Err(InferError::Unavailable(
            "model inference is not implemented yet; pass --depth FILE".into(),
        ))
    }

    /// Runs both models on a photo (linear light; fed to the models as sRGB).
    pub fn estimate(&mut self, _photo: &LinearRgb) -> Result<Estimate, InferError> {
        Err(InferError::Unavailable("not implemented".into()))
    }
}

/// Estimates the subject's distance from its size in the frame (stub: unknown).
pub fn estimate_subject_distance_m(_matte: &Plane, _lens: &Lens) -> Option<f64> {
    None
}
