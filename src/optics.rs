//! Thin-lens optics: the lens, the sensor, and the circle of confusion.
//!
//! Depends on nothing else in the crate. All lengths carry their unit in the name.
//!
//! The circle of confusion (CoC) diameter on the sensor for an object at distance `Z` when a lens
//! of focal length `f` and f-number `N` is focused at `S1` is
//!
//! ```text
//! c = f²·S1 / (N·(S1 − f)) · |1/Z − 1/S1|
//! ```
//!
//! It is linear in inverse depth (disparity, 1/m), which is why fstop stores depth as disparity.
//!
//! Pixel conversions take the image's **long side** in pixels: the sensor width is its long side,
//! so a portrait-orientation photo maps the sensor's 36 mm to its height.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Focal lengths fstop documents and is tuned for, in millimetres.
pub const DOCUMENTED_FOCAL_LENGTH_MM: (f64, f64) = (50.0, 135.0);
/// Focal lengths accepted (with a warning outside the documented range), in millimetres.
pub const ACCEPTED_FOCAL_LENGTH_MM: (f64, f64) = (10.0, 800.0);
/// F-numbers fstop documents and is tuned for.
pub const DOCUMENTED_F_NUMBER: (f64, f64) = (1.2, 2.8);
/// F-numbers accepted (with a warning outside the documented range).
pub const ACCEPTED_F_NUMBER: (f64, f64) = (0.95, 22.0);
/// Sensor widths accepted, in millimetres.
pub const ACCEPTED_SENSOR_WIDTH_MM: (f64, f64) = (1.0, 100.0);
/// Aperture blade counts accepted (0 means a perfectly circular aperture).
pub const ACCEPTED_BLADES: (u32, u32) = (3, 32);

/// Farthest focus distance accepted, in metres (the thin-lens formulas need a finite one).
pub const MAX_FOCUS_DISTANCE_M: f64 = 1e6;

/// Default focal length: a classic portrait 85 mm.
pub const DEFAULT_FOCAL_LENGTH_MM: f64 = 85.0;
/// Default f-number: f/1.8.
pub const DEFAULT_F_NUMBER: f64 = 1.8;
/// Default focus distance used when nothing better is known, in metres.
pub const DEFAULT_FOCUS_DISTANCE_M: f64 = 2.0;

/// An invalid optical parameter. The message names the allowed range.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OpticsError {
    #[error("{name} {value} is outside {min}–{max}{unit}")]
    OutOfRange {
        name: &'static str,
        value: f64,
        min: f64,
        max: f64,
        unit: &'static str,
    },
    #[error("{name} is not a number")]
    NotANumber { name: &'static str },
    #[error(
        "focus distance {focus_distance_m} m is closer than the focal length {focal_length_mm} mm; \
         focus must be farther than the focal length"
    )]
    FocusInsideFocalLength {
        focus_distance_m: f64,
        focal_length_mm: f64,
    },
    #[error(
        "unknown sensor format '{0}' (known: full-frame, aps-c, aps-c-canon, mft, 1-inch, or a width in mm)"
    )]
    UnknownSensor(String),
}

/// A parameter accepted but outside the documented range.
#[derive(Debug, Clone, PartialEq)]
pub struct OpticsWarning(pub String);

impl fmt::Display for OpticsWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Sensor format. The width sets the pixel pitch, which converts a CoC in millimetres to pixels.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sensor {
    /// 36 × 24 mm.
    #[default]
    FullFrame,
    /// APS-C with a 1.5× crop (Nikon, Sony, Fujifilm): 23.6 × 15.6 mm.
    ApsC,
    /// APS-C with a 1.6× crop (Canon): 22.3 × 14.9 mm.
    ApsCCanon,
    /// Micro Four Thirds: 17.3 × 13 mm.
    MicroFourThirds,
    /// 1-inch type: 13.2 × 8.8 mm.
    OneInch,
    /// Any other sensor, given by its width in millimetres (the long side).
    Custom { width_mm: f64 },
}

