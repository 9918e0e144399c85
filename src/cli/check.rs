//! `fstop check PHOTO…`: the headshot check on finished photos, on its own.
//!
//! Each photo is decoded and its subject matte read (`--matte`) or estimated (the matting
//! model, with the depth model as in `render`); the findings ([`fstop::headshot::check`]) are
//! printed as text, or as one JSON object per photo with `--json`. Findings are data: the
//! exit code is 0 unless a photo cannot be read or has no subject (1), or the options are
//! wrong (2).

use std::io::Write;
use std::path::Path;

use anyhow::{Result, bail};
use serde::Serialize;

use fstop::config::Config;
use fstop::headshot::{self, HeadshotCheck};
use fstop::io;
use fstop::pipeline::{self, AnalysisOptions, DepthSource, LazyModels};
use fstop::scene::{LinearRgb, Plane};

use super::args::{AnalysisArgs, CheckArgs};
use super::exit::Exit;
use super::progress::Ui;
use super::signals::Stop;
use super::validate::{PathTemplate, common_settings};

/// One photo's result, as printed with `--json`.
#[derive(Debug, Serialize)]
struct CheckLine<'a> {
    input: String,
    /// `file` or `model`.
    matte_source: &'static str,
    headshot: Option<&'a HeadshotCheck>,
    error: Option<String>,
}

/// The photo and its matte.
fn load(
    input: &Path,
    matte: Option<&PathTemplate>,
    options: &AnalysisOptions,
    models: &mut LazyModels,
) -> Result<(LinearRgb, Option<Plane>), String> {
    match matte {
        Some(t) => {
            let photo = io::read_photo(input, &options.decode).map_err(|e| e.to_string())?;
            let path = t.expand(input);
            let m = io::read_matte(&path).map_err(|e| e.to_string())?;
            let (w, h) = (photo.color.width(), photo.color.height());
            let m = if (m.width(), m.height()) == (w, h) {
                m
            } else if m.width() * h == m.height() * w {
                m.resized(w, h)
            } else {
                return Err(format!(
                    "{}: the matte is {}×{} but the photo is {w}×{h}",
                    path.display(),
                    m.width(),
                    m.height()
                ));
            };
            Ok((photo.color, Some(m)))
        }
        None => {
            let a = pipeline::analyze(input, options, models).map_err(|e| e.to_string())?;
            Ok((a.photo.color, a.matte))
        }
    }
}

/// Runs `fstop check`; returns the exit code.
pub fn run(args: &CheckArgs, config: &Config, ui: &Ui, stop: &Stop) -> Result<Exit> {
    let analysis = AnalysisArgs {
        matte: args.matte.clone(),
        matte_model: args.matte_model.clone(),
        ort_lib: args.ort_lib.clone(),
        model_dir: args.model_dir.clone(),
        ..AnalysisArgs::default()
    };
    let common = common_settings(&analysis, None, None, config)?;
    if args.inputs.len() > 1
        && let Some(t) = &common.matte
        && !t.is_template()
    {
        bail!(
            "--matte names one file but there are {} photos; use a template such as \
             '{{dir}}/{{stem}}_matte.png'",
            args.inputs.len()
        );
    }
    let options = AnalysisOptions {
        depth: None,
        // The check judges the matting model's matte, which runs with the depth model.
        depth_source: DepthSource::Model,
        matte: None,
        decode: common.decode,
    };
    let mut models = LazyModels::new(common.models.clone());
    let mut code = Exit::Ok;
    let mut out = std::io::stdout().lock();
    for input in &args.inputs {
        if let Some(exit) = stop.exit() {
            return Ok(exit);
        }
        let name = input.display().to_string();
        let (result, error) = match load(input, common.matte.as_ref(), &options, &mut models) {
            Ok((color, Some(matte))) => match headshot::check(&color, &matte) {
                Some(h) => (Some(h), None),
                None => (None, Some("no subject found in the matte".to_string())),
            },
            Ok((_, None)) => (None, Some("no subject matte".to_string())),
            Err(e) => (None, Some(e)),
        };
        if error.is_some() {
            code = Exit::Failed;
        }
        if args.json {
            let line = CheckLine {
                input: name.clone(),
                matte_source: if common.matte.is_some() {
                    "file"
                } else {
                    "model"
                },
                headshot: result.as_ref(),
                error: error.clone(),
            };
            writeln!(out, "{}", serde_json::to_string(&line)?)?;
        } else if let Some(h) = &result {
            writeln!(out, "{name}: {}", h.summary())?;
            for w in &h.warnings {
                writeln!(out, "{name}:   {}: {}", w.kind, w.message)?;
            }
        }
        if let Some(e) = error {
            let prefix = format!("{name}: ");
            ui.error(format!("{name}: {}", e.strip_prefix(&prefix).unwrap_or(&e)));
        }
    }
    out.flush()?;
    Ok(code)
}
