//! fstop: physically based portrait bokeh.
//!
//! The crate is layered top-down with no arrow back up:
//!
//! * [`pipeline`] — fallible *analysis*: decode a photo, run the depth and matting models,
//!   choose the focus, and build a [`scene::Scene`].
//! * [`infer`] — ONNX Runtime sessions, the model catalogue, depth and matte estimation.
//! * [`render`](mod@render) — the infallible, pure renderer:
//!   `render(&Scene, &ValidLens, &RenderOptions)`.
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
//!
//! # Example
//!
//! What a Rust caller does with a photo: [`pipeline::analyze()`] (decode, depth and matte),
//! [`pipeline::Analysis::into_focused`] (focus a lens), [`render()`] and [`io::write_photo`].
//! Here the depth and matte come from files, so no model runs; without `depth` and `matte`
//! the models of [`infer::ModelConfig`] would estimate them (after `fstop setup`).
//! `examples/portrait.rs` is the same as a program.
//!
//! ```
//! use fstop::depth::DepthKind;
//! use fstop::infer::ModelConfig;
//! use fstop::io::{self, DecodeOptions, EncodeOptions, Metadata};
//! use fstop::pipeline::{self, AnalysisOptions, DepthFile, LazyModels, LensSettings};
//! use fstop::{LinearRgb, Plane, RenderOptions, Scene};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = std::env::temp_dir().join(format!("fstop-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! // A 96×64 photo: a warm square (the subject, 1.5 m away) before a striped wall at 6 m.
//! let (w, h) = (96, 64);
//! let subject = |x: usize, y: usize| (32..64).contains(&x) && (16..56).contains(&y);
//! let mut photo = LinearRgb::filled(w, h, [0.1; 3]);
//! let (mut depth_m, mut matte) = (Vec::new(), Vec::new());
//! for y in 0..h {
//!     for x in 0..w {
//!         let wall = if x % 8 < 4 { 0.8 } else { 0.1 };
//!         photo.set(x, y, if subject(x, y) { [0.7, 0.45, 0.3] } else { [wall; 3] });
//!         depth_m.push(if subject(x, y) { 1.5f32 } else { 6.0 });
//!         matte.push(if subject(x, y) { 1.0f32 } else { 0.0 });
//!     }
//! }
//! let photo_path = dir.join("photo.png");
//! io::write_photo(&photo_path, &photo, None, &Metadata::default(), 16, &EncodeOptions::default())?;
//! // Depth in metres as a PFM file (little-endian floats, bottom row first).
//! let mut pfm = format!("Pf\n{w} {h}\n-1.0\n").into_bytes();
//! for row in depth_m.chunks(w).rev() {
//!     pfm.extend(row.iter().flat_map(|v| v.to_le_bytes()));
//! }
//! let depth_path = dir.join("depth.pfm");
//! std::fs::write(&depth_path, pfm)?;
//! let matte_path = dir.join("matte.png");
//! io::write_plane_png16(&matte_path, &Plane::from_vec(w, h, matte), 0.0, 1.0)?;
//!
//! // Analyse, focus an 85 mm f/1.8 (the default lens) on the subject, render, write.
//! let options = AnalysisOptions {
//!     depth: Some(DepthFile { path: depth_path, kind: Some(DepthKind::Metres) }),
//!     matte: Some(matte_path),
//!     decode: DecodeOptions::default(),
//!     depth_source: Default::default(), // a depth file wins anyway
//! };
//! let mut models = LazyModels::new(ModelConfig::default()); // not loaded: depth is given
//! let analysis = pipeline::analyze(&photo_path, &options, &mut models)?;
//! let (focused, photo, matte) = analysis.into_focused(&LensSettings::default())?;
//! assert!((focused.lens.focus_distance_m - 1.5).abs() < 0.01);
//! let scene = Scene::new(photo.color, focused.disparity_per_m, matte)?;
//! let image = fstop::render(&scene, &focused.lens, &RenderOptions::default());
//! let out = dir.join("photo-bokeh.png");
//! io::write_photo(&out, &image, None, &photo.metadata, photo.bits_per_channel, &EncodeOptions::default())?;
//! assert!(out.is_file());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

pub mod backdrop;
pub mod config;
pub mod depth;
pub mod fill;
pub mod focus_point;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod grain;
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
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod synthetic;

pub use optics::{ApertureShape, Lens, Sensor, ValidLens};
pub use render::{RenderOptions, render};
pub use scene::{LinearRgb, Plane, Scene};
