//! Colour: the photo's transfer curves (sRGB or its embedded ICC profile), lookup tables for
//! decoding to linear light and encoding back, and the deterministic dither.
//!
//! fstop's physics runs in **linear light of the photo's own primaries**: a Display P3 photo is
//! linearised through the P3 curves and re-encoded through them, so no gamut conversion (and no
//! clipping) ever happens, and the same profile is embedded in the output. Only the per-channel
//! tone curves (TRCs) of a matrix/TRC ICC profile matter for that; they are read with moxcms.
//!
//! * No profile → sRGB.
//! * RGB matrix/TRC profile → its three TRCs; written back unchanged.
//! * RGB LUT-based profile (rare in photos) → the sRGB curve is used as an approximation of its
//!   tone response (warning); written back unchanged, so the colours still display as before.
//! * Gray profile → its gray TRC on all channels; not written back (an RGB output cannot carry
//!   a gray profile), the output is encoded as sRGB, which keeps neutral tones where they were.
//! * Unparseable profile, or one for CMYK/Lab/other data → warning, sRGB, not written back.

use std::sync::{Arc, OnceLock};

use moxcms::{ColorProfile, DataColorSpace, ProfileClass, ToneCurveEvaluator, ToneReprCurve};

/// sRGB electro-optical transfer function: encoded value (0..1) → linear light.
#[inline]
pub fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Inverse sRGB transfer function: linear light → encoded value (0..1).
#[inline]
pub fn linear_to_srgb(v: f32) -> f32 {
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// One channel's tone curve.
#[derive(Clone)]
enum Curve {
    Srgb,
    Icc {
        to_linear: Arc<dyn ToneCurveEvaluator + Send + Sync>,
        from_linear: Arc<dyn ToneCurveEvaluator + Send + Sync>,
    },
}

impl Curve {
    fn decode_value(&self, v: f32) -> f32 {
        let v = v.clamp(0.0, 1.0);
        match self {
            Curve::Srgb => srgb_to_linear(v),
            Curve::Icc { to_linear, .. } => sanitize(to_linear.evaluate_value(v)),
        }
    }

    fn encode_value(&self, v: f32) -> f32 {
        let v = v.clamp(0.0, 1.0);
        match self {
            Curve::Srgb => linear_to_srgb(v),
            Curve::Icc { from_linear, .. } => sanitize(from_linear.evaluate_value(v)),
        }
    }

    fn from_trc(trc: &ToneReprCurve) -> Option<Curve> {
        // moxcms's pure-gamma evaluator misbehaves at exactly 0; the equivalent parametric
        // curve (type 0, `y = x^g`) does not.
        let parametric;
        let trc = match trc {
            ToneReprCurve::Lut(l) if l.len() == 1 => {
                parametric = ToneReprCurve::Parametric(vec![f32::from(l[0]) / 256.0]);
                &parametric
            }
            other => other,
        };
        let to_linear: Arc<dyn ToneCurveEvaluator + Send + Sync> =
            Arc::from(trc.make_linear_evaluator().ok()?);
        let from_linear: Arc<dyn ToneCurveEvaluator + Send + Sync> =
            Arc::from(trc.make_gamma_evaluator().ok()?);
        let curve = Curve::Icc {
            to_linear,
            from_linear,
        };
        curve.is_sane().then_some(curve)
    }

    /// A usable tone curve: finite, within a sane range, rising from black to white.
    fn is_sane(&self) -> bool {
        let Curve::Icc {
            to_linear,
            from_linear,
        } = self
        else {
            return true;
        };
        let samples: Vec<(f32, f32)> = (0..=32)
            .map(|i| {
                let x = i as f32 / 32.0;
                (to_linear.evaluate_value(x), from_linear.evaluate_value(x))
            })
            .collect();
        let finite = samples.iter().all(|(a, b)| {
            a.is_finite() && b.is_finite() && (-0.01..=1.5).contains(a) && (-0.01..=1.5).contains(b)
        });
        finite
            && samples[32].0 > samples[0].0 + 0.5
            && samples[32].1 > samples[0].1 + 0.5
            && samples.windows(2).all(|w| w[1].0 >= w[0].0 - 1e-3)
    }
}

#[inline]
fn sanitize(v: f32) -> f32 {
    if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// The per-channel transfer curves of a photo's colour space.
#[derive(Clone)]
pub struct Transfer {
    curves: [Curve; 3],
}

impl std::fmt::Debug for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_srgb() {
            "Transfer(sRGB)"
        } else {
            "Transfer(ICC)"
        })
    }
}

