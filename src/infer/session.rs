//! One loaded model: an ONNX Runtime session checked against its descriptor.

use std::path::{Path, PathBuf};

use ndarray::{Axis, Ix2};
use ort::environment::Environment;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::InferError;
use super::catalog::{Layout, ModelDescriptor, ResolvedModel, SizePolicy};
use super::preprocess::ModelInput;
use crate::scene::Plane;

/// A model ready to run.
pub struct ModelSession {
    pub name: String,
    pub path: PathBuf,
    pub descriptor: ModelDescriptor,
    input_name: String,
    output_name: String,
    session: Session,
}

impl std::fmt::Debug for ModelSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelSession")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("input", &self.input_name)
            .field("output", &self.output_name)
            .finish()
    }
}

/// The number of intra-op threads for `requested` (0 = all available cores).
pub(crate) fn thread_count(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

fn dims_text(shape: &[i64]) -> String {
    let d: Vec<String> = shape
        .iter()
        .map(|&v| {
            if v < 0 {
                "?".to_string()
            } else {
                v.to_string()
            }
        })
        .collect();
    format!("[{}]", d.join(","))
}

fn describe(v: &ValueType) -> String {
    match v {
        ValueType::Tensor { ty, shape, .. } => format!("{ty} {}", dims_text(shape)),
        other => other.to_string(),
    }
}

impl ModelSession {
    /// Loads `model` in `env` with `threads` intra-op threads and checks its input and output
    /// against the descriptor.
    pub fn load(
        env: &Environment,
        model: &ResolvedModel,
        threads: usize,
    ) -> Result<ModelSession, InferError> {
        let path = &model.path;
        let load_err = |e: String| {
            InferError::ModelLoad(format!(
                "cannot load {} model {}: {e}",
                model.descriptor.task,
                path.display()
            ))
        };
        let session = Session::builder(env)
            .map_err(|e| load_err(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| load_err(e.to_string()))?
            .with_intra_op_spinning(false)
            .map_err(|e| load_err(e.to_string()))?
            .commit_from_file(path)
            .map_err(|e| load_err(e.to_string()))?;
        let (input_name, output_name) = check_signature(&session, &model.descriptor, path)?;
        Ok(ModelSession {
            name: model.name.clone(),
            path: path.clone(),
            descriptor: model.descriptor.clone(),
            input_name,
            output_name,
            session,
        })
    }

    /// Runs the model on a prepared input and returns its map output (batch 0, channel 0) as a
    /// plane of the output's own size.
    pub fn run(&mut self, input: &ModelInput) -> Result<Plane, InferError> {
        let run_err = |e: String| {
            InferError::Run(format!(
                "{} model {} failed: {e}",
                self.descriptor.task,
                self.path.display()
            ))
        };
        let tensor =
            TensorRef::from_array_view(&input.tensor).map_err(|e| run_err(e.to_string()))?;
        let outputs = self
            .session
            .run(ort::inputs![self.input_name.as_str() => tensor])
            .map_err(|e| run_err(e.to_string()))?;
        let value = outputs
            .get(self.output_name.as_str())
            .ok_or_else(|| run_err(format!("no output named '{}'", self.output_name)))?;
        let output = value
            .try_extract_array::<f32>()
            .map_err(|e| run_err(e.to_string()))?;
        let dims = output.shape();
        let rank = self.descriptor.output.rank;
        let ok = dims.len() == rank
            && dims.iter().all(|&d| d > 0)
            && (rank == 3 || dims[1] == 1)
            && dims[0] >= 1;
        if !ok {
            let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
            return Err(run_err(format!(
                "output '{}' has shape {}, expected {}",
                self.output_name,
                dims_text(&dims),
                self.descriptor.expected_output()
            )));
        }
        // Batch 0 (and channel 0 of a rank-4 output).
        let mut map = output.index_axis(Axis(0), 0);
        if rank == 4 {
            map = map.index_axis_move(Axis(0), 0);
        }
        let map = map
            .into_dimensionality::<Ix2>()
            .map_err(|e| run_err(e.to_string()))?;
        let (h, w) = map.dim();
        Ok(Plane::from_vec(w, h, map.iter().copied().collect()))
    }
}

/// Checks the session's input/output names, element types and ranks against the descriptor;
/// returns the input and output names to use.
fn check_signature(
    session: &Session,
    d: &ModelDescriptor,
    path: &Path,
) -> Result<(String, String), InferError> {
    let inputs = session.inputs();
    let outputs = session.outputs();
    let found = || {
        let ins: Vec<String> = inputs
            .iter()
            .map(|o| format!("'{}' {}", o.name(), describe(o.dtype())))
            .collect();
        let outs: Vec<String> = outputs
            .iter()
            .map(|o| format!("'{}' {}", o.name(), describe(o.dtype())))
            .collect();
        format!(
            "it has inputs {} and outputs {}",
            ins.join(", "),
            outs.join(", ")
        )
    };
    let mismatch = |why: &str| {
        InferError::ModelShape(format!(
            "{} does not match its {} model descriptor ({why}): expected {} and {}; {}",
            path.display(),
            d.task,
            d.expected_input(),
            d.expected_output(),
            found()
        ))
    };
    let input = match &d.input.name {
        Some(name) => inputs.iter().find(|o| o.name() == name),
        None if inputs.len() == 1 => inputs.first(),
        None => None,
    }
    .ok_or_else(|| mismatch("input not found"))?;
    if inputs.len() != 1 {
        return Err(mismatch("the model needs more than one input"));
    }
    let output = match &d.output.name {
        Some(name) => outputs.iter().find(|o| o.name() == name),
        None => outputs.first(),
    }
    .ok_or_else(|| mismatch("output not found"))?;

    let ValueType::Tensor { ty, shape, .. } = input.dtype() else {
        return Err(mismatch("input is not a tensor"));
    };
    if *ty != TensorElementType::Float32 {
        return Err(mismatch("input is not f32"));
    }
    if shape.len() != 4 {
        return Err(mismatch("input rank is not 4"));
    }
    let (c, h, w) = match d.input.layout {
        Layout::Nchw => (shape[1], shape[2], shape[3]),
        Layout::Nhwc => (shape[3], shape[1], shape[2]),
    };
    if c != 3 && c >= 0 {
        return Err(mismatch(
            "input does not take 3 channels in the described layout",
        ));
    }
    match d.input.size {
        SizePolicy::Fixed { width, height } => {
            if (h >= 0 && h as usize != height) || (w >= 0 && w as usize != width) {
                return Err(mismatch("input size differs"));
            }
        }
        SizePolicy::MultipleOf { .. } => {
            if h >= 0 || w >= 0 {
                return Err(mismatch(
                    "input size is fixed in the model but the descriptor asks for a variable size",
                ));
            }
        }
    }
    let ValueType::Tensor { ty, shape, .. } = output.dtype() else {
        return Err(mismatch("output is not a tensor"));
    };
    if *ty != TensorElementType::Float32 {
        return Err(mismatch("output is not f32"));
    }
    if shape.len() != d.output.rank {
        return Err(mismatch("output rank differs"));
    }
    if d.output.rank == 4 && shape[1] > 1 {
        return Err(mismatch("output has more than one channel"));
    }
    Ok((input.name().to_string(), output.name().to_string()))
}
