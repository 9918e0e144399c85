//! The settings a preset, a configuration file and the command line share: the lens (focal
//! length, f-number, sensor, aperture blades), highlight recovery and the background. One
//! schema: each field is named, range-checked and applied here, once; presets and
//! configuration files read it from their TOML with [`LensFields::from_toml`], the command line
//! builds one from its flags and calls [`LensFields::check`]. A new lens trait is one field
//! here (and its flag).
//!
//! Every field is optional: a layer sets only what it names, on top of the weaker layers
//! ([`LensFields::apply`]).

use serde::Deserialize;
use toml::Spanned;

use crate::backdrop::Background;
use crate::config::TomlLocatedError;
use crate::grain::GrainSetting;
use crate::optics::{Lens, Sensor};
use crate::render::HighlightOptions;

/// The shared fields (all optional). See the module documentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LensFields {
    pub focal_length_mm: Option<f64>,
    pub f_number: Option<f64>,
    /// A named format or a width (`sensor = "aps-c"`, or `sensor_width_mm = 23.5`).
    pub sensor: Option<Sensor>,
    /// Aperture blades, 3–32, or 0 for round.
    pub blades: Option<u32>,
    pub blade_rotation_deg: Option<f64>,
    /// 0 straight blades … 1 round.
    pub blade_curvature: Option<f64>,
    /// [`crate::optics::Character`]: anamorphic squeeze 1–2 (1 spherical).
    pub anamorphic_squeeze: Option<f64>,
    /// Longitudinal chromatic aberration, focal shift in µm, 0–500.
    pub chromatic_aberration_um: Option<f64>,
    /// Spherical aberration, −1…1 (positive under-corrected).
    pub spherical_aberration: Option<f64>,
    /// Cat-eye: the share of a corner disc cut away, 0–1.
    pub cat_eye: Option<f64>,
    /// Swirl (cat-eye plus field curvature), 0–1.
    pub swirl: Option<f64>,
    /// [`HighlightOptions::threshold`].
    pub highlight_threshold: Option<f32>,
    /// [`HighlightOptions::gain`].
    pub highlight_gain: Option<f32>,
    /// What goes behind the subject.
    pub background: Option<Background>,
    /// Grain put back where the render smoothed ([`crate::grain`]).
    pub grain: Option<GrainSetting>,
}

/// What layers of [`LensFields`] set, each layer over the ones before ([`LensFields::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Layered {
    pub lens: Lens,
    pub highlights: HighlightOptions,
    pub background: Background,
    /// `None` until a layer names it (the caller's default then applies).
    pub grain: Option<GrainSetting>,
}

/// The same fields as written in TOML, with their spans for messages. Other keys are left to
/// the file's own schema (see [`crate::config::refuse_unknown_keys`]).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLensFields {
    focal_length_mm: Option<Spanned<f64>>,
    f_number: Option<Spanned<f64>>,
    sensor: Option<Spanned<String>>,
    sensor_width_mm: Option<Spanned<f64>>,
    blades: Option<Spanned<u32>>,
    blade_rotation_deg: Option<Spanned<f64>>,
    blade_curvature: Option<Spanned<f64>>,
    anamorphic_squeeze: Option<Spanned<f64>>,
    chromatic_aberration_um: Option<Spanned<f64>>,
    spherical_aberration: Option<Spanned<f64>>,
    cat_eye: Option<Spanned<f64>>,
    swirl: Option<Spanned<f64>>,
    highlight_threshold: Option<Spanned<f32>>,
    highlight_gain: Option<Spanned<f32>>,
    background: Option<Spanned<String>>,
    /// `"auto"`, `"none"` or a level (number).
    grain: Option<Spanned<toml::Value>>,
}

/// A field outside its range, or a value that does not parse: the TOML key (or flag name
/// without `--`) and the message, which names the allowed range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct LensFieldError {
    pub key: &'static str,
    pub message: String,
}

