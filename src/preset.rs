//! Lens presets: named TOML files describing a lens (focal length, f-number, aperture blades,
//! sensor, highlight handling).
//!
//! Built-in presets live in `presets/*.toml` and are compiled into the binary. Users add their
//! own in `$XDG_CONFIG_HOME/fstop/presets/NAME.toml` (default `~/.config/fstop/presets/`); a user
//! preset with the name of a built-in one replaces it. A preset may also be given by path.
//!
//! Every field is optional; a field a preset leaves out keeps the value it had (see the CLI's
//! precedence rules). Unknown fields are refused, and every error gives file, line and column.
//!
//! ```toml
//! description = "Classic portrait lens, wide open"
//! focal_length_mm = 85.0
//! f_number = 1.8
//! sensor = "full-frame"
//! blades = 9
//! blade_curvature = 0.9
//! blade_rotation_deg = 0.0
//! highlight_threshold = 0.9
//! highlight_gain = 4.0
//! background = "blur"        # or studio, studio:NAME, studio:#RRGGBB
//! anamorphic_squeeze = 1.0   # lens character (see optics::Character), all off by default
//! chromatic_aberration_um = 0.0
//! spherical_aberration = 0.0
//! cat_eye = 0.0              # share of a corner disc cut away, 0–1
//! swirl = 0.0                # 0–1
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::config::{TomlLocatedError, refuse_unknown_keys, struct_fields};
use crate::io::limits::{MAX_SETTINGS_FILE_BYTES, read_regular_text_file};
use crate::lens_fields::{LensFields, RawLensFields};

/// The preset used when none is chosen.
pub const DEFAULT_PRESET: &str = "85mm-f1.8";

/// Built-in presets: (name, TOML text).
pub(crate) const BUILTIN: &[(&str, &str)] = &[
    ("85mm-f1.8", include_str!("../presets/85mm-f1.8.toml")),
    ("85mm-f1.4", include_str!("../presets/85mm-f1.4.toml")),
    ("85mm-f1.2", include_str!("../presets/85mm-f1.2.toml")),
    ("105mm-f1.4", include_str!("../presets/105mm-f1.4.toml")),
    ("135mm-f1.8", include_str!("../presets/135mm-f1.8.toml")),
    ("135mm-f2", include_str!("../presets/135mm-f2.toml")),
    ("50mm-f1.2", include_str!("../presets/50mm-f1.2.toml")),
    ("50mm-f1.4", include_str!("../presets/50mm-f1.4.toml")),
    ("50mm-f1.8", include_str!("../presets/50mm-f1.8.toml")),
    (
        "56mm-f1.4-aps-c",
        include_str!("../presets/56mm-f1.4-aps-c.toml"),
    ),
    (
        "vintage-6-blade",
        include_str!("../presets/vintage-6-blade.toml"),
    ),
    (
        "budget-50mm-5-blade",
        include_str!("../presets/budget-50mm-5-blade.toml"),
    ),
    (
        "cine-85mm-t1.5",
        include_str!("../presets/cine-85mm-t1.5.toml"),
    ),
    (
        "soap-bubble-100mm-f2.8",
        include_str!("../presets/soap-bubble-100mm-f2.8.toml"),
    ),
    (
        "anamorphic-50mm-1.33x",
        include_str!("../presets/anamorphic-50mm-1.33x.toml"),
    ),
    (
        "apo-85mm-f1.4",
        include_str!("../presets/apo-85mm-f1.4.toml"),
    ),
    (
        "vintage-50mm-f1.4-fringing",
        include_str!("../presets/vintage-50mm-f1.4-fringing.toml"),
    ),
    (
        "swirly-58mm-f2",
        include_str!("../presets/swirly-58mm-f2.toml"),
    ),
];

/// A preset file's own keys, besides the shared lens fields ([`LensFields`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
struct RawPreset {
    description: Option<String>,
}

/// The fields of a preset (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PresetFields {
    pub description: Option<String>,
    /// Lens, highlight and background fields.
    pub lens: LensFields,
}

/// Where a preset came from.
#[derive(Debug, Clone, PartialEq)]
pub enum PresetSource {
    BuiltIn,
    /// From the user preset folder.
    User(PathBuf),
    /// Given by path.
    File(PathBuf),
}

impl PresetSource {
    /// Short label for listings.
    pub fn label(&self) -> String {
        match self {
            PresetSource::BuiltIn => "built-in".into(),
            PresetSource::User(p) | PresetSource::File(p) => p.display().to_string(),
        }
    }
}

/// A parsed, checked preset.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub name: String,
    pub source: PresetSource,
    /// The TOML text as written.
    pub text: String,
    pub fields: PresetFields,
}

/// A preset could not be found, read or parsed.
#[derive(Debug, Error)]
pub enum PresetError {
    #[error("unknown preset '{name}'{}", unknown_hint(name, known))]
    Unknown { name: String, known: Vec<String> },
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] TomlLocatedError),
}

