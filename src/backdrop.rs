//! Backgrounds for headshots: the blurred photo (the lens, [`crate::render()`]) or a studio
//! backdrop that looks like lit seamless paper.
//!
//! A studio result is `m·F + (1−m)·P` in linear light: `m` the subject matte, `F` the
//! subject's own colour with the old background's colour removed from its edge pixels
//! ([`crate::render::subject_colours`], the renderer's solution of `m·F + (1−m)·B = I`), and
//! `P` the paper:
//!
//! * **tone** — a named colour, `#RRGGBB`, or chosen from the face's luminance
//!   ([`choose_tone`]); it is the paper's colour where the background light hits it;
//! * **light** — a background light behind the subject ([`Light::behind_subject`]): the
//!   paper's linear brightness is `EDGE_GAIN + (1 − EDGE_GAIN)·(1 − t²)²` times the tone,
//!   `t` the distance from the light's centre over its reach (the farthest corner), so it is
//!   the tone behind the subject and falls off smoothly to [`EDGE_GAIN`] (−0.7 EV) at the
//!   farthest corner;
//! * **grain** — the photo's own noise ([`crate::grain::measure_grain`]), added to the sRGB-encoded paper
//!   as deterministic per-pixel Gaussian noise, so the backdrop is as grainy as the subject
//!   (a clean synthetic photo gets none).
//!
//! Everything here is pure and infallible; choosing a tone needs the face's luminance, which
//! [`crate::headshot`] measures.

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use thiserror::Error;

pub use crate::grain::measure_grain;
use crate::io::colour::{linear_to_srgb, srgb_to_linear};
use crate::scene::{LinearRgb, Plane};

/// The named backdrop tones of portrait guides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackdropName {
    MediumGrey,
    LightGrey,
    DarkGrey,
    Charcoal,
    Navy,
    OffWhite,
    White,
}

impl BackdropName {
    /// Every name, in the guides' order of preference: medium grey suits most faces, off-white
    /// is the second safest, then light grey, dark grey, charcoal, navy; pure white is risky
    /// (harsh, and light hair glows at its edge).
    pub(crate) const ALL: [BackdropName; 7] = [
        BackdropName::MediumGrey,
        BackdropName::OffWhite,
        BackdropName::LightGrey,
        BackdropName::DarkGrey,
        BackdropName::Charcoal,
        BackdropName::Navy,
        BackdropName::White,
    ];

    /// The tones `studio` (automatic) chooses from, in order of preference: all but white.
    pub const AUTO: [BackdropName; 6] = [
        BackdropName::MediumGrey,
        BackdropName::OffWhite,
        BackdropName::LightGrey,
        BackdropName::DarkGrey,
        BackdropName::Charcoal,
        BackdropName::Navy,
    ];

    /// The name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            BackdropName::MediumGrey => "medium-grey",
            BackdropName::LightGrey => "light-grey",
            BackdropName::DarkGrey => "dark-grey",
            BackdropName::Charcoal => "charcoal",
            BackdropName::Navy => "navy",
            BackdropName::OffWhite => "off-white",
            BackdropName::White => "white",
        }
    }

    /// The tone, sRGB 8-bit.
    pub fn srgb8(self) -> [u8; 3] {
        match self {
            BackdropName::MediumGrey => [0x80, 0x80, 0x80],
            BackdropName::LightGrey => [0xC0, 0xC0, 0xC0],
            BackdropName::DarkGrey => [0x59, 0x59, 0x59],
            BackdropName::Charcoal => [0x36, 0x45, 0x4F],
            BackdropName::Navy => [0x1B, 0x2A, 0x47],
            BackdropName::OffWhite => [0xF2, 0xF0, 0xEB],
            BackdropName::White => [0xFF, 0xFF, 0xFF],
        }
    }

    /// Parses a name (`grey` or `gray`, case-insensitive).
    pub fn parse(text: &str) -> Option<BackdropName> {
        let t = text.trim().to_ascii_lowercase().replace("gray", "grey");
        BackdropName::ALL.into_iter().find(|n| n.name() == t)
    }
}

/// A studio backdrop's tone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Chosen from the face's luminance ([`choose_tone`]).
    Auto,
    Named(BackdropName),
    /// sRGB 8-bit.
    Custom([u8; 3]),
}

/// What goes behind the subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Background {
    /// The photo's own background, blurred by the lens.
    #[default]
    Blur,
    /// A lit seamless paper backdrop.
    Studio(Tone),
}

