//! The library's whole flow for one photo, as a Rust caller writes it: analyse (decode, depth
//! and matte), focus a lens, render, write.
//!
//! `cargo run --release --example portrait -- PHOTO OUTPUT [DEPTH [MATTE]]`
//!
//! With a depth file (metres, or relative disparity for PNG/TIFF maps, as `fstop --depth`) no
//! model runs; without one the depth and matting models estimate them (after `fstop setup` or
//! `bash scripts/setup.sh`). The lens is the default preset's, 85 mm f/1.8 on full frame,
//! focused automatically on the subject.

use std::path::PathBuf;

use fstop::infer::ModelConfig;
use fstop::io::{self, DecodeOptions, EncodeOptions};
use fstop::pipeline::{self, AnalysisOptions, DepthFile, LazyModels, LensSettings};
use fstop::{RenderOptions, Scene};

fn main() -> anyhow::Result<()> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    anyhow::ensure!(
        (2..=4).contains(&args.len()),
        "usage: portrait PHOTO OUTPUT [DEPTH [MATTE]]"
    );
    let (photo_path, output) = (&args[0], &args[1]);
    let options = AnalysisOptions {
        depth: args.get(2).map(|path| DepthFile {
            path: path.clone(),
            kind: None,
        }),
        matte: args.get(3).cloned(),
        decode: DecodeOptions::default(),
        // Without a depth file: the photo's own depth map when it has one, else the model.
        depth_source: Default::default(),
    };
    // Loaded only when the depth has to be estimated.
    let mut models = LazyModels::new(ModelConfig::default());
    let analysis = pipeline::analyze(photo_path, &options, &mut models)?;
    for w in &analysis.warnings {
        eprintln!("warning: {w}");
    }
    let (focused, photo, matte) = analysis.into_focused(&LensSettings::default())?;
    for w in &focused.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "focus {:.2} m ({})",
        focused.lens.focus_distance_m,
        focused.focus_source.describe()
    );
    let scene = Scene::new(photo.color, focused.disparity_per_m, matte)?;
    let image = fstop::render(&scene, &focused.lens, &RenderOptions::default());
    io::write_photo(
        output,
        &image,
        photo.alpha.as_ref(),
        &photo.metadata,
        photo.bits_per_channel,
        &EncodeOptions::default(),
    )?;
    println!("wrote {}", output.display());
    Ok(())
}
