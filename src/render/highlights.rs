//! Highlight recovery: the photo clipped its brightest lights; boost them back in linear light
//! so a defocused point light spreads real energy into a bright disc.
//!
//! A pixel whose brightest channel, display-encoded (sRGB), exceeds `threshold` has all three
//! channels multiplied by `1 + gain·t²`, `t = (v − threshold)/(1 − threshold)` (so the light's
//! colour is kept). As a function of the linear brightest channel `v` the boosted brightness
//! `h(v) = v·(1 + gain·t(v)²)` is strictly increasing, so it has an inverse: after blurring,
//! each layer's colour is mapped back through `h⁻¹` (the sensor "clips again"). That makes an
//! in-focus pixel come out exactly as it went in, and bright blurred light roll off smoothly
//! instead of hard-clipping; light beyond `h(1) = 1 + gain` is scaled by `1/(1 + gain)` and the
//! output is then clamped to 0..1.
//!
//! `h` is tabulated on a fine grid and interpolated linearly; the inverse is the exact inverse
//! of that piecewise-linear curve, so a round trip is exact to float rounding.

use super::HighlightOptions;

/// Knots of the piecewise-linear boost curve between the threshold and 1.
const KNOTS: usize = 1024;
/// Cells of the uniform lookup that starts the inverse search.
const INVERSE_CELLS: usize = 4096;
/// Largest gain honoured (more only risks overflow).
const MAX_GAIN: f32 = 1.0e4;

