//! One photo from start to finish: analyse, focus, build the scene and develop it (the lens
//! blur or a studio backdrop, grain put back, the headshot check). `fstop render` runs
//! [`run_photo`] for every photo; `fstop compare` analyses once and [`develop`]s each lens.

use std::path::Path;
use std::time::Instant;

use super::{Analysis, AnalysisOptions, Focused, LazyModels, LensSettings, PipelineError};
use crate::backdrop::{Background, Studio};
use crate::grain::{self, GrainSetting};
use crate::headshot::{self, HeadshotCheck};
use crate::io::{Metadata, Photo};
use crate::optics::ValidLens;
use crate::render::{self, RenderOptions};
use crate::scene::{LinearRgb, Plane, Scene};

/// What to make of a photo: the lens and its focus, the renderer's options, what goes behind
/// the subject and the grain put back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub lens: LensSettings,
    pub render: RenderOptions,
    pub background: Background,
    pub grain: GrainSetting,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            lens: LensSettings::default(),
            render: RenderOptions::default(),
            background: Background::Blur,
            grain: GrainSetting::Off,
        }
    }
}

/// A developed scene: the image, the background's label (`blur`, `studio:NAME`,
/// `studio:NAME (auto: …)`) and the headshot check (with a matte).
#[derive(Debug, Clone)]
pub struct Developed {
    pub image: LinearRgb,
    pub background: String,
    pub headshot: Option<HeadshotCheck>,
}

/// Renders `scene` through `lens` with `look`'s background: the lens blur (with
/// `look.grain` put back where it smoothed), or the subject on a studio backdrop (which has
/// grain of its own); then checks the headshot. `look.lens` is not used (the lens is
/// focused already). A studio background needs the scene's matte
/// ([`PipelineError::StudioNeedsMatte`]).
pub fn develop(scene: &Scene, lens: &ValidLens, look: &Look) -> Result<Developed, PipelineError> {
    let (image, background) = develop_image(scene, lens, look)?;
    let headshot = scene
        .matte
        .as_ref()
        .and_then(|m| headshot::check(&image, m));
    Ok(Developed {
        image,
        background,
        headshot,
    })
}

/// [`develop`] without the headshot check (for callers that do not report it, such as
/// `fstop compare`'s lens tiles): the image and the background's label.
pub fn develop_image(
    scene: &Scene,
    lens: &ValidLens,
    look: &Look,
) -> Result<(LinearRgb, String), PipelineError> {
    Ok(match (look.background, &scene.matte) {
        (Background::Studio(tone), Some(m)) => {
            let resolved = headshot::resolve_tone(tone, &scene.color, m);
            let image = Studio::for_photo(&scene.color, m, resolved.linear).render(&scene.color, m);
            (image, resolved.label)
        }
        (Background::Studio(_), None) => return Err(PipelineError::StudioNeedsMatte),
        (Background::Blur, _) => {
            let mut image = render::render(scene, lens, &look.render);
            grain::regrain(&mut image, scene, lens, look.grain);
            (image, "blur".to_string())
        }
    })
}

/// Where [`run_photo`] is; its caller may stop it there (or save what it has).
#[derive(Debug)]
pub enum Stage<'a> {
    /// Decoded, depth and matte found; nothing focused yet.
    Analysed(&'a Analysis),
    /// Focused; about to render.
    Focused {
        focused: &'a Focused,
        matte: Option<&'a Plane>,
    },
}

/// How long each step of [`run_photo`] took, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhotoTimings {
    pub decode_ms: f64,
    pub load_ms: f64,
    pub depth_ms: f64,
    pub matte_ms: f64,
    pub focus_ms: f64,
    /// Rendering or the backdrop, the grain and the headshot check.
    pub render_ms: f64,
}

/// What [`run_photo`] made of a photo: the developed image with what the photo brings to its
/// encoding (alpha, metadata, bit depth), and how it was focused.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub developed: Developed,
    /// The photo's alpha channel, metadata and bits per channel, for its encoding.
    pub alpha: Option<Plane>,
    pub metadata: Metadata,
    pub bits_per_channel: u8,
    pub lens: ValidLens,
    pub focus_source: super::FocusSource,
    pub disparity_per_m: Plane,
    pub matte: Option<Plane>,
    pub timings: PhotoTimings,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// One photo, given as its file's `bytes` (read from `path`, which names it in messages; freed