/// The encoding LUT is indexed by the bits of the `f32` itself: exponent and the top
/// [`ENCODE_SUB_BITS`] mantissa bits, i.e. 2^8 linear sub-bins per octave from 2^-32 up to 1.
/// That is dense where the curves are steep (near black) without a `sqrt` or `log`.
const ENCODE_SUB_BITS: u32 = 8;
/// Octaves covered below 1.0.
const ENCODE_OCTAVES: u32 = 32;
const ENCODE_SHIFT: u32 = 23 - ENCODE_SUB_BITS;
/// `bits >> ENCODE_SHIFT` of 2^-32, the table's first entry.
const ENCODE_BASE: u32 = (127 - ENCODE_OCTAVES) << ENCODE_SUB_BITS;
/// Index of 1.0.
const ENCODE_ONE: usize = (ENCODE_OCTAVES << ENCODE_SUB_BITS) as usize;

impl Transfer {
    /// The sRGB curve on all three channels.
    pub fn srgb() -> Transfer {
        Transfer {
            curves: [Curve::Srgb, Curve::Srgb, Curve::Srgb],
        }
    }

    /// True when all channels use the built-in sRGB curve.
    pub(crate) fn is_srgb(&self) -> bool {
        self.curves.iter().all(|c| matches!(c, Curve::Srgb))
    }

    /// Encoded value (0..1) of channel `c` → linear light (exact evaluation, no LUT).
    pub fn decode_value(&self, c: usize, v: f32) -> f32 {
        self.curves[c].decode_value(v)
    }

    /// Linear light of channel `c` → encoded value (0..1) (exact evaluation, no LUT).
    pub fn encode_value(&self, c: usize, v: f32) -> f32 {
        self.curves[c].encode_value(v)
    }

    /// Decoding tables: `table[c][code]` is the linear value of `code / (N − 1)`, `N` = 256 or
    /// 65536.
    pub(crate) fn decode_tables(&self, sixteen_bit: bool) -> [Arc<[f32]>; 3] {
        let n = if sixteen_bit { 65536 } else { 256 };
        if self.is_srgb() {
            static SRGB8: OnceLock<Arc<[f32]>> = OnceLock::new();
            static SRGB16: OnceLock<Arc<[f32]>> = OnceLock::new();
            let cell = if sixteen_bit { &SRGB16 } else { &SRGB8 };
            let t = cell.get_or_init(|| build_decode_table(&Curve::Srgb, n));
            return [t.clone(), t.clone(), t.clone()];
        }
        self.curves.clone().map(|c| build_decode_table(&c, n))
    }

    /// Encoding tables for fast linear → encoded conversion.
    pub fn encode_tables(&self) -> EncodeTables {
        if self.is_srgb() {
            static SRGB: OnceLock<Arc<[f32]>> = OnceLock::new();
            let t = SRGB.get_or_init(|| build_encode_table(&Curve::Srgb));
            return EncodeTables {
                tables: [t.clone(), t.clone(), t.clone()],
            };
        }
        EncodeTables {
            tables: self.curves.clone().map(|c| build_encode_table(&c)),
        }
    }
}

fn build_decode_table(curve: &Curve, n: usize) -> Arc<[f32]> {
    let scale = 1.0 / (n - 1) as f64;
    (0..n)
        .map(|i| curve.decode_value((i as f64 * scale) as f32))
        .collect()
}

fn build_encode_table(curve: &Curve) -> Arc<[f32]> {
    (0..=ENCODE_ONE + 1)
        .map(|i| {
            if i == 0 {
                // Black is exact; the lowest sub-bin interpolates from it.
                curve.encode_value(0.0)
            } else {
                let bits = ((i as u32 + ENCODE_BASE) << ENCODE_SHIFT).min(1.0f32.to_bits());
                curve.encode_value(f32::from_bits(bits))
            }
        })
        .collect()
}

/// Linear → encoded lookup tables (one per channel), linear interpolation within sub-bins of
/// each octave (2^8 sub-bins per octave from 2^-32 to 1).
#[derive(Clone, Debug)]
pub struct EncodeTables {
    tables: [Arc<[f32]>; 3],
}

impl EncodeTables {
    /// Encoded value (0..1) of linear `x` in channel `c`; NaN and negatives → 0, above 1 → 1.
    #[inline]
    pub fn encode(&self, c: usize, x: f32) -> f32 {
        Self::encode_with(&self.tables[c], x)
    }

    /// The table of channel `c`, for tight loops with [`EncodeTables::encode_with`].
    #[inline]
    pub fn table(&self, c: usize) -> &[f32] {
        &self.tables[c]
    }

