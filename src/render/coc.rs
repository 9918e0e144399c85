//! Per-pixel circle of confusion, which side of the scene a pixel belongs to, and which
//! resolution level its blur is rendered at.

use crate::optics::Lens;

/// Which layer of the scene a pixel's light belongs to. The picture is composited
/// `near over (subject over far)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Non-subject pixels behind, at or just in front of the focus plane.
    Far,
    /// The matte.
    Subject,
    /// Non-subject pixels in front of the focus plane by more than ~1 px.
    Near,
}

/// Number of sides.
pub(crate) const SIDES: usize = 3;

impl Side {
    /// Every side, in storage order.
    pub(crate) const ALL: [Side; SIDES] = [Side::Far, Side::Subject, Side::Near];

    /// Position in storage order (for slot arithmetic in flat buffers).
    #[inline(always)]
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// One value per side, indexed by [`Side`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct PerSide<T>(pub [T; SIDES]);

impl<T> PerSide<T> {
    /// `f` of each side, in storage order.
    pub(crate) fn from_fn(mut f: impl FnMut(Side) -> T) -> PerSide<T> {
        PerSide(std::array::from_fn(|i| f(Side::ALL[i])))
    }

    /// `(side, value)` in storage order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Side, &T)> {
        Side::ALL.into_iter().zip(&self.0)
    }

    /// `(side, value)` in storage order, mutably.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Side, &mut T)> {
        Side::ALL.into_iter().zip(&mut self.0)
    }
}

impl<T> std::ops::Index<Side> for PerSide<T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, side: Side) -> &T {
        &self.0[side.index()]
    }
}

impl<T> std::ops::IndexMut<Side> for PerSide<T> {
    #[inline(always)]
    fn index_mut(&mut self, side: Side) -> &mut T {
        &mut self.0[side.index()]
    }
}

/// Signed CoC diameter in pixels from disparity: `lens.signed_coc_px(disparity, width)`,
/// precomputed as an affine map. Non-finite disparity is treated as the focus plane, and the
/// magnitude is capped (a disc several times the image is already a uniform wash).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CocMap {
    px_per_diopter: f32,
    focus_disparity: f32,
    cap: f32,
}

impl CocMap {
    pub(crate) fn new(lens: &Lens, width: usize, height: usize) -> CocMap {
        CocMap {
            // The sensor's long side spans the image's long side, portrait photos included.
            px_per_diopter: lens.coc_px_per_diopter(width.max(height)) as f32,
            focus_disparity: lens.focus_disparity_per_m() as f32,
            cap: 4.0 * width.max(height).max(1) as f32,
        }
    }

    /// The largest diameter this map returns.
    #[cfg(test)]
    pub(crate) fn cap(&self) -> f32 {
        self.cap
    }

    /// Signed CoC diameter in pixels (positive in front of focus), always finite.
    #[inline]
    pub(crate) fn signed(&self, disparity_per_m: f32) -> f32 {
        // Branch-free so row loops vectorise.
        let raw = self.px_per_diopter * (disparity_per_m - self.focus_disparity);
        let c = if raw > self.cap {
            self.cap
        } else if raw < -self.cap {
            -self.cap
        } else {
            raw
        };
        // Non-finite disparity, or a NaN product (infinite factor at the focus plane): focus.
        if disparity_per_m.is_finite() && !c.is_nan() {
            c
        } else {
            0.0
        }
    }
}

/// `v` clamped to 0..1, NaN to 0 — with plain comparisons (single instructions, unlike the
/// NaN-aware `f32::clamp`/`max`; this runs several times per pixel).
#[inline(always)]
pub(crate) fn clamp01(v: f32) -> f32 {
    let v = if v > 0.0 { v } else { 0.0 };
    if v < 1.0 { v } else { 1.0 }
}

/// Hermite smoothstep of `x` between `a` and `b`.
#[inline]
pub(crate) fn smoothstep(a: f32, b: f32, x: f32) -> f32 {
    let t = clamp01((x - a) / (b - a));
    t * t * (3.0 - 2.0 * t)
}

/// A matte value made safe: non-finite is 0 (not subject), clamped to 0..1.
#[inline]
pub(crate) fn sane_matte(m: f32) -> f32 {
    // Values within 1/512 of 0 or 1 (below 8-bit precision; model mattes are full of them)
    // are snapped, so only real edge pixels pay for subject/background unmixing.
    const SNAP: f32 = 1.0 / 512.0;
    if m < SNAP || m.is_nan() {
        0.0
    } else if m > 1.0 - SNAP {
        1.0
    } else {
        m
    }
}

/// Weights of the three sides for a pixel with matte `m` and signed CoC `c`; they sum to 1.
/// Non-subject weight `1 − m` goes to the near side in proportion to
/// `smoothstep(0.5, 1.5, c)`, the rest to the far side.
#[inline]
pub(crate) fn membership(m: f32, c: f32) -> PerSide<f32> {
    let u = 1.0 - m;
    let near = u * smoothstep(0.5, 1.5, c);
    PerSide([u - near, m, near])
}