/// Parses and checks preset text. `file` names it in messages.
pub fn parse(
    name: &str,
    file: &str,
    text: &str,
    source: PresetSource,
) -> Result<Preset, PresetError> {
    refuse_unknown_keys(
        file,
        text,
        &[
            struct_fields::<RawPreset>(),
            struct_fields::<RawLensFields>(),
        ],
    )?;
    let raw: RawPreset =
        toml::from_str(text).map_err(|e| TomlLocatedError::from_toml(file, text, &e))?;
    let fields = PresetFields {
        description: raw.description,
        lens: LensFields::from_toml(file, text)?,
    };
    Ok(Preset {
        name: name.to_string(),
        source,
        text: text.to_string(),
        fields,
    })
}

/// The user preset folder: `$XDG_CONFIG_HOME/fstop/presets`, else `~/.config/fstop/presets`.
pub fn user_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("fstop").join("presets"))
}

/// All built-in presets, parsed.
pub fn builtin() -> Vec<Preset> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            parse(
                name,
                &format!("presets/{name}.toml (built in)"),
                text,
                PresetSource::BuiltIn,
            )
            .expect("built-in presets are valid (checked by tests)")
        })
        .collect()
}

/// Reads one preset file.
pub(crate) fn load_file(
    path: &Path,
    name: &str,
    source: PresetSource,
) -> Result<Preset, PresetError> {
    let text =
        read_regular_text_file(path, MAX_SETTINGS_FILE_BYTES, "a preset file").map_err(|e| {
            PresetError::Read {
                path: path.to_path_buf(),
                source: e.into(),
            }
        })?;
    parse(name, &path.display().to_string(), &text, source)
}

/// The user presets in `dir` (sorted by name). A folder that does not exist holds none.
pub(crate) fn user_presets(dir: &Path) -> Result<Vec<Preset>, PresetError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PresetError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap_or_default().to_string_lossy();
            load_file(p, &name, PresetSource::User(p.clone()))
        })
        .collect()
}

/// Every preset by name: built-in ones, replaced or joined by the user's (sorted: built-in
/// order first, then user presets by name).
pub fn all(user_dir: Option<&Path>) -> Result<Vec<Preset>, PresetError> {
    let mut presets = builtin();
    if let Some(dir) = user_dir {
        for p in user_presets(dir)? {
            match presets.iter_mut().find(|q| q.name == p.name) {
                Some(slot) => *slot = p,
                None => presets.push(p),
            }
        }
    }
    Ok(presets)
}

/// Finds a preset by name (user folder first, then built in) or by path (anything containing a
/// path separator or ending in `.toml`).
pub fn resolve(name_or_path: &str, user_dir: Option<&Path>) -> Result<Preset, PresetError> {
    let looks_like_path = name_or_path.contains(std::path::MAIN_SEPARATOR)
        || name_or_path.contains('/')
        || name_or_path.ends_with(".toml");
    if looks_like_path {
        let path = Path::new(name_or_path);
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        return load_file(path, &name, PresetSource::File(path.to_path_buf()));
    }
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name_or_path}.toml"));
        if path.is_file() {
            return load_file(&path, name_or_path, PresetSource::User(path.clone()));
        }
    }
    if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
        return parse(
            name,
            &format!("presets/{name}.toml (built in)"),
            text,
            PresetSource::BuiltIn,
        );
    }
    let mut known: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(dir) = user_dir
        && let Ok(user) = user_presets(dir)
    {
        for p in user {
            if !known.contains(&p.name) {
                known.push(p.name);
            }
        }
    }
    Err(PresetError::Unknown {
        name: name_or_path.to_string(),
        known,
    })
}

/// `; did you mean 'X'?` for the closest known name, else the list of known names.
fn unknown_hint(name: &str, known: &[String]) -> String {
    match closest_name(name, known) {
        Some(best) => format!("; did you mean '{best}'? (`fstop presets list` shows all)"),
        None => format!(
            " (known: {}; or give a path to a .toml file)",
            known.join(", ")
        ),
    }
}