    /// [`EncodeTables::encode`] with the channel's table in hand.
    #[inline(always)]
    pub fn encode_with(table: &[f32], x: f32) -> f32 {
        // NaN fails `x > 0` and maps to 0.
        let x = if x > 0.0 { x.min(1.0) } else { 0.0 };
        let pos = (x.to_bits() >> ENCODE_SHIFT).saturating_sub(ENCODE_BASE) as usize;
        let i = pos.min(ENCODE_ONE);
        let frac = if pos == 0 {
            // Below 2^-32 (and 0 itself): the first bin, from black.
            (x * 4_294_967_296.0).min(1.0)
        } else {
            (x.to_bits() & ((1 << ENCODE_SHIFT) - 1)) as f32 * (1.0 / (1 << ENCODE_SHIFT) as f32)
        };
        let (a, b) = (table[i], table[i + 1]);
        a + (b - a) * frac
    }
}

/// What to do with an embedded ICC profile.
#[derive(Debug, Clone)]
pub(crate) struct IccDecision {
    /// The curves to decode (and encode) through.
    pub transfer: Transfer,
    /// Whether the profile describes the decoded RGB data and may be written back.
    pub keep: bool,
    /// A problem worth telling the user.
    pub warning: Option<String>,
}

/// Interprets an embedded ICC profile (see the module docs for the rules).
pub(crate) fn decide_icc(bytes: &[u8]) -> IccDecision {
    let fallback = |warning: String| IccDecision {
        transfer: Transfer::srgb(),
        keep: false,
        warning: Some(warning),
    };
    let profile = match ColorProfile::new_from_slice(bytes) {
        Ok(p) => p,
        Err(e) => {
            return fallback(format!(
                "corrupt ICC profile ({e}); assuming sRGB and not writing the profile back"
            ));
        }
    };
    if matches!(
        profile.profile_class,
        ProfileClass::DeviceLink | ProfileClass::Abstract | ProfileClass::Named
    ) {
        return fallback(format!(
            "ICC profile of class {:?} does not describe an image's colours; assuming sRGB and not \
             writing it back",
            profile.profile_class
        ));
    }
    match profile.color_space {
        DataColorSpace::Rgb if profile.is_matrix_shaper() => {
            let trcs = [&profile.red_trc, &profile.green_trc, &profile.blue_trc];
            let curves: Option<Vec<Curve>> = trcs
                .iter()
                .map(|t| t.as_ref().and_then(Curve::from_trc))
                .collect();
            match curves {
                Some(c) => IccDecision {
                    transfer: Transfer {
                        curves: [c[0].clone(), c[1].clone(), c[2].clone()],
                    },
                    keep: true,
                    warning: None,
                },
                None => fallback(
                    "corrupt ICC profile (unusable tone curves); assuming sRGB and not writing the \
                     profile back"
                        .into(),
                ),
            }
        }
        DataColorSpace::Rgb => IccDecision {
            transfer: Transfer::srgb(),
            keep: true,
            warning: Some(
                "ICC profile is LUT-based, not matrix/TRC; blurring in approximate (sRGB-curve) \
                 linear light and writing the profile back unchanged"
                    .into(),
            ),
        },
        DataColorSpace::Gray => match profile.gray_trc.as_ref().and_then(Curve::from_trc) {
            Some(curve) => IccDecision {
                transfer: Transfer {
                    curves: [curve.clone(), curve.clone(), curve],
                },
                keep: false,
                warning: None,
            },
            None => fallback(
                "corrupt gray ICC profile (unusable tone curve); assuming sRGB and not writing the \
                 profile back"
                    .into(),
            ),
        },
        other => fallback(format!(
            "ICC profile is for {other:?} data, which fstop does not convert; assuming sRGB and \
             not writing the profile back"
        )),
    }
}

/// A well-mixed 32-bit hash of a pixel position and channel (no state: output is the same on
/// every run and for every thread count).
#[inline]
pub fn hash3(x: u32, y: u32, c: u32) -> u32 {
    let mut h = x
        .wrapping_mul(0x9E37_79B1)
        .wrapping_add(y.wrapping_mul(0x85EB_CA77))
        .wrapping_add(c.wrapping_mul(0xC2B2_AE3D))
        ^ 0x2545_F491;
    // lowbias32 finaliser.
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^= h >> 16;
    h
}

/// Side of the square dither tile.
pub const DITHER_TILE: usize = 64;

/// Dither offset for an 8-bit quantiser, in LSB: uniform in [−0.5, 0.5), from [`hash3`].
///
/// One LSB of rectangular dither makes the *expected* quantised value equal the input (so
/// smooth gradients have no steps, i.e. no banding) while a pixel that already sits on a code
/// value (an untouched sharp pixel) quantises back to exactly that code. The noise is tiled
/// every [`DITHER_TILE`] pixels (cheap lookups; a ±½ LSB pattern's period is invisible).
#[inline]
pub fn dither_offset(x: u32, y: u32, c: u32) -> f32 {
    let t = DITHER_TILE as u32;
    dither_tile(c as usize % 3)[((y % t) * t + x % t) as usize]
}