impl LensFields {
    /// Reads the fields from TOML `text` (`file` names it in messages) and checks each on its
    /// own, so an error points at the offending line.
    pub fn from_toml(file: &str, text: &str) -> Result<LensFields, TomlLocatedError> {
        let raw: RawLensFields =
            toml::from_str(text).map_err(|e| TomlLocatedError::from_toml(file, text, &e))?;
        let at = |span: std::ops::Range<usize>, message: String| {
            TomlLocatedError::at(file, text, span.start, message)
        };
        let sensor = match (&raw.sensor, &raw.sensor_width_mm) {
            (Some(_), Some(w)) => {
                return Err(at(
                    w.span(),
                    "give either `sensor` or `sensor_width_mm`, not both".into(),
                ));
            }
            (Some(s), None) => {
                Some(Sensor::parse(s.get_ref()).map_err(|e| at(s.span(), e.to_string()))?)
            }
            (None, Some(w)) => Some(
                Sensor::parse(&format!("{}mm", w.get_ref()))
                    .map_err(|e| at(w.span(), e.to_string()))?,
            ),
            (None, None) => None,
        };
        let background = match &raw.background {
            Some(b) => Some(
                b.get_ref()
                    .parse::<Background>()
                    .map_err(|e| at(b.span(), e.to_string()))?,
            ),
            None => None,
        };
        let grain = match &raw.grain {
            Some(g) => {
                let text = match g.get_ref() {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    other => other.to_string(),
                };
                Some(
                    text.parse::<GrainSetting>()
                        .map_err(|e| at(g.span(), e.to_string()))?,
                )
            }
            None => None,
        };
        let plain = |v: &Option<Spanned<f64>>| v.as_ref().map(|s| *s.get_ref());
        let fields = LensFields {
            focal_length_mm: plain(&raw.focal_length_mm),
            f_number: plain(&raw.f_number),
            sensor,
            blades: raw.blades.as_ref().map(|s| *s.get_ref()),
            blade_rotation_deg: plain(&raw.blade_rotation_deg),
            blade_curvature: plain(&raw.blade_curvature),
            anamorphic_squeeze: plain(&raw.anamorphic_squeeze),
            chromatic_aberration_um: plain(&raw.chromatic_aberration_um),
            spherical_aberration: plain(&raw.spherical_aberration),
            cat_eye: plain(&raw.cat_eye),
            swirl: plain(&raw.swirl),
            highlight_threshold: raw.highlight_threshold.as_ref().map(|s| *s.get_ref()),
            highlight_gain: raw.highlight_gain.as_ref().map(|s| *s.get_ref()),
            background,
            grain,
        };
        fields.check().map_err(|e| {
            let span = raw.span_of(e.key).unwrap_or(0..0);
            at(span, e.message)
        })?;
        Ok(fields)
    }