/// A background that could not be parsed; the message names the allowed values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "'{0}' is not a background (expected blur, studio, studio:NAME with NAME one of {names}, or studio:#RRGGBB)",
    names = names_list()
)]
pub struct BackgroundError(pub String);

fn names_list() -> String {
    BackdropName::ALL.map(BackdropName::name).join(", ")
}

fn parse_hex(text: &str) -> Option<[u8; 3]> {
    let h = text.strip_prefix('#')?;
    if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

impl FromStr for Background {
    type Err = BackgroundError;

    /// `blur`, `studio`, `studio:NAME` or `studio:#RRGGBB`.
    fn from_str(text: &str) -> Result<Background, BackgroundError> {
        let err = || BackgroundError(text.to_string());
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        if lower == "blur" {
            return Ok(Background::Blur);
        }
        if lower == "studio" {
            return Ok(Background::Studio(Tone::Auto));
        }
        let tone = lower.strip_prefix("studio:").ok_or_else(err)?;
        if tone == "auto" {
            return Ok(Background::Studio(Tone::Auto));
        }
        if let Some(rgb) = parse_hex(tone) {
            return Ok(Background::Studio(Tone::Custom(rgb)));
        }
        BackdropName::parse(tone)
            .map(|n| Background::Studio(Tone::Named(n)))
            .ok_or_else(err)
    }
}

impl fmt::Display for Background {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Background::Blur => write!(f, "blur"),
            Background::Studio(Tone::Auto) => write!(f, "studio"),
            Background::Studio(Tone::Named(n)) => write!(f, "studio:{}", n.name()),
            Background::Studio(Tone::Custom([r, g, b])) => {
                write!(f, "studio:#{r:02X}{g:02X}{b:02X}")
            }
        }
    }
}

/// sRGB 8-bit → linear light.
pub fn srgb8_to_linear(rgb: [u8; 3]) -> [f32; 3] {
    rgb.map(|v| srgb_to_linear(v as f32 / 255.0))
}

/// Rec. 709 relative luminance of a linear colour.
pub fn luminance(rgb: [f32; 3]) -> f32 {
    0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
}

/// Luminosity contrast of two relative luminances (0..1): the WCAG ratio
/// `(L_lighter + 0.05) / (L_darker + 0.05)`, 1 (none) to 21 (black on white).
pub fn contrast_ratio(a: f32, b: f32) -> f32 {
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    (hi.max(0.0) + 0.05) / (lo.max(0.0) + 0.05)
}

/// A tone gives a face "enough" luminosity contrast at this ratio or more.
pub const ENOUGH_CONTRAST: f32 = 2.0;
/// A background this many times (contrast ratio) brighter than the face backlights it: the
/// face turns into a silhouette. The automatic tone never goes this far above the face, and the
/// headshot check warns from here.
pub const BACKLIGHT_RATIO: f32 = 5.0;

/// The tone chosen for a face, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneChoice {
    pub name: BackdropName,
    /// Its contrast with the face ([`contrast_ratio`]).
    pub contrast: f32,
    /// True when it reaches [`ENOUGH_CONTRAST`] without backlighting the face (else it is
    /// merely the best there is).
    pub enough: bool,
}

/// The automatic tone for a face of relative luminance `face_luminance` (linear, 0..1): the
/// first of [`BackdropName::AUTO`] (guide order) whose contrast with the face is at least
/// [`ENOUGH_CONTRAST`] and, if it is lighter than the face, under [`BACKLIGHT_RATIO`]; when
/// none is, the one with the highest contrast of those that do not backlight the face.
pub fn choose_tone(face_luminance: f32) -> ToneChoice {
    choose_tone_lit(face_luminance, 1.0)
}

/// [`choose_tone`] for paper lit at `light_gain` times its tone around the face (the
/// [`Light`]'s mean gain there): each tone's luminance is scaled by it first, so the contrast
/// is the one the result will show.
pub fn choose_tone_lit(face_luminance: f32, light_gain: f32) -> ToneChoice {
    let gain = if light_gain.is_finite() {
        light_gain.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let face = if face_luminance.is_finite() {
        face_luminance.clamp(0.0, 1.0)
    } else {
        0.2
    };
    let scored = BackdropName::AUTO.map(|name| {
        let tone = gain * luminance(srgb8_to_linear(name.srgb8()));
        let contrast = contrast_ratio(face, tone);
        let backlit = tone > face && contrast >= BACKLIGHT_RATIO;
        (
            ToneChoice {
                name,
                contrast,
                enough: contrast >= ENOUGH_CONTRAST && !backlit,
            },
            backlit,
        )
    });
    let best = |pool: &mut dyn Iterator<Item = ToneChoice>| {
        pool.max_by(|a, b| a.contrast.total_cmp(&b.contrast))
    };
    scored
        .iter()
        .map(|s| s.0)
        .find(|c| c.enough)
        .or_else(|| best(&mut scored.iter().filter(|s| !s.1).map(|s| s.0)))
        .or_else(|| best(&mut scored.iter().map(|s| s.0)))
        .expect("non-empty")
}

/// The paper's brightness at the farthest corner, relative to the tone (linear).
pub const EDGE_GAIN: f32 = 0.6;

/// A background light aimed at the paper behind the subject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Light {
    /// Centre of the light on the paper, pixels.
    pub centre_x: f32,
    pub centre_y: f32,
    /// Distance (pixels) over which it falls to [`EDGE_GAIN`].
    pub reach_px: f32,
}