/// The dither tile of channel `c` (row-major, [`DITHER_TILE`]²).
pub(crate) fn dither_tile(c: usize) -> &'static [f32] {
    static TILES: OnceLock<[Vec<f32>; 3]> = OnceLock::new();
    &TILES.get_or_init(|| {
        [0u32, 1, 2].map(|c| {
            (0..(DITHER_TILE * DITHER_TILE) as u32)
                .map(|i| {
                    let (x, y) = (i % DITHER_TILE as u32, i / DITHER_TILE as u32);
                    (hash3(x, y, c) >> 8) as f32 * (1.0 / 16_777_216.0) - 0.5
                })
                .collect()
        })
    })[c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_round_trip_and_known_values() {
        assert!((srgb_to_linear(0.5) - 0.214_041).abs() < 1e-5);
        assert!((linear_to_srgb(0.214_041) - 0.5).abs() < 1e-5);
        for i in 0..=255 {
            let v = i as f32 / 255.0;
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5);
        }
    }

    #[test]
    fn encode_table_matches_exact_curve() {
        let t = Transfer::srgb().encode_tables();
        let mut worst = 0.0f32;
        for i in 0..=200_000 {
            let x = (i as f32 / 200_000.0).powi(3);
            worst = worst.max((t.encode(0, x) - linear_to_srgb(x)).abs());
        }
        // Well under half an LSB at 16 bits (1/65535 ≈ 1.5e-5).
        assert!(worst < 3e-6, "worst {worst}");
        assert_eq!(t.encode(1, f32::NAN), 0.0);
        assert_eq!(t.encode(1, -3.0), 0.0);
        assert!((t.encode(2, 7.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn icc_gamma_curve_is_honoured() {
        let mut p = ColorProfile::new_display_p3();
        let curve = moxcms::curve_from_gamma(1.8);
        p.red_trc = Some(curve.clone());
        p.green_trc = Some(curve.clone());
        p.blue_trc = Some(curve);
        p.cicp = None;
        let bytes = p.encode().unwrap();
        let d = decide_icc(&bytes);
        assert!(d.keep && d.warning.is_none(), "{d:?}");
        let lin = d.transfer.decode_value(1, 0.5);
        assert!((lin - 0.5f32.powf(1.8)).abs() < 2e-3, "{lin}");
        let tables = d.transfer.encode_tables();
        let back = tables.encode(1, 0.5f32.powf(1.8));
        assert!((back - 0.5).abs() < 2e-3, "{back}");
        let dec = d.transfer.decode_tables(false);
        assert!((dec[0][128] - (128.0f32 / 255.0).powf(1.8)).abs() < 2e-3);
    }

    #[test]
    fn corrupt_and_foreign_profiles_fall_back() {
        let d = decide_icc(b"definitely not an ICC profile, just some bytes of text......");
        assert!(!d.keep && d.transfer.is_srgb());
        assert!(d.warning.unwrap().contains("corrupt ICC profile"));
        let mut bytes = ColorProfile::new_srgb().encode().unwrap();
        bytes.truncate(bytes.len() / 2);
        let d = decide_icc(&bytes);
        assert!(!d.keep && d.warning.is_some());
        let gray = ColorProfile::new_gray_with_gamma(2.2).encode().unwrap();
        let d = decide_icc(&gray);
        assert!(!d.keep && d.warning.is_none());
        assert!((d.transfer.decode_value(0, 0.5) - 0.5f32.powf(2.2)).abs() < 2e-3);
    }

    #[test]
    fn dither_is_deterministic_and_uniform() {
        assert_eq!(dither_offset(3, 7, 1), dither_offset(3, 7, 1));
        assert_eq!(dither_offset(3, 7, 1), dither_offset(3 + 64, 7 + 128, 1));
        assert_ne!(dither_offset(3, 7, 1), dither_offset(3, 7, 2));
        let n = 100_000;
        let mut sum = 0.0f64;
        let mut lo = 0.0f32;
        let mut hi = 0.0f32;
        for i in 0..n {
            let d = dither_offset(i % 317, i / 317, i % 3);
            sum += d as f64;
            lo = lo.min(d);
            hi = hi.max(d);
        }
        assert!((sum / n as f64).abs() < 0.01);
        assert!((-0.5..-0.49).contains(&lo) && (0.49..0.5).contains(&hi));
    }
}