    /// Checks each field on its own against its range (on top of the default lens, with a
    /// focus the focal length allows, so only the field itself is judged). The first problem,
    /// in the order of the fields.
    pub fn check(&self) -> Result<(), LensFieldError> {
        let lens_field = |key: &'static str, set: &dyn Fn(&mut Lens)| {
            let mut lens = Lens::default();
            set(&mut lens);
            if lens.focal_length_mm.is_finite() {
                lens.focus_distance_m = (lens.focal_length_mm / 1000.0 * 2.0).max(2.0);
            }
            lens.validate().map(|_| ()).map_err(|e| LensFieldError {
                key,
                message: e.to_string(),
            })
        };
        if let Some(v) = self.focal_length_mm {
            lens_field("focal_length_mm", &|l| l.focal_length_mm = v)?;
        }
        if let Some(v) = self.f_number {
            lens_field("f_number", &|l| l.f_number = v)?;
        }
        if let Some(v) = self.sensor {
            lens_field("sensor", &|l| l.sensor = v)?;
        }
        if let Some(v) = self.blades {
            lens_field("blades", &|l| l.aperture.blades = v)?;
        }
        if let Some(v) = self.blade_rotation_deg {
            lens_field("blade_rotation_deg", &|l| l.aperture.blade_rotation_deg = v)?;
        }
        if let Some(v) = self.blade_curvature {
            lens_field("blade_curvature", &|l| l.aperture.blade_curvature = v)?;
        }
        if let Some(v) = self.anamorphic_squeeze {
            lens_field("anamorphic_squeeze", &|l| {
                l.character.anamorphic_squeeze = v;
            })?;
        }
        if let Some(v) = self.chromatic_aberration_um {
            lens_field("chromatic_aberration_um", &|l| {
                l.character.chromatic_aberration_um = v;
            })?;
        }
        if let Some(v) = self.spherical_aberration {
            lens_field("spherical_aberration", &|l| {
                l.character.spherical_aberration = v;
            })?;
        }
        if let Some(v) = self.cat_eye {
            lens_field("cat_eye", &|l| l.character.cat_eye = v)?;
        }
        if let Some(v) = self.swirl {
            lens_field("swirl", &|l| l.character.swirl = v)?;
        }
        if let Some(v) = self.highlight_threshold
            && !(v.is_finite() && (0.0..=1.0).contains(&v))
        {
            return Err(LensFieldError {
                key: "highlight_threshold",
                message: format!("highlight threshold {v} is outside 0–1"),
            });
        }
        if let Some(v) = self.highlight_gain
            && !(v.is_finite() && (0.0..=100.0).contains(&v))
        {
            return Err(LensFieldError {
                key: "highlight_gain",
                message: format!("highlight gain {v} is outside 0–100"),
            });
        }
        if let Some(g) = self.grain
            && !g.in_range()
        {
            return Err(LensFieldError {
                key: "grain",
                message: crate::grain::GrainError(g.to_string()).to_string(),
            });
        }
        Ok(())
    }

    /// Sets what this layer names on the lens, the highlight options, the background and the
    /// grain (others are left as they are).
    pub fn apply(&self, to: &mut Layered) {
        let Layered {
            lens,
            highlights,
            background: bg,
            grain,
        } = to;
        let set = |target: &mut f64, v: Option<f64>| {
            if let Some(v) = v {
                *target = v;
            }
        };
        set(&mut lens.focal_length_mm, self.focal_length_mm);
        set(&mut lens.f_number, self.f_number);
        set(
            &mut lens.aperture.blade_rotation_deg,
            self.blade_rotation_deg,
        );
        set(&mut lens.aperture.blade_curvature, self.blade_curvature);
        let character = &mut lens.character;
        set(&mut character.anamorphic_squeeze, self.anamorphic_squeeze);
        set(
            &mut character.chromatic_aberration_um,
            self.chromatic_aberration_um,
        );
        set(
            &mut character.spherical_aberration,
            self.spherical_aberration,
        );
        set(&mut character.cat_eye, self.cat_eye);
        set(&mut character.swirl, self.swirl);
        if let Some(v) = self.sensor {
            lens.sensor = v;
        }
        if let Some(v) = self.blades {
            lens.aperture.blades = v;
        }
        if let Some(v) = self.highlight_threshold {
            highlights.threshold = v;
        }
        if let Some(v) = self.highlight_gain {
            highlights.gain = v;
        }
        if let Some(v) = self.background {
            *bg = v;
        }
        if let Some(v) = self.grain {
            *grain = Some(v);
        }
    }

    /// Only the optical fields applied to `lens` (for callers without highlights or a
    /// background, e.g. listings).
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn apply_to_lens(&self, lens: &mut Lens) {
        let mut to = Layered {
            lens: *lens,
            ..Layered::default()
        };
        self.apply(&mut to);
        *lens = to.lens;
    }
}