impl Sensor {
    /// Width of the long side of the sensor in millimetres.
    pub fn width_mm(self) -> f64 {
        match self {
            Sensor::FullFrame => 36.0,
            Sensor::ApsC => 23.6,
            Sensor::ApsCCanon => 22.3,
            Sensor::MicroFourThirds => 17.3,
            Sensor::OneInch => 13.2,
            Sensor::Custom { width_mm } => width_mm,
        }
    }

    /// Short display name.
    pub fn name(self) -> String {
        match self {
            Sensor::FullFrame => "full-frame".into(),
            Sensor::ApsC => "aps-c".into(),
            Sensor::ApsCCanon => "aps-c-canon".into(),
            Sensor::MicroFourThirds => "mft".into(),
            Sensor::OneInch => "1-inch".into(),
            Sensor::Custom { width_mm } => format!("{width_mm}mm"),
        }
    }

    /// Parses a named format (`full-frame`, `aps-c`, `aps-c-canon`, `mft`, `1-inch`) or a width
    /// such as `23.5` / `23.5mm`.
    pub fn parse(text: &str) -> Result<Sensor, OpticsError> {
        let t = text.trim().to_ascii_lowercase();
        let named = match t.as_str() {
            "full-frame" | "fullframe" | "ff" | "35mm" => Some(Sensor::FullFrame),
            "aps-c" | "apsc" | "aps-c-1.5" => Some(Sensor::ApsC),
            "aps-c-canon" | "aps-c-1.6" => Some(Sensor::ApsCCanon),
            "mft" | "m43" | "micro-four-thirds" | "micro-4/3" => Some(Sensor::MicroFourThirds),
            "1-inch" | "1in" | "one-inch" | "1\"" => Some(Sensor::OneInch),
            _ => None,
        };
        if let Some(s) = named {
            return Ok(s);
        }
        let number = t.strip_suffix("mm").unwrap_or(&t).trim();
        match number.parse::<f64>() {
            Ok(width_mm) => {
                check_range("sensor width", width_mm, ACCEPTED_SENSOR_WIDTH_MM, " mm")?;
                Ok(Sensor::Custom { width_mm })
            }
            Err(_) => Err(OpticsError::UnknownSensor(text.to_string())),
        }
    }
}

/// Shape of the aperture stop: a circle, or a polygon of straight or curved blades.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ApertureShape {
    /// Number of blades; 0 means a perfect circle.
    pub blades: u32,
    /// Rotation of the polygon in degrees.
    pub blade_rotation_deg: f64,
    /// 0 = straight blades (sharp polygon), 1 = fully rounded (circle).
    pub blade_curvature: f64,
}

impl Default for ApertureShape {
    fn default() -> Self {
        ApertureShape {
            blades: 0,
            blade_rotation_deg: 0.0,
            blade_curvature: 0.0,
        }
    }
}

impl ApertureShape {
    /// Checks blade count and curvature.
    pub fn validate(&self) -> Result<(), OpticsError> {
        if self.blades != 0 && !(ACCEPTED_BLADES.0..=ACCEPTED_BLADES.1).contains(&self.blades) {
            return Err(OpticsError::OutOfRange {
                name: "blade count",
                value: self.blades as f64,
                min: ACCEPTED_BLADES.0 as f64,
                max: ACCEPTED_BLADES.1 as f64,
                unit: " (or 0 for a circle)",
            });
        }
        check_range("blade curvature", self.blade_curvature, (0.0, 1.0), "")?;
        if !self.blade_rotation_deg.is_finite() {
            return Err(OpticsError::NotANumber {
                name: "blade rotation",
            });
        }
        Ok(())
    }

    /// True when the aperture renders as a circle.
    pub fn is_circular(&self) -> bool {
        self.blades == 0 || self.blade_curvature >= 1.0
    }
}

/// Anamorphic squeeze factors accepted (1 = a spherical lens).
pub const ACCEPTED_ANAMORPHIC_SQUEEZE: (f64, f64) = (1.0, 2.0);
/// Longitudinal chromatic focal shifts accepted, in micrometres on the image side.
pub const ACCEPTED_CHROMATIC_ABERRATION_UM: (f64, f64) = (0.0, 500.0);
/// The chromatic-aberration classes a photographer names, with their focal shift in
/// micrometres (green against red and blue, the secondary spectrum of an achromat).
pub const CHROMATIC_ABERRATION_CLASSES: [(&str, f64); 4] = [
    ("none", 0.0),
    ("apochromatic", 10.0),
    ("normal", 40.0),
    ("strong", 120.0),
];

