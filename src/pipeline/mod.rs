//! Analysis: decode a photo, get its depth (from a file or the models) and subject matte, choose
//! the focus, and produce what the renderer needs.
//!
//! Two steps, so a contact sheet can analyse once and focus many lenses:
//!
//! 1. [`analyze()`] decodes the photo and gets depth and matte (`analyze.rs`). Depth from a
//!    file is either metric (metres, converted to disparity 1/m right away) or relative
//!    disparity (kept relative); depth from the models is always relative. Without a depth
//!    file, a JPEG's own depth map (GDepth, Dynamic Depth, Apple portrait;
//!    [`crate::io::embedded_depth`]) is used instead of the model when
//!    [`AnalysisOptions::depth_source`] allows (`auto`, the default: a map that cannot be read
//!    or does not fit the photo leaves the depth to the model with a warning; `embedded`: it
//!    must be there and usable; `model`: never). It is metric or relative as the file says,
//!    resampled to the photo's size without a warning, and no model runs (so there is no
//!    matte unless a matte file is given, as with a depth file).
//! 2. [`Analysis::focus`] picks the focus distance for a lens and turns the depth into disparity
//!    in 1/m (`focus.rs`):
//!    * `--focus DISTANCE`: the lens focuses there; relative disparity is anchored so the subject
//!      (see [`crate::depth::subject_disparity`]) lies at that distance.
//!    * `--focus auto` with **metric** depth: the robust median of the subject's depth under the
//!      matte, or without a matte the centre-weighted nearest region.
//!    * `--focus auto` with **relative** depth: the subject's distance is estimated from its size
//!      in the frame and the focal length ([`crate::head::estimate_subject_distance_m`]),
//!      falling back to [`crate::optics::DEFAULT_FOCUS_DISTANCE_M`] (2 m) when there is no
//!      matte or no estimate; the subject is anchored at that distance and the far background
//!      at `--background-distance`.
//!
//! With a matte, the subject's own relief is then compressed towards its disparity so no part of
//! it gets a circle of confusion over [`SUBJECT_MAX_COC_PX`] (under 1 px): monocular depth keeps a
//! face's relief (and often gets it wrong), and at portrait distances even a small spread is
//! many pixels of blur, while the product promises a tack-sharp subject. The compression is
//! blended by the matte, so hair and edges stay continuous with the background. Statistics
//! (the subject's value, the far percentile) come from a sample of at most
//! [`STATS_LONG_SIDE`] px on the long side; the full-resolution map is touched once.
//!
//! Depth and matte files whose size differs from the photo's are resampled (with a warning) when
//! their aspect ratio matches within 2 %, and refused otherwise. Invalid depth values (NaN, and
//! for metric depth −∞, zero and negative distances) are filled in from their neighbours with a
//! warning; a matte file that is empty or covers the whole photo is ignored with a warning.
//!
//! The models are loaded once per worker, on first use ([`LazyModels`], `models.rs`).
//!
//! [`run_photo`] (`photo.rs`) is the whole flow for one photo: analyse, focus, build the
//! scene and [`develop`] it (lens blur or studio backdrop, grain, headshot check).

mod analyze;
mod focus;
mod models;
mod photo;
mod warning;

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

pub use self::analyze::{
    Analysis, AnalysisOptions, AnalysisTimings, DepthData, DepthFile, DepthOrigin, DepthSource,
    ModelNames, analyze, analyze_bytes,
};
pub use self::focus::{
    FocusSource, Focused, LensSettings, STATS_LONG_SIDE, SUBJECT_MAX_COC_PX, keep_subject_in_focus,
    soft_clamp, subject_relief_limit,
};
pub use self::models::LazyModels;
pub use self::photo::{
    Developed, Look, Outcome, PhotoTimings, Stage, develop, develop_image, run_photo,
};
pub use self::warning::{MatteProblem, Warning};
use crate::focus_point::FocusPointError;
use crate::infer::InferError;
use crate::io::IoError;
use crate::optics::OpticsError;
use crate::scene::SceneSizeError;

/// A failure while analysing one photo. Messages name the file involved.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error(transparent)]
    Io(#[from] IoError),
    /// The models could not be loaded (missing runtime or model file): a configuration problem
    /// that affects every photo, see [`PipelineError::is_fatal`].
    #[error(transparent)]
    ModelLoad(Arc<InferError>),
    /// A model failed on this photo.
    #[error(transparent)]
    Inference(InferError),
    #[error(transparent)]
    Lens(#[from] OpticsError),
    #[error(
        "{path}: {what} is {got_w}×{got_h} but the photo is {want_w}×{want_h}; the shapes differ, so it cannot be resampled"
    )]
    ShapeMismatch {
        path: PathBuf,
        what: &'static str,
        got_w: usize,
        got_h: usize,
        want_w: usize,
        want_h: usize,
    },
    #[error(transparent)]
    Scene(#[from] SceneSizeError),
    #[error(transparent)]
    FocusPoint(#[from] FocusPointError),
    /// `--depth-source embedded` and the photo carries no usable depth map.
    #[error("{path}: {message}")]
    EmbeddedDepth { path: PathBuf, message: String },
    /// A studio background without a subject matte.
    #[error("a studio background needs a subject matte (give --matte, or let the models run)")]
    StudioNeedsMatte,
}

impl PipelineError {
    /// True when the error is not about one photo but about the set-up (every later photo would
    /// fail the same way), so a batch should stop.
    pub fn is_fatal(&self) -> bool {
        matches!(self, PipelineError::ModelLoad(_))
    }
}