impl Light {
    /// Centred behind the subject: horizontally at the matte's centroid, vertically halfway
    /// between the subject's top and its centroid (behind head and shoulders); the reach is the
    /// distance to the farthest corner. Without a subject, the frame's centre.
    pub fn behind_subject(matte: &Plane) -> Light {
        let (w, h) = (matte.width(), matte.height());
        let (mut sum, mut sx, mut sy) = (0.0f64, 0.0f64, 0.0f64);
        let mut top = None;
        for y in 0..h {
            for (x, &m) in matte.row(y).iter().enumerate() {
                if m.is_finite() && m > 0.0 {
                    sum += m as f64;
                    sx += m as f64 * (x as f64 + 0.5);
                    sy += m as f64 * (y as f64 + 0.5);
                    if m >= 0.5 && top.is_none() {
                        top = Some(y as f64);
                    }
                }
            }
        }
        let (cx, cy) = if sum > 0.0 {
            let cy = sy / sum;
            (sx / sum, (top.unwrap_or(cy) + cy) / 2.0)
        } else {
            (w as f64 / 2.0, h as f64 / 2.0)
        };
        Light::at(cx as f32, cy as f32, w, h)
    }

    /// A light centred at (x, y) reaching the farthest corner of a `w × h` frame.
    pub fn at(x: f32, y: f32, w: usize, h: usize) -> Light {
        let dx = x.max(w as f32 - x);
        let dy = y.max(h as f32 - y);
        Light {
            centre_x: x,
            centre_y: y,
            reach_px: (dx * dx + dy * dy).sqrt().max(1.0),
        }
    }

    /// The paper's brightness relative to the tone at pixel centre (x + ½, y + ½).
    #[inline]
    pub fn gain(&self, x: usize, y: usize) -> f32 {
        let dx = x as f32 + 0.5 - self.centre_x;
        let dy = y as f32 + 0.5 - self.centre_y;
        let t2 = ((dx * dx + dy * dy) / (self.reach_px * self.reach_px)).min(1.0);
        let bump = (1.0 - t2) * (1.0 - t2);
        EDGE_GAIN + (1.0 - EDGE_GAIN) * bump
    }
}

/// The paper: `tone` (linear) lit by `light`, with grain of standard deviation `grain`
/// (sRGB-encoded units, per channel) added in the encoded domain. Deterministic.
pub fn paper(width: usize, height: usize, tone: [f32; 3], light: &Light, grain: f32) -> LinearRgb {
    let mut out = LinearRgb::filled(width, height, [0.0; 3]);
    if width == 0 || height == 0 {
        return out;
    }
    let grain = if grain.is_finite() {
        grain.max(0.0)
    } else {
        0.0
    };
    let [r, g, b] = out.channels_mut();
    r.par_chunks_mut(width)
        .zip(g.par_chunks_mut(width))
        .zip(b.par_chunks_mut(width))
        .enumerate()
        .for_each(|(y, ((r, g), b))| {
            for x in 0..width {
                let k = light.gain(x, y);
                let mut px = [0.0; 3];
                for (c, p) in px.iter_mut().enumerate() {
                    let lit = (tone[c] * k).clamp(0.0, 1.0);
                    *p = if grain > 0.0 {
                        let e = linear_to_srgb(lit)
                            + grain * crate::grain::noise(x, y, c as u32, 0x51D0);
                        srgb_to_linear(e.clamp(0.0, 1.0))
                    } else {
                        lit
                    };
                }
                r[x] = px[0];
                g[x] = px[1];
                b[x] = px[2];
            }
        });
    out
}