/// The optical traits that give a real lens its character, each off by default (see
/// [`Character::default`]). Each is a physical model with a parameter a photographer knows:
///
/// * **Anamorphic squeeze** `s` (1–2): the lens squeezes the horizontal field by `s`, so in the
///   de-squeezed image its aperture draws ovals `s` times taller than wide: the vertical CoC is
///   the spherical lens's, the horizontal one `1/s` of it.
/// * **Longitudinal chromatic aberration** (bokeh fringing), a focal shift `δ` in micrometres
///   between green and magenta (red and blue focus together, green `δ` nearer the lens: the
///   secondary spectrum of an achromat). On the sensor a focal shift adds a blur of about
///   `δ/N`, so each channel's signed CoC is offset by about `±δ/(2N)`: behind the focus plane the
///   green disc is the larger (a green rim), in front the magenta one; at the focus plane the
///   two are equal (no fringe colour).
/// * **Spherical aberration** `S` (−1…1): under-corrected (`S > 0`) discs behind the focus have
///   a bright rim and a dim centre (rim : centre = `(1 + S) : (1 − S)`), discs in front the
///   reverse; over-corrected (`S < 0`) the other way round. `S = 1` is the soap-bubble ring.
/// * **Cat-eye** (mechanical vignetting) `F` (0–1), the share of a disc cut away in the frame's
///   corner: the lens barrel is a second, round stop whose image in the aperture plane is the
///   aperture's size (for distant objects) and is shifted against the field direction in
///   proportion to the field radius, `t(ρ) = t_c·ρ` aperture radii at `ρ` = distance from the
///   image centre / distance of the corner. `t_c` is solved so that two unit circles `t_c`
///   apart overlap in `1 − F` of their area ([`cat_eye_corner_shift`]; exact for a round
///   aperture). Off-axis discs are the aperture ∩ the shifted barrel: lemons whose long axis
///   runs tangentially. The lost pupil area darkens the image (optical vignetting): every
///   pixel, in focus or not, gets the surviving share of the pupil seen from it
///   ([`cat_eye_transmission`]) in linear light before the sensor clips. Seen from the sensor
///   the barrel's shadow is a little larger than from a distant point
///   ([`Lens::cat_eye_barrel_scale`], `1/(1 − b/S1)` for a barrel `b` in front of the lens),
///   so the corner of a uniform scene comes out slightly brighter than `1 − F` (85 mm f/1.8
///   at 2 m, full frame, F = 0.5: 0.51).
/// * **Swirl** `S` (0–1), the rotational background of a Helios 44: cat-eye discs
///   (`F = 0.6·S`, or the cat-eye above if larger) plus field curvature. The sharp image
///   surface curves towards the lens by `δ(ρ) = S·f/100·ρ²` on the image side (at `S = 1` and
///   58 mm, 0.58 mm in the corner), so off axis the lens focuses nearer: the focus disparity at
///   `ρ` rises by `δ/v²` ([`Lens::field_curvature_disparity_per_m`]) and background discs grow
///   towards the edges (58 mm f/2 at 2 m, background at infinity, S = 1: 1.3× in the corner)
///   while the cat-eye turns them tangentially, which draws the swirl.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Character {
    /// 1 = spherical (off).
    pub anamorphic_squeeze: f64,
    /// Focal shift between green and red/blue in micrometres; 0 = off.
    pub chromatic_aberration_um: f64,
    /// Signed strength, 0 = off.
    pub spherical_aberration: f64,
    /// Share of a corner disc cut away by the barrel, 0–1; 0 = off.
    pub cat_eye: f64,
    /// Swirl strength, 0–1 (cat-eye plus field curvature); 0 = off.
    pub swirl: f64,
}

impl Default for Character {
    fn default() -> Self {
        Character {
            anamorphic_squeeze: 1.0,
            chromatic_aberration_um: 0.0,
            spherical_aberration: 0.0,
            cat_eye: 0.0,
            swirl: 0.0,
        }
    }
}