/// The known name that `name` most likely misspells: equal once case and punctuation are
/// ignored (`85mm-f18` → `85mm-f1.8`), or within two edits.
fn closest_name<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let key = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = key(name);
    if let Some(k) = known.iter().find(|k| key(k) == wanted) {
        return Some(k);
    }
    known
        .iter()
        .map(|k| (edit_distance(name, k), k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optics::Lens;

    #[test]
    fn misspelt_preset_names_get_a_suggestion() {
        let known: Vec<String> = ["85mm-f1.8", "135mm-f2", "vintage-6-blade"]
            .map(String::from)
            .to_vec();
        assert_eq!(closest_name("85mm-f18", &known), Some("85mm-f1.8"));
        assert_eq!(closest_name("85MM_F1.8", &known), Some("85mm-f1.8"));
        assert_eq!(
            closest_name("vintage-6-blades", &known),
            Some("vintage-6-blade")
        );
        assert_eq!(closest_name("tilt-shift", &known), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let e = PresetError::Unknown {
            name: "85mm-f18".into(),
            known: known.clone(),
        };
        assert!(e.to_string().contains("did you mean '85mm-f1.8'?"), "{e}");
    }

    #[test]
    fn every_builtin_preset_parses_and_makes_a_valid_lens() {
        let presets = builtin();
        assert!(presets.len() >= 12);
        for p in &presets {
            assert_eq!(p.source, PresetSource::BuiltIn);
            let f = &p.fields;
            assert!(f.lens.focal_length_mm.is_some(), "{}", p.name);
            assert!(f.lens.f_number.is_some(), "{}", p.name);
            assert!(f.description.is_some(), "{}", p.name);
            let mut lens = Lens::default();
            f.lens.apply_to_lens(&mut lens);
            lens.validate().unwrap();
        }
        for required in [
            "85mm-f1.8",
            "85mm-f1.2",
            "85mm-f1.4",
            "105mm-f1.4",
            "135mm-f1.8",
            "135mm-f2",
            "50mm-f1.2",
            "50mm-f1.4",
            "50mm-f1.8",
            "vintage-6-blade",
        ] {
            assert!(presets.iter().any(|p| p.name == required), "{required}");
        }
    }

    #[test]
    fn preset_names_match_their_lens() {
        // "85mm-f1.4" must really be 85 mm at f/1.4.
        for p in builtin() {
            let parts: Vec<&str> = p.name.split('-').collect();
            if parts.len() == 2 && parts[0].ends_with("mm") && parts[1].starts_with('f') {
                let fl: f64 = parts[0].trim_end_matches("mm").parse().unwrap();
                let n: f64 = parts[1][1..].parse().unwrap();
                assert_eq!(p.fields.lens.focal_length_mm, Some(fl), "{}", p.name);
                assert_eq!(p.fields.lens.f_number, Some(n), "{}", p.name);
            }
        }
        let v = resolve("vintage-6-blade", None).unwrap();
        assert_eq!(v.fields.lens.blades, Some(6));
        assert_eq!(v.fields.lens.blade_curvature, Some(0.0));
    }

    #[test]
    fn default_preset_is_85mm_f18_circle() {
        let p = resolve(DEFAULT_PRESET, None).unwrap();
        let mut lens = Lens {
            focal_length_mm: 1.0,
            f_number: 1.0,
            ..Lens::default()
        };
        p.fields.lens.apply_to_lens(&mut lens);
        assert_eq!(lens.focal_length_mm, 85.0);
        assert_eq!(lens.f_number, 1.8);
        assert!(lens.aperture.is_circular());
    }

    #[test]
    fn unknown_fields_are_refused_with_line_and_column() {
        let e = parse(
            "x",
            "my.toml",
            "f_number = 2.0\nfocal_lenght_mm = 85\n",
            PresetSource::BuiltIn,
        )
        .unwrap_err();
        let PresetError::Invalid(e) = e else {
            panic!("{e}")
        };
        assert_eq!((e.file.as_str(), e.line, e.column), ("my.toml", 2, 1));
        assert!(e.message.contains("focal_lenght_mm"), "{}", e.message);
    }

    #[test]
    fn out_of_range_values_point_at_their_line() {
        let e = parse(
            "x",
            "my.toml",
            "focal_length_mm = 85\n\nf_number = 0.1\n",
            PresetSource::BuiltIn,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("my.toml:3:12: f-number 0.1 is outside 0.95–22"),
            "{e}"
        );
        let e = parse("x", "p.toml", "blades = 2\n", PresetSource::BuiltIn)
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml:1:10") && e.contains("3–32"), "{e}");
        let e = parse("x", "p.toml", "sensor = \"huge\"\n", PresetSource::BuiltIn)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("p.toml:1:10") && e.contains("unknown sensor"),
            "{e}"
        );
        let e = parse(
            "x",
            "p.toml",
            "f_number = \"fast\"\n",
            PresetSource::BuiltIn,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("p.toml:1:"), "{e}");
    }

    #[test]
    fn user_presets_override_and_extend() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("85mm-f1.8.toml"),
            "description = \"mine\"\nfocal_length_mm = 85\nf_number = 2.0\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("tele.toml"),
            "focal_length_mm = 200\nf_number = 2.0\n",
        )
        .unwrap();
        let all = all(Some(dir.path())).unwrap();
        let p = all.iter().find(|p| p.name == "85mm-f1.8").unwrap();
        assert_eq!(p.fields.lens.f_number, Some(2.0));
        assert!(matches!(p.source, PresetSource::User(_)));
        assert!(all.iter().any(|p| p.name == "tele"));
        assert_eq!(
            resolve("tele", Some(dir.path()))
                .unwrap()
                .fields
                .lens
                .focal_length_mm,
            Some(200.0)
        );
        let path = dir.path().join("tele.toml");
        let p = resolve(path.to_str().unwrap(), None).unwrap();
        assert_eq!(p.name, "tele");
        let e = resolve("nope", Some(dir.path())).unwrap_err().to_string();
        assert!(
            e.contains("unknown preset 'nope'") && e.contains("tele"),
            "{e}"
        );
    }
}
