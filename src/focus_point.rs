//! Tap-to-focus: a point in the photo (as displayed, after EXIF orientation) whose depth the
//! lens focuses at, read robustly from the depth map around it.
//!
//! A single depth value under a tap is unreliable (a hair's edge, a depth-map seam), so the
//! depth is the *mode* of a window around the point: the disparities within [`WINDOW`] of the
//! long side, restricted to the same side of the matte as the point (a tap on the subject reads
//! only the subject, a tap beside it only what is behind or in front), binned into
//! `BINS` bins between their 2nd and 98th percentiles, and the median of the fullest bin and
//! its two neighbours.

use std::fmt;

use crate::depth::weighted_percentile;
use crate::scene::Plane;

/// Half-size of the window read around the point, as a fraction of the map's long side.
pub const WINDOW: f64 = 0.03;
/// Histogram bins for the mode.
const BINS: usize = 48;
/// Matte value at and above which a pixel counts as the subject.
const SUBJECT_MATTE: f32 = 0.5;

/// One coordinate: pixels from the left/top edge, or a fraction of the width/height.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Coordinate {
    /// Pixels (pixel centres at `i + 0.5`; `0` is the image's edge).
    Pixels(f64),
    /// A fraction of the side in 0..=1 (written `50%`).
    Fraction(f64),
}

impl Coordinate {
    fn to_px(self, side: usize) -> f64 {
        match self {
            Coordinate::Pixels(p) => p,
            Coordinate::Fraction(f) => f * side as f64,
        }
    }
}

impl fmt::Display for Coordinate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Coordinate::Pixels(p) => write!(f, "{p}"),
            Coordinate::Fraction(v) => write!(f, "{}%", v * 100.0),
        }
    }
}

/// A point to focus at: `X,Y` in pixels (`640,480`) or percentages (`50%,40%`), mixed freely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocusPoint {
    x: Coordinate,
    y: Coordinate,
}

/// Why a focus point was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FocusPointError {
    #[error("'{0}' is not a focus point: expected X,Y in pixels (640,480) or percent (50%,40%)")]
    Syntax(String),
    #[error("focus point '{0}': a percentage must be within 0–100%, pixels at least 0")]
    OutOfRange(String),
    #[error("focus point {0}: the depth map has no finite value around it")]
    NoDepth(String),
    #[error("focus point {point} is outside the {width}×{height} photo")]
    OutsidePhoto {
        point: String,
        width: usize,
        height: usize,
    },
}

impl FocusPoint {
    /// Parses `X,Y`, each a number of pixels or a percentage.
    pub fn parse(text: &str) -> Result<FocusPoint, FocusPointError> {
        let syntax = || FocusPointError::Syntax(text.to_string());
        let (x, y) = text.split_once(',').ok_or_else(syntax)?;
        let coordinate = |s: &str| -> Result<Coordinate, FocusPointError> {
            let s = s.trim();
            let (digits, percent) = match s.strip_suffix('%') {
                Some(d) => (d.trim(), true),
                None => (s.strip_suffix("px").unwrap_or(s).trim(), false),
            };
            let v: f64 = digits.parse().map_err(|_| syntax())?;
            if !v.is_finite() {
                return Err(syntax());
            }
            let range = || FocusPointError::OutOfRange(text.to_string());
            if percent {
                (0.0..=100.0)
                    .contains(&v)
                    .then_some(Coordinate::Fraction(v / 100.0))
                    .ok_or_else(range)
            } else {
                (v >= 0.0)
                    .then_some(Coordinate::Pixels(v))
                    .ok_or_else(range)
            }
        };
        Ok(FocusPoint {
            x: coordinate(x)?,
            y: coordinate(y)?,
        })
    }

    /// The point in pixels of a `width × height` photo.
    pub(crate) fn in_photo(
        self,
        width: usize,
        height: usize,
    ) -> Result<(f64, f64), FocusPointError> {
        let (x, y) = (self.x.to_px(width), self.y.to_px(height));
        if x > width as f64 || y > height as f64 {
            return Err(FocusPointError::OutsidePhoto {
                point: self.to_string(),
                width,
                height,
            });
        }
        Ok((x, y))
    }
}

impl fmt::Display for FocusPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.x, self.y)
    }
}

impl std::str::FromStr for FocusPoint {
    type Err = FocusPointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FocusPoint::parse(s)
    }
}

/// The disparity (or relative depth value) under the point `(x, y)` of a photo `photo_w ×
/// photo_h`, read from `map` (any size: the point is scaled to it) as the mode of the window
/// around it on the same side of `matte` (same size as `map`, else ignored). `None` when the
/// window holds no finite value.
pub(crate) fn value_at(
    map: &Plane,
    matte: Option<&Plane>,
    (x, y): (f64, f64),
    (photo_w, photo_h): (usize, usize),
) -> Option<f32> {
    let (w, h) = (map.width(), map.height());
    if w == 0 || h == 0 || photo_w == 0 || photo_h == 0 {
        return None;
    }
    let matte = matte.filter(|m| (m.width(), m.height()) == (w, h));
    let cx = (x / photo_w as f64 * w as f64).clamp(0.0, w as f64 - 1e-9);
    let cy = (y / photo_h as f64 * h as f64).clamp(0.0, h as f64 - 1e-9);
    let (ix, iy) = (cx as usize, cy as usize);
    let on_subject = matte.map(|m| m.data()[iy * w + ix] >= SUBJECT_MATTE);
    let r = ((w.max(h) as f64 * WINDOW).round() as usize).max(1);
    let mut samples = Vec::with_capacity((2 * r + 1) * (2 * r + 1));
    for yy in iy.saturating_sub(r)..(iy + r + 1).min(h) {
        for xx in ix.saturating_sub(r)..(ix + r + 1).min(w) {
            let i = yy * w + xx;
            let same_side = match (matte, on_subject) {
                (Some(m), Some(s)) => (m.data()[i] >= SUBJECT_MATTE) == s,
                _ => true,
            };
            if same_side && map.data()[i].is_finite() {
                samples.push(map.data()[i]);
            }
        }
    }
    mode(&samples)
}