/// Weight of a pixel in the far side's hole fill: far-side membership times `1 − m`, so the
/// fill comes from background away from the subject's edge.
#[inline]
pub(crate) fn fill_weight(m: f32, c: f32) -> f32 {
    let u = 1.0 - m;
    u * u * (1.0 - smoothstep(0.5, 1.5, c))
}

/// How blur diameters are shared between resolution levels: a diameter `d` goes to level `L`
/// where `d / 2^L ∈ [D0, 2·D0)`, split linearly in `log2 d` with the next level so there are
/// no seams; level 0 also takes everything below `D0`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelSplit {
    d0: f32,
    max_level: u32,
}

impl LevelSplit {
    pub(crate) fn new(d0: f32, max_level: u32) -> LevelSplit {
        LevelSplit { d0, max_level }
    }

    /// The number of the coarsest level needed for diameters up to `max_d`.
    pub(crate) fn levels_for(d0: f32, max_d: f32) -> u32 {
        if max_d <= d0 {
            0
        } else {
            ((max_d / d0).log2().floor() as u32 + 1).min(40)
        }
    }

    /// `(L, t)`: level `L` takes `1 − t` of the pixel, level `L + 1` takes `t`.
    #[inline]
    pub(crate) fn split(&self, d: f32) -> (u32, f32) {
        if d.is_nan() || d <= self.d0 {
            return (0, 0.0);
        }
        // log2(d / D0) = e + log2(1 + f), 1 + f the mantissa: the octave is the exponent and
        // the share a cheap, continuous, monotone stand-in for log2(1 + f) (exact at 0 and 1,
        // within 0.01 between).
        let bits = (d / self.d0).to_bits();
        let e = ((bits >> 23) & 0xff).saturating_sub(127);
        let f = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000) - 1.0;
        if e >= self.max_level {
            (self.max_level, 0.0)
        } else {
            (e, f * (1.346_57 - 0.346_57 * f))
        }
    }

    /// The share of level `level` for diameter `d`.
    #[inline]
    pub(crate) fn weight(&self, d: f32, level: u32) -> f32 {
        let (l, t) = self.split(d);
        if level == l {
            1.0 - t
        } else if level == l + 1 {
            t
        } else {
            0.0
        }
    }

    pub(crate) fn max_level(&self) -> u32 {
        self.max_level
    }

    /// `D0`: diameters up to this render entirely at level 0.
    #[inline]
    pub(crate) fn d0(&self) -> f32 {
        self.d0
    }

    /// Diameters below this have a share at level 0 (`2·D0`).
    #[inline]
    pub(crate) fn level0_limit(&self) -> f32 {
        2.0 * self.d0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coc_map_matches_the_lens_and_is_safe() {
        let lens = Lens::default();
        let map = CocMap::new(&lens, 4000, 3000);
        for d in [0.0, 0.25, 0.5, 0.8, 2.0] {
            let want = lens.signed_coc_px(d, 4000);
            assert!((f64::from(map.signed(d as f32)) - want).abs() < 1e-3 * want.abs().max(1.0));
        }
        assert_eq!(map.signed(f32::NAN), 0.0);
        assert_eq!(map.signed(f32::INFINITY), 0.0);
        assert_eq!(map.signed(1e30), map.cap());
        let weird = Lens {
            f_number: 0.0,
            ..Lens::default()
        };
        let map = CocMap::new(&weird, 100, 100);
        assert!(map.signed(0.1).is_finite());
        assert_eq!(map.signed(0.5), 0.0);
    }

    #[test]
    fn membership_sums_to_one() {
        for m in [0.0, 0.3, 1.0] {
            for c in [-50.0, 0.0, 1.0, 3.0] {
                let w = membership(m, c).0;
                assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
                assert!(w.iter().all(|&x| x >= 0.0));
            }
        }
        assert_eq!(membership(0.0, 0.0).0, [1.0, 0.0, 0.0]);
        assert_eq!(membership(0.0, 5.0).0, [0.0, 0.0, 1.0]);
    }

    #[test]
    fn level_split_is_continuous_and_in_range() {
        let s = LevelSplit::new(8.0, 10);
        assert_eq!(s.split(3.0), (0, 0.0));
        let (l, t) = s.split(12.0);
        assert_eq!(l, 0);
        assert!((t - (1.5f32).log2()).abs() < 1e-2);
        // Monotone within and across octaves.
        let mut last = 0.0;
        for i in 0..4000 {
            let d = 8.0 + i as f32 * 0.1;
            let (l, t) = s.split(d);
            let p = l as f32 + t;
            assert!(p >= last && (p - (d / 8.0).log2()).abs() < 1e-2, "{d}");
            last = p;
        }
        let (l, t) = s.split(233.0);
        assert_eq!(l, 4);
        assert!(t > 0.0 && t < 1.0);
        // Across the 16 px boundary the split moves smoothly.
        let below = s.weight(15.999, 1);
        let above = s.weight(16.0, 1);
        assert!((below - above).abs() < 1e-3);
        assert_eq!(LevelSplit::levels_for(8.0, 7.0), 0);
        assert_eq!(LevelSplit::levels_for(8.0, 233.0), 5);
        let capped = LevelSplit::new(8.0, 2);
        assert_eq!(capped.split(1000.0), (2, 0.0));
    }
}
