//! Re-runs: what happens to an output that exists already.
//!
//! Every output carries a fingerprint in its XMP ([`fstop::io::fingerprint`]): the sha256 of
//! the input's bytes and of the effective settings that change its pixels ([`settings_json`]:
//! the lens after presets, config and flags, focus, background distance, highlight recovery,
//! background, kernel, the depth and matte files' bytes or the model names, the output format
//! and the encoder's settings). Not counted: `--max-pixels`, `--jobs`, file names, saved maps,
//! logging, and fstop's own version (bump [`SETTINGS_VERSION`] when a release changes what the
//! same settings render).
//!
//! | existing output | batch | one photo | `--overwrite` |
//! |---|---|---|---|
//! | none | render (`new`) | render (`new`) | render (`new`) |
//! | fstop's, same fingerprint | skip (`up-to-date`) | replace (`replaced`) | replace (`overwrite`) |
//! | fstop's, other input bytes | render (`input-changed`) | replace (`replaced`) | replace (`overwrite`) |
//! | fstop's, other settings | render (`settings-changed`) | replace (`replaced`) | replace (`overwrite`) |
//! | up to date but a `--save-depth`/`--save-matte` file is missing | render (`saved-map-missing`) | replace | replace |
//! | no fingerprint (not made by fstop, or by an fstop without fingerprints) or unreadable | refused: the photo fails, the file is untouched (`not-made-by-fstop`) | refused | replace (`overwrite`) |

use std::path::Path;

use serde::Serialize;

use fstop::depth::DepthKind;
use fstop::grain::GrainSetting;
use fstop::io::encode::OutputFormat;
use fstop::io::fingerprint::{self, Fingerprint};
use fstop::optics::Lens;
use fstop::pipeline::DepthSource;

use super::report::Reason;
use super::validate::RenderSettings;

/// Part of every settings fingerprint: bump it when fstop starts rendering the same settings
/// differently, so that re-runs replace outputs of older versions. 2: grain matching on by
/// default, bright lights at full resolution at any blur. 3: the models' matte keeps hair
/// strands around the head and asks a second model about figures beside the subject.
pub const SETTINGS_VERSION: u32 = 3;

/// How a run treats outputs fstop made before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Batch: skip up-to-date outputs, render stale ones, refuse foreign files.
    Stale,
    /// One photo: replace fstop's own output, refuse foreign files.
    Own,
    /// `--overwrite`: replace any file.
    Any,
}

/// What to do with one photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Render(Reason),
    /// The output is up to date.
    Skip,
    /// The output is not fstop's: a one-line message naming it.
    Refuse(String),
}

/// The settings that change an output's pixels, in a stable form for hashing.
#[derive(Debug, Serialize)]
struct PixelSettings<'a> {
    version: u32,
    lens: &'a Lens,
    focus: String,
    background_distance_m: String,
    highlight_threshold: f32,
    highlight_gain: f32,
    background: String,
    /// `--grain` when not `auto` (so `auto` keeps earlier fingerprints; see the report).
    #[serde(skip_serializing_if = "Option::is_none")]
    grain: Option<String>,
    kernel: String,
    /// sha256 of the depth file and how it is read.
    depth_file: Option<(String, Option<DepthKind>)>,
    /// sha256 of the matte file.
    matte_file: Option<String>,
    /// The models, when they run (no depth file).
    models: Option<(&'a str, &'a str)>,
    /// `--depth-source` without a depth file, when not `auto` (so `auto` keeps the fingerprints
    /// of renders made before the option existed; the photo's own map is in its bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    depth_source: Option<&'static str>,
    format: &'static str,
    jpeg_quality: Option<u8>,
    dither: bool,
    jpeg_optimize_huffman: bool,
}

/// The serialisation of the settings that change a photo's pixels (see the module
/// documentation); `depth` and `matte` are the bytes of the depth and matte files used.
pub fn settings_json(
    settings: &RenderSettings,
    depth: Option<&[u8]>,
    matte: Option<&[u8]>,
    format: OutputFormat,
) -> String {
    let lens = &settings.lens;
    let encode = &settings.common.encode;
    let record = PixelSettings {
        version: SETTINGS_VERSION,
        lens: &lens.settings.lens,
        focus: lens.settings.focus.to_string(),
        background_distance_m: format!("{}", lens.settings.background_distance_m),
        highlight_threshold: lens.highlights.threshold,
        highlight_gain: lens.highlights.gain,
        background: format!("{:?}", lens.background),
        grain: (lens.grain != GrainSetting::Auto).then(|| lens.grain.to_string()),
        kernel: format!("{:?}", settings.common.kernel),
        depth_file: depth.map(|d| {
            (
                fingerprint::sha256_hex(d),
                settings.common.depth.as_ref().and_then(|(_, kind)| *kind),
            )
        }),
        matte_file: matte.map(fingerprint::sha256_hex),
        models: depth.is_none().then_some((
            settings.common.models.depth_model.as_str(),
            settings.common.models.matte_model.as_str(),
        )),
        depth_source: match (depth, settings.common.depth_source) {
            (None, DepthSource::Model) => Some("model"),
            (None, DepthSource::Embedded) => Some("embedded"),
            _ => None,
        },
        format: match format {
            OutputFormat::Jpeg => "jpeg",
            OutputFormat::Png => "png",
            OutputFormat::Tiff => "tiff",
        },
        jpeg_quality: (format == OutputFormat::Jpeg).then_some(encode.jpeg_quality),
        dither: encode.dither,
        jpeg_optimize_huffman: encode.jpeg_optimize_huffman,
    };
    serde_json::to_string(&record).expect("settings serialise")
}