/// The cat-eye share a swirl of strength 1 brings (see [`Character`]).
pub const SWIRL_CAT_EYE: f64 = 0.6;
/// Image-side field curvature in the frame's corner at swirl 1, as a share of the focal length.
pub const SWIRL_SAG_PER_FOCAL_LENGTH: f64 = 0.01;
/// The largest barrel shift the renderer uses, in aperture radii: a corner disc keeps at least
/// 1.3% of its area (cut shares above 0.987 render as 0.987).
pub const MAX_CAT_EYE_SHIFT: f64 = 1.9;

/// The share of a unit circle's area that another unit circle `t` apart overlaps (1 at `t = 0`,
/// 0 from `t = 2`).
pub fn circle_overlap(t: f64) -> f64 {
    let t = t.abs();
    if t >= 2.0 || t.is_nan() {
        return 0.0;
    }
    let h = 0.5 * t;
    (2.0 * h.acos() - 2.0 * h * (1.0 - h * h).sqrt()) / std::f64::consts::PI
}

/// The barrel shift in the frame's corner, in aperture radii, that cuts `cut` (0–1) of a
/// round disc away (see [`Character`]); at most [`MAX_CAT_EYE_SHIFT`].
pub fn cat_eye_corner_shift(cut: f64) -> f64 {
    if cut.is_nan() || cut <= 0.0 {
        return 0.0;
    }
    let want = 1.0 - cut.min(1.0);
    let (mut lo, mut hi) = (0.0f64, 2.0f64);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if circle_overlap(mid) > want {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (0.5 * (lo + hi)).min(MAX_CAT_EYE_SHIFT)
}

/// The share of a unit circle's area that a circle of radius `r` whose centre is `t` away
/// covers.
pub fn circle_overlap_radius(r: f64, t: f64) -> f64 {
    let t = t.abs();
    if r.is_nan() || r <= 0.0 || t.is_nan() || t >= 1.0 + r {
        return 0.0;
    }
    if t <= (r - 1.0).abs() {
        return r.min(1.0).powi(2);
    }
    let a1 = ((t * t + 1.0 - r * r) / (2.0 * t)).clamp(-1.0, 1.0).acos();
    let a2 = ((t * t + r * r - 1.0) / (2.0 * t * r))
        .clamp(-1.0, 1.0)
        .acos();
    let k = ((-t + 1.0 + r) * (t + 1.0 - r) * (t - 1.0 + r) * (t + 1.0 + r)).max(0.0);
    (a1 + r * r * a2 - 0.5 * k.sqrt()) / std::f64::consts::PI
}

/// The surviving share of the pupil at field radius `rho` (0 centre, 1 corner) for a corner
/// shift `corner_shift` (see [`cat_eye_corner_shift`]) of a barrel whose image seen from the
/// sensor is `scale` times the aperture's ([`Lens::cat_eye_barrel_scale`]): the optical
/// vignetting.
pub fn cat_eye_transmission(corner_shift: f64, scale: f64, rho: f64) -> f64 {
    circle_overlap_radius(scale, scale * corner_shift * rho)
}

impl Character {
    /// Checks every trait against its range.
    pub fn validate(&self) -> Result<(), OpticsError> {
        check_range(
            "anamorphic squeeze",
            self.anamorphic_squeeze,
            ACCEPTED_ANAMORPHIC_SQUEEZE,
            "×",
        )?;
        check_range(
            "chromatic aberration",
            self.chromatic_aberration_um,
            ACCEPTED_CHROMATIC_ABERRATION_UM,
            " µm",
        )?;
        check_range(
            "spherical aberration",
            self.spherical_aberration,
            (-1.0, 1.0),
            "",
        )?;
        check_range("cat-eye", self.cat_eye, (0.0, 1.0), "")?;
        check_range("swirl", self.swirl, (0.0, 1.0), "")
    }

    /// True when every trait is off (the ideal thin lens).
    pub fn is_ideal(&self) -> bool {
        *self == Character::default()
    }

    /// The share of a corner disc cut away: the cat-eye, or the swirl's if larger (0 = off).
    pub fn cat_eye_share(&self) -> f64 {
        let own = if self.cat_eye.is_finite() {
            self.cat_eye.clamp(0.0, 1.0)
        } else {
            0.0
        };
        own.max(SWIRL_CAT_EYE * self.swirl_strength())
    }

    /// The swirl strength made safe (0–1).
    fn swirl_strength(&self) -> f64 {
        if self.swirl.is_finite() {
            self.swirl.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Parses a longitudinal chromatic aberration: a focal shift in micrometres (`40`, `40um`,
/// `40µm`) or a class (`apochromatic`, `normal`, `strong`, `none`).
pub fn parse_chromatic_aberration(text: &str) -> Result<f64, String> {
    let t = text.trim().to_ascii_lowercase();
    if let Some((_, um)) = CHROMATIC_ABERRATION_CLASSES
        .iter()
        .find(|(name, _)| *name == t || (t == "apo" && *name == "apochromatic"))
    {
        return Ok(*um);
    }
    let number = t
        .strip_suffix("um")
        .or_else(|| t.strip_suffix("µm"))
        .unwrap_or(&t)
        .trim();
    number.parse::<f64>().map_err(|_| {
        format!(
            "chromatic aberration '{text}' is neither micrometres (0–500) nor a class \
             (none, apochromatic, normal, strong)"
        )
    })
}

/// A validated thin lens focused at a distance, on a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lens {
    pub focal_length_mm: f64,
    pub f_number: f64,
    pub focus_distance_m: f64,
    pub sensor: Sensor,
    pub aperture: ApertureShape,
    /// Optical traits beyond the ideal thin lens (all off by default).
    #[serde(default)]
    pub character: Character,
}

impl Default for Lens {
    fn default() -> Self {
        Lens {
            focal_length_mm: DEFAULT_FOCAL_LENGTH_MM,
            f_number: DEFAULT_F_NUMBER,
            focus_distance_m: DEFAULT_FOCUS_DISTANCE_M,
            sensor: Sensor::FullFrame,
            aperture: ApertureShape::default(),
            character: Character::default(),
        }
    }
}

fn check_range(
    name: &'static str,
    value: f64,
    (min, max): (f64, f64),
    unit: &'static str,
) -> Result<(), OpticsError> {
    if value.is_nan() {
        return Err(OpticsError::NotANumber { name });
    }
    if value < min || value > max {
        return Err(OpticsError::OutOfRange {
            name,
            value,
            min,
            max,
            unit,
        });
    }
    Ok(())
}

/// A [`Lens`] that passed [`Lens::validate`]: the only way to build one, so whatever holds a
/// `ValidLens` (the renderer, [`crate::pipeline::Focused`]) needs no checks of its own.
///
/// The plain [`Lens`] stays the settings schema (public fields, what presets, config files and
/// the command line fill in and serialise); this wrapper only freezes a checked copy. It reads
/// like the lens it wraps (`Deref` to [`Lens`]: its fields and optics maths, read-only) and has
/// no way to change a field, so a changed lens is a new `Lens` that must be validated again.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidLens(Lens);

impl std::ops::Deref for ValidLens {
    type Target = Lens;

    fn deref(&self) -> &Lens {
        &self.0
    }
}

impl ValidLens {
    /// The settings it was validated from (a copy to change and validate again).
    pub fn settings(&self) -> Lens {
        self.0
    }

    /// Values that are physically sane but outside the documented portrait range.
    pub fn warnings(&self) -> Vec<OpticsWarning> {
        let mut warnings = Vec::new();
        let (lo, hi) = DOCUMENTED_FOCAL_LENGTH_MM;
        if self.focal_length_mm < lo || self.focal_length_mm > hi {
            warnings.push(OpticsWarning(format!(
                "focal length {} mm is outside the documented portrait range {lo}–{hi} mm",
                self.focal_length_mm
            )));
        }
        let (lo, hi) = DOCUMENTED_F_NUMBER;
        if self.f_number < lo || self.f_number > hi {
            warnings.push(OpticsWarning(format!(
                "f-number {} is outside the documented portrait range {lo}–{hi}",
                self.f_number
            )));
        }
        warnings
    }
}

impl Lens {
    /// Validates every parameter: refuses nonsense with an error naming the range, and returns
    /// the lens as a [`ValidLens`] (whose [`ValidLens::warnings`] name values that are sane but
    /// outside the documented portrait range).
    pub fn validate(&self) -> Result<ValidLens, OpticsError> {
        check_range(
            "focal length",
            self.focal_length_mm,
            ACCEPTED_FOCAL_LENGTH_MM,
            " mm",
        )?;
        check_range("f-number", self.f_number, ACCEPTED_F_NUMBER, "")?;
        check_range(
            "sensor width",
            self.sensor.width_mm(),
            ACCEPTED_SENSOR_WIDTH_MM,
            " mm",
        )?;
        if self.focus_distance_m.is_nan() {
            return Err(OpticsError::NotANumber {
                name: "focus distance",
            });
        }
        if self.focus_distance_m * 1000.0 <= self.focal_length_mm {
            return Err(OpticsError::FocusInsideFocalLength {
                focus_distance_m: self.focus_distance_m,
                focal_length_mm: self.focal_length_mm,
            });
        }
        if self.focus_distance_m > MAX_FOCUS_DISTANCE_M {
            // Too far (or infinite): the thin-lens formulas need a finite focus distance.
            return Err(OpticsError::OutOfRange {
                name: "focus distance",
                value: self.focus_distance_m,
                min: self.focal_length_mm / 1000.0,
                max: MAX_FOCUS_DISTANCE_M,
                unit: " m",
            });
        }
        self.aperture.validate()?;
        self.character.validate()?;
        Ok(ValidLens(*self))
    }

    /// The factor `f²·S1 / (N·(S1 − f))` in millimetres × metres: multiplied by a disparity
    /// difference in 1/m it gives the CoC diameter on the sensor in millimetres.
    pub fn coc_mm_per_diopter(&self) -> f64 {
        let f = self.focal_length_mm;
        let s1_mm = self.focus_distance_m * 1000.0;
        // c_mm = f²·S1/(N(S1−f)) · |1/Z_mm − 1/S1_mm|, and 1/Z_mm = disparity_per_m / 1000.
        f * f * s1_mm / (self.f_number * (s1_mm - f)) / 1000.0
    }

    /// Disparity (1/m) of the focus plane.
    pub fn focus_disparity_per_m(&self) -> f64 {
        1.0 / self.focus_distance_m
    }

    /// CoC diameter on the sensor in millimetres for an object at `disparity_per_m` (1/Z, 1/m).
    pub fn coc_diameter_mm(&self, disparity_per_m: f64) -> f64 {
        self.coc_mm_per_diopter() * (disparity_per_m - self.focus_disparity_per_m()).abs()
    }

    /// Pixels per millimetre on the sensor for an image `image_width_px` wide.
    pub fn px_per_mm(&self, image_width_px: usize) -> f64 {
        image_width_px as f64 / self.sensor.width_mm()
    }

    /// Signed CoC diameter in pixels per unit disparity difference (1/m): positive for objects
    /// nearer than the focus plane, negative for objects behind it.
    pub fn coc_px_per_diopter(&self, image_width_px: usize) -> f64 {
        self.coc_mm_per_diopter() * self.px_per_mm(image_width_px)
    }

    /// Signed CoC diameter in pixels at `disparity_per_m`: positive in front of the focus plane.
    pub fn signed_coc_px(&self, disparity_per_m: f64, image_width_px: usize) -> f64 {
        self.coc_px_per_diopter(image_width_px) * (disparity_per_m - self.focus_disparity_per_m())
    }

    /// The longitudinal chromatic aberration as a CoC offset in pixels for an image
    /// `image_width_px` wide: green's signed CoC is `c − k`, red's and blue's `c + k` (see
    /// [`Character`]); 0 when off.
    pub fn chromatic_coc_px(&self, image_width_px: usize) -> f64 {
        // A focal shift `δ` at the image distance `v` blurs by `δ·(f/N)/v` on the sensor;
        // each channel is shifted by half of it.
        let shift_mm = self.character.chromatic_aberration_um / 1000.0;
        let f_over_v = 1.0 - self.focal_length_mm / (self.focus_distance_m * 1000.0);
        0.5 * shift_mm / self.f_number * f_over_v * self.px_per_mm(image_width_px)
    }

    /// The swirl's field curvature (see [`Character`]): how much the focus disparity (1/m)
    /// rises at field radius `rho` (0 centre, 1 the frame's corner), in proportion to `rho²`;
    /// 0 without swirl.
    pub fn field_curvature_disparity_per_m(&self, rho: f64) -> f64 {
        let s = self.character.swirl_strength();
        if s == 0.0 {
            return 0.0;
        }
        let f = self.focal_length_mm;
        let s1 = self.focus_distance_m * 1000.0;
        let v = f * s1 / (s1 - f);
        let sag_mm = s * SWIRL_SAG_PER_FOCAL_LENGTH * f * rho * rho;
        // Moving the image by `dv` moves the conjugate object's disparity by `dv / v²`.
        sag_mm / (v * v) * 1000.0
    }

    /// Cat-eye: how much larger than the aperture the barrel looks from the sensor, for an
    /// image `width × height` px (see [`Character`]). The barrel's shift in the corner is `t_c`
    /// aperture radii for distant points, so the barrel lies `b = t_c·R/θ` in front of the lens
    /// (`R = f/2N`, `θ` the corner's field angle); a ray from the sensor meets it on its way to
    /// the focus distance `S1`, where the barrel's shadow in the aperture is `1/(1 − b/S1)`
    /// times as large and as far off. 1 without cat-eye.
    pub fn cat_eye_barrel_scale(&self, (width, height): (usize, usize)) -> f64 {
        let shift = cat_eye_corner_shift(self.character.cat_eye_share());
        if shift == 0.0 {
            return 1.0;
        }
        let f = self.focal_length_mm;
        let s1 = self.focus_distance_m * 1000.0;
        let v = f * s1 / (s1 - f);
        let (w, h) = (width as f64, height as f64);
        let corner_mm = 0.5 * (w * w + h * h).sqrt() / self.px_per_mm(width.max(height));
        let b = shift * f / (2.0 * self.f_number) * v / corner_mm;
        let scale = 1.0 / (1.0 - b / s1);
        if scale.is_finite() && scale >= 1.0 {
            scale.min(4.0)
        } else {
            4.0
        }
    }

    /// Depth of field limits (near, far) in metres for an acceptable CoC `coc_limit_mm`
    /// (far is infinite beyond the hyperfocal distance).
    pub fn depth_of_field_m(&self, coc_limit_mm: f64) -> (f64, f64) {
        let k = self.coc_mm_per_diopter();
        let d0 = self.focus_disparity_per_m();
        let dd = coc_limit_mm / k;
        let near = 1.0 / (d0 + dd);
        let far = if d0 - dd <= 0.0 {
            f64::INFINITY
        } else {
            1.0 / (d0 - dd)
        };
        (near, far)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coc_85mm_f18_at_2m_background_at_infinity_is_2_1mm() {
        let lens = Lens::default();
        let c = lens.coc_diameter_mm(0.0);
        assert!((c - 2.096).abs() < 0.01, "{c}");
        // 4000 px wide full-frame photo: about 233 px.
        let px = c * lens.px_per_mm(4000);
        assert!((px - 232.9).abs() < 1.0, "{px}");
    }

    #[test]
    fn coc_is_zero_at_focus_and_grows_away_from_it() {
        let lens = Lens::default();
        assert_eq!(lens.coc_diameter_mm(0.5), 0.0);
        let mut last = 0.0;
        for i in 1..50 {
            let c = lens.coc_diameter_mm(0.5 - i as f64 * 0.01);
            assert!(c > last);
            last = c;
        }
        assert!(lens.signed_coc_px(1.0, 1000) > 0.0);
        assert!(lens.signed_coc_px(0.1, 1000) < 0.0);
    }

    #[test]
    fn validation_names_the_range() {
        let lens = Lens {
            f_number: 0.0,
            ..Lens::default()
        };
        let e = lens.validate().unwrap_err().to_string();
        assert_eq!(e, "f-number 0 is outside 0.95–22");
        let lens = Lens {
            focus_distance_m: 0.05,
            ..Lens::default()
        };
        assert!(matches!(
            lens.validate(),
            Err(OpticsError::FocusInsideFocalLength { .. })
        ));
        // Too far is its own range error, not "closer than the focal length".
        for far in [2e6, f64::INFINITY] {
            let lens = Lens {
                focus_distance_m: far,
                ..Lens::default()
            };
            let e = lens.validate().unwrap_err().to_string();
            assert_eq!(
                e,
                format!("focus distance {far} is outside 0.085–1000000 m")
            );
        }
        let lens = Lens {
            f_number: f64::NAN,
            ..Lens::default()
        };
        assert!(matches!(
            lens.validate(),
            Err(OpticsError::NotANumber { name: "f-number" })
        ));
        let lens = Lens {
            f_number: 5.6,
            ..Lens::default()
        };
        assert_eq!(lens.validate().unwrap().warnings().len(), 1);
        assert!(Lens::default().validate().unwrap().warnings().is_empty());
    }

    #[test]
    fn sensors_parse() {
        assert_eq!(Sensor::parse("aps-c").unwrap().width_mm(), 23.6);
        assert_eq!(Sensor::parse("23.5mm").unwrap().width_mm(), 23.5);
        assert_eq!(
            Sensor::parse("banana"),
            Err(OpticsError::UnknownSensor("banana".into()))
        );
        assert!(matches!(
            Sensor::parse("0.1"),
            Err(OpticsError::OutOfRange {
                name: "sensor width",
                ..
            })
        ));
    }

    #[test]
    fn cat_eye_shift_cuts_the_asked_share_and_swirl_curves_the_field() {
        assert_eq!(circle_overlap(0.0), 1.0);
        assert_eq!(circle_overlap(2.0), 0.0);
        for cut in [0.1, 0.3, 0.5, 0.9] {
            let t = cat_eye_corner_shift(cut);
            assert!(
                (1.0 - cat_eye_transmission(t, 1.0, 1.0) - cut).abs() < 1e-9,
                "{cut}"
            );
            assert!((circle_overlap_radius(1.0, t) - circle_overlap(t)).abs() < 1e-12);
            // Less is cut nearer the centre, and by a barrel seen larger.
            assert!(cat_eye_transmission(t, 1.0, 0.5) > 1.0 - cut);
            if cut < 0.7 {
                assert!(cat_eye_transmission(t, 1.1, 1.0) > 1.0 - cut);
            }
        }
        assert_eq!(cat_eye_corner_shift(0.0), 0.0);
        assert_eq!(cat_eye_corner_shift(1.0), MAX_CAT_EYE_SHIFT);
        let swirly = Character {
            swirl: 0.5,
            cat_eye: 0.1,
            ..Character::default()
        };
        assert!((swirly.cat_eye_share() - 0.3).abs() < 1e-12);
        let lens = Lens {
            focal_length_mm: 58.0,
            f_number: 2.0,
            character: Character {
                swirl: 1.0,
                ..Character::default()
            },
            ..Lens::default()
        };
        // Background discs 1.3× larger in the corner at 2 m.
        let grow = (lens.focus_disparity_per_m() + lens.field_curvature_disparity_per_m(1.0))
            / lens.focus_disparity_per_m();
        assert!((grow - 1.33).abs() < 0.02, "{grow}");
        assert_eq!(Lens::default().field_curvature_disparity_per_m(1.0), 0.0);
        let e = Lens {
            character: Character {
                cat_eye: 1.5,
                ..Character::default()
            },
            ..Lens::default()
        };
        assert_eq!(
            e.validate().unwrap_err().to_string(),
            "cat-eye 1.5 is outside 0–1"
        );
    }

    #[test]
    fn depth_of_field_brackets_focus() {
        let (near, far) = Lens::default().depth_of_field_m(0.03);
        assert!(near < 2.0 && far > 2.0 && far < 2.2, "{near} {far}");
    }
}