/// The median of the fullest histogram bin (with its two neighbours) of `values`.
fn mode(values: &[f32]) -> Option<f32> {
    let lo = weighted_percentile(values, None, 2.0)?;
    let hi = weighted_percentile(values, None, 98.0)?;
    if hi <= lo {
        return weighted_percentile(values, None, 50.0);
    }
    let bin = |v: f32| (((v - lo) / (hi - lo) * BINS as f32) as usize).min(BINS - 1);
    let mut counts = [0usize; BINS];
    for &v in values.iter().filter(|&&v| (lo..=hi).contains(&v)) {
        counts[bin(v)] += 1;
    }
    // The fullest bin, counting its neighbours (ties: the first, so the result is stable).
    let smoothed = |b: usize| {
        counts[b] + if b > 0 { counts[b - 1] } else { 0 } + counts.get(b + 1).copied().unwrap_or(0)
    };
    let peak = (0..BINS).fold(0, |best, b| {
        if smoothed(b) > smoothed(best) {
            b
        } else {
            best
        }
    });
    let near: Vec<f32> = values
        .iter()
        .copied()
        .filter(|&v| (lo..=hi).contains(&v) && bin(v).abs_diff(peak) <= 1)
        .collect();
    weighted_percentile(&near, None, 50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pixels_percentages_and_refuses_the_rest() {
        let p = FocusPoint::parse("640,480").unwrap();
        assert_eq!(p.in_photo(1000, 800).unwrap(), (640.0, 480.0));
        let p = FocusPoint::parse(" 50% , 25%").unwrap();
        assert_eq!(p.in_photo(1000, 800).unwrap(), (500.0, 200.0));
        let p = FocusPoint::parse("10px,100%").unwrap();
        assert_eq!(p.in_photo(1000, 800).unwrap(), (10.0, 800.0));
        assert_eq!(p.to_string(), "10,100%");
        for bad in ["", "5", "a,b", "1,2,3", "NaN,1", "inf,2"] {
            assert!(
                matches!(FocusPoint::parse(bad), Err(FocusPointError::Syntax(_))),
                "{bad}"
            );
        }
        for bad in ["-1,2", "101%,5", "5,-3%"] {
            assert!(
                matches!(FocusPoint::parse(bad), Err(FocusPointError::OutOfRange(_))),
                "{bad}"
            );
        }
        let far = FocusPoint::parse("1200,10").unwrap();
        let e = far.in_photo(1000, 800).unwrap_err().to_string();
        assert_eq!(e, "focus point 1200,10 is outside the 1000×800 photo");
    }

    /// 100×80 map: background 0.1, a subject square (20..60)² at 0.5 under the matte, a
    /// foreground bar (x 80..90) at 1.0, plus sparse outliers.
    fn planes() -> (Plane, Plane) {
        let (w, h) = (100, 80);
        let mut d = Plane::filled(w, h, 0.1);
        let mut m = Plane::filled(w, h, 0.0);
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                if (20..60).contains(&x) && (20..60).contains(&y) {
                    d.data_mut()[i] = 0.5;
                    m.data_mut()[i] = 1.0;
                }
                if (80..90).contains(&x) {
                    d.data_mut()[i] = 1.0;
                }
                if (x * 7 + y * 13) % 17 == 0 {
                    d.data_mut()[i] = 3.0; // noise the mode must ignore
                }
            }
        }
        (d, m)
    }

    #[test]
    fn reads_the_mode_on_the_tapped_side_of_the_matte() {
        let (d, m) = planes();
        let at = |x: f64, y: f64| value_at(&d, Some(&m), (x, y), (100, 80)).unwrap();
        // On the subject, even right at its edge: the subject only.
        assert_eq!(at(40.0, 40.0), 0.5);
        assert_eq!(at(20.5, 30.0), 0.5);
        // Just outside the subject: the background behind it, not the subject.
        assert_eq!(at(18.5, 30.0), 0.1);
        // The foreground bar.
        assert_eq!(at(85.0, 40.0), 1.0);
        // A photo of another size than the map: the point is scaled.
        let scaled = value_at(&d, Some(&m), (85.0 * 4.0, 40.0 * 4.0), (400, 320)).unwrap();
        assert_eq!(scaled, 1.0);
        // Without a matte the window's mode wins (mostly subject around its centre).
        assert_eq!(value_at(&d, None, (40.0, 40.0), (100, 80)), Some(0.5));
        // Nothing finite: no value.
        let nan = Plane::filled(10, 10, f32::NAN);
        assert_eq!(value_at(&nan, None, (5.0, 5.0), (10, 10)), None);
    }
}