/// once decoded): analyse
/// ([`super::analyze_bytes`]), focus with `look.lens`, build the scene and [`develop`] it.
/// `at` is called at each [`Stage`]; an error it returns stops the photo there and is
/// returned (a batch's interruption, a depth map it could not save).
pub fn run_photo<E: From<PipelineError>>(
    path: &Path,
    bytes: Vec<u8>,
    options: &AnalysisOptions,
    look: &Look,
    models: &mut LazyModels,
    mut at: impl FnMut(Stage<'_>) -> Result<(), E>,
) -> Result<Outcome, E> {
    let analysis = super::analyze_bytes(path, &bytes, options, models)?;
    drop(bytes);
    at(Stage::Analysed(&analysis))?;
    let analysed = analysis.timings;
    let t = Instant::now();
    let (focused, photo, matte) = analysis.into_focused(&look.lens)?;
    let focus_ms = ms_since(t);
    at(Stage::Focused {
        focused: &focused,
        matte: matte.as_ref(),
    })?;
    let Focused {
        lens,
        disparity_per_m,
        focus_source,
        ..
    } = focused;
    let Photo {
        color,
        alpha,
        metadata,
        bits_per_channel,
        ..
    } = photo;
    let scene = Scene::new(color, disparity_per_m, matte).map_err(PipelineError::from)?;
    let t = Instant::now();
    let developed = develop(&scene, &lens, look)?;
    let render_ms = ms_since(t);
    let Scene {
        color,
        disparity_per_m,
        matte,
    } = scene;
    drop(color);
    Ok(Outcome {
        developed,
        alpha,
        metadata,
        bits_per_channel,
        lens,
        focus_source,
        disparity_per_m,
        matte,
        timings: PhotoTimings {
            decode_ms: analysed.decode_ms,
            load_ms: analysed.load_ms,
            depth_ms: analysed.depth_ms,
            matte_ms: analysed.matte_ms,
            focus_ms,
            render_ms,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backdrop::Tone;
    use crate::depth::DepthKind;
    use crate::infer::ModelConfig;
    use crate::io::encode::OutputFormat;
    use crate::io::{self, EncodeOptions};
    use crate::pipeline::DepthFile;

    /// A 48×32 photo (a warm square before a striped wall) as PNG bytes, with its depth in
    /// metres (subject 1.5 m, wall 6 m) and matte as files in `dir`.
    fn portrait(dir: &Path) -> (Vec<u8>, AnalysisOptions) {
        let (w, h) = (48, 32);
        let subject = |x: usize, y: usize| (16..32).contains(&x) && (8..28).contains(&y);
        let mut photo = LinearRgb::filled(w, h, [0.1; 3]);
        let (mut depth, mut matte) = (Vec::new(), Vec::new());
        for y in 0..h {
            for x in 0..w {
                let wall = if x % 6 < 3 { 0.8 } else { 0.1 };
                photo.set(
                    x,
                    y,
                    if subject(x, y) {
                        [0.7, 0.4, 0.3]
                    } else {
                        [wall; 3]
                    },
                );
                depth.push(if subject(x, y) { 1.5f32 } else { 6.0 });
                matte.push(if subject(x, y) { 1.0f32 } else { 0.0 });
            }
        }
        let options = EncodeOptions::default();
        let (png, _) = io::encode_photo(
            OutputFormat::Png,
            &photo,
            None,
            &Metadata::default(),
            16,
            &options,
        )
        .unwrap();
        let depth_path = dir.join("depth.png");
        let matte_path = dir.join("matte.png");
        // 16-bit PNG depth is relative disparity: brighter is nearer.
        let disparity = Plane::from_vec(w, h, depth.iter().map(|z| 1.0 / z).collect());
        io::write_plane_png16(&depth_path, &disparity, 0.0, 1.0).unwrap();
        io::write_plane_png16(&matte_path, &Plane::from_vec(w, h, matte), 0.0, 1.0).unwrap();
        let analysis = AnalysisOptions {
            depth: Some(DepthFile {
                path: depth_path,
                kind: Some(DepthKind::Disparity),
            }),
            matte: Some(matte_path),
            decode: Default::default(),
            depth_source: Default::default(),
        };
        (png, analysis)
    }

    fn models() -> LazyModels {
        LazyModels::new(ModelConfig::default())
    }

    #[test]
    fn run_photo_is_analyze_focus_and_develop() {
        let dir = tempfile::tempdir().unwrap();
        let (png, options) = portrait(dir.path());
        let path = dir.path().join("photo.png");
        let look = Look {
            grain: GrainSetting::Level(6.0),
            ..Look::default()
        };
        let mut stages = Vec::new();
        let outcome = run_photo::<PipelineError>(
            &path,
            png.clone(),
            &options,
            &look,
            &mut models(),
            |stage| {
                stages.push(match stage {
                    Stage::Analysed(_) => "analysed",
                    Stage::Focused { matte, .. } => {
                        assert!(matte.is_some());
                        "focused"
                    }
                });
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(stages, ["analysed", "focused"]);
        // The same steps by hand give the same image, bit for bit.
        let analysis =
            crate::pipeline::analyze_bytes(&path, &png, &options, &mut models()).unwrap();
        let (focused, photo, matte) = analysis.into_focused(&look.lens).unwrap();
        assert_eq!(outcome.lens, focused.lens);
        assert_eq!(outcome.disparity_per_m, focused.disparity_per_m);
        let scene = Scene::new(photo.color, focused.disparity_per_m, matte).unwrap();
        let mut image = render::render(&scene, &focused.lens, &look.render);
        grain::regrain(&mut image, &scene, &focused.lens, look.grain);
        assert_eq!(outcome.developed.image, image);
        assert_ne!(
            image,
            render::render(&scene, &focused.lens, &look.render),
            "grain was put back"
        );
        assert_eq!(outcome.developed.background, "blur");
        assert_eq!(outcome.bits_per_channel, 16);
        assert_eq!(outcome.matte, scene.matte);
    }

    #[test]
    fn run_photo_stops_where_its_caller_says() {
        #[derive(Debug, PartialEq)]
        enum Stop {
            Here,
            Pipeline(String),
        }
        impl From<PipelineError> for Stop {
            fn from(e: PipelineError) -> Self {
                Stop::Pipeline(e.to_string())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (png, options) = portrait(dir.path());
        let path = dir.path().join("photo.png");
        let mut seen = 0;
        let err = run_photo(
            &path,
            png,
            &options,
            &Look::default(),
            &mut models(),
            |stage| {
                seen += 1;
                match stage {
                    Stage::Analysed(_) => Ok(()),
                    Stage::Focused { .. } => Err(Stop::Here),
                }
            },
        )
        .unwrap_err();
        assert_eq!((err, seen), (Stop::Here, 2));
        // A photo that does not decode fails before any stage.
        let err = run_photo::<PipelineError>(
            &path,
            b"not a photo".to_vec(),
            &options,
            &Look::default(),
            &mut models(),
            |_| panic!("no stage"),
        )
        .unwrap_err();
        assert!(matches!(err, PipelineError::Io(_)), "{err:?}");
    }

    #[test]
    fn develop_backgrounds() {
        let dir = tempfile::tempdir().unwrap();
        let (png, options) = portrait(dir.path());
        let path = dir.path().join("photo.png");
        let analysis =
            crate::pipeline::analyze_bytes(&path, &png, &options, &mut models()).unwrap();
        let focused = analysis.focus(&LensSettings::default()).unwrap();
        let scene = Scene::new(
            analysis.photo.color.clone(),
            focused.disparity_per_m.clone(),
            analysis.matte.clone(),
        )
        .unwrap();
        let studio = Look {
            background: Background::Studio(Tone::Auto),
            grain: GrainSetting::Level(6.0),
            ..Look::default()
        };
        let d = develop(&scene, &focused.lens, &studio).unwrap();
        assert!(d.background.starts_with("studio:"), "{}", d.background);
        assert_ne!(
            d.image,
            render::render(&scene, &focused.lens, &studio.render)
        );
        // Without a matte there is no subject to put on a backdrop.
        let bare = Scene {
            matte: None,
            ..scene.clone()
        };
        assert!(matches!(
            develop(&bare, &focused.lens, &studio),
            Err(PipelineError::StudioNeedsMatte)
        ));
        // The blur without grain is the renderer's image.
        let d = develop(&bare, &focused.lens, &Look::default()).unwrap();
        assert_eq!(
            d.image,
            render::render(&bare, &focused.lens, &RenderOptions::default())
        );
        assert!(d.headshot.is_none());
    }
}