impl RawLensFields {
    /// The span of the value behind `key` (for `sensor`, whichever of the two keys was given).
    fn span_of(&self, key: &str) -> Option<std::ops::Range<usize>> {
        fn span<T>(v: &Option<Spanned<T>>) -> Option<std::ops::Range<usize>> {
            v.as_ref().map(Spanned::span)
        }
        match key {
            "focal_length_mm" => span(&self.focal_length_mm),
            "f_number" => span(&self.f_number),
            "sensor" => span(&self.sensor).or_else(|| span(&self.sensor_width_mm)),
            "blades" => span(&self.blades),
            "blade_rotation_deg" => span(&self.blade_rotation_deg),
            "blade_curvature" => span(&self.blade_curvature),
            "anamorphic_squeeze" => span(&self.anamorphic_squeeze),
            "chromatic_aberration_um" => span(&self.chromatic_aberration_um),
            "spherical_aberration" => span(&self.spherical_aberration),
            "cat_eye" => span(&self.cat_eye),
            "swirl" => span(&self.swirl),
            "highlight_threshold" => span(&self.highlight_threshold),
            "highlight_gain" => span(&self.highlight_gain),
            "background" => span(&self.background),
            "grain" => span(&self.grain),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &str = "focal_length_mm = 135.0\nf_number = 2.0\nsensor = \"aps-c\"\n\
                       blades = 7\nblade_rotation_deg = 10.0\nblade_curvature = 0.5\n\
                       highlight_threshold = 0.9\nhighlight_gain = 6.0\n\
                       background = \"studio\"\nother_key = 1\n\
                       anamorphic_squeeze = 1.33\nchromatic_aberration_um = 40.0\n\
                       spherical_aberration = -0.5\ngrain = 2.5\n\
                       cat_eye = 0.4\nswirl = 0.7\n";

    #[test]
    fn reads_every_field_and_leaves_other_keys_alone() {
        let f = LensFields::from_toml("t.toml", ALL).unwrap();
        assert_eq!(f.focal_length_mm, Some(135.0));
        assert_eq!(f.f_number, Some(2.0));
        assert_eq!(f.sensor, Some(Sensor::ApsC));
        assert_eq!(f.blades, Some(7));
        assert_eq!(f.blade_rotation_deg, Some(10.0));
        assert_eq!(f.blade_curvature, Some(0.5));
        assert_eq!(f.highlight_threshold, Some(0.9));
        assert_eq!(f.highlight_gain, Some(6.0));
        assert!(f.background.is_some());
        assert_eq!(f.grain, Some(GrainSetting::Level(2.5)));
        assert_eq!((f.cat_eye, f.swirl), (Some(0.4), Some(0.7)));
        let width = LensFields::from_toml("t.toml", "sensor_width_mm = 23.5\n").unwrap();
        assert_eq!(width.sensor, Some(Sensor::Custom { width_mm: 23.5 }));
        assert_eq!(
            LensFields::from_toml("t.toml", "").unwrap(),
            LensFields::default()
        );
        // The keys files may use (unknown-key checks read them from the struct).
        let keys = crate::config::struct_fields::<RawLensFields>();
        assert_eq!(keys.len(), 16);
        assert!(keys.contains(&"sensor_width_mm") && keys.contains(&"background"));
    }

    #[test]
    fn each_error_points_at_its_line_and_names_the_range() {
        for (text, line, needle) in [
            ("f_number = 1.8\nfocal_length_mm = 5.0\n", 2, "10–800 mm"),
            ("blades = 2\n", 1, "3–32"),
            ("\n\nf_number = 0.5\n", 3, "0.95–22"),
            ("highlight_threshold = 2.0\n", 1, "outside 0–1"),
            ("highlight_gain = -1.0\n", 1, "outside 0–100"),
            ("grain = 30\n", 1, "level 0–20"),
            ("grain = \"lots\"\n", 1, "not auto, none"),
            ("anamorphic_squeeze = 2.5\n", 1, "outside 1–2"),
            ("chromatic_aberration_um = -3.0\n", 1, "outside 0–500 µm"),
            ("spherical_aberration = 1.5\n", 1, "outside -1–1"),
            ("\ncat_eye = 1.2\n", 2, "cat-eye 1.2 is outside 0–1"),
            ("swirl = -0.1\n", 1, "swirl -0.1 is outside 0–1"),
            (
                "sensor = \"aps-c\"\nsensor_width_mm = 20.0\n",
                2,
                "not both",
            ),
            ("sensor = \"potato\"\n", 1, "potato"),
            ("background = \"plaid\"\n", 1, "plaid"),
        ] {
            let e = LensFields::from_toml("t.toml", text).unwrap_err();
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn apply_sets_only_what_a_layer_names() {
        let mut to = Layered::default();
        let before = to;
        LensFields::default().apply(&mut to);
        assert_eq!(to, before);
        let f = LensFields::from_toml("t.toml", ALL).unwrap();
        f.apply(&mut to);
        let Layered {
            lens,
            highlights: hl,
            background: bg,
            ..
        } = to;
        let before = (before.lens, before.highlights, before.background);
        assert_eq!(lens.focal_length_mm, 135.0);
        assert_eq!(lens.aperture.blades, 7);
        assert_eq!(lens.sensor, Sensor::ApsC);
        assert_eq!(lens.character.anamorphic_squeeze, 1.33);
        assert_eq!(lens.character.chromatic_aberration_um, 40.0);
        assert_eq!(lens.character.spherical_aberration, -0.5);
        assert_eq!((lens.character.cat_eye, lens.character.swirl), (0.4, 0.7));
        assert_eq!((hl.threshold, hl.gain), (0.9, 6.0));
        assert_eq!(bg, f.background.unwrap());
        assert_eq!(lens.focus_distance_m, before.0.focus_distance_m);
    }
}
