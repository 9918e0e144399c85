//! ONNX inference: runtime discovery, model catalogue, depth and matte estimation.
//!
//! * [`runtime`] finds ONNX Runtime's shared library (installed by `fstop setup` or
//!   `scripts/setup.sh`) and initialises it once per process.
//! * [`catalog`] is the model catalogue (`models/catalog.toml`, embedded) and the descriptors
//!   of user-supplied models.
//! * [`session`] loads a model and checks it against its descriptor.
//! * [`preprocess`] turns linear light into the sRGB tensors the models were trained on.
//! * [`matte`], [`depth`] and [`refine`] turn model outputs into a full-resolution matte and a
//!   full-resolution relative disparity map that holds up on portraits.

pub mod catalog;
pub mod depth;
pub mod matte;
pub mod preprocess;
pub mod refine;
pub mod runtime;
pub mod session;

use std::path::{Path, PathBuf};
use std::time::Instant;

use thiserror::Error;

pub use self::catalog::Task;
use self::catalog::resolve_model;
use self::depth::DepthParams;
use self::matte::MatteParams;
use self::preprocess::{guide_plane, prepare, working_image};
use self::runtime::SearchEnv;
use self::session::{ModelSession, thread_count};
use crate::scene::{LinearRgb, Plane};

/// An inference failure. Messages name the file (runtime library or model) involved and, where
/// the fix is to install something, say how.
#[derive(Debug, Error)]
pub enum InferError {
    /// Inference is not possible here (kept for callers that report a generic reason).
    #[error("{0}")]
    Unavailable(String),
    /// The ONNX Runtime library was not found.
    #[error("{0}")]
    RuntimeMissing(String),
    /// The ONNX Runtime library was found but could not be loaded.
    #[error("{0}")]
    RuntimeLoad(String),
    /// The catalogue or a model descriptor is invalid.
    #[error("{0}")]
    Catalog(String),
    /// No model of that name.
    #[error("{0}")]
    UnknownModel(String),
    /// The model's file is not installed.
    #[error("{0}")]
    ModelMissing(String),
    /// The model file could not be loaded (not ONNX, damaged, unsupported operators).
    #[error("{0}")]
    ModelLoad(String),
    /// The model's inputs or outputs do not match its descriptor.
    #[error("{0}")]
    ModelShape(String),
    /// Running the model failed.
    #[error("{0}")]
    Run(String),
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
    /// Explicit model directory (`--model-dir`), searched before the installed weights.
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

impl ModelConfig {
    /// Directories searched for catalogue models' weights, in order: `--model-dir`,
    /// `$FSTOP_DATA_DIR/weights`, the repository's `models/weights`,
    /// the user data folder's `weights` (`fstop setup`), next to the executable.
    pub(crate) fn weight_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.model_dir.iter().cloned().collect();
        dirs.extend(SearchEnv::from_process(None).data_dirs("weights"));
        dirs
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
    /// The matting model, `first+second` when the second was asked (see [`ModelSet`]).
    pub matte_model: String,
}

/// The matting model that [`SECOND_MATTE_MODEL`] seconds.
pub const SECOND_MATTE_FOR: &str = "modnet";
/// The second matting model (see [`ModelSet`]).
pub const SECOND_MATTE_MODEL: &str = "u2netp";

/// Long side of the working resolution at which refinement runs.
pub(crate) const WORKING_LONG_SIDE: usize = 1024;

/// The photo as the models and the refinement see it: downsampled to the working resolution,
/// with its guide plane. It needs no models, so it can be made while they load.
#[derive(Debug, Clone)]
pub struct WorkingImage {
    long_side: usize,
    image: LinearRgb,
    guide: Plane,
}

impl WorkingImage {
    /// `photo` at a long side of at most `long_side` pixels, and its guide.
    pub fn new(photo: &LinearRgb, long_side: usize) -> WorkingImage {
        let image = working_image(photo, long_side);
        let guide = guide_plane(&image);
        WorkingImage {
            long_side,
            image,
            guide,
        }
    }
}

/// The second matting model of a [`ModelSet`]: loaded when first needed.
enum SecondMatte {
    Absent,
    Installed {
        env: ort::environment::Environment,
        model: Box<catalog::ResolvedModel>,
        threads: usize,
    },
    Loaded(Box<ModelSession>),
}

impl SecondMatte {
    /// The session, loaded now if need be (`None` when absent or it fails to load).
    fn session(&mut self) -> Option<&mut ModelSession> {
        if let SecondMatte::Installed {
            env,
            model,
            threads,
        } = self
        {
            *self = match ModelSession::load(env, model, *threads) {
                Ok(s) => SecondMatte::Loaded(Box::new(s)),
                Err(e) => {
                    tracing::debug!("second matting model not used: {e}");
                    SecondMatte::Absent
                }
            };
        }
        match self {
            SecondMatte::Loaded(s) => Some(s),
            _ => None,
        }
    }
}

/// Loaded depth and matting sessions; load once, reuse for many photos.
pub struct ModelSet {
    depth: ModelSession,
    matte: ModelSession,
    /// A second matting model asked where the subject is when the first one took in
    /// distractors (see [`matte::veto_by_second_model`]); U²-Netp beside MODNet when it is
    /// installed. Loaded when first needed.
    second_matte: SecondMatte,
    runtime_path: PathBuf,
    /// Long side of the working resolution (refinement cost scales with its square).
    pub working_long_side: usize,
    pub matte_params: MatteParams,
    pub depth_params: DepthParams,
}

impl std::fmt::Debug for ModelSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSet")
            .field("depth", &self.depth)
            .field("matte", &self.matte)
            .field("runtime", &self.runtime_path)
            .finish()
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl ModelSet {
    /// Finds the runtime and loads both models, checking them against their descriptors.
    pub fn load(config: &ModelConfig) -> Result<ModelSet, InferError> {
        // An explicit model folder that does not exist is a mistake, never silently skipped
        // (the models would quietly come from another folder).
        if let Some(dir) = &config.model_dir
            && !dir.is_dir()
        {
            return Err(InferError::ModelMissing(format!(
                "model folder {} (--model-dir) does not exist or is not a folder",
                dir.display()
            )));
        }
        let weight_dirs = config.weight_dirs();
        // Resolve the models first: a missing model is reported without touching the runtime.
        let depth = resolve_model(&config.depth_model, Task::Depth, &weight_dirs)?;
        let matte = resolve_model(&config.matte_model, Task::Matte, &weight_dirs)?;
        let (env, runtime_path) =
            runtime::init(&SearchEnv::from_process(config.ort_lib.as_deref()))?;
        let threads = thread_count(config.threads);
        let depth = ModelSession::load(&env, &depth, threads)?;
        let matte = ModelSession::load(&env, &matte, threads)?;
        // Only beside the default portrait model, and only when installed: it is a second
        // opinion, never a requirement.
        let second_matte = match (config.matte_model == SECOND_MATTE_FOR)
            .then(|| resolve_model(SECOND_MATTE_MODEL, Task::Matte, &weight_dirs).ok())
            .flatten()
        {
            Some(model) => SecondMatte::Installed {
                env: env.clone(),
                model: Box::new(model),
                threads,
            },
            None => SecondMatte::Absent,
        };
        tracing::info!(
            "models: depth {} ({}), matte {} ({}); ONNX Runtime {}",
            depth.name,
            depth.path.display(),
            matte.name,
            matte.path.display(),
            runtime_path.display()
        );
        Ok(ModelSet {
            depth,
            matte,
            second_matte,
            runtime_path,
            working_long_side: WORKING_LONG_SIDE,
            matte_params: MatteParams::default(),
            depth_params: DepthParams::default(),
        })
    }

    /// The ONNX Runtime library in use.
    pub fn runtime_path(&self) -> &Path {
        &self.runtime_path
    }

    /// The loaded depth model.
    pub fn depth_session(&self) -> &ModelSession {
        &self.depth
    }

    /// The loaded matting model.
    pub fn matte_session(&self) -> &ModelSession {
        &self.matte
    }

    /// Runs the matting model on `image` (any size): alpha 0..1 at the model's resolution.
    pub fn run_matte(&mut self, image: &LinearRgb) -> Result<Plane, InferError> {
        let input = prepare(image, &self.matte.descriptor.input);
        let raw = self.matte.run(&input)?;
        Ok(matte::alpha_from_output(&raw, &self.matte.descriptor))
    }

    /// Runs the depth model on `image` (any size): relative disparity (larger = nearer) at the
    /// model's resolution, not yet refined.
    pub fn run_depth(&mut self, image: &LinearRgb) -> Result<Plane, InferError> {
        let input = prepare(image, &self.depth.descriptor.input);
        let raw = self.depth.run(&input)?;
        Ok(depth::disparity_from_output(&raw, &self.depth.descriptor))
    }

    /// Runs both models on a photo (linear light; fed to the models as sRGB) and refines their
    /// answers to the photo's full resolution.
    pub fn estimate(&mut self, photo: &LinearRgb) -> Result<Estimate, InferError> {
        self.estimate_prepared(photo, None)
    }

    /// [`ModelSet::estimate`] with the photo's working image made beforehand (made here when
    /// `None` or made for another working resolution).
    pub fn estimate_prepared(
        &mut self,
        photo: &LinearRgb,
        working: Option<WorkingImage>,
    ) -> Result<Estimate, InferError> {
        if photo.is_empty() {
            return Err(InferError::Run("the photo has no pixels".into()));
        }
        let t = Instant::now();
        let WorkingImage {
            image: working,
            guide: guide_w,
            ..
        } = match working {
            Some(w) if w.long_side == self.working_long_side => w,
            _ => WorkingImage::new(photo, self.working_long_side),
        };
        let alpha = self.run_matte(&working)?;
        let mut matte_ms = ms_since(t);

        let t = Instant::now();
        let disp = self.run_depth(&working)?;
        let mut depth_ms = ms_since(t);

        // The depth decides which regions of the matte are the subject; where it finds
        // distractors, a second model is asked.
        let t = Instant::now();
        let (mut p, distractors) = matte::subject_alpha(
            &alpha,
            guide_w.width(),
            guide_w.height(),
            Some(&refine::normalize_robust(&disp)),
            &self.matte_params,
        );
        let mut matte_model = self.matte.name.clone();
        if distractors
            && self.matte_params.second_model
            && let Some(second) = self.second_matte.session()
        {
            let t2 = Instant::now();
            let input = prepare(&working, &second.descriptor.input);
            let raw = second.run(&input)?;
            let a2 = matte::alpha_from_output(&raw, &second.descriptor);
            p = matte::veto_by_second_model(&p, &a2, &self.matte_params);
            matte_model = format!("{matte_model}+{}", second.name);
            tracing::info!(
                "matte: {} took in a figure beside the subject; {} asked too ({:.0} ms)",
                self.matte.name,
                second.name,
                ms_since(t2)
            );
        }
        let (matte_w, matte_full) =
            matte::refine_subject_alpha(p, &working, &guide_w, photo, &self.matte_params);
        matte_ms += ms_since(t);

        let t = Instant::now();
        let relative_disparity =
            depth::refine_depth(&disp, &guide_w, &matte_w, &matte_full, &self.depth_params);
        depth_ms += ms_since(t);
        Ok(Estimate {
            relative_disparity,
            matte: matte_full,
            depth_ms,
            matte_ms,
            depth_model: self.depth.name.clone(),
            matte_model,
        })
    }
}
