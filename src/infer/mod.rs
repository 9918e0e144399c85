//! ONNX inference: runtime discovery, model catalogue, depth and matte estimation. (Stub.)
