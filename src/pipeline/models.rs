//! The inference models, loaded once per worker.

use std::sync::Arc;

use super::PipelineError;
use crate::infer::{InferError, ModelConfig, ModelSet};

/// The inference models, loaded on first use and kept for the next photo.
pub struct LazyModels {
    config: ModelConfig,
    set: Option<ModelSet>,
    pub(super) load_error: Option<Arc<InferError>>,
}

impl LazyModels {
    pub fn new(config: ModelConfig) -> LazyModels {
        LazyModels {
            config,
            set: None,
            load_error: None,
        }
    }

    /// The loaded models; a failed load is remembered and reported again without retrying.
    pub fn get(&mut self) -> Result<&mut ModelSet, PipelineError> {
        if let Some(e) = &self.load_error {
            return Err(PipelineError::ModelLoad(Arc::clone(e)));
        }
        if self.set.is_none() {
            match ModelSet::load(&self.config) {
                Ok(set) => self.set = Some(set),
                Err(e) => {
                    let e = Arc::new(e);
                    self.load_error = Some(Arc::clone(&e));
                    return Err(PipelineError::ModelLoad(e));
                }
            }
        }
        Ok(self.set.as_mut().expect("loaded above"))
    }

    /// Drops the loaded sessions (after a panic left them in an unknown state); the next
    /// [`LazyModels::get`] loads them again.
    pub fn discard(&mut self) {
        self.set = None;
    }

    /// True when models have been loaded.
    pub(crate) fn is_loaded(&self) -> bool {
        self.set.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_that_fail_to_load_are_fatal_and_not_retried() {
        // A runtime and a model that do not exist: loading must fail, whatever is installed.
        let missing = std::env::temp_dir().join("fstop-no-such-dir");
        let mut models = LazyModels::new(ModelConfig {
            depth_model: missing.join("depth.onnx").display().to_string(),
            ort_lib: Some(missing.join("libonnxruntime.so")),
            ..ModelConfig::default()
        });
        let Err(first) = models.get() else {
            panic!("loading from a missing path must fail");
        };
        assert!(first.is_fatal(), "{first}");
        let PipelineError::ModelLoad(first) = first else {
            panic!("not a model-load error: {first}");
        };
        assert!(
            matches!(
                *first,
                InferError::RuntimeMissing(_) | InferError::ModelMissing(_)
            ),
            "{first:?}"
        );
        // The same failure again, not a second attempt.
        let Err(PipelineError::ModelLoad(second)) = models.get() else {
            panic!("the second call must fail the same way");
        };
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!models.is_loaded());
    }
}