/// Decides what to do with `output` (see the module documentation). `wanted` is the
/// fingerprint the new render would carry; `saved_maps` the `--save-depth`/`--save-matte` files
/// asked for.
pub fn decide(
    output: &Path,
    replace: Replace,
    wanted: &Fingerprint,
    saved_maps: &[&Path],
    max_pixels: u64,
) -> Decision {
    if !output.is_file() {
        return Decision::Render(Reason::New);
    }
    if replace == Replace::Any {
        return Decision::Render(Reason::Overwrite);
    }
    let refuse = |why: &str| {
        Decision::Refuse(format!(
            "{} exists and {why}; it is not replaced (use --overwrite to replace it)",
            output.display()
        ))
    };
    let existing = match fingerprint::read_file_fingerprint(output, max_pixels) {
        Ok(Some(f)) => f,
        Ok(None) => {
            return refuse(
                "was not made by fstop (no fstop fingerprint in its XMP; outputs of fstop \
                 before fingerprints have none either)",
            );
        }
        Err(_) => return refuse("is not an image fstop can read"),
    };
    if replace == Replace::Own {
        return Decision::Render(Reason::Replaced);
    }
    if existing.input_sha256 != wanted.input_sha256 {
        Decision::Render(Reason::InputChanged)
    } else if existing.settings_sha256 != wanted.settings_sha256 {
        Decision::Render(Reason::SettingsChanged)
    } else if saved_maps.iter().any(|p| !p.is_file()) {
        Decision::Render(Reason::SavedMapMissing)
    } else {
        Decision::Skip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> RenderSettings {
        let config = fstop::config::Config::default();
        super::super::validate::render_settings(
            None,
            &Default::default(),
            &Default::default(),
            &Default::default(),
            &config,
        )
        .unwrap()
    }

    #[test]
    fn settings_that_change_pixels_change_the_json() {
        let s = settings();
        let base = settings_json(&s, None, None, OutputFormat::Jpeg);
        assert_eq!(base, settings_json(&s, None, None, OutputFormat::Jpeg));
        let mut f28 = s.clone();
        f28.lens.settings.lens.f_number = 2.8;
        let mut q = s.clone();
        q.common.encode.jpeg_quality = 80;
        let mut pixels = s.clone();
        pixels.common.decode.max_pixels = 10;
        assert_ne!(base, settings_json(&f28, None, None, OutputFormat::Jpeg));
        assert_ne!(base, settings_json(&q, None, None, OutputFormat::Jpeg));
        assert_ne!(
            base,
            settings_json(&s, Some(b"d"), None, OutputFormat::Jpeg)
        );
        assert_ne!(base, settings_json(&s, None, None, OutputFormat::Png));
        // Not counted: the pixel limit; JPEG quality for a PNG.
        assert_eq!(base, settings_json(&pixels, None, None, OutputFormat::Jpeg));
        assert_eq!(
            settings_json(&s, None, None, OutputFormat::Png),
            settings_json(&q, None, None, OutputFormat::Png)
        );
    }

    #[test]
    fn decisions_follow_the_table() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out.png");
        let want = Fingerprint::new(b"in", "s");
        let max = fstop::io::DEFAULT_MAX_PIXELS;
        assert_eq!(
            decide(&out, Replace::Stale, &want, &[], max),
            Decision::Render(Reason::New)
        );
        // A foreign file.
        image::RgbImage::new(4, 4).save(&out).unwrap();
        let refused = decide(&out, Replace::Stale, &want, &[], max);
        assert!(
            matches!(&refused, Decision::Refuse(m) if m.contains("not made by fstop")),
            "{refused:?}"
        );
        assert!(matches!(
            decide(&out, Replace::Own, &want, &[], max),
            Decision::Refuse(_)
        ));
        assert_eq!(
            decide(&out, Replace::Any, &want, &[], max),
            Decision::Render(Reason::Overwrite)
        );
        std::fs::write(&out, b"junk").unwrap();
        assert!(matches!(
            decide(&out, Replace::Stale, &want, &[], max),
            Decision::Refuse(m) if m.contains("not an image")
        ));
    }
}
