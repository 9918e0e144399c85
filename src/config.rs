//! Settings that come from text: values with units (`85mm`, `2m`, `f/1.8`, `inf`) and the
//! `fstop.toml` configuration file.
//!
//! A configuration file holds defaults for command-line options (keys are the long option names
//! with `-` written as `_`, lens fields with their unit in the name as in presets). Unknown keys
//! are refused; every error names the file, line and column. The batch keys (`jobs`, `name`,
//! `overwrite`, `recursive`, `fail_fast`, `exclude`) belong to the command line, which reads
//! them as its own [`ConfigSection`] from the same file ([`Config::load_with`]).
//!
//! ```toml
//! preset = "135mm-f2"
//! f_number = 2.8
//! focus = "auto"            # or 2.5, or "250cm"
//! background_distance_m = "inf"
//! jobs = 2
//! name = "{stem}-{preset}.{ext}"
//! background = "studio"     # blur, studio, studio:NAME or studio:#RRGGBB
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::focus_point::FocusPoint;
use crate::io::limits::{MAX_SETTINGS_FILE_BYTES, read_regular_text_file};
use crate::lens_fields::{LensFields, RawLensFields};

/// A value that could not be read as a quantity with a unit.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("'{text}' is not a valid {what} (expected e.g. {examples})")]
pub struct UnitError {
    pub text: String,
    pub what: &'static str,
    pub examples: &'static str,
}

fn unit_error(text: &str, what: &'static str, examples: &'static str) -> UnitError {
    UnitError {
        text: text.to_string(),
        what,
        examples,
    }
}

fn number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok()
}

fn is_infinity(t: &str) -> bool {
    matches!(t, "inf" | "infinity" | "∞" | "+inf")
}

/// A distance in metres: `2`, `2m`, `200cm`, `2000mm`, `inf`.
pub fn parse_distance_m(text: &str) -> Result<f64, UnitError> {
    const EX: &str = "2, 2m, 250cm, 1800mm or inf";
    let t = text.trim().to_ascii_lowercase();
    if is_infinity(&t) {
        return Ok(f64::INFINITY);
    }
    let (digits, scale) = if let Some(v) = t.strip_suffix("mm") {
        (v, 0.001)
    } else if let Some(v) = t.strip_suffix("cm") {
        (v, 0.01)
    } else if let Some(v) = t.strip_suffix('m') {
        (v, 1.0)
    } else {
        (t.as_str(), 1.0)
    };
    number(digits)
        .map(|v| v * scale)
        .ok_or_else(|| unit_error(text, "distance", EX))
}

/// A length in millimetres (focal length, sensor width): `85`, `85mm`, `8.5cm`.
pub fn parse_length_mm(text: &str) -> Result<f64, UnitError> {
    const EX: &str = "85 or 85mm";
    let t = text.trim().to_ascii_lowercase();
    let (digits, scale) = if let Some(v) = t.strip_suffix("mm") {
        (v, 1.0)
    } else if let Some(v) = t.strip_suffix("cm") {
        (v, 10.0)
    } else {
        (t.as_str(), 1.0)
    };
    number(digits)
        .map(|v| v * scale)
        .ok_or_else(|| unit_error(text, "length in millimetres", EX))
}

/// An f-number: `1.8`, `f/1.8`, `f1.8`, `F/1.8`.
pub fn parse_f_number(text: &str) -> Result<f64, UnitError> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .strip_prefix("f/")
        .or_else(|| t.strip_prefix('f'))
        .unwrap_or(&t);
    number(digits).ok_or_else(|| unit_error(text, "f-number", "1.8 or f/1.8"))
}

/// An angle in degrees: `30`, `30deg`, `30°`.
pub fn parse_degrees(text: &str) -> Result<f64, UnitError> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .strip_suffix("deg")
        .or_else(|| t.strip_suffix('°'))
        .unwrap_or(&t);
    number(digits).ok_or_else(|| unit_error(text, "angle in degrees", "30 or 30deg"))
}