/// The subject over `paper`: `m·F + (1−m)·P` per pixel, `F` the subject's colour with the old
/// background removed ([`crate::render::subject_colours`]), clamped to 0..1. A matte or paper
/// of another size leaves the photo as it is.
pub fn composite(color: &LinearRgb, matte: &Plane, paper: &LinearRgb) -> LinearRgb {
    let (w, h) = (color.width(), color.height());
    if (matte.width(), matte.height()) != (w, h) || (paper.width(), paper.height()) != (w, h) {
        return color.clone();
    }
    let mut out = crate::render::subject_colours(color, matte);
    for (o, p) in out.channels_mut().into_iter().zip(paper.channels()) {
        o.par_iter_mut()
            .zip(p.par_iter())
            .zip(matte.data().par_iter())
            .for_each(|((o, &p), &m)| {
                let m = if m.is_finite() {
                    m.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                *o = (m * *o + (1.0 - m) * p).clamp(0.0, 1.0);
            });
    }
    out
}

/// A studio backdrop for one photo: its tone (linear), light and grain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Studio {
    pub tone: [f32; 3],
    pub light: Light,
    /// sRGB-encoded standard deviation, per channel.
    pub grain: f32,
}

impl Studio {
    /// The backdrop for a photo: light behind its subject, grain measured on it.
    pub fn for_photo(color: &LinearRgb, matte: &Plane, tone: [f32; 3]) -> Studio {
        Studio {
            tone,
            light: Light::behind_subject(matte),
            grain: measure_grain(color, Some(matte)),
        }
    }

    /// The photo's subject on this backdrop.
    pub fn render(&self, color: &LinearRgb, matte: &Plane) -> LinearRgb {
        let p = paper(
            color.width(),
            color.height(),
            self.tone,
            &self.light,
            self.grain,
        );
        composite(color, matte, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backgrounds_parse_and_print() {
        for (text, want) in [
            ("blur", Background::Blur),
            ("studio", Background::Studio(Tone::Auto)),
            (
                "studio:medium-grey",
                Background::Studio(Tone::Named(BackdropName::MediumGrey)),
            ),
            (
                "Studio:Light-Gray",
                Background::Studio(Tone::Named(BackdropName::LightGrey)),
            ),
            (
                "studio:#1a2B3c",
                Background::Studio(Tone::Custom([0x1A, 0x2B, 0x3C])),
            ),
        ] {
            assert_eq!(text.parse::<Background>(), Ok(want), "{text}");
        }
        for n in BackdropName::ALL {
            let b = Background::Studio(Tone::Named(n));
            assert_eq!(b.to_string().parse::<Background>(), Ok(b));
        }
        assert_eq!(
            Background::Studio(Tone::Custom([1, 2, 255])).to_string(),
            "studio:#0102FF"
        );
        for bad in [
            "",
            "studio:",
            "studio:pink",
            "studio:#12345",
            "bokeh",
            "#808080",
        ] {
            let e = bad.parse::<Background>().unwrap_err().to_string();
            assert!(
                e.contains("blur, studio") && e.contains("off-white") && e.contains("#RRGGBB"),
                "{e}"
            );
        }
    }

    #[test]
    fn contrast_ratio_matches_hand_computed_values() {
        // White on black: (1 + 0.05) / (0 + 0.05) = 21.
        assert!((contrast_ratio(1.0, 0.0) - 21.0).abs() < 1e-5);
        assert_eq!(contrast_ratio(0.3, 0.3), 1.0);
        // #808080 is 0.21586 linear: vs white (1.05 / 0.26586) = 3.949.
        let grey = luminance(srgb8_to_linear([0x80; 3]));
        assert!((grey - 0.21586).abs() < 1e-4, "{grey}");
        assert!((contrast_ratio(grey, 1.0) - 3.949).abs() < 1e-3);
        assert_eq!(contrast_ratio(0.1, 0.5), contrast_ratio(0.5, 0.1));
    }

    #[test]
    fn light_falls_off_from_behind_the_subject_to_the_edges() {
        let l = Light::at(50.0, 30.0, 100, 80);
        assert!((l.gain(49, 29) - 1.0).abs() < 1e-3);
        // Farthest corner (99, 79) or (0, 79): reach = √(50² + 50²).
        assert!(
            (l.gain(0, 79) - EDGE_GAIN).abs() < 0.02,
            "{}",
            l.gain(0, 79)
        );
        // Monotone along a ray.
        let mut last = 2.0;
        for x in 50..100 {
            let g = l.gain(x, 29);
            assert!(g <= last + 1e-6);
            last = g;
        }
    }
}
