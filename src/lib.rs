//! fstop: physically based portrait bokeh.
//!
//! The crate is layered top-down with no arrow back up:
//!
//! * [`pipeline`] — fallible *analysis*: decode a photo, run the depth and matting models,
//!   choose the focus, and build a [`scene::Scene`].
//! * [`infer`] — ONNX Runtime sessions, the model catalogue, depth and matte estimation.
//! * [`render`] — the infallible, pure renderer: `render(&Scene, &Lens, &RenderOptions)`.
//! * [`scene`], [`depth`], [`fill`], [`focus_point`], [`head`] — the data the renderer
//!   consumes, how depth becomes disparity, the depth under a tapped point, and the head in a
//!   matte (the subject's distance from its size).
//! * [`io`] — decoding, encoding, colour and metadata, depth/matte files, atomic writes.
//! * [`optics`] — thin-lens physics; depends on nothing.
//! * [`backdrop`], [`headshot`] — studio backdrops and the headshot check: pure, like the
//!   renderer.
//!
//! The library never decides how ONNX Runtime is linked: `ort` is used with `load-dynamic` and
//! the caller (the binary) tells [`infer`] where the shared library is.

pub mod backdrop;
pub mod config;
pub mod depth;
pub mod fill;
pub mod focus_point;
#[doc(hidden)]
pub mod fuzzing;
pub mod head;
pub mod headshot;
pub mod infer;
pub mod io;
pub mod lens_fields;
pub mod optics;
pub mod pipeline;
pub mod preset;
pub mod render;
pub mod scene;
#[doc(hidden)]
pub mod synthetic;

pub use optics::{ApertureShape, Lens, Sensor};
pub use render::{RenderOptions, render};
pub use scene::{LinearRgb, Plane, Scene};