/// Where to focus.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum FocusSetting {
    /// On the subject (see `pipeline`).
    #[default]
    Auto,
    /// At a fixed distance in metres.
    Distance(f64),
    /// At the depth under a point of the photo (tap-to-focus).
    At(FocusPoint),
}

/// `auto` or a distance (`2.5`, `2.5m`, `250cm`).
pub fn parse_focus(text: &str) -> Result<FocusSetting, UnitError> {
    if text.trim().eq_ignore_ascii_case("auto") {
        return Ok(FocusSetting::Auto);
    }
    parse_distance_m(text)
        .map(FocusSetting::Distance)
        .map_err(|_| unit_error(text, "focus", "auto, 2.5, 2.5m or 250cm"))
}

impl fmt::Display for FocusSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FocusSetting::Auto => f.write_str("auto"),
            FocusSetting::Distance(m) => write!(f, "{m} m"),
            FocusSetting::At(p) => write!(f, "at {p}"),
        }
    }
}

/// Line and column (1-based) of a byte offset in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// A problem in a TOML file (a preset or a configuration), located at `line:column`.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct TomlLocatedError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl TomlLocatedError {
    /// From a TOML parse or schema error (which carries the byte span of the problem).
    pub fn from_toml(file: &str, text: &str, error: &toml::de::Error) -> TomlLocatedError {
        let (line, column) = error
            .span()
            .map_or((1, 1), |span| line_column(text, span.start));
        TomlLocatedError {
            file: file.to_string(),
            line,
            column,
            message: error.message().trim().to_string(),
        }
    }

    /// For a value that parsed as TOML but is not acceptable.
    pub fn at_span<T>(
        file: &str,
        text: &str,
        value: &Spanned<T>,
        message: impl Into<String>,
    ) -> TomlLocatedError {
        TomlLocatedError::at(file, text, value.span().start, message)
    }

    /// At byte offset `start` of `text`.
    pub fn at(file: &str, text: &str, start: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, start);
        TomlLocatedError {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// The field names of a struct's `Deserialize` implementation (what serde would accept).
pub fn struct_fields<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    /// A deserializer that only records the field list serde hands it.
    struct Fields<'a>(&'a mut &'static [&'static str]);
    #[derive(Debug)]
    struct Stop;
    impl std::fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl serde::de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> serde::Deserializer<'de> for Fields<'_> {
        type Error = Stop;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            *self.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Refuses a top-level key of TOML `text` that none of the `schemas` (lists of field names)
/// knows, at the key's line and column, naming the keys allowed (as serde's
/// `deny_unknown_fields` would, for a file whose schema is split over several structs).
pub(crate) fn refuse_unknown_keys(
    file: &str,
    text: &str,
    schemas: &[&[&str]],
) -> Result<(), TomlLocatedError> {
    let table =
        toml::de::DeTable::parse(text).map_err(|e| TomlLocatedError::from_toml(file, text, &e))?;
    let known = || schemas.iter().flat_map(|s| s.iter().copied());
    for key in table.get_ref().keys() {
        let name: &str = key.get_ref();
        if !known().any(|k| k == name) {
            let expected: Vec<String> = known().map(|k| format!("`{k}`")).collect();
            return Err(TomlLocatedError::at(
                file,
                text,
                key.span().start,
                format!(
                    "unknown field `{name}`, expected one of {}",
                    expected.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A number or a text with a unit, as a TOML value (`2.5` or `"2.5m"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum NumberOrText {
    Number(f64),
    Text(String),
}

impl NumberOrText {
    fn parse<T>(&self, parse: impl Fn(&str) -> Result<T, UnitError>) -> Result<T, UnitError> {
        match self {
            NumberOrText::Number(v) => parse(&v.to_string()),
            NumberOrText::Text(t) => parse(t),
        }
    }
}

/// The raw configuration file, besides the shared lens fields ([`LensFields`]). See the
/// module documentation.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct RawConfig {
    preset: Option<Spanned<String>>,
    description: Option<String>,
    focus: Option<Spanned<NumberOrText>>,
    background_distance_m: Option<Spanned<NumberOrText>>,
    depth_kind: Option<Spanned<String>>,
    depth_source: Option<Spanned<String>>,
    depth_model: Option<String>,
    matte_model: Option<String>,
    ort_lib: Option<PathBuf>,
    model_dir: Option<PathBuf>,
    jpeg_quality: Option<Spanned<u8>>,
    strip_metadata: Option<Spanned<String>>,
    max_pixels: Option<Spanned<u64>>,
    kernel: Option<Spanned<String>>,
}

/// A configuration file, read and checked. Every field is optional: it is a default for the
/// command-line option of the same name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file it came from (for messages).
    pub file: Option<PathBuf>,
    pub preset: Option<String>,
    /// Lens, highlight and background fields (as in presets).
    pub lens: LensFields,
    pub focus: Option<FocusSetting>,
    pub background_distance_m: Option<f64>,
    pub depth_kind: Option<crate::depth::DepthKind>,
    /// `auto`, `model` or `embedded`.
    pub depth_source: Option<crate::pipeline::DepthSource>,
    pub depth_model: Option<String>,
    pub matte_model: Option<String>,
    pub ort_lib: Option<PathBuf>,
    pub model_dir: Option<PathBuf>,
    pub jpeg_quality: Option<u8>,
    /// `none`, `gps` or `all`.
    pub strip_metadata: Option<crate::io::StripMetadata>,
    pub max_pixels: Option<u64>,
    pub kernel: Option<crate::render::KernelKind>,
}

/// Keys a caller adds to the configuration file (the command line's batch keys): their names,
/// and how to read them from the file's text. `()` adds none.
pub trait ConfigSection: Sized {
    /// The keys this section reads; [`Config::parse_with`] refuses any key that neither the
    /// library nor the section knows.
    fn keys() -> &'static [&'static str];
    /// Reads the section's keys from the whole file's text (other keys are left alone).
    fn parse(file: &str, text: &str) -> Result<Self, TomlLocatedError>;
}

impl ConfigSection for () {
    fn keys() -> &'static [&'static str] {
        &[]
    }

    fn parse(_file: &str, _text: &str) -> Result<(), TomlLocatedError> {
        Ok(())
    }
}

/// A configuration file could not be read or is invalid.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] TomlLocatedError),
}

/// Parses a depth kind name.
pub(crate) fn parse_depth_kind(text: &str) -> Option<crate::depth::DepthKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "metres" | "meters" | "metric" | "m" => Some(crate::depth::DepthKind::Metres),
        "disparity" | "relative" => Some(crate::depth::DepthKind::Disparity),
        _ => None,
    }
}

/// Parses a `depth_source` value: `auto`, `model` or `embedded`.
pub(crate) fn parse_depth_source(text: &str) -> Option<crate::pipeline::DepthSource> {
    use crate::pipeline::DepthSource;
    match text.trim().to_ascii_lowercase().as_str() {
        "auto" => Some(DepthSource::Auto),
        "model" => Some(DepthSource::Model),
        "embedded" => Some(DepthSource::Embedded),
        _ => None,
    }
}

/// Parses a `strip_metadata` value: `none`, `gps` or `all`.
pub(crate) fn parse_strip_metadata(text: &str) -> Option<crate::io::StripMetadata> {
    use crate::io::StripMetadata;
    match text.trim().to_ascii_lowercase().as_str() {
        "none" => Some(StripMetadata::None),
        "gps" => Some(StripMetadata::Gps),
        "all" => Some(StripMetadata::All),
        _ => None,
    }
}

/// Parses a kernel name.
pub(crate) fn parse_kernel(text: &str) -> Option<crate::render::KernelKind> {
    match text.trim().to_ascii_lowercase().as_str() {
        "fast" => Some(crate::render::KernelKind::Fast),
        "reference" => Some(crate::render::KernelKind::Reference),
        _ => None,
    }
}

/// Makes a located error for the value at a byte span of the file.
type Locate<'a> = dyn Fn(std::ops::Range<usize>, String) -> TomlLocatedError + 'a;

/// A quantity with a unit (`focus`, `background_distance_m`), read by `parse`.
fn quantity<T>(
    value: &Option<Spanned<NumberOrText>>,
    parse: impl Fn(&str) -> Result<T, UnitError>,
    locate: &Locate<'_>,
) -> Result<Option<T>, TomlLocatedError> {
    value
        .as_ref()
        .map(|v| {
            v.get_ref()
                .parse(parse)
                .map_err(|e| locate(v.span(), e.to_string()))
        })
        .transpose()
}

/// A name out of a few (`kernel = "fast"`): `parse` knows them; an unknown one is refused as
/// "unknown KEY 'VALUE' (expected NAMES)".
fn named<T>(
    value: &Option<Spanned<String>>,
    parse: fn(&str) -> Option<T>,
    key: &str,
    names: &str,
    locate: &Locate<'_>,
) -> Result<Option<T>, TomlLocatedError> {
    value
        .as_ref()
        .map(|v| {
            parse(v.get_ref()).ok_or_else(|| {
                locate(
                    v.span(),
                    format!("unknown {key} '{}' (expected {names})", v.get_ref()),
                )
            })
        })
        .transpose()
}

impl RawConfig {
    /// The values that read but are out of range: a background distance that is not positive,
    /// a JPEG quality outside 1–100, a pixel limit of 0.
    fn check_ranges(&self, locate: &Locate<'_>) -> Result<(), TomlLocatedError> {
        if let Some(v) = &self.background_distance_m
            && let Ok(b) = v.get_ref().parse(parse_distance_m)
            && (b.is_nan() || b <= 0.0)
        {
            return Err(locate(
                v.span(),
                format!("background distance {b} m must be positive (or inf)"),
            ));
        }
        if let Some(q) = &self.jpeg_quality
            && !(1..=100).contains(q.get_ref())
        {
            return Err(locate(
                q.span(),
                format!("jpeg_quality {} is outside 1–100", q.get_ref()),
            ));
        }
        if let Some(m) = &self.max_pixels
            && *m.get_ref() == 0
        {
            return Err(locate(m.span(), "max_pixels must be at least 1".into()));
        }
        Ok(())
    }

    /// Reads every value (units, names) and checks the ranges: the checked [`Config`], with
    /// the lens fields read apart. The first problem in the file's key order of this function
    /// is reported, located by `locate`.
    fn check(self, lens: LensFields, locate: &Locate<'_>) -> Result<Config, TomlLocatedError> {
        let focus = quantity(&self.focus, parse_focus, locate)?;
        let background_distance_m =
            quantity(&self.background_distance_m, parse_distance_m, locate)?;
        let depth_kind = named(
            &self.depth_kind,
            parse_depth_kind,
            "depth kind",
            "metres or disparity",
            locate,
        )?;
        let depth_source = named(
            &self.depth_source,
            parse_depth_source,
            "depth_source",
            "auto, model or embedded",
            locate,
        )?;
        let kernel = named(
            &self.kernel,
            parse_kernel,
            "kernel",
            "fast or reference",
            locate,
        )?;
        let strip_metadata = named(
            &self.strip_metadata,
            parse_strip_metadata,
            "strip_metadata",
            "none, gps or all",
            locate,
        )?;
        self.check_ranges(locate)?;
        let _ = self.description; // for people reading the file
        Ok(Config {
            file: None,
            preset: self.preset.map(Spanned::into_inner),
            lens,
            focus,
            background_distance_m,
            depth_kind,
            depth_source,
            depth_model: self.depth_model,
            matte_model: self.matte_model,
            ort_lib: self.ort_lib,
            model_dir: self.model_dir,
            jpeg_quality: self.jpeg_quality.map(Spanned::into_inner),
            strip_metadata,
            max_pixels: self.max_pixels.map(Spanned::into_inner),
            kernel,
        })
    }
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with::<()>(path).map(|(config, ())| config)
    }

    /// [`Config::load`] for a file that may also hold the keys of section `S`.
    pub fn load_with<S: ConfigSection>(path: &Path) -> Result<(Config, S), ConfigError> {
        let text = read_regular_text_file(path, MAX_SETTINGS_FILE_BYTES, "a config file").map_err(
            |e| ConfigError::Read {
                path: path.to_path_buf(),
                source: e.into(),
            },
        )?;
        let (mut config, section) = Config::parse_with(&path.display().to_string(), &text)?;
        config.file = Some(path.to_path_buf());
        Ok((config, section))
    }

    /// Parses configuration text; `file` names it in messages.
    pub fn parse(file: &str, text: &str) -> Result<Config, TomlLocatedError> {
        Config::parse_with::<()>(file, text).map(|(config, ())| config)
    }

    /// [`Config::parse`] for text that may also hold the keys of section `S` (read after the
    /// library's own).
    pub fn parse_with<S: ConfigSection>(
        file: &str,
        text: &str,
    ) -> Result<(Config, S), TomlLocatedError> {
        refuse_unknown_keys(
            file,
            text,
            &[
                struct_fields::<RawConfig>(),
                struct_fields::<RawLensFields>(),
                S::keys(),
            ],
        )?;
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| TomlLocatedError::from_toml(file, text, &e))?;
        let lens = LensFields::from_toml(file, text)?;
        let config = raw.check(lens, &|v, message| {
            TomlLocatedError::at(file, text, v.start, message)
        })?;
        Ok((config, S::parse(file, text)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_distance_m("2").unwrap(), 2.0);
        assert_eq!(parse_distance_m("2m").unwrap(), 2.0);
        assert_eq!(parse_distance_m("200cm").unwrap(), 2.0);
        assert_eq!(parse_distance_m(" 1500mm ").unwrap(), 1.5);
        assert_eq!(parse_distance_m("inf").unwrap(), f64::INFINITY);
        assert_eq!(parse_distance_m("Infinity").unwrap(), f64::INFINITY);
        for bad in ["two metres", ""] {
            let e = parse_distance_m(bad).unwrap_err();
            assert_eq!((e.text.as_str(), e.what), (bad, "distance"));
        }
        assert_eq!(parse_length_mm("85mm").unwrap(), 85.0);
        assert_eq!(parse_length_mm("85").unwrap(), 85.0);
        assert_eq!(parse_length_mm("8.5cm").unwrap(), 85.0);
        assert_eq!(parse_length_mm("85m").unwrap_err().text, "85m");
        assert_eq!(parse_f_number("f/1.8").unwrap(), 1.8);
        assert_eq!(parse_f_number("F1.4").unwrap(), 1.4);
        assert_eq!(parse_f_number("2.8").unwrap(), 2.8);
        assert_eq!(parse_f_number("f/").unwrap_err().what, "f-number");
        assert_eq!(parse_degrees("30deg").unwrap(), 30.0);
        assert_eq!(parse_degrees("15°").unwrap(), 15.0);
        assert_eq!(parse_focus("auto").unwrap(), FocusSetting::Auto);
        assert_eq!(parse_focus("2.5m").unwrap(), FocusSetting::Distance(2.5));
        let e = parse_focus("near").unwrap_err().to_string();
        assert!(e.contains("'near'") && e.contains("auto"), "{e}");
    }

    #[test]
    fn line_column_counts_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 11), (2, 6));
    }

    #[test]
    fn config_parses_every_kind_of_value() {
        let c = Config::parse(
            "fstop.toml",
            r#"
preset = "135mm-f2"
f_number = 2.8
focus = "250cm"
background_distance_m = "inf"
sensor = "aps-c"
kernel = "reference"
strip_metadata = "gps"
depth_kind = "metres"
depth_source = "embedded"
"#,
        )
        .unwrap();
        assert_eq!(c.preset.as_deref(), Some("135mm-f2"));
        assert_eq!(c.lens.f_number, Some(2.8));
        assert_eq!(c.focus, Some(FocusSetting::Distance(2.5)));
        assert_eq!(c.background_distance_m, Some(f64::INFINITY));
        assert_eq!(c.lens.sensor, Some(crate::optics::Sensor::ApsC));
        assert_eq!(c.kernel, Some(crate::render::KernelKind::Reference));
        assert_eq!(c.strip_metadata, Some(crate::io::StripMetadata::Gps));
        assert_eq!(c.depth_kind, Some(crate::depth::DepthKind::Metres));
        assert_eq!(c.depth_source, Some(crate::pipeline::DepthSource::Embedded));
        assert!(
            Config::parse("f.toml", "depth_source = \"phone\"\n")
                .unwrap_err()
                .to_string()
                .contains("unknown depth_source 'phone' (expected auto, model or embedded)")
        );
        let c = Config::parse("x", "focus = 3\n").unwrap();
        assert_eq!(c.focus, Some(FocusSetting::Distance(3.0)));
    }

    #[test]
    fn config_errors_name_file_line_and_column() {
        let e = Config::parse("fstop.toml", "f_number = 2\nbogus = 1\n").unwrap_err();
        assert_eq!((e.file.as_str(), e.line, e.column), ("fstop.toml", 2, 1));
        assert!(e.message.contains("bogus"), "{}", e.message);
        assert!(e.to_string().starts_with("fstop.toml:2:1: "), "{e}");
        let e = Config::parse("c.toml", "kernel = \"fast\"\nfocus = \"soon\"\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 9));
        let e = Config::parse("c.toml", "f_number = \"fast\"\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = Config::parse("c.toml", "jpeg_quality = 0\n").unwrap_err();
        assert!(e.message.contains("1–100"));
        let e = Config::parse("c.toml", "\nf_number = 0.5\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.toml:2:12: f-number 0.5 is outside 0.95–22"
        );
        let e = Config::parse("c.toml", "blades = 40\n").unwrap_err();
        assert!(e.message.contains("3–32"), "{e}");
        let e = Config::parse("c.toml", "[lens\n").unwrap_err();
        assert_eq!(e.line, 1);
    }

    /// A locator that names the byte span, for checking where a pass points.
    fn spans(range: std::ops::Range<usize>, message: String) -> TomlLocatedError {
        TomlLocatedError {
            file: format!("{}..{}", range.start, range.end),
            line: 0,
            column: 0,
            message,
        }
    }

    fn raw(text: &str) -> RawConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn quantity_pass_reads_units_and_points_at_the_value() {
        let r = raw("focus = \"250cm\"\nbackground_distance_m = 12\n");
        assert_eq!(
            quantity(&r.focus, parse_focus, &spans).unwrap(),
            Some(FocusSetting::Distance(2.5))
        );
        assert_eq!(
            quantity(&r.background_distance_m, parse_distance_m, &spans).unwrap(),
            Some(12.0)
        );
        assert_eq!(quantity(&None, parse_distance_m, &spans).unwrap(), None);
        let r = raw("focus = \"soon\"\n");
        let e = quantity(&r.focus, parse_focus, &spans).unwrap_err();
        assert_eq!(e.file, "8..14");
        assert!(e.message.contains("'soon'"), "{}", e.message);
    }

    #[test]
    fn named_pass_knows_its_names_and_lists_them() {
        let r = raw("kernel = \"Reference\"\n");
        assert_eq!(
            named(
                &r.kernel,
                parse_kernel,
                "kernel",
                "fast or reference",
                &spans
            )
            .unwrap(),
            Some(crate::render::KernelKind::Reference)
        );
        let r = raw("kernel = \"slow\"\n");
        let e = named(
            &r.kernel,
            parse_kernel,
            "kernel",
            "fast or reference",
            &spans,
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.message.as_str()),
            (
                "9..15",
                "unknown kernel 'slow' (expected fast or reference)"
            )
        );
    }

    #[test]
    fn range_pass_refuses_what_reads_but_cannot_be() {
        for (text, message) in [
            (
                "background_distance_m = \"0m\"\n",
                "background distance 0 m must be positive (or inf)",
            ),
            ("jpeg_quality = 101\n", "jpeg_quality 101 is outside 1–100"),
            ("max_pixels = 0\n", "max_pixels must be at least 1"),
        ] {
            let e = raw(text).check_ranges(&spans).unwrap_err();
            assert_eq!(e.message, message, "{text}");
            // It points at the value, after "key = ".
            let start: usize = e.file.split("..").next().unwrap().parse().unwrap();
            assert_eq!(start, text.find(" = ").unwrap() + 3, "{text}");
        }
        raw("background_distance_m = \"inf\"\njpeg_quality = 100\nmax_pixels = 1\n")
            .check_ranges(&spans)
            .unwrap();
        // An unreadable distance is the quantity pass's to report, not this one's.
        raw("background_distance_m = \"far\"\n")
            .check_ranges(&spans)
            .unwrap();
    }

    #[test]
    fn check_pass_reports_the_first_problem_in_order() {
        // Names are read before ranges are checked; quantities before names.
        let e = raw("jpeg_quality = 0\nkernel = \"slow\"\nfocus = \"soon\"\n")
            .check(LensFields::default(), &spans)
            .unwrap_err();
        assert!(e.message.contains("'soon'"), "{}", e.message);
        let e = raw("jpeg_quality = 0\nkernel = \"slow\"\n")
            .check(LensFields::default(), &spans)
            .unwrap_err();
        assert!(e.message.starts_with("unknown kernel"), "{}", e.message);
        let c = raw("preset = \"50mm-f1.4\"\nmax_pixels = 7\n")
            .check(LensFields::default(), &spans)
            .unwrap();
        assert_eq!(
            (c.preset.as_deref(), c.max_pixels, c.file),
            (Some("50mm-f1.4"), Some(7), None)
        );
    }

    /// A section of two keys, as the command line adds its batch keys.
    #[derive(Debug, PartialEq)]
    struct Extra(Option<i64>);

    impl ConfigSection for Extra {
        fn keys() -> &'static [&'static str] {
            &["extra", "other"]
        }

        fn parse(file: &str, text: &str) -> Result<Self, TomlLocatedError> {
            #[derive(Deserialize)]
            struct Raw {
                extra: Option<Spanned<i64>>,
            }
            let raw: Raw =
                toml::from_str(text).map_err(|e| TomlLocatedError::from_toml(file, text, &e))?;
            match raw.extra {
                Some(v) if *v.get_ref() < 0 => Err(TomlLocatedError::at(
                    file,
                    text,
                    v.span().start,
                    "extra must not be negative",
                )),
                v => Ok(Extra(v.map(Spanned::into_inner))),
            }
        }
    }

    #[test]
    fn a_section_adds_its_keys_and_its_checks() {
        let text = "f_number = 2\nextra = 3\nother = true\n";
        assert!(
            Config::parse("c.toml", text)
                .unwrap_err()
                .message
                .contains("extra")
        );
        let (c, extra) = Config::parse_with::<Extra>("c.toml", text).unwrap();
        assert_eq!((c.lens.f_number, extra), (Some(2.0), Extra(Some(3))));
        let e = Config::parse_with::<Extra>("c.toml", "extra = -1\n").unwrap_err();
        assert_eq!(e.to_string(), "c.toml:1:9: extra must not be negative");
        let e = Config::parse_with::<Extra>("c.toml", "bogus = 1\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 1));
    }
}