/// sRGB encoding of a linear value in 0..1.
pub(crate) fn linear_to_srgb(v: f64) -> f64 {
    if v <= 0.003_130_8 {
        12.92 * v
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// sRGB decoding of an encoded value in 0..1.
pub(crate) fn srgb_to_linear(s: f64) -> f64 {
    if s <= 0.040_45 {
        s / 12.92
    } else {
        ((s + 0.055) / 1.055).powf(2.4)
    }
}

/// The boost curve and its inverse, ready for per-pixel use.
#[derive(Debug, Clone)]
pub(crate) struct Highlights {
    active: bool,
    /// Linear value of the threshold.
    v_lo: f32,
    /// Knot spacing in linear value.
    v_step: f32,
    /// `h` at each knot (`KNOTS + 1` values, `h[0] = v_lo`, `h[KNOTS] = 1 + gain`).
    h: Vec<f32>,
    /// `1 + gain`.
    h_max: f32,
    /// Cells per unit of boosted value in the inverse lookup.
    inv_scale: f32,
    /// For each inverse cell, the last knot whose `h` is at or below the cell's start.
    inv_start: Vec<u32>,
}

impl Highlights {
    /// Builds the curve. Non-finite, non-positive gain or a threshold at or above 1 disables it.
    pub(crate) fn new(options: &HighlightOptions) -> Highlights {
        let threshold = options.threshold;
        let gain = options.gain;
        let disabled = Highlights {
            active: false,
            v_lo: 1.0,
            v_step: 0.0,
            h: Vec::new(),
            h_max: 1.0,
            inv_scale: 0.0,
            inv_start: Vec::new(),
        };
        if !threshold.is_finite() || !gain.is_finite() || gain <= 0.0 || threshold >= 1.0 {
            return disabled;
        }
        let thr = f64::from(threshold.max(0.0));
        let gain = f64::from(gain.min(MAX_GAIN));
        let v_lo = srgb_to_linear(thr);
        if v_lo >= 1.0 {
            return disabled;
        }
        let v_step = (1.0 - v_lo) / KNOTS as f64;
        let h: Vec<f32> = (0..=KNOTS)
            .map(|i| {
                let v = if i == KNOTS {
                    1.0
                } else {
                    v_lo + i as f64 * v_step
                };
                let t = ((linear_to_srgb(v) - thr) / (1.0 - thr)).clamp(0.0, 1.0);
                (v * (1.0 + gain * t * t)) as f32
            })
            .collect();
        let h_max = h[KNOTS];
        let v_lo = v_lo as f32;
        let inv_scale = INVERSE_CELLS as f32 / (h_max - v_lo);
        let mut inv_start = Vec::with_capacity(INVERSE_CELLS);
        let mut i = 0usize;
        for c in 0..INVERSE_CELLS {
            let j = v_lo + c as f32 / inv_scale;
            while i + 1 < KNOTS && h[i + 1] <= j {
                i += 1;
            }
            inv_start.push(i as u32);
        }
        Highlights {
            active: true,
            v_lo,
            v_step: v_step as f32,
            h,
            h_max,
            inv_scale,
            inv_start,
        }
    }

    /// True when highlights are boosted at all.
    #[cfg(test)]
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// Boosts a linear colour (channels ≥ 0).
    #[inline]
    pub(crate) fn boost(&self, rgb: [f32; 3]) -> [f32; 3] {
        let v = rgb[0].max(rgb[1]).max(rgb[2]);
        if !self.active || v <= self.v_lo {
            return rgb;
        }
        let factor = if v >= 1.0 {
            self.h_max
        } else {
            let pos = (v - self.v_lo) / self.v_step;
            let i = (pos as usize).min(KNOTS - 1);
            let t = pos - i as f32;
            (self.h[i] + t * (self.h[i + 1] - self.h[i])) / v
        };
        [rgb[0] * factor, rgb[1] * factor, rgb[2] * factor]
    }

    /// Maps a boosted colour back (the exact inverse of [`Highlights::boost`] up to `1 + gain`).
    #[inline]
    pub(crate) fn unboost(&self, rgb: [f32; 3]) -> [f32; 3] {
        let j = rgb[0].max(rgb[1]).max(rgb[2]);
        if !self.active || j <= self.v_lo || j.is_nan() {
            return rgb;
        }
        let scale = if j >= self.h_max {
            1.0 / self.h_max
        } else {
            let cell = (((j - self.v_lo) * self.inv_scale) as usize).min(INVERSE_CELLS - 1);
            let mut i = self.inv_start[cell] as usize;
            while i + 1 < KNOTS && self.h[i + 1] <= j {
                i += 1;
            }
            let span = self.h[i + 1] - self.h[i];
            let t = if span > 0.0 {
                ((j - self.h[i]) / span).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let v = self.v_lo + (i as f32 + t) * self.v_step;
            v / j
        };
        [rgb[0] * scale, rgb[1] * scale, rgb[2] * scale]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_threshold_is_untouched_and_clipped_white_gets_the_full_gain() {
        let h = Highlights::new(&HighlightOptions::default());
        assert!(h.is_active());
        let dark = [0.2, 0.5, 0.7];
        assert_eq!(h.boost(dark), dark);
        let white = h.boost([1.0, 1.0, 1.0]);
        assert!((white[0] - 5.0).abs() < 1e-5, "{white:?}");
        // Colour of the light is kept.
        let orange = h.boost([1.0, 0.5, 0.1]);
        assert!((orange[1] / orange[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn boost_is_monotone_and_round_trips() {
        let h = Highlights::new(&HighlightOptions::default());
        let mut last = 0.0;
        for i in 0..=20_000 {
            let v = i as f32 / 20_000.0 * 1.2;
            let b = h.boost([v, v * 0.3, 0.0])[0];
            assert!(b >= last, "not monotone at {v}");
            last = b;
            let back = h.unboost(h.boost([v, v * 0.3, v * 0.9]));
            assert!((back[0] - v).abs() <= 2e-6 * v.max(1.0), "{v} -> {back:?}");
            assert!((back[1] - v * 0.3).abs() <= 2e-6, "{v} -> {back:?}");
        }
    }

    #[test]
    fn disabled_by_gain_zero_threshold_one_or_nan() {
        for o in [
            HighlightOptions {
                threshold: 0.9,
                gain: 0.0,
            },
            HighlightOptions {
                threshold: 1.0,
                gain: 4.0,
            },
            HighlightOptions {
                threshold: f32::NAN,
                gain: 4.0,
            },
            HighlightOptions {
                threshold: 0.9,
                gain: f32::INFINITY,
            },
        ] {
            let h = Highlights::new(&o);
            assert!(!h.is_active());
            assert_eq!(h.boost([1.0, 1.0, 1.0]), [1.0, 1.0, 1.0]);
            assert_eq!(h.unboost([3.0, 1.0, 1.0]), [3.0, 1.0, 1.0]);
        }
    }

    #[test]
    fn srgb_round_trip() {
        for i in 0..=100 {
            let v = i as f64 / 100.0;
            assert!((srgb_to_linear(linear_to_srgb(v)) - v).abs() < 1e-12);
        }
    }
}
